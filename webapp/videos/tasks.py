"""Thin Celery tasks: ids in, one call, status recorded in the base class."""

import logging

from celery import Task, shared_task
from django.conf import settings

from . import lifecycle
from .db import CONNECTION_ERRORS, refresh_connection
from .models import Job
from .runner import failure_message, run_job

log = logging.getLogger(__name__)

# Errors that say nothing about the video: the database or the broker blinked. The job is put
# back in the queue (lifecycle.requeue, the one recovery path), never failed for them.
TRANSIENT_ERRORS = (*CONNECTION_ERRORS, ConnectionError, TimeoutError)


class JobTask(Task):
    """Records a failure on the Job as a message a person can act on; a transient error
    requeues the job instead, on a fresh database connection."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        job_id = args[0] if args else kwargs.get("job_id")
        if job_id is None:
            return
        refresh_connection()
        if isinstance(exc, TRANSIENT_ERRORS):
            attempts = Job.objects.filter(pk=job_id).values_list("attempts", flat=True).first() or 0
            if attempts < settings.SHOPFOCUS_JOB_TRANSIENT_ATTEMPTS and lifecycle.requeue(
                    job_id, f"temporary problem ({type(exc).__name__}); trying again", countdown=5.0 * attempts):
                log.warning("job %s: %s; queued again", job_id, exc)
                return
        from ml.errors import InputError

        if not isinstance(exc, InputError):
            log.error("job %s failed", job_id, exc_info=(type(exc), exc, einfo.tb if einfo else None))
        lifecycle.fail(job_id, failure_message(exc, job_id))


@shared_task(bind=True, base=JobTask, name=lifecycle.PROCESS_TASK)
def process_video(self, job_id: int):
    worker = f"{self.request.hostname or 'local'}:{self.request.id or ''}"
    from webapp.segments.services import dispatch_if_long

    job = run_job(job_id, worker=worker, handoff=dispatch_if_long)
    return job.status if job else None


@shared_task(name="webapp.videos.tasks.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs():
    from .tus import purge_stale_uploads

    counts = lifecycle.reap()
    counts["uploads_removed"] = purge_stale_uploads()
    return counts
