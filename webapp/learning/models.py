"""What a shop learns from its reviewers (issue 15), kept per shop and never shared.

- ``ShopExample``: one reviewed interval = one labelled example (confirmed, or rejected = a hard
  negative of the product it was given), with its provenance. One per interval, rewritten by
  ``webapp.review.services`` (through ``services.record_example``) whenever the interval changes.
- ``LearnedView``: a crop of a reviewed interval (``ml.adapt.harvest_views``), an extra view of
  its product in the shop's next runs (``positive``) or a negative of it, counting only past its
  ``threshold`` (the cosine measured at harvest). An admin removes one by deactivating it: a
  removed view is not used by the next run, and is not harvested again.
- ``Harvest``: one run of the harvest task over one video's examples.
- ``Refit``: one run of the per-shop refit (``ml.adapt.refit``); its pk is the version. At most
  one is active per shop; none active means the packaged model."""

import os

from django.conf import settings
from django.db import models
from django.db.models import Q

from webapp.accounts.models import Shop
from webapp.catalog.models import Product
from webapp.review.models import Correction, Interval


class ShopQuerySetMixin:
    def visible_to(self, user):
        return self.filter(shop__in=Shop.objects.visible_to(user))


class ExampleQuerySet(ShopQuerySetMixin, models.QuerySet):
    def to_harvest(self):
        """Examples whose crops are not stored for the interval as it is now."""
        return self.filter(Q(harvested_version__isnull=True) | ~Q(harvested_version=models.F("interval_version")))


class ShopExample(models.Model):
    class Label(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED = "rejected", "Rejected (hard negative)"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="examples")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="examples")
    interval = models.OneToOneField(Interval, on_delete=models.CASCADE, related_name="example")
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="examples")
    job = models.ForeignKey("videos.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            help_text="The run whose evidence and score curves this example is read against.")
    label = models.CharField(max_length=16, choices=Label.choices, db_index=True)
    start_s = models.FloatField()
    end_s = models.FloatField()
    action = models.CharField(max_length=16, choices=Correction.Action.choices,
                              help_text="The review action that made the example what it is now.")
    correction = models.ForeignKey(Correction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    interval_version = models.PositiveIntegerField(help_text="The interval's version this example says.")
    harvested_version = models.PositiveIntegerField(null=True, blank=True,
                                                    help_text="The interval version whose crops are stored.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = ExampleQuerySet.as_manager()

    class Meta:
        ordering = ["video_id", "start_s", "pk"]
        constraints = [models.CheckConstraint(condition=Q(end_s__gt=models.F("start_s")), name="example_end_after_start")]

    def __str__(self):
        return f"{self.product.product_id} {self.start_s:.1f}-{self.end_s:.1f}s {self.label}"

    @property
    def positive(self) -> bool:
        return self.label == self.Label.CONFIRMED

    def source(self) -> dict:
        """The provenance, as ``ml.adapt.Example.source`` takes it."""
        return {"video": self.video_id, "interval": self.interval_id, "job": self.job_id,
                "user": self.user.get_username() if self.user_id else "", "action": self.action,
                "at": self.updated.isoformat() if self.updated else None}

    def to_ml(self):
        from ml.adapt import Example

        return Example(product_id=self.product.product_id, start_s=float(self.start_s), end_s=float(self.end_s),
                       label=1 if self.positive else 0, source=self.source())


NO_EFFECT_THRESHOLD = 1.0  # = ml.adapt.DEFAULT_THRESHOLD: a view with it changes no run


def view_image_path(instance, filename):
    return f"learned/{instance.shop_id}/{instance.product_id}/{os.path.basename(filename)}"


class ViewQuerySet(ShopQuerySetMixin, models.QuerySet):
    def in_use(self):
        """What the shop's next run reads: active views of examples that still exist."""
        return self.filter(active=True)


class LearnedView(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="learned_views")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="learned_views")
    example = models.ForeignKey(ShopExample, on_delete=models.CASCADE, related_name="views",
                                help_text="The reviewed interval the crop comes from.")
    harvest = models.ForeignKey("Harvest", null=True, blank=True, on_delete=models.SET_NULL, related_name="views")
    positive = models.BooleanField(help_text="Off: a crop of a rejected interval, a negative of the product.")
    image = models.FileField(upload_to=view_image_path, max_length=500, blank=True)
    vector = models.BinaryField(help_text="The crop's image embedding (float16, L2-normalised).")
    dtype = models.CharField(max_length=8, default="float16")
    t = models.FloatField(help_text="Seconds into the video.")
    box = models.JSONField(default=list, help_text="x0, y0, x1, y1 in frame pixels.")
    sharpness = models.FloatField(default=0.0)
    area = models.FloatField(default=0.0, help_text="Share of the frame.")
    # ml.adapt.View.threshold, measured at harvest (the most any crop of the video outside the
    # example reaches). Views stored before thresholds existed get ml.adapt.DEFAULT_THRESHOLD = 1.0:
    # no effect on a run until the video is harvested again.
    threshold = models.FloatField(default=NO_EFFECT_THRESHOLD, help_text=(
        "The cosine above which a crop counts as this view (measured at harvest against the rest of its "
        "video); 1.0: no effect (a view harvested before thresholds were stored)."))
    active = models.BooleanField(default=True, db_index=True,
                                 help_text="Off: removed by an admin; the next run does not use it.")
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    removed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = ViewQuerySet.as_manager()

    class Meta:
        ordering = ["product_id", "-created", "pk"]

    def __str__(self):
        kind = "view" if self.positive else "negative"
        return f"{kind} of {self.product.product_id} at {self.t:.1f}s"

    def vector_array(self):
        import numpy as np

        return np.frombuffer(bytes(self.vector), dtype=self.dtype).astype(np.float32)


class HarvestQuerySet(ShopQuerySetMixin, models.QuerySet):
    pass


class Harvest(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="harvests")
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="harvests")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True)
    n_examples = models.PositiveIntegerField(default=0)
    n_views = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = HarvestQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            # one waiting harvest per video: review changes while it waits are all in what it reads
            models.UniqueConstraint(fields=["video"], condition=Q(status="queued"), name="one_queued_harvest_per_video"),
        ]

    def __str__(self):
        return f"harvest {self.pk} of video {self.video_id} ({self.status})"


