"""Videos and jobs: upload validation, comments, starting/cancelling/running jobs, the reaper.

The Celery task (tasks.py) only calls ``run_job``; views only call the functions here."""

from __future__ import annotations

import csv
import dataclasses
import logging
import os
import re
import shutil
import tempfile
import threading
import time

import numpy as np
from django.conf import settings
from django.core.files import File
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from ml.comments import load_comments
from ml.errors import CancelledError, InputError

from .models import Comment, Job, Video
from .uploads import format_bytes

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- uploads
def probe_video(path: str):
    """``ml.decode.probe``: a VideoInfo, or InputError naming what is wrong with the file."""
    from ml.decode import probe

    return probe(path)


def _uploaded_path(uploaded, workdir: str) -> str:
    path = getattr(uploaded, "temporary_file_path", lambda: None)()
    if path:
        return path
    path = os.path.join(workdir, "upload" + os.path.splitext(uploaded.name)[1].lower())
    with open(path, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    return path


def check_video_upload(uploaded):
    """Type, size and content checks before anything is stored; returns ml's VideoInfo."""
    name = os.path.basename(uploaded.name or "video")
    ext = os.path.splitext(name)[1].lower()
    allowed = settings.SHOPFOCUS_VIDEO_EXTENSIONS
    if ext not in allowed:
        raise InputError(f"has extension {ext or '(none)'!r}; upload one of {', '.join(allowed)}", path=name)
    ctype = (uploaded.content_type or "").split(";")[0].strip().lower()
    if ctype and ctype not in settings.SHOPFOCUS_VIDEO_MIME_TYPES:
        raise InputError(f"was sent as {ctype!r}, which is not a video type", path=name)
    if uploaded.size == 0:
        raise InputError("file is empty (0 bytes)", path=name)
    if uploaded.size > settings.SHOPFOCUS_MAX_UPLOAD_BYTES:
        raise InputError(f"is larger than the upload limit of {format_bytes(settings.SHOPFOCUS_MAX_UPLOAD_BYTES)}",
                         path=name)
    with tempfile.TemporaryDirectory(prefix="shopfocus-probe-") as workdir:
        path = _uploaded_path(uploaded, workdir)
        try:
            info = probe_video(path)
        except InputError as e:
            raise InputError(str(e).replace(path, name)) from None
    if not info.width or not info.height:
        raise InputError("has no video stream", path=name)
    return info


def _sha256_of(uploaded) -> str:
    digest = getattr(uploaded, "sha256", "")
    if digest:
        return digest
    import hashlib

    h = hashlib.sha256()
    for chunk in uploaded.chunks():
        h.update(chunk)
    return h.hexdigest()


def create_video(shop, user, uploaded, title: str = "", *, comments=None, start=True) -> Video:
    """Validate and store an uploaded video (and optional comments CSV), then queue a job."""
    info = check_video_upload(uploaded)
    name = os.path.basename(uploaded.name)
    video = Video(shop=shop, title=(title or "").strip() or os.path.splitext(name)[0], original_name=name,
                  duration_s=info.duration_s, fps=info.fps, width=info.width, height=info.height,
                  size_bytes=uploaded.size, sha256=_sha256_of(uploaded),
                  uploader=user if user and user.is_authenticated else None)
    with tempfile.TemporaryDirectory(prefix="shopfocus-comments-") as workdir:
        rows = parse_comments_upload(comments, workdir, info.duration_s) if comments else []
        with transaction.atomic():
            # A TemporaryUploadedFile is moved into MEDIA_ROOT, not copied.
            video.file.save(name, uploaded, save=True)
            Comment.objects.bulk_create(Comment(video=video, **row) for row in rows)
            if start:
                start_job(video, user)
    return video


def create_video_from_path(shop, user, path: str, title: str = "") -> Video:
    """Store a video already on disk (the demo command)."""
    info = probe_video(path)
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    video = Video(shop=shop, title=title or os.path.basename(path), original_name=os.path.basename(path),
                  duration_s=info.duration_s, fps=info.fps, width=info.width, height=info.height,
                  size_bytes=os.path.getsize(path), sha256=h.hexdigest(), uploader=user)
    with open(path, "rb") as f:
        video.file.save(os.path.basename(path), File(f), save=True)
    return video


# --------------------------------------------------------------------------- comments
def parse_comments_upload(uploaded, workdir: str, duration_s: float | None) -> list[dict]:
    """Validate a comments CSV (``time_s,user,text``) with ml's loader; rows for Comment."""
    name = os.path.basename(uploaded.name or "comments.csv")
    path = os.path.join(workdir, "comments.csv")
    with open(path, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    return parse_comments_file(path, duration_s, display_name=name)


def parse_comments_file(path: str, duration_s: float | None, *, display_name: str = "comments.csv") -> list[dict]:
    from ml.catalog import read_csv_text

    try:
        load_comments(path, duration_s)  # every check a seller can fail, with row numbers
        text = read_csv_text(path)
    except InputError as e:
        raise InputError(str(e).replace(path, display_name)) from None
    import io

    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        row = {(k or "").strip(): v for k, v in row.items()}
        body = (row.get("text") or "").strip()
        if body:
            rows.append({"time_s": float(row["time_s"]), "user": (row.get("user") or "").strip()[:200], "text": body})
    return rows


@transaction.atomic
def replace_comments(video: Video, uploaded) -> int:
    with tempfile.TemporaryDirectory(prefix="shopfocus-comments-") as workdir:
        rows = parse_comments_upload(uploaded, workdir, video.duration_s)
    video.comments.all().delete()
    Comment.objects.bulk_create(Comment(video=video, **row) for row in rows)
    return len(rows)


def export_comments_csv(video: Video, path: str) -> str | None:
    """Write the video's comments as the contract CSV; None when there are none."""
    comments = list(video.comments.all())
    if not comments:
        return None
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["time_s", "user", "text"])
        for c in comments:
            w.writerow([f"{c.time_s:g}", c.user, c.text])
    return path


# --------------------------------------------------------------------------- starting and stopping jobs
class JobAlreadyActive(Exception):
    def __init__(self, job):
        self.job = job
        super().__init__(f"job {job.pk} for this video is still {job.status}; cancel it first")


def job_queue() -> str:
    return "gpu" if settings.SHOPFOCUS_GPU_QUEUE else "cpu"


def enqueue(job: Job) -> None:
    """Send the job to the broker once the transaction that made it commits."""
    from .tasks import process_video

    transaction.on_commit(lambda: process_video.apply_async(args=[job.pk], queue=job.queue or job_queue()))


def start_job(video: Video, user=None, options: dict | None = None) -> Job:
    """A new queued job for the video (a re-run when there was one before)."""
    with transaction.atomic():
        active = Job.objects.select_for_update().filter(video=video).active().first()
        if active:
            raise JobAlreadyActive(active)
        job = Job.objects.create(video=video, options=dict(options or {}), queue=job_queue(),
                                 created_by=user if user and user.is_authenticated else None)
        enqueue(job)
    return job


def cancel_job(job: Job, user=None) -> bool:
    """Cancel a queued or running job; a running one stops at its next progress report."""
    who = getattr(user, "username", "") or "someone"
    n = Job.objects.filter(pk=job.pk).active().update(
        status=Job.Status.CANCELLED, finished_at=timezone.now(), message=f"cancelled by {who}")
    job.refresh_from_db()
    return bool(n)


# --------------------------------------------------------------------------- running a job
def claim_job(job_id: int, worker: str = "") -> Job | None:
    """QUEUED -> RUNNING atomically; None when the job is not queued (someone else has it, or it
    was cancelled): this is what makes the task safe to deliver twice."""
    now = timezone.now()
    from django.db.models import F

    n = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, finished_at=None, worker=worker[:200],
        stage="starting", progress=0.0, attempts=F("attempts") + 1)
    if not n:
        return None
    return Job.objects.select_related("video__shop").get(pk=job_id)


