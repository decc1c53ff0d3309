"""Starting and ending live sessions, the RTMP server's questions, and the "now showing" state.

Every change of ``LiveSession.state`` is one conditional UPDATE here (the pattern of
``webapp.videos.lifecycle``): the RTMP server's callbacks, the seller's "End" button and the live
worker can race, and the one that updates no row stands down. The session's Job goes through
``lifecycle`` only."""

from __future__ import annotations

import logging
import os
import uuid
from urllib.parse import urlparse

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from webapp.catalog.models import Product
from webapp.videos import lifecycle
from webapp.videos.models import Job, Video

from .models import LiveSession

log = logging.getLogger(__name__)
State = LiveSession.State
PULL_SCHEMES = ("http", "https", "rtmp", "rtmps", "srt")


class SessionError(ValueError):
    """A session that cannot start as asked (no products, a URL we cannot pull...)."""


class CapacityFull(Exception):
    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"all {limit} live slot(s) of this server are in use: end a running live session, "
                         "or try again when one has finished")


# --------------------------------------------------------------------------- starting
def check_pull_url(url: str) -> str:
    url = (url or "").strip()
    parsed = urlparse(url)
    if parsed.scheme not in PULL_SCHEMES or not parsed.netloc:
        raise SessionError(f"the stream URL must start with {', '.join(s + '://' for s in PULL_SCHEMES)} "
                           "and name a host")
    if parsed.scheme in ("http", "https") and not parsed.path.endswith(".m3u8"):
        raise SessionError("an HTTP stream URL must be an HLS playlist (ending in .m3u8)")
    return url


def release_finished_slots() -> int:
    """Sessions whose job is over (the reaper failed it, someone cancelled it) give their slot
    back and are marked failed with the job's message."""
    stale = LiveSession.objects.filter(slot__isnull=False).exclude(
        job__status__in=(Job.Status.QUEUED, Job.Status.RUNNING)).select_related("job")
    n = 0
    for s in stale:
        why = (s.job.message if s.job else "") or "the live worker stopped"
        n += LiveSession.objects.filter(pk=s.pk, slot=s.slot).update(
            slot=None, state=State.FAILED if s.state != State.ENDED else State.ENDED,
            message=s.message or why, ended_at=s.ended_at or timezone.now())
    return n


def _take_slot(session: LiveSession) -> None:
    for slot in range(settings.SHOPFOCUS_LIVE_MAX_SESSIONS):
        try:
            with transaction.atomic():
                if LiveSession.objects.filter(pk=session.pk, slot__isnull=True).update(slot=slot):
                    session.slot = slot
                    return
        except IntegrityError:
            continue  # taken by another session: try the next
    raise CapacityFull(settings.SHOPFOCUS_LIVE_MAX_SESSIONS)


def start_session(shop, user, title: str, products, source: str = LiveSession.Source.PUSH,
                  pull_url: str = "") -> LiveSession:
    """A new session holding a worker slot, its Video (the recording to be) and its Job, queued
    for a live worker. Raises SessionError for bad input, CapacityFull when every slot is taken."""
    products = list(Product.objects.filter(shop=shop, pk__in=[getattr(p, "pk", p) for p in products],
                                           images__isnull=False).distinct())
    if not products:
        raise SessionError("choose at least one product of the shop's catalog (with a photo) for this stream")
    if source not in LiveSession.Source.values:
        raise SessionError(f"source must be one of {', '.join(LiveSession.Source.values)}")
    if source == LiveSession.Source.PULL:
        pull_url = check_pull_url(pull_url)
    title = (title or "").strip()[:300] or f"Live {timezone.now():%Y-%m-%d %H:%M}"
    release_finished_slots()
    with transaction.atomic():
        name = f"videos/{shop.pk}/live-{uuid.uuid4().hex}.ts"
        video = Video.objects.create(shop=shop, title=title, original_name=os.path.basename(name),
                                     uploader=user if user and user.is_authenticated else None)
        Video.objects.filter(pk=video.pk).update(file=name)
        video.file.name = name
        session = LiveSession.objects.create(shop=shop, title=title, video=video, source=source,
                                             pull_url=pull_url if source == LiveSession.Source.PULL else "",
                                             created_by=video.uploader)
        session.products.set(products)
        _take_slot(session)  # CapacityFull rolls all of it back
        job = lifecycle.start(video, user, options={"live_session": session.pk}, queue="live")
        LiveSession.objects.filter(pk=session.pk).update(job=job)
        session.job = job
    return session


