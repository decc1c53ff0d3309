"""The Celery app. ``celery -A webapp worker -Q cpu,gpu`` runs jobs; ``celery -A webapp beat``
runs the stale-job reaper. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("webapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def reap_stale_jobs_at_startup(sender=None, **kwargs):
    """A worker that starts after a crash picks up what the crashed one left RUNNING."""
    from webapp.videos.lifecycle import reap

    try:
        reap()
    except Exception:  # never stop a worker from starting because of the reaper
        import logging

        logging.getLogger(__name__).exception("reaping stale jobs at startup failed")


@worker_process_init.connect
def preload_models(sender=None, **kwargs):
    """Each pool process loads the pipeline's models once, as it starts (``ml.warm``): the image
    embedder's ONNX session, the sentence model and Whisper, with the worker's own pipeline
    defaults (a GPU worker: its ASR backend and device). It runs in a thread, since Celery gives
    this hook 4 s before it calls the process dead; a job that starts meanwhile waits for the
    model it needs instead of loading it twice. ``SHOPFOCUS_PRELOAD_MODELS=0`` turns it off."""
    from django.conf import settings

    if not settings.SHOPFOCUS_PRELOAD_MODELS:
        return
    import logging
    import threading
    import time

    def run():
        from ml.warm import preload
        from webapp.videos.runner import default_pipeline_options

        t0 = time.perf_counter()
        stats = preload(default_pipeline_options())
        logging.getLogger(__name__).info(
            "models preloaded in %.1f s (pid %s): %s", time.perf_counter() - t0, os.getpid(),
            ", ".join(f"{name} x{n}" for name, (n, _) in sorted(stats.items())) or "none")

    threading.Thread(target=run, name="preload-models", daemon=True).start()
