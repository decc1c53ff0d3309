"""The live worker's task (queue "live", one session per worker process)."""

from celery import shared_task

from webapp.videos import lifecycle
from webapp.videos.tasks import JobTask


class LiveJobTask(JobTask):
    """A failed live job (JobTask records it) also ends its session and frees its slot."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        super().on_failure(exc, task_id, args, kwargs, einfo)
        from .services import release_finished_slots

        release_finished_slots()


@shared_task(bind=True, base=LiveJobTask, name=lifecycle.TASK_FOR_QUEUE["live"])
def run_live_session(self, job_id: int):
    from .worker import run_live_session as run

    worker = f"{self.request.hostname or 'local'}:{self.request.id or ''}"
    job = run(job_id, worker=worker)
    return job.status if job else None
