"""The job lifecycle: every change of ``Job.status`` happens here, each as one conditional UPDATE.

::

    start ──> QUEUED ──claim──> RUNNING ──finish──> SUCCEEDED
                ^  │              │  │
                │  └──cancel──┐   │  └──fail──> FAILED
                └──requeue────┼───┘
                              v
                          CANCELLED

Like healthchecks' ``sendalerts``, a transition is ``Job.objects.filter(pk=..., status=FROM)
.update(status=TO)``: when it updates no row, someone else got there first (another delivery of
the same task, a cancel, the reaper), and the caller stands down. That is what makes a task safe
to deliver twice and the reaper safe to run anywhere.

There is one recovery path, ``requeue``: a transient error in the task, a worker that stopped
sending heartbeats (``reap``) and a message the broker lost (``reap`` again, for QUEUED jobs that
nobody claimed in ``SHOPFOCUS_QUEUED_TIMEOUT_S``) all put the job back to QUEUED and send it
again. Sending goes through the broker by task name, so this module never imports the tasks.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, TextField, Value, When
from django.utils import timezone

from .db import with_fresh_connection
from .models import Job

log = logging.getLogger(__name__)

PROCESS_TASK = "webapp.videos.tasks.process_video"
# A job on the "live" queue is a live session's (webapp.live): its worker records and follows
# the stream instead of processing a finished file. Named, never imported, like PROCESS_TASK.
TASK_FOR_QUEUE = {"live": "webapp.live.tasks.run_live_session"}
UNSENT_GRACE_S = 10.0  # a job not yet sent this long after it was made is sent by the reaper
WAITING_FOR_BROKER = ("saved; waiting for the job queue, which cannot be reached right now: processing "
                      "starts by itself when it is back")


class JobAlreadyActive(Exception):
    def __init__(self, job):
        self.job = job
        super().__init__(f"job {job.pk} for this video is still {job.status}; cancel it first")


class BrokerUnavailable(Exception):
    """The job is stored and marked, but the broker refused the message; the reaper sends it later."""

    def __init__(self, job_id: int, exc: BaseException):
        self.job_id = job_id
        super().__init__(f"the job queue cannot be reached ({type(exc).__name__}: {exc})")


def job_queue() -> str:
    return "gpu" if settings.SHOPFOCUS_GPU_QUEUE else "cpu"


# --------------------------------------------------------------------------- sending
def send(job_id: int, queue: str = "", countdown: float | None = None) -> None:
    """Publish the task now; on failure mark the job as waiting for the broker and raise
    BrokerUnavailable (the job stays QUEUED with no ``enqueued_at``: the reaper sends it)."""
    from celery import current_app as app  # webapp.celery's app (webapp/__init__ loads it)

    try:
        task = TASK_FOR_QUEUE.get(queue, PROCESS_TASK)
        if app.conf.task_always_eager:
            app.tasks[task].apply(args=[job_id])
        else:
            app.send_task(task, args=[job_id], queue=queue or job_queue(), countdown=countdown,
                          retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5})
    except Exception as exc:  # kombu raises OperationalError, ConnectionError, socket errors...
        log.warning("job %s: the broker refused the message (%s); the reaper will send it again", job_id, exc)
        with_fresh_connection(lambda: Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            enqueued_at=None, message=WAITING_FOR_BROKER))
        raise BrokerUnavailable(job_id, exc) from exc
    Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        enqueued_at=timezone.now(), message=Case(When(message=WAITING_FOR_BROKER, then=Value("")), default=F("message"),
                                                output_field=TextField()))


def enqueue(job: Job, countdown: float | None = None) -> None:
    """Send the job once the transaction that made it QUEUED commits (a worker never reads an
    uncommitted row). Outside a transaction it is sent at once."""
    job_id, queue = job.pk, job.queue
    transaction.on_commit(lambda: send(job_id, queue, countdown))


# --------------------------------------------------------------------------- transitions
def start(video, user=None, options: dict | None = None, queue: str = "") -> Job:
    """A new QUEUED job for the video (a re-run when there was one before), sent on commit to
    ``queue`` (default: this site's processing queue; "live": a live session's worker).

    Raises JobAlreadyActive when the video has a QUEUED or RUNNING job, and BrokerUnavailable
    (after the commit: the job is kept) when the broker cannot be reached."""
    with transaction.atomic():
        active = Job.objects.select_for_update().filter(video=video).active().first()
        if active:
            raise JobAlreadyActive(active)
        job = Job.objects.create(video=video, options=dict(options or {}), queue=queue or job_queue(),
                                 created_by=user if user and user.is_authenticated else None)
        enqueue(job)
    return job


def claim(job_id: int, worker: str = "") -> Job | None:
    """QUEUED -> RUNNING; None when the job is not queued (someone else has it, or it was
    cancelled): this is what makes the task safe to deliver twice."""
    now = timezone.now()
    n = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, finished_at=None, worker=worker[:200],
        stage="starting", progress=0.0, message="", attempts=F("attempts") + 1)
    if not n:
        return None
    return Job.objects.select_related("video__shop").get(pk=job_id)


def progress(job_id: int, stage: str, fraction: float) -> bool:
    """Stage, progress and heartbeat of a RUNNING job; False once it is not RUNNING any more."""
    fraction = float(min(1.0, max(0.0, fraction)))
    return bool(Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        stage=str(stage)[:64], progress=fraction, heartbeat_at=timezone.now()))


def heartbeat(job_id: int) -> bool:
    return bool(Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now()))


def finish(job_id: int, store) -> bool:
    """RUNNING -> SUCCEEDED, with ``store(job) -> dict`` (artefacts, intervals: the fields to set)
    in the same transaction; False (nothing stored) when the job was cancelled or reaped meanwhile."""
    with transaction.atomic():
        # The row lock makes a concurrent cancel wait for this commit (or win before it).
        job = Job.objects.select_for_update().select_related("video__shop").filter(
            pk=job_id, status=Job.Status.RUNNING).first()
        if job is None:
            return False
        fields = store(job)
        Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
            status=Job.Status.SUCCEEDED, stage="done", progress=1.0, finished_at=timezone.now(), **fields)
    return True


def fail(job_id: int, message: str) -> bool:
    """QUEUED or RUNNING -> FAILED with a message a person can act on."""
    return bool(with_fresh_connection(lambda: Job.objects.filter(pk=job_id).active().update(
        status=Job.Status.FAILED, message=message[:2000], finished_at=timezone.now())))


def cancel(job_id: int, who: str = "") -> bool:
    """QUEUED or RUNNING -> CANCELLED; a running pipeline stops at its next progress report."""
    return bool(Job.objects.filter(pk=job_id).active().update(
        status=Job.Status.CANCELLED, finished_at=timezone.now(), message=f"cancelled by {who or 'someone'}"))


def requeue(job_id: int, message: str, *, stage: str = "queued again", heartbeat_at=None,
            countdown: float | None = None) -> bool:
    """RUNNING -> QUEUED and sent again on commit: the one recovery path. ``heartbeat_at`` (the
    reaper's) makes it conditional on the heartbeat it judged stale too."""
    def run():
        with transaction.atomic():
            same = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING)
            if heartbeat_at is not None:
                same = same.filter(heartbeat_at=heartbeat_at)
            if not same.update(status=Job.Status.QUEUED, heartbeat_at=None, enqueued_at=None, stage=stage,
                               message=message[:2000]):
                return False
            enqueue(Job.objects.get(pk=job_id), countdown)
        return True

    try:
        return with_fresh_connection(run)
    except BrokerUnavailable:
        return True  # queued and marked; the reaper sends it when the broker is back


