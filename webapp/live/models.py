"""Live sessions: a seller's stream, taken in by the RTMP server (or pulled from a URL), recorded
as MPEG-TS and followed by the streaming engine while it runs.

A session owns one Video (the recording; an ordinary video once the stream ends) and its one Job
(``queue="live"``, run by a live worker; its status goes through ``webapp.videos.lifecycle``
only). ``state`` is the ingest's own state (is a publisher there?), written here and by the RTMP
server's callbacks, never the job's. ``now_*`` is the provisional "now showing" the viewers get."""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from webapp.accounts.models import Shop


class LiveSessionQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(shop__in=Shop.objects.visible_to(user))

    def active(self):
        return self.filter(state__in=LiveSession.ACTIVE)


def new_stream_key() -> str:
    return secrets.token_urlsafe(24)  # 32 URL-safe characters, 192 bits


class LiveSession(models.Model):
    class Source(models.TextChoices):
        PUSH = "push", "RTMP push (OBS, ffmpeg)"
        PULL = "pull", "Pull from a URL (HLS, RTMP, SRT)"

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for the stream"
        LIVE = "live", "Live"
        RECONNECTING = "reconnecting", "Reconnecting"
        ENDING = "ending", "Ending"
        ENDED = "ended", "Ended"
        FAILED = "failed", "Failed"

    ACTIVE = (State.WAITING, State.LIVE, State.RECONNECTING, State.ENDING)

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="live_sessions")
    title = models.CharField(max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    video = models.OneToOneField("videos.Video", on_delete=models.CASCADE, related_name="live_session")
    job = models.OneToOneField("videos.Job", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="live_session")
    products = models.ManyToManyField("catalog.Product", related_name="+",
                                      help_text="The product list the stream is matched against.")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PUSH)
    pull_url = models.CharField(max_length=2000, blank=True)
    # Shown to the seller like any streaming platform's key (OBS needs it pasted in); looked up by
    # equality on a unique index when the RTMP server asks whether a publisher may go on.
    stream_key = models.CharField(max_length=64, unique=True, default=new_stream_key)
    # One of SHOPFOCUS_LIVE_MAX_SESSIONS worker slots while the session is active; the unique
    # index is what keeps two sessions from taking the same one.
    slot = models.PositiveSmallIntegerField(null=True, blank=True, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING, db_index=True)
    message = models.TextField(blank=True, help_text="What happened, in words a seller can act on.")
    publisher = models.CharField(max_length=64, blank=True, help_text="The RTMP server's id of the connected publisher.")
    publisher_addr = models.CharField(max_length=64, blank=True)
    publisher_seen_at = models.DateTimeField(null=True, blank=True)
    first_published_at = models.DateTimeField(null=True, blank=True)
    dropped_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    reconnects = models.PositiveIntegerField(default=0)
    recorded_s = models.FloatField(default=0.0, help_text="Seconds of stream recorded so far.")
    followed_s = models.FloatField(default=0.0, help_text="Seconds of stream the engine has scored so far.")
    # "Now showing", provisional: the product of the interval open at the followed edge.
    now_product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    now_score = models.FloatField(default=0.0)
    now_since_s = models.FloatField(null=True, blank=True, help_text="Stream time the shown product's interval began.")
    now_version = models.PositiveIntegerField(default=0, help_text="Bumped whenever the shown product changes.")
    now_changed_at = models.DateTimeField(null=True, blank=True)

    objects = LiveSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"live {self.pk} {self.title!r} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE

    def work_dir(self) -> str:
        """Where the recording's fragments and the follower's state live (never served)."""
        return os.path.join(str(settings.SHOPFOCUS_LIVE_DIR), "sessions", str(self.pk))

    def fragments_dir(self) -> str:
        """The RTMP server's HLS fragments of this stream (``hls_nested``: one folder per stream name)."""
        return os.path.join(str(settings.SHOPFOCUS_LIVE_DIR), "hls", self.stream_key)

    def ingest_url(self) -> str:
        """The server URL the seller types into OBS (the key goes in its own field)."""
        return settings.SHOPFOCUS_LIVE_RTMP_URL.rstrip("/")

    def publish_url(self) -> str:
        """Server URL + key: what ``ffmpeg -f flv`` publishes to."""
        return f"{self.ingest_url()}/{self.stream_key}"

    def publish_url_local(self) -> str:
        """Where a relay on this host publishes a pulled stream to the RTMP server."""
        return f"rtmp://127.0.0.1:{settings.SHOPFOCUS_LIVE_RTMP_PORT}/live/{self.stream_key}"

    def grace_over(self, now=None) -> bool:
        now = now or timezone.now()
        return (self.state == self.State.RECONNECTING and self.dropped_at is not None
                and (now - self.dropped_at).total_seconds() > settings.SHOPFOCUS_LIVE_RECONNECT_GRACE_S)

    def start_timed_out(self, now=None) -> bool:
        now = now or timezone.now()
        return (self.state == self.State.WAITING
                and (now - self.created).total_seconds() > settings.SHOPFOCUS_LIVE_START_TIMEOUT_S)