class ProgressReporter:
    """The pipeline's progress callback: writes stage/progress/heartbeat at most once per
    ``min_interval_s`` (and on every stage change) and raises CancelledError once the job is no
    longer RUNNING (cancelled, or reaped)."""

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
        fraction = float(min(1.0, max(0.0, fraction)))
        n = Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(
            stage=str(stage)[:64], progress=fraction, heartbeat_at=timezone.now())
        if not n:
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
                    Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())
                except Exception:
                    log.exception("heartbeat for job %s failed", self.job_id)
        finally:
            connection.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)


def pipeline_options(job: Job):
    from ml.pipeline import PipelineOptions

    known = {f.name for f in dataclasses.fields(PipelineOptions)}
    # the worker's own defaults (a GPU worker: openai-whisper on cuda), then the job's options
    opts = {k: v for k, v in {**settings.SHOPFOCUS_PIPELINE_DEFAULTS, **(job.options or {})}.items() if k in known}
    if "modalities" in opts:
        opts["modalities"] = tuple(opts["modalities"])
    return PipelineOptions(**opts)


def run_job(job_id: int, worker: str = "") -> Job | None:
    """Claim, run the pipeline, store the result. Returns the job, or None when not claimed.

    InputError and other exceptions propagate (the task's on_failure records them)."""
    job = claim_job(job_id, worker)
    if job is None:
        log.info("job %s was not queued any more; nothing to do", job_id)
        return None
    video = job.video
    localize = import_string(settings.SHOPFOCUS_LOCALIZE)
    with tempfile.TemporaryDirectory(prefix=f"shopfocus-job{job_id}-") as workdir:
        from webapp.catalog.services import export_catalog_folder

        catalog_dir = export_catalog_folder(video.shop, os.path.join(workdir, "catalog"))
        comments = export_comments_csv(video, os.path.join(workdir, "comments.csv"))
        report = ProgressReporter(job.pk)
        report("preparing", 0.0)
        try:
            with Heartbeat(job.pk):
                result = localize(video.file.path, catalog_dir, comments=comments,
                                  options=pipeline_options(job), progress=report)
        except CancelledError:
            log.info("job %s stopped: cancelled", job_id)
            job.refresh_from_db()
            return job
    finish_job(job.pk, result)
    job.refresh_from_db()
    return job


