"""Running one job in a worker: claim it, export its inputs, run ``ml.pipeline``, store the result.
Every status change goes through ``lifecycle``; this module only does the work in between."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from ml.errors import CancelledError, InputError

from . import lifecycle
from .artefacts import write_artefacts
from .comments import export_comments_csv
from .db import CONNECTION_ERRORS, with_fresh_connection
from .models import Job, Video
from .options import default_pipeline_options, pipeline_options  # noqa: F401  (imported from here too)
from .storage import StorageFull

log = logging.getLogger(__name__)


class ProgressReporter:
    """The pipeline's progress callback: writes stage/progress/heartbeat at most once per
    ``min_interval_s`` (and on every stage change) and raises CancelledError once the job is no
    longer RUNNING (cancelled, or reaped). A dropped database connection is replaced."""

    def __init__(self, job_id: int, min_interval_s: float | None = None):
        self.job_id = job_id
        self.min_interval_s = settings.SHOPFOCUS_PROGRESS_MIN_INTERVAL_S if min_interval_s is None else min_interval_s
        self.last_write = 0.0
        self.last_stage = None

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if stage == self.last_stage and now - self.last_write < self.min_interval_s:
            return
        self.last_write, self.last_stage = now, stage
        if not with_fresh_connection(lambda: lifecycle.progress(self.job_id, stage, fraction)):
            raise CancelledError(f"job {self.job_id} is no longer running")


class Heartbeat:
    """Touches ``heartbeat_at`` every few seconds from a thread while a long stage runs without
    reporting progress, so the reaper only fires when the worker process is really gone."""

    def __init__(self, job_id: int, every_s: float | None = None):
        self.job_id = job_id
        self.every_s = settings.SHOPFOCUS_HEARTBEAT_S if every_s is None else every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-job{job_id}", daemon=True)

    def _run(self):
        try:
            while not self._stop.wait(self.every_s):
                try:
                    with_fresh_connection(lambda: lifecycle.heartbeat(self.job_id))
                except Exception:  # the next beat tries again on a new connection
                    log.exception("heartbeat for job %s failed", self.job_id)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)


def run_job(job_id: int, worker: str = "", handoff=None) -> Job | None:
    """Claim, run the pipeline, store the result. Returns the job, or None when not claimed.

    ``handoff(job) -> bool``, called right after the claim, may take the job elsewhere (a long
    video split into parts: ``webapp.segments.services.dispatch_if_long``); when it returns
    True the job stays RUNNING and this task is done.
    InputError, StorageFull and other exceptions propagate (the task's base class records them)."""
    job = with_fresh_connection(lambda: lifecycle.claim(job_id, worker))
    if job is None:
        log.info("job %s was not queued any more; nothing to do", job_id)
        return None
    if handoff is not None and handoff(job):
        return job
    video = job.video
    localize = import_string(settings.SHOPFOCUS_LOCALIZE)
    memory = with_fresh_connection(lambda: shop_memory_of(job))
    with tempfile.TemporaryDirectory(prefix=f"shopfocus-job{job_id}-") as workdir:
        from webapp.catalog.services import export_catalog_folder

        catalog_dir = export_catalog_folder(video.shop, os.path.join(workdir, "catalog"))
        comments = export_comments_csv(video, os.path.join(workdir, "comments.csv"))
        report = ProgressReporter(job.pk)
        report("preparing", 0.0)
        try:
            with Heartbeat(job.pk):
                # a shop that learned nothing runs exactly as before: no memory argument at all
                result = localize(video.file.path, catalog_dir, comments=comments, options=pipeline_options(job),
                                  progress=report, **({"memory": memory} if memory is not None else {}))
        except CancelledError:
            log.info("job %s stopped: cancelled", job_id)
            job.refresh_from_db()
            return job
    with_fresh_connection(lambda: finish_job(job.pk, result, memory))
    job.refresh_from_db()
    return job


def shop_memory_of(job: Job):
    """What the job's shop learned from its reviews (``webapp.learning``), recorded on the job as
    ``memory_version``; None when nothing (then the run is exactly the packaged pipeline's)."""
    from webapp.learning.services import shop_memory

    memory, version = shop_memory(job.video.shop_id)
    Job.objects.filter(pk=job.pk).update(memory_version=version)
    job.memory_version = version
    return memory


def finish_job(job_id: int, result, memory=None) -> bool:
    """Store intervals and artefacts (with the ``memory`` the run had) and mark SUCCEEDED,
    unless the job was cancelled meanwhile."""
    from webapp.review.services import store_machine_intervals

    def store(job):
        artefacts = write_artefacts(job, result, memory)
        job.artefacts = artefacts
        stored = store_machine_intervals(job, result)
        return {"artefacts": artefacts,
                "timings": {k: round(float(v), 3) for k, v in (result.timings_s or {}).items()},
                "message": f"found {len(result.intervals)} interval(s); {stored} new proposal(s) stored"}

    return lifecycle.finish(job_id, store)


def failure_message(exc: BaseException, job_id: int | None = None) -> str:
    """What a seller reads when a job fails: server paths become names the seller knows (the
    video's title, the catalog's file names), never a temporary or storage path."""
    if isinstance(exc, InputError):
        text = str(exc)
        video = Video.objects.filter(jobs__pk=job_id).first() if job_id is not None else None
        if video is not None and video.file:
            text = text.replace(video.file.path, f"video {video.title!r}")
        return re.sub(r"(?:/[^/\s:]+)+/([^/\s:]+)", r"\1", text)  # /tmp/x/catalog/products.csv -> products.csv
    if isinstance(exc, StorageFull):
        return f"{exc}; the video is kept: press Re-run once there is room"
    if isinstance(exc, CONNECTION_ERRORS):
        return (f"the database kept failing while this video was processed ({type(exc).__name__}); the video "
                "is fine: press Re-run, and tell us if it happens again")
    return (f"processing failed because of an internal error ({type(exc).__name__}); the video and catalog "
            "look fine to us: press Re-run, and tell us if it happens again")
