"""The segments of a job that runs as several parts (``webapp.segments.services``).

``SegmentPlan`` is one per split job: the attempt of the job its rows belong to and whether the
join was sent. ``JobSegment`` is one per part: what it decodes and keeps, where it runs, how far
it is. The job's own status is never written here: ``webapp.videos.lifecycle`` does that."""

from django.db import models

from webapp.videos.models import Job


def clock(seconds: float) -> str:
    """A position in the video as people write it: 9:05, 1:02:03."""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class SegmentPlan(models.Model):
    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="segment_plan")
    attempt = models.PositiveIntegerField(help_text="The job attempt (Job.attempts) that owns the segments now.")
    segment_s = models.FloatField()
    context_s = models.FloatField()
    join_sent_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"plan of job {self.job_id} (attempt {self.attempt})"


class JobSegment(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    start_s = models.FloatField(help_text="Decoded from here (the kept range plus context).")
    end_s = models.FloatField()
    keep_start_s = models.FloatField(help_text="Its feature rows are kept from here...")
    keep_end_s = models.FloatField(help_text="...to here.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempt = models.PositiveIntegerField(default=0)
    stage = models.CharField(max_length=64, blank=True)
    progress = models.FloatField(default=0.0)
    worker = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="one_segment_per_index_per_job")]
        indexes = [models.Index(fields=["status", "sent_at"])]

    def __str__(self):
        return f"job {self.job_id} segment {self.index} ({self.status})"

    @property
    def seconds(self) -> float | None:
        if not (self.started_at and self.finished_at):
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict:
        return {"index": self.index, "start_s": self.keep_start_s, "end_s": self.keep_end_s,
                "span": f"{clock(self.keep_start_s)}-{clock(self.keep_end_s)}",
                "status": self.status, "label": self.get_status_display(), "stage": self.stage,
                "progress": round(self.progress, 4), "worker": self.worker, "seconds": self.seconds}
