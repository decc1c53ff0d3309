"""The real pipeline with one fault injected at a chosen moment: a seller cancelling while the
job is in the middle of the visual stage (set through SHOPFOCUS_LOCALIZE)."""


def cancel_during_vision(video, catalog_dir, comments=None, options=None, progress=None):
    from ml.pipeline import localize
    from webapp.videos.models import Job

    def progress_and_cancel(stage, fraction):
        if stage == "vision":
            Job.objects.filter(status="running").update(status="cancelled", message="cancelled by seller")
        progress(stage, fraction)

    return localize(video, catalog_dir, comments, options, progress_and_cancel)