def finish_job(job_id: int, result) -> bool:
    """Store intervals and artefacts and mark SUCCEEDED, unless the job was cancelled meanwhile."""
    from webapp.review.services import store_machine_intervals

    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("video__shop").get(pk=job_id)
        if job.status != Job.Status.RUNNING:
            return False
        job.artefacts = write_artefacts(job, result)
        stored = store_machine_intervals(job, result)
        job.status = Job.Status.SUCCEEDED
        job.stage = "done"
        job.progress = 1.0
        job.timings = {k: round(float(v), 3) for k, v in (result.timings_s or {}).items()}
        job.finished_at = timezone.now()
        job.message = f"found {len(result.intervals)} interval(s); {stored} new proposal(s) stored"
        job.save()
    return True


def fail_job(job_id: int, message: str) -> None:
    Job.objects.filter(pk=job_id).exclude(status__in=(Job.Status.SUCCEEDED, Job.Status.CANCELLED)).update(
        status=Job.Status.FAILED, message=message[:2000], finished_at=timezone.now())


def requeue_job(job_id: int, message: str) -> bool:
    """RUNNING -> QUEUED (a transient error): the caller retries."""
    return bool(Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        status=Job.Status.QUEUED, message=message[:2000], heartbeat_at=None))


def failure_message(exc: BaseException, job_id: int | None = None) -> str:
    """What a seller reads when a job fails: server paths become names the seller knows (the
    video's title, the catalog's file names), never a temporary or storage path."""
    if isinstance(exc, InputError):
        text = str(exc)
        video = Video.objects.filter(jobs__pk=job_id).first() if job_id is not None else None
        if video is not None and video.file:
            text = text.replace(video.file.path, f"video {video.title!r}")
        return re.sub(r"(?:/[^/\s:]+)+/([^/\s:]+)", r"\1", text)  # /tmp/x/catalog/products.csv -> products.csv
    return (f"processing failed because of an internal error ({type(exc).__name__}); the video and catalog "
            "look fine to us: press Re-run, and tell us if it happens again")


