"""What the pipeline found and what people made of it.

An Interval is one exhibition of one product; ``version`` is bumped on every change and a
change must name the version it was based on (optimistic locking, see services.update_interval).
Every change by a person leaves a Correction (the audit log).

The status model (README, "What counts as reviewed"): an interval is *confirmed* by a person when
it was accepted, edited, relabelled, merged or added (origin person); *rejected* ones are kept as
negatives. Every output (viewer card, focus view, clips, the clips ZIP, the JSON/CSV/VTT exports)
shows ``Interval.objects.published(video)``: the confirmed ones plus the machine's proposals
scoring at least the job's calibrated threshold, never a rejected one."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from webapp.accounts.models import Shop

DEFAULT_THRESHOLD = 0.5


def threshold_of(video) -> float:
    """The calibrated operating point of the video's latest succeeded job (0.5 without one)."""
    from webapp.videos.models import Job

    value = (Job.objects.filter(video=video, status=Job.Status.SUCCEEDED).order_by("-finished_at", "-pk")
             .values_list("threshold", flat=True).first())
    return DEFAULT_THRESHOLD if value is None else float(value)


class IntervalQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(video__shop__in=Shop.objects.visible_to(user))

    def confirmed(self):
        """Accepted, edited, relabelled, merged (status edited) or added by a person."""
        return self.filter(Interval.CONFIRMED_Q)

    def published(self, video, statuses=None, threshold=None):
        """What every output shows for ``video``: confirmed intervals plus proposals scoring at
        least ``threshold`` (the job's, by default), in time order. ``statuses`` (a list of
        Interval.Status values) asks for exactly those instead."""
        qs = self.filter(video=video).select_related("product")
        if statuses:
            qs = qs.filter(status__in=list(statuses))
        else:
            threshold = threshold_of(video) if threshold is None else threshold
            qs = qs.filter(Interval.CONFIRMED_Q | Q(status=Interval.Status.PROPOSED, score__gte=threshold))
        return qs.order_by("start_s", "end_s", "pk")

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

    CONFIRMED_STATUSES = (Status.ACCEPTED, Status.EDITED)
    CONFIRMED_Q = Q(status__in=CONFIRMED_STATUSES) | (Q(origin=Origin.PERSON) & ~Q(status=Status.REJECTED))

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

    @property
    def is_confirmed(self) -> bool:
        return self.status in self.CONFIRMED_STATUSES or (
            self.origin == self.Origin.PERSON and self.status != self.Status.REJECTED)

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
        """One interval in the CLI's result.json schema, plus who decided it and the title."""
        return {
            "product_id": self.product.product_id,
            "title": self.product.title,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "score": round(self.score, 4),
            "status": self.status,
            "origin": self.origin,
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
