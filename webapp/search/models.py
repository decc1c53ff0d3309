"""A shop's product search: the stored embedding of each product image, and the index builds.

The index itself lives on disk (``ml.index_store.IndexStore`` under
``MEDIA_ROOT/search/shop_<id>/``); an ``IndexBuild`` is one run of the build task, and its pk is
the version it publishes."""

from django.db import models
from django.db.models import Q

from webapp.accounts.models import Shop
from webapp.catalog.models import ProductImage


class ImageEmbedding(models.Model):
    """One vector per product image (float16 bytes), kept so a rebuild embeds only new images.
    Replaced images are new rows of ProductImage, so their old vectors go with them (CASCADE)."""

    image = models.OneToOneField(ProductImage, on_delete=models.CASCADE, primary_key=True, related_name="embedding")
    model = models.CharField(max_length=100, help_text="The embedder that made it; another one re-embeds.")
    vector = models.BinaryField()
    created = models.DateTimeField(auto_now_add=True)


class IndexBuild(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="index_builds")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True)
    kind = models.CharField(max_length=20, blank=True, help_text="flat (exact) or ivf (approximate)")
    n_products = models.PositiveIntegerField(default=0)
    n_vectors = models.PositiveIntegerField(default=0)
    n_embedded = models.PositiveIntegerField(default=0, help_text="Images embedded by this build (the rest were stored).")
    index_bytes = models.BigIntegerField(default=0)
    timings = models.JSONField(default=dict, blank=True)
    published = models.BooleanField(default=False, help_text="Became the shop's current index.")
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            # one waiting build per shop: catalog changes while it waits are all in what it reads
            models.UniqueConstraint(fields=["shop"], condition=Q(status="queued"), name="one_queued_index_build_per_shop"),
        ]

    def __str__(self):
        return f"index v{self.pk} of {self.shop} ({self.status})"

    @property
    def version(self) -> int:
        return self.pk
