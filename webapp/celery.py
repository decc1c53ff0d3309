"""The Celery app. ``celery -A webapp worker -Q cpu,gpu`` runs jobs; ``celery -A webapp beat``
runs the stale-job reaper. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import worker_ready

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