# --------------------------------------------------------------------------- the RTMP server's questions
def on_publish(key: str, client: str, addr: str) -> tuple[bool, str]:
    """May this publisher go on? Refused: an unknown key, a session that is over, and a second
    publisher while one is connected (seen by the server within the last update interval x 3)."""
    session = LiveSession.objects.filter(stream_key=key).first() if key else None
    if session is None:
        return False, "unknown stream key"
    if not session.is_active or session.state == State.ENDING:
        return False, f"session {session.pk} is {session.state}"
    now = timezone.now()
    busy_until = now - timezone.timedelta(seconds=3 * settings.SHOPFOCUS_LIVE_RTMP_UPDATE_S)
    free = LiveSession.objects.filter(pk=session.pk, state__in=(State.WAITING, State.LIVE, State.RECONNECTING))
    free = free.filter(publisher="") | free.filter(publisher_seen_at__lt=busy_until)
    n = LiveSession.objects.filter(pk__in=free.values("pk")).update(
        publisher=str(client)[:64], publisher_addr=str(addr)[:64], publisher_seen_at=now, state=State.LIVE,
        dropped_at=None, message="")
    if not n:
        return False, f"session {session.pk} already has a publisher"
    if session.first_published_at is None:
        LiveSession.objects.filter(pk=session.pk, first_published_at__isnull=True).update(first_published_at=now)
    else:
        LiveSession.objects.filter(pk=session.pk).update(reconnects=F("reconnects") + 1)
    log.info("live %s: publisher %s from %s", session.pk, client, addr)
    return True, ""


def on_publish_done(key: str, client: str) -> None:
    """The publisher left: the session waits for it for SHOPFOCUS_LIVE_RECONNECT_GRACE_S."""
    LiveSession.objects.filter(stream_key=key, publisher=str(client)[:64], state=State.LIVE).update(
        publisher="", state=State.RECONNECTING, dropped_at=timezone.now(),
        message="the stream dropped; waiting for it to come back")
    LiveSession.objects.filter(stream_key=key, publisher=str(client)[:64]).update(publisher="")


def on_update(key: str, client: str) -> bool:
    """The server's periodic check of a connected publisher: False drops it (the session ended)."""
    return bool(LiveSession.objects.filter(stream_key=key, publisher=str(client)[:64],
                                           state__in=(State.LIVE, State.RECONNECTING)).update(
        publisher_seen_at=timezone.now()))


# --------------------------------------------------------------------------- ending
def end_session(session: LiveSession, who: str = "") -> bool:
    """The seller ends the stream: the worker finishes recording and following, then the
    recording becomes an ordinary video. The RTMP server drops the publisher at its next update."""
    return bool(LiveSession.objects.filter(pk=session.pk, state__in=(State.WAITING, State.LIVE, State.RECONNECTING))
                .update(state=State.ENDING, message=f"ended by {who or 'the seller'}"))


def mark(session_id: int, state: str, message: str = "", **fields) -> bool:
    """The worker's transitions: to ENDING (grace over), ENDED, FAILED (frees the slot)."""
    if state in (State.ENDED, State.FAILED):
        fields.update(slot=None, ended_at=timezone.now(), publisher="")
    qs = LiveSession.objects.filter(pk=session_id, state__in=LiveSession.ACTIVE)
    return bool(qs.update(state=state, message=message[:2000], **fields))


# --------------------------------------------------------------------------- now showing
def set_now_showing(session_id: int, product_pk: int | None, score: float = 0.0, since_s: float | None = None,
                    followed_s: float | None = None) -> bool:
    """Record the provisional product on screen; bumps ``now_version`` only when it changes."""
    if followed_s is not None:
        LiveSession.objects.filter(pk=session_id).update(followed_s=followed_s)
    qs = LiveSession.objects.filter(pk=session_id)
    qs = qs.exclude(now_product__isnull=True) if product_pk is None else qs.exclude(now_product_id=product_pk)
    return bool(qs.update(now_product_id=product_pk, now_score=float(score), now_since_s=since_s,
                          now_version=F("now_version") + 1, now_changed_at=timezone.now()))


def now_showing(session: LiveSession, viewer_image_url=None) -> dict:
    """What the viewer's card shows: the product (or None), and whether the stream is on."""
    product = session.now_product if session.state == State.LIVE else None
    data = {"version": session.now_version, "state": session.state, "live": session.is_active,
            "product": None, "since_s": session.now_since_s}
    if product is not None:
        image = product.images.first()
        data["product"] = {"id": product.pk, "product_id": product.product_id, "title": product.title,
                           "description": product.description[:280], "score": round(session.now_score, 3),
                           "thumbnail": viewer_image_url(image) if (image and viewer_image_url) else None}
    return data
