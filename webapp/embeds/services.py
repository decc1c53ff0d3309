"""Viewer keys (make, check, revoke) and the viewer's ``frame-ancestors`` list."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import EmbedSite, ViewerKey

# An origin a CSP source list can hold safely: scheme, host (a leading "*." allowed), port. No
# paths, spaces, quotes or semicolons: the value goes into a response header.
_ORIGIN = re.compile(r"https?://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?")


def _is_id(value) -> bool:
    """ASCII digits only: str.isdigit() also takes '²' and other digits that int() refuses (a 500)."""
    text = str(value)
    return text.isascii() and text.isdigit()


class EmbedError(ValueError):
    """Something a person can fix (not an origin, already listed...)."""


def normalize_origin(text: str) -> str:
    origin = (text or "").strip().lower().rstrip("/")
    if not _ORIGIN.fullmatch(origin):
        raise EmbedError(f"{text.strip()[:200]!r} is not a site origin: write it as https://shop.example.com "
                         "(scheme and host, an optional :port, no path)")
    return origin


def frame_ancestors(shop) -> list[str]:
    """Who may frame this shop's viewer: this site, the shop's sites, the platform-wide list."""
    sites = list(EmbedSite.objects.filter(shop=shop).values_list("origin", flat=True))
    return ["'self'", *settings.SHOPFOCUS_VIEWER_FRAME_ANCESTORS, *sites]


def add_site(shop, text: str) -> EmbedSite:
    origin = normalize_origin(text)
    if EmbedSite.objects.filter(shop=shop, origin=origin).exists():
        raise EmbedError(f"{origin} is already allowed")
    return EmbedSite.objects.create(shop=shop, origin=origin)


def remove_site(shop, site_id) -> EmbedSite:
    site = EmbedSite.objects.filter(shop=shop, pk=site_id if _is_id(site_id) else None).first()
    if site is None:
        raise EmbedError("that site is not in this shop's list")
    site.delete()
    return site


def current_key(video, user) -> ViewerKey:
    """The video's newest active key, made now (valid SHOPFOCUS_VIEWER_KEY_DAYS) if it has none."""
    with transaction.atomic():
        key = ViewerKey.objects.select_for_update().filter(video=video).active().first()
        if key is None:
            key = ViewerKey.objects.create(video=video, created_by=user if user.is_authenticated else None,
                                           expires_at=timezone.now() + timedelta(days=settings.SHOPFOCUS_VIEWER_KEY_DAYS))
    return key


def video_for_key(video_id: int, key: str):
    """The video a key unlocks, or None (unknown, revoked, expired, or another video's key)."""
    if not key or len(key) > 64:
        return None
    found = ViewerKey.objects.active().select_related("video").filter(key=key, video_id=video_id).first()
    return found.video if found else None


def revoke(video, key_id) -> int:
    """Revoke one of the video's keys (``key_id``), or all of them (None). How many were active."""
    qs = ViewerKey.objects.filter(video=video, revoked_at__isnull=True)
    if key_id is not None:
        qs = qs.filter(pk=key_id if _is_id(key_id) else None)
    return qs.update(revoked_at=timezone.now())
