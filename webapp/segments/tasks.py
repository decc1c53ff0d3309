"""Thin Celery tasks for the parts of a split job (``services``): ids in, one call."""

import logging

from celery import shared_task

from webapp.videos import lifecycle
from webapp.videos.db import refresh_connection
from webapp.videos.runner import failure_message
from webapp.videos.tasks import TRANSIENT_ERRORS, JobTask

from . import services

log = logging.getLogger(__name__)


class SegmentTask(JobTask):
    """A part that fails fails its job with a message naming the part; a transient database or
    broker error requeues the job instead (``JobTask``), whose next attempt reuses the parts done."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        job_id, attempt, index = (list(args) + [None, None, None])[:3]
        if isinstance(exc, TRANSIENT_ERRORS):
            return super().on_failure(exc, task_id, args, kwargs, einfo)
        refresh_connection()
        row = services.mark_failed(job_id, attempt, index)
        n = row.job.segments.count() if row else 0
        where = services.part_label(row, n) if row else f"part {index}"
        from ml.errors import InputError

        if not isinstance(exc, InputError):
            log.error("job %s %s failed", job_id, where, exc_info=(type(exc), exc, einfo.tb if einfo else None))
        lifecycle.fail(job_id, f"{where} could not be processed: {failure_message(exc, job_id)}")


class JoinTask(JobTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if isinstance(exc, TRANSIENT_ERRORS):
            return super().on_failure(exc, task_id, args, kwargs, einfo)
        refresh_connection()
        log.error("job %s: joining its parts failed", args[0], exc_info=(type(exc), exc, einfo.tb if einfo else None))
        lifecycle.fail(args[0], f"joining the video's parts failed: {failure_message(exc, args[0])}")


@shared_task(bind=True, base=SegmentTask, name=services.SEGMENT_TASK)
def run_segment(self, job_id: int, attempt: int, index: int):
    return services.run(job_id, attempt, index, worker=f"{self.request.hostname or 'local'}:{self.request.id or ''}")


@shared_task(bind=True, base=JoinTask, name=services.JOIN_TASK)
def join_segments(self, job_id: int, attempt: int):
    return services.join(job_id, attempt)


@shared_task(name="webapp.segments.tasks.resend_waiting_segments", ignore_result=True)
def resend_waiting_segments():
    return {"resent": services.resend_waiting(), "swept": services.sweep()}
