"""Videos, the seller's comments on them, and the processing jobs that run ``ml.pipeline``."""

import json
import os
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from webapp.accounts.models import Shop


class VideoQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(shop__in=Shop.objects.visible_to(user))


def video_upload_path(instance, filename):
    ext = os.path.splitext(filename)[1].lower() or ".mp4"
    return f"videos/{instance.shop_id}/{uuid.uuid4().hex}{ext}"


class Video(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="videos")
    title = models.CharField(max_length=300)
    file = models.FileField(upload_to=video_upload_path, max_length=500)
    original_name = models.CharField(max_length=300, blank=True)
    duration_s = models.FloatField(default=0.0)
    fps = models.FloatField(default=0.0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="videos")
    created = models.DateTimeField(auto_now_add=True)

    objects = VideoQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return self.title

    @property
    def latest_job(self):
        return self.jobs.order_by("-created", "-pk").first()

    @property
    def latest_succeeded_job(self):
        return self.jobs.filter(status=Job.Status.SUCCEEDED).order_by("-finished_at", "-pk").first()

    def duplicates(self):
        """Other videos of the same shop with the same file (SHA-256), oldest first."""
        if not self.sha256:
            return Video.objects.none()
        return Video.objects.filter(shop_id=self.shop_id, sha256=self.sha256).exclude(pk=self.pk).order_by("pk")

    def artefacts_dir(self) -> str:
        """Where the per-video JSON artefacts (score curves, transcript...) live, under MEDIA_ROOT."""
        return f"artefacts/{self.shop_id}/{self.pk}"

    def load_artefact(self, name: str):
        """The named artefact of the latest succeeded job (``None`` when there is none)."""
        job = self.latest_succeeded_job
        return job.load_artefact(name) if job else None


class Comment(models.Model):
    """A seller's or viewer's comment at a time of the video (``user`` is the name in the CSV)."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="comments")
    time_s = models.FloatField()
    user = models.CharField(max_length=200, blank=True)
    text = models.TextField()

    class Meta:
        ordering = ["time_s", "pk"]

    def __str__(self):
        return f"{self.time_s:.1f}s {self.user}: {self.text[:40]}"


class JobQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(video__shop__in=Shop.objects.visible_to(user))

    def active(self):
        return self.filter(status__in=(Job.Status.QUEUED, Job.Status.RUNNING))


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="jobs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField(max_length=64, blank=True)
    progress = models.FloatField(default=0.0)
    message = models.TextField(blank=True, help_text="What went wrong, in words a seller can act on.")
    timings = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    threshold = models.FloatField(default=0.5, help_text="The result's calibrated operating point: proposals "
                                                          "scoring at least this are published by default.")
    artefacts = models.JSONField(default=dict, blank=True, help_text="name -> file path under MEDIA_ROOT")
    memory_version = models.CharField(max_length=200, blank=True, help_text=(
        "What the shop had learned from its reviews when this job ran (webapp.learning.services.shop_memory; "
        "empty: nothing, the packaged model alone); the memory itself is the job's memory artefact."))
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True,
                                       help_text="When the task was last handed to the broker (None: not yet).")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    queue = models.CharField(max_length=32, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"job {self.pk} ({self.status}) for {self.video_id}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    def elapsed_s(self, now=None) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or now or timezone.now()
        return max(0.0, (end - self.started_at).total_seconds())

    def eta_s(self, now=None) -> float | None:
        """Seconds left, extrapolated from progress so far (None until there is something to go on)."""
        elapsed = self.elapsed_s(now)
        if self.status != self.Status.RUNNING or elapsed is None or self.progress < 0.02:
            return None
        return elapsed * (1.0 - self.progress) / self.progress

    def load_artefact(self, name: str):
        """A JSON artefact's data (None when there is none; the .npz ones are read by ml)."""
        rel = self.artefacts.get(name)
        if not rel or not rel.endswith(".json"):
            return None
        path = os.path.join(settings.MEDIA_ROOT, rel)
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def to_dict(self) -> dict:
        return {
            "id": self.pk,
            "video": self.video_id,
            "status": self.status,
            "stage": self.stage,
            "progress": round(self.progress, 4),
            "message": self.message,
            "attempts": self.attempts,
            "timings": self.timings,
            "queue": self.queue,
            "worker": self.worker,
            "created": self.created.isoformat() if self.created else None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "heartbeat_at": self.heartbeat_at.isoformat() if self.heartbeat_at else None,
            "elapsed_s": self.elapsed_s(),
            "eta_s": self.eta_s(),
            "artefacts": sorted(self.artefacts),
        }


class Upload(models.Model):
    """A resumable (tus) upload in progress: its bytes are ``path``, its offset is that file's size."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="uploads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=300)
    length = models.BigIntegerField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"upload {self.pk} ({self.filename}, {self.length} bytes)"

    @property
    def path(self) -> str:
        return os.path.join(settings.MEDIA_ROOT, "uploads", f"{self.pk}.part")

    def offset(self) -> int:
        try:
            return os.path.getsize(self.path)
        except FileNotFoundError:
            return 0

    def is_complete(self) -> bool:
        return self.offset() == self.length

    def discard(self) -> None:
        """Forget the upload and its bytes."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.delete()