class RefitQuerySet(ShopQuerySetMixin, models.QuerySet):
    def active(self):
        return self.filter(active=True)


class Refit(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="refits")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True)
    scorer = models.JSONField(null=True, blank=True, help_text="ml IntervalScorer.to_dict(); null: none fitted.")
    before = models.JSONField(default=dict, blank=True,
                              help_text="Metrics on the held-back corrections with the model in use before.")
    after = models.JSONField(default=dict, blank=True, help_text="The same with this refit.")
    improved = models.BooleanField(default=False)
    n_examples = models.PositiveIntegerField(default=0)
    n_videos = models.PositiveIntegerField(default=0)
    n_train = models.PositiveIntegerField(default=0)
    n_held = models.PositiveIntegerField(default=0)
    base = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             help_text="The refit active when this one ran (none: the packaged model).")
    active = models.BooleanField(default=False, help_text="The shop's runs use this scorer.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    objects = RefitQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["shop"], condition=Q(active=True), name="one_active_refit_per_shop"),
            models.UniqueConstraint(fields=["shop"], condition=Q(status="queued"), name="one_queued_refit_per_shop"),
            models.CheckConstraint(condition=Q(active=False) | (Q(status="succeeded") & Q(scorer__isnull=False)),
                                   name="only_a_fitted_refit_is_active"),
        ]

    def __str__(self):
        return f"refit v{self.pk} of {self.shop} ({self.status}{', active' if self.active else ''})"

    @property
    def version(self) -> int:
        return self.pk

    @property
    def can_activate(self) -> bool:
        return self.status == self.Status.SUCCEEDED and self.scorer is not None
