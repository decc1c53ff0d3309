"""A long video's job as a Celery group of segments, joined and scored once.

::

    process_video (claims the job) ──dispatch──> group(run_segment x N) on the job's queue
        each segment: claim its row, ml.segments.run_segment, save its folder, mark done;
        the one that completes the set sends join_segments
    join_segments: ml.segments.join (overlaps resolved, tracklets re-linked) ──> ml.segments.decide
        (fusion + localization once) ──> runner.finish_job (artefacts, intervals, SUCCEEDED)

Every job status change goes through ``webapp.videos.lifecycle``; this module writes only its
own rows (``SegmentPlan``, ``JobSegment``), each change a conditional UPDATE like the
lifecycle's, so a message delivered twice, a superseded attempt or a cancelled job stands down.

The join is sent by the segment that completes the set (a conditional UPDATE of
``SegmentPlan.join_sent_at``), not by a Celery chord: a chord needs a result backend, which this
app does not run (results are ignored; state lives in the database), the embedded filesystem
broker of ``make run`` has no chord support, and a chord's counter would count a segment
redelivered after a worker loss (``acks_late``) twice.

Recovery is the job's: a segment that fails fails its job with a message naming the part
(a transient database or broker error requeues the job instead, ``JobTask``); a worker that dies
stops the job's heartbeat, and the reaper requeues the job, whose next attempt reuses every part
already done (their folders under ``MEDIA_ROOT/work/``) and sends the rest again. Parts waiting
in the queue keep their job from being reaped (``lifecycle.reap``) and are sent again after
``SHOPFOCUS_QUEUED_TIMEOUT_S`` (``resend_waiting``), as queued jobs are.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ml.errors import CancelledError
from ml.segments import Segment, SegmentOptions, SegmentOutput, plan_segments

from webapp.videos import lifecycle
from webapp.videos.db import with_fresh_connection
from webapp.videos.models import Job
from webapp.videos.runner import pipeline_options, shop_memory_of
from webapp.videos.storage import StorageFull, is_storage_full

from .models import JobSegment, SegmentPlan, clock

log = logging.getLogger(__name__)

SEGMENT_TASK = "webapp.segments.tasks.run_segment"
JOIN_TASK = "webapp.segments.tasks.join_segments"
PROGRESS_SHARE = (0.02, 0.95)  # of the job's progress bar: the parts run between these


def segment_options(job: Job) -> SegmentOptions:
    """The worker's settings, overridden by the job's options ``segment_s`` / ``segment_context_s``."""
    o = job.options or {}
    return SegmentOptions(segment_s=float(o.get("segment_s", settings.SHOPFOCUS_SEGMENT_S)),
                          context_s=float(o.get("segment_context_s", settings.SHOPFOCUS_SEGMENT_CONTEXT_S)))


def work_dir(job_id: int) -> str:
    """The job's inputs and finished parts, under MEDIA_ROOT (shared by every worker host);
    never served (``serve_media`` only serves videos, catalog and artefacts)."""
    return os.path.join(settings.MEDIA_ROOT, "work", f"job{job_id}")


def output_dir(job_id: int, index: int) -> str:
    return os.path.join(work_dir(job_id), f"segment{index:03d}")


def part_label(row: JobSegment, n: int) -> str:
    return f"part {row.index + 1} of {n} ({clock(row.keep_start_s)}-{clock(row.keep_end_s)})"


# --------------------------------------------------------------------------- dispatch
def _prepare_inputs(job: Job) -> None:
    """The catalog and comments as the pipeline reads them, exported once per job: every part
    and every attempt of the job sees the same inputs (a re-run, a new job, sees new ones)."""
    from webapp.catalog.services import export_catalog_folder
    from webapp.videos.comments import export_comments_csv

    root = work_dir(job.pk)
    if os.path.isfile(os.path.join(root, "inputs.done")):
        return
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    export_catalog_folder(job.video.shop, os.path.join(root, "catalog"))
    export_comments_csv(job.video, os.path.join(root, "comments.csv"))
    memory = shop_memory_of(job)  # what the shop learned, once: every part runs with the same
    if memory is not None:
        memory.save(os.path.join(root, "memory.npz"))
    open(os.path.join(root, "inputs.done"), "w").close()


def _memory(job_id: int):
    """The job's shop memory as ``_prepare_inputs`` saved it (None: the shop had learned nothing)."""
    path = os.path.join(work_dir(job_id), "memory.npz")
    if not os.path.isfile(path):
        return None
    from ml.adapt import ShopMemory

    return ShopMemory.load(path)


def _send(name: str, args: list, queue: str, countdown: float | None = None) -> None:
    from celery import current_app as app

    if app.conf.task_always_eager:
        app.tasks[name].apply(args=args)
    else:
        app.send_task(name, args=args, queue=queue or lifecycle.job_queue(), countdown=countdown,
                      retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5})


