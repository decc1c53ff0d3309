"""A worker's own pipeline defaults (settings.SHOPFOCUS_PIPELINE_DEFAULTS), then the job's options."""

from webapp.videos.models import Job
from webapp.videos.options import default_pipeline_options, pipeline_options


def test_a_workers_thread_share_reaches_its_jobs_and_a_jobs_own_options_come_last(settings):
    settings.SHOPFOCUS_PIPELINE_DEFAULTS = {"threads": 1, "fps": 2.0}
    o = default_pipeline_options()
    assert (o.threads, o.fps, o.visual_options().embedder.threads) == (1, 2.0, 1)
    job = Job(options={"fps": 0.5, "modalities": ["visual", "speech"], "not_an_option": 3})
    o = pipeline_options(job)
    assert (o.threads, o.fps, o.modalities) == (1, 0.5, ("visual", "speech"))


def test_a_worker_set_to_int8_embeds_its_jobs_crops_with_the_quantized_graph(settings):
    assert default_pipeline_options().visual_options().embedder.precision == "fp32"
    settings.SHOPFOCUS_PIPELINE_DEFAULTS = {"image_precision": "int8"}
    o = default_pipeline_options()
    assert (o.image_precision, o.visual_options().embedder.precision, o.to_dict()["image_precision"]) == ("int8",) * 3
