"""What the pipeline found and what people made of it.

An Interval is one exhibition of one product; ``version`` is bumped on every change and a
change must name the version it was based on (optimistic locking, see services.update_interval).
Every change by a person leaves a Correction (the audit log)."""

from django.conf import settings
from django.db import models

from webapp.accounts.models import Shop


class IntervalQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(video__shop__in=Shop.objects.visible_to(user))

    def untouched_machine(self):
        """Machine proposals nobody has accepted, rejected or edited: a re-run may replace them."""
        return self.filter(origin=Interval.Origin.MACHINE, status=Interval.Status.PROPOSED)


class Interval(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        EDITED = "edited", "Edited"

    class Origin(models.TextChoices):
        MACHINE = "machine", "Machine"
        PERSON = "person", "Person"

    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="intervals")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="intervals")
    start_s = models.FloatField()
    end_s = models.FloatField()
    score = models.FloatField(default=0.0)
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.MACHINE)
    version = models.PositiveIntegerField(default=1)
    job = models.ForeignKey("videos.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="intervals")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = IntervalQuerySet.as_manager()

    class Meta:
        ordering = ["start_s", "end_s", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_s__gt=models.F("start_s")), name="interval_end_after_start"),
            models.CheckConstraint(condition=models.Q(start_s__gte=0), name="interval_start_not_negative"),
        ]

    def __str__(self):
        return f"{self.product_id} {self.start_s:.1f}-{self.end_s:.1f}s ({self.status})"

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def overlaps(self, other) -> bool:
        return self.start_s < other.end_s and other.start_s < self.end_s

    def snapshot(self) -> dict:
        """The editable state, as stored in Correction.before / after."""
        return {
            "product_id": self.product.product_id,
            "product": self.product_id,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "status": self.status,
            "score": self.score,
            "version": self.version,
        }

    def to_result_dict(self) -> dict:
        """One interval in the CLI's result.json schema."""
        return {
            "product_id": self.product.product_id,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "score": round(self.score, 4),
            "evidence": self.evidence,
        }


class Correction(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        ACCEPT = "accept", "Accept"
        REJECT = "reject", "Reject"
        RELABEL = "relabel", "Relabel"
        DELETE = "delete", "Delete"
        SPLIT = "split", "Split"
        MERGE = "merge", "Merge"

    interval = models.ForeignKey(Interval, null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections")
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="corrections")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="corrections")
    action = models.CharField(max_length=16, choices=Action.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"{self.action} by {self.user} on {self.interval_id}"