def _send_group(job: Job, rows: list[JobSegment]) -> None:
    from celery import current_app as app, group

    if app.conf.task_always_eager:
        for row in rows:
            app.tasks[SEGMENT_TASK].apply(args=[job.pk, row.attempt, row.index])
        return
    group(app.signature(SEGMENT_TASK, args=[job.pk, row.attempt, row.index], queue=job.queue or lifecycle.job_queue())
          for row in rows).apply_async()


def dispatch_if_long(job: Job) -> bool:
    """Called by ``runner.run_job`` right after the claim. A video longer than one segment is
    planned, its parts recorded and sent as a group; returns True (this task is done, the job
    stays RUNNING). Otherwise returns False and the task runs the pipeline itself."""
    options = pipeline_options(job)
    plan = plan_segments(max(job.video.duration_s, 1e-3), segment_options(job), options.step_s, options.fps)
    if len(plan) == 1:
        return False
    _prepare_inputs(job)
    now = timezone.now()
    with transaction.atomic():
        seg_opts = segment_options(job)
        SegmentPlan.objects.update_or_create(job=job, defaults={
            "attempt": job.attempts, "segment_s": seg_opts.segment_s, "context_s": seg_opts.context_s,
            "join_sent_at": None})
        existing = {r.index: r for r in JobSegment.objects.select_for_update().filter(job=job)}
        if [(r.start_s, r.end_s) for _, r in sorted(existing.items())] != [(s.start_s, s.end_s) for s in plan]:
            JobSegment.objects.filter(job=job).delete()  # a plan made with other settings
            existing = {}
        to_send = []
        for seg in plan:
            row = existing.get(seg.index)
            if row and row.status == JobSegment.Status.DONE and SegmentOutput.exists(output_dir(job.pk, seg.index)):
                JobSegment.objects.filter(pk=row.pk).update(attempt=job.attempts)  # kept from an earlier attempt
                continue
            fields = dict(start_s=seg.start_s, end_s=seg.end_s, keep_start_s=seg.keep_start_s, keep_end_s=seg.keep_end_s,
                          status=JobSegment.Status.QUEUED, attempt=job.attempts, stage="", progress=0.0, worker="",
                          sent_at=now, started_at=None, finished_at=None, heartbeat_at=None)
            row, _ = JobSegment.objects.update_or_create(job=job, index=seg.index, defaults=fields)
            to_send.append(row)
    stage, fraction = job_progress(job.pk)
    lifecycle.progress(job.pk, stage, fraction)
    log.info("job %s: %d parts, %d to run", job.pk, len(plan), len(to_send))
    try:
        if to_send:
            _send_group(job, to_send)
        else:
            maybe_join(job.pk, job.attempts, job.queue)
    except Exception as exc:  # the broker went away between the claim and here
        log.warning("job %s: sending its parts failed (%s); queued again", job.pk, exc)
        lifecycle.requeue(job.pk, f"the job queue could not be reached while sending its parts "
                                  f"({type(exc).__name__}); trying again")
    return True


# --------------------------------------------------------------------------- progress
def job_progress(job_id: int) -> tuple[str, float]:
    """The job's stage text and fraction from its parts (weighted by the video time they keep)."""
    rows = list(JobSegment.objects.filter(job_id=job_id).values_list("status", "progress", "keep_start_s", "keep_end_s"))
    total = sum(b - a for _, _, a, b in rows) or 1.0
    done_share = sum((1.0 if s == JobSegment.Status.DONE else p) * (b - a) for s, p, a, b in rows) / total
    counts = {s: sum(1 for r in rows if r[0] == s) for s in JobSegment.Status.values}
    parts = [f"{counts['done']} of {len(rows)} parts done"]
    if counts["running"]:
        parts.append(f"{counts['running']} running")
    if counts["queued"]:
        parts.append(f"{counts['queued']} waiting")
    lo, hi = PROGRESS_SHARE
    return ", ".join(parts), lo + (hi - lo) * done_share


def segments_of(job: Job) -> list[dict]:
    """What the job page shows of each part (empty for a job that was not split)."""
    return [row.to_dict() for row in job.segments.all()]


