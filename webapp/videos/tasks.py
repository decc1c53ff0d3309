"""Thin Celery tasks: ids in, one service call, status recorded in the base class."""

import logging

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from ml.errors import InputError

from . import services

log = logging.getLogger(__name__)

# Errors that say nothing about the video: the database or the broker blinked. Retried.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


class JobTask(Task):
    """Records any failure on the Job as a message a seller can act on."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        job_id = args[0] if args else kwargs.get("job_id")
        if job_id is None:
            return
        if not isinstance(exc, InputError):
            log.error("job %s failed", job_id, exc_info=(type(exc), exc, einfo.tb if einfo else None))
        services.fail_job(job_id, services.failure_message(exc, job_id))


@shared_task(bind=True, base=JobTask, name="webapp.videos.tasks.process_video", max_retries=3)
def process_video(self, job_id: int):
    worker = f"{self.request.hostname or 'local'}:{self.request.id or ''}"
    try:
        job = services.run_job(job_id, worker=worker)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries < self.max_retries and services.requeue_job(
                job_id, f"temporary problem ({type(exc).__name__}); trying again"):
            raise self.retry(exc=exc, countdown=5 * (self.request.retries + 1))
        raise
    return job.status if job else None


@shared_task(name="webapp.videos.tasks.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs():
    return services.reap_stale_jobs()