# --------------------------------------------------------------------------- the reaper
def reap_stale_jobs(now=None) -> dict:
    """RUNNING jobs whose heartbeat is older than SHOPFOCUS_HEARTBEAT_TIMEOUT_S lost their worker:
    queue them again while attempts remain, otherwise fail them with a message."""
    now = now or timezone.now()
    cutoff = now - timezone.timedelta(seconds=settings.SHOPFOCUS_HEARTBEAT_TIMEOUT_S)
    max_attempts = settings.SHOPFOCUS_JOB_MAX_ATTEMPTS
    stale = Job.objects.filter(status=Job.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
    requeued = failed = 0
    for job in stale:
        same = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, heartbeat_at=job.heartbeat_at)
        if job.attempts < max_attempts:
            with transaction.atomic():
                if same.update(status=Job.Status.QUEUED, heartbeat_at=None, stage="queued again",
                               message=f"the worker processing this video stopped during {job.stage or 'work'}; "
                                       f"trying again (attempt {job.attempts + 1} of {max_attempts})"):
                    enqueue(job)
                    requeued += 1
        elif same.update(status=Job.Status.FAILED, finished_at=now,
                         message=f"the worker processing this video stopped during {job.stage or 'work'} "
                                 f"{job.attempts} time(s); the video may be too long or too large for the "
                                 "worker's memory: try a shorter video, or press Re-run"):
            failed += 1
    if requeued or failed:
        log.warning("reaper: %d job(s) queued again, %d failed", requeued, failed)
    return {"requeued": requeued, "failed": failed}


# --------------------------------------------------------------------------- artefacts
MAX_CURVE_STEPS = 2000


def curves_json(curves, max_steps: int = MAX_CURVE_STEPS) -> dict:
    """Score curves for the timeline, max-pooled to at most ``max_steps`` steps (peaks survive).

    ``{"times": [T], "step_s": s, "product_ids": [P], "fused": {pid: [T]},
       "modalities": {name: {pid: [T]}}}``"""
    times = np.asarray(curves.times, dtype=np.float64)
    T = len(times)
    factor = max(1, int(np.ceil(T / max_steps))) if T else 1

    def pool(a):
        a = np.asarray(a, dtype=np.float32)
        if factor == 1:
            return a
        pad = (-len(a)) % factor
        if pad:
            a = np.concatenate([a, np.repeat(a[-1:], pad, axis=0)])
        return a.reshape(-1, factor, a.shape[1]).max(axis=1)

    if factor > 1:
        pad = (-T) % factor
        t = np.concatenate([times, np.repeat(times[-1:], pad)]) if pad else times
        times = t.reshape(-1, factor).mean(axis=1)
    ids = list(curves.product_ids)
    fused = pool(curves.fused) if T else np.zeros((0, len(ids)))
    out = {"times": np.round(times, 3).tolist(), "step_s": float(curves.step_s) * factor, "product_ids": ids,
           "fused": {pid: np.round(fused[:, j], 4).tolist() for j, pid in enumerate(ids)}, "modalities": {}}
    for name, arr in curves.modalities.items():
        pooled = pool(arr) if T else np.zeros((0, len(ids)))
        out["modalities"][name] = {pid: np.round(pooled[:, j], 4).tolist() for j, pid in enumerate(ids)}
    return out


def write_artefacts(job: Job, result) -> dict:
    """result.json, curves.json and one JSON file per key of the run's evidence
    (``ml.types.Evidence.to_json``: boxes, shots, tracklets, transcript, screen_text) under MEDIA_ROOT."""
    import json

    rel_dir = f"{job.video.artefacts_dir()}/job{job.pk}"
    abs_dir = os.path.join(settings.MEDIA_ROOT, rel_dir)
    os.makedirs(abs_dir, exist_ok=True)
    items = {"result": result.to_json()}
    if result.curves is not None:
        items["curves"] = curves_json(result.curves)
    for key, value in (result.evidence.to_json() if result.evidence is not None else {}).items():
        items.setdefault(key, value)
    written = {}
    for name, data in items.items():
        with open(os.path.join(abs_dir, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
        written[name] = f"{rel_dir}/{name}.json"
    return written


def remove_artefacts(video: Video) -> None:
    shutil.rmtree(os.path.join(settings.MEDIA_ROOT, video.artefacts_dir()), ignore_errors=True)


def close_db():
    close_old_connections()