class SegmentReporter:
    """``ml.segments.run_segment``'s progress callback: the part's row and the job's progress,
    at most every ``min_interval_s``; raises CancelledError once the part is not this
    attempt's any more or the job is not RUNNING (cancelled, failed by another part, reaped)."""

    def __init__(self, row: JobSegment, min_interval_s: float | None = None):
        self.row = row
        self.min_interval_s = settings.SHOPFOCUS_PROGRESS_MIN_INTERVAL_S if min_interval_s is None else min_interval_s
        self.last_write = 0.0
        self.last_stage = None

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if stage == self.last_stage and now - self.last_write < self.min_interval_s:
            return
        self.last_write, self.last_stage = now, stage
        row = self.row

        def write():
            mine = JobSegment.objects.filter(pk=row.pk, attempt=row.attempt, status=JobSegment.Status.RUNNING).update(
                stage=str(stage)[:64], progress=float(min(1.0, max(0.0, fraction))), heartbeat_at=timezone.now())
            return mine and lifecycle.progress(row.job_id, *job_progress(row.job_id))

        if not with_fresh_connection(write):
            raise CancelledError(f"job {row.job_id} part {row.index} is no longer running")


class SegmentHeartbeat(threading.Thread):
    """Beats the job (``lifecycle.heartbeat``) and the part's row every few seconds while a
    stage runs without reporting progress, so only a dead worker goes stale."""

    def __init__(self, row: JobSegment):
        super().__init__(name=f"heartbeat-job{row.job_id}-part{row.index}", daemon=True)
        self.row = row
        self.stop = threading.Event()

    def run(self):
        from django.db import connection

        try:
            while not self.stop.wait(settings.SHOPFOCUS_HEARTBEAT_S):
                try:
                    with_fresh_connection(lambda: lifecycle.heartbeat(self.row.job_id) and JobSegment.objects.filter(
                        pk=self.row.pk, attempt=self.row.attempt, status=JobSegment.Status.RUNNING).update(
                        heartbeat_at=timezone.now()))
                except Exception:
                    log.exception("heartbeat of job %s part %s failed", self.row.job_id, self.row.index)
                    connection.close()
        finally:
            connection.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(timeout=30)


# --------------------------------------------------------------------------- one part
def claim(job_id: int, attempt: int, index: int, worker: str = "") -> JobSegment | None:
    """QUEUED (or RUNNING on a worker whose heartbeat stopped) -> RUNNING, for this attempt of a
    RUNNING job only; None when someone else has it, it is done, or the attempt is superseded."""
    now = timezone.now()
    stale = now - timezone.timedelta(seconds=settings.SHOPFOCUS_HEARTBEAT_TIMEOUT_S)
    n = JobSegment.objects.filter(job_id=job_id, index=index, attempt=attempt, job__status=Job.Status.RUNNING,
                                  job__attempts=attempt).filter(
        Q(status=JobSegment.Status.QUEUED) | Q(status=JobSegment.Status.RUNNING, heartbeat_at__lt=stale)).update(
        status=JobSegment.Status.RUNNING, worker=worker[:200], started_at=now, heartbeat_at=now, stage="starting",
        progress=0.0, finished_at=None)
    return JobSegment.objects.select_related("job__video").get(job_id=job_id, index=index) if n else None


def run(job_id: int, attempt: int, index: int, worker: str = "") -> str:
    """The segment task's work: claim the part, compute it (unless an earlier delivery already
    saved it), mark it done, and send the join when it was the last. Returns what happened."""
    from ml.catalog import load_catalog
    from ml.comments import load_comments
    from ml.decode import probe
    from ml.segments import run_segment

    row = with_fresh_connection(lambda: claim(job_id, attempt, index, worker))
    if row is None:
        log.info("job %s part %s (attempt %s): not this worker's to run", job_id, index, attempt)
        return "stood down"
    job, folder = row.job, output_dir(job_id, index)
    if not SegmentOutput.exists(folder):
        root = work_dir(job_id)
        video = job.video.file.path
        comments = os.path.join(root, "comments.csv")
        info = probe(video)
        events = load_comments(comments, info.duration_s) if os.path.isfile(comments) else None
        segment = Segment(row.index, row.start_s, row.end_s, row.keep_start_s, row.keep_end_s)
        try:
            with SegmentHeartbeat(row):
                out = run_segment(video, load_catalog(os.path.join(root, "catalog")), events, pipeline_options(job),
                                  segment, info.duration_s, info.has_audio, SegmentReporter(row),
                                  memory=_memory(job_id))
        except CancelledError:
            log.info("job %s part %s stopped: the job or this attempt is over", job_id, index)
            return "cancelled"
        try:
            out.save(folder)
        except OSError as e:
            if is_storage_full(e):
                raise StorageFull("this job's parts") from e
            raise
    done = with_fresh_connection(lambda: JobSegment.objects.filter(
        pk=row.pk, attempt=attempt, status=JobSegment.Status.RUNNING).update(
        status=JobSegment.Status.DONE, progress=1.0, stage="done", finished_at=timezone.now()))
    if not done:
        return "superseded"
    with_fresh_connection(lambda: lifecycle.progress(job_id, *job_progress(job_id)))
    maybe_join(job_id, attempt, job.queue)
    return "done"


