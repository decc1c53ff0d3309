"""Sharing the viewer page outside the shop: viewer keys (links anyone may open) and the sites
allowed to frame the viewer.

A viewer key unlocks one video's viewer page (and only the media it needs) for anyone holding
it: it is meant to be pasted into a shop's own web page. It expires after
``SHOPFOCUS_VIEWER_KEY_DAYS`` and can be revoked at any time; a revoked or expired key answers
404 like a wrong one."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from webapp.accounts.models import Shop
from webapp.videos.models import Video


def new_key() -> str:
    return secrets.token_urlsafe(32)


class ViewerKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ViewerKey(models.Model):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="viewer_keys")
    key = models.CharField(max_length=64, unique=True, default=new_key)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ViewerKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"viewer key of video {self.video_id} ({self.key[:6]}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class EmbedSite(models.Model):
    """A site (an origin such as ``https://shop.example.com``) allowed to frame the shop's viewer."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="embed_sites")
    origin = models.CharField(max_length=200)

    class Meta:
        ordering = ["origin"]
        constraints = [models.UniqueConstraint(fields=["shop", "origin"], name="embed_site_unique_per_shop")]

    def __str__(self):
        return self.origin