# --------------------------------------------------------------------------- the reaper
def reap(now=None) -> dict:
    """Nothing stranded: RUNNING jobs whose heartbeat is older than SHOPFOCUS_HEARTBEAT_TIMEOUT_S
    lost their worker (requeued while attempts remain, else failed with a message); QUEUED jobs
    that were never sent, or sent longer than SHOPFOCUS_QUEUED_TIMEOUT_S ago without being
    claimed (the broker lost the message), are sent again. A duplicate message is harmless: the
    second delivery finds the job claimed. Safe to run in any number of processes."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    cutoff = now - timezone.timedelta(seconds=settings.SHOPFOCUS_HEARTBEAT_TIMEOUT_S)
    max_attempts = settings.SHOPFOCUS_JOB_MAX_ATTEMPTS
    stale = Job.objects.filter(status=Job.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
    # A job split into parts (webapp.segments) has no heartbeat while its parts wait in the queue
    # for a free worker: it is not stale (waiting parts are sent again, as queued jobs are).
    stale = stale.exclude(pk__in=Job.objects.filter(segments__status="queued", segments__attempt=F("attempts"))
                          .values("pk"))
    for job in stale:
        during = job.stage or "work"
        if job.attempts < max_attempts:
            counts["requeued"] += requeue(
                job.pk, f"the worker processing this video stopped during {during}; trying again "
                        f"(attempt {job.attempts + 1} of {max_attempts})", heartbeat_at=job.heartbeat_at)
        elif Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, heartbeat_at=job.heartbeat_at).update(
                status=Job.Status.FAILED, finished_at=now,
                message=f"the worker processing this video stopped during {during} {job.attempts} time(s); the "
                        "video may be too long or too large for the worker's memory: try a shorter video, or "
                        "press Re-run"):
            counts["failed"] += 1
    # Never sent (the broker was away; enqueued_at is set on a successful send) after a short grace
    # for the commit that sends it, or sent and not claimed within the timeout (the broker lost it).
    unsent_before = now - timezone.timedelta(seconds=settings.SHOPFOCUS_QUEUED_TIMEOUT_S)
    lost = Job.objects.filter(status=Job.Status.QUEUED).filter(
        Q(enqueued_at__isnull=True, message=WAITING_FOR_BROKER)
        | Q(enqueued_at__isnull=True, created__lt=now - timezone.timedelta(seconds=UNSENT_GRACE_S))
        | Q(enqueued_at__lt=unsent_before))
    for job in lost:
        # Conditional on the enqueued_at it saw, so two reapers do not both send it.
        if Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED, enqueued_at=job.enqueued_at).update(
                enqueued_at=now):
            try:
                send(job.pk, job.queue)
            except BrokerUnavailable:
                break  # the broker is still away: the next round tries again
            counts["resent"] += 1
    if any(counts.values()):
        log.warning("reaper: %(requeued)d job(s) queued again, %(failed)d failed, %(resent)d sent again", counts)
    return counts