def maybe_join(job_id: int, attempt: int, queue: str = "") -> bool:
    """Send the join once every part is done (only one caller wins the plan's update)."""
    def claim_join():
        if JobSegment.objects.filter(job_id=job_id).exclude(status=JobSegment.Status.DONE).exists():
            return False
        return bool(SegmentPlan.objects.filter(job_id=job_id, attempt=attempt, join_sent_at__isnull=True).update(
            join_sent_at=timezone.now()))

    if not with_fresh_connection(claim_join):
        return False
    _send(JOIN_TASK, [job_id, attempt], queue)
    return True


def mark_failed(job_id: int, attempt: int, index: int) -> JobSegment | None:
    """The part's row FAILED (when it is still this attempt's); returns the row for the message."""
    JobSegment.objects.filter(job_id=job_id, index=index, attempt=attempt).exclude(
        status=JobSegment.Status.DONE).update(status=JobSegment.Status.FAILED, finished_at=timezone.now())
    return JobSegment.objects.filter(job_id=job_id, index=index).first()


# --------------------------------------------------------------------------- the join
def join(job_id: int, attempt: int) -> str:
    """Join the parts' folders, score once, store the result through ``runner.finish_job``."""
    from ml.segments import decide, join as join_parts, summed_timings

    from webapp.videos.runner import Heartbeat, finish_job

    plan = SegmentPlan.objects.filter(job_id=job_id, attempt=attempt).select_related("job__video").first()
    if plan is None or plan.job.status != Job.Status.RUNNING or plan.job.attempts != attempt:
        return "stood down"
    job = plan.job
    rows = list(JobSegment.objects.filter(job_id=job_id).order_by("index"))
    if not lifecycle.progress(job_id, f"joining {len(rows)} parts", PROGRESS_SHARE[1]):
        return "stood down"
    with Heartbeat(job_id):
        t0 = time.perf_counter()
        parts = [SegmentOutput.load(output_dir(job_id, r.index)) for r in rows]
        features, evidence = join_parts(parts)
        timings = {**summed_timings(parts), "join": time.perf_counter() - t0}
        memory = _memory(job_id)
        result = decide(job.video.file.path, rows[-1].keep_end_s, features, evidence, pipeline_options(job), timings,
                        memory=memory)
    result.timings_s["total"] = (timezone.now() - job.started_at).total_seconds() if job.started_at else 0.0
    if with_fresh_connection(lambda: finish_job(job_id, result, memory)):
        shutil.rmtree(work_dir(job_id), ignore_errors=True)
        return "finished"
    return "stood down"


# --------------------------------------------------------------------------- housekeeping
def resend_waiting(now=None) -> int:
    """Parts of RUNNING jobs still waiting SHOPFOCUS_QUEUED_TIMEOUT_S after they were sent are
    sent again (the broker may have lost them; a duplicate finds the part claimed and stands
    down). Returns how many were sent."""
    now = now or timezone.now()
    cutoff = now - timezone.timedelta(seconds=settings.SHOPFOCUS_QUEUED_TIMEOUT_S)
    sent = 0
    for row in JobSegment.objects.filter(status=JobSegment.Status.QUEUED, sent_at__lt=cutoff,
                                         job__status=Job.Status.RUNNING, attempt=F("job__attempts")).select_related("job"):
        if JobSegment.objects.filter(pk=row.pk, status=JobSegment.Status.QUEUED, sent_at=row.sent_at).update(sent_at=now):
            try:
                _send(SEGMENT_TASK, [row.job_id, row.attempt, row.index], row.job.queue)
            except Exception as exc:
                log.warning("resending job %s part %s failed (%s); next round", row.job_id, row.index, exc)
                break
            sent += 1
    return sent


def sweep(now=None, older_than_s: float = 3600.0) -> int:
    """Remove the work folders of jobs that finished (failed or cancelled ones keep theirs an
    hour, for a look) or no longer exist. Returns how many were removed."""
    now = now or timezone.now()
    root = os.path.join(settings.MEDIA_ROOT, "work")
    if not os.path.isdir(root):
        return 0
    ids = {int(n[3:]): n for n in os.listdir(root) if n.startswith("job") and n[3:].isdigit()}
    keep = set(Job.objects.filter(pk__in=ids).filter(
        Q(status__in=(Job.Status.QUEUED, Job.Status.RUNNING))
        | Q(finished_at__gt=now - timezone.timedelta(seconds=older_than_s))).values_list("pk", flat=True))
    removed = 0
    for job_id, name in ids.items():
        if job_id not in keep:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            removed += 1
    return removed
