"""The live worker: one session per process (a ``celery -Q live`` slot), from the first fragment
to the finished video.

Two threads: the *ingest* thread joins the RTMP server's fragments into ``recording.ts``, keeps
a pulled URL's relay running, and moves the session along its states (never started, dropped
and back, grace over, ended by the seller); the main thread runs ``ml.streaming.follow`` on the
recording, storing intervals as they close and the provisional "now showing" after every
segment. The follower keeps its state next to the recording, so a worker that dies is replaced
(the reaper requeues its job, ``lifecycle``) by one that goes on where it stopped.

The session runs with what its shop has learned from reviews, as an uploaded video's job does
(``runner.shop_memory_of``: ``webapp.learning.services.shop_memory``, recorded as the job's
``memory_version``, stored as its memory artefact). It is taken once, when the session's job
first starts, and kept beside the follower's state: a replacement worker goes on with the same
memory, not with whatever the shop learned meanwhile."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ml.errors import CancelledError
from webapp.videos import lifecycle
from webapp.videos.db import with_fresh_connection
from webapp.videos.ingest import probe_video, sha256_of_path
from webapp.videos.models import Job, Video
from webapp.videos.runner import Heartbeat, finish_job, pipeline_options, shop_memory_of
from webapp.videos.storage import atomic_write, atomic_write_json

from . import services
from .models import LiveSession
from .recording import Recording, Relay, to_mp4

log = logging.getLogger(__name__)
State = LiveSession.State
TICK_S = 0.25


class Ingest(threading.Thread):
    """Joins fragments and watches the session until the stream is over (``over`` is set)."""

    def __init__(self, session: LiveSession, recording: Recording, relay: Relay | None):
        super().__init__(name=f"live-ingest-{session.pk}", daemon=True)
        self.session_id = session.pk
        self.video_id = session.video_id
        self.recording = recording
        self.relay = relay
        self.over = threading.Event()  # no more fragments will come
        self.failed: str | None = None  # the stream never started: why
        self.stop_asked = threading.Event()
        self.error: BaseException | None = None
        self._last_written = -1.0

    def run(self):
        try:
            while not self.stop_asked.is_set() and not self.over.is_set():
                with_fresh_connection(self._tick)
                time.sleep(TICK_S)
        except BaseException as e:  # the main thread reports it
            log.exception("live %s: ingest stopped", self.session_id)
            self.error = e
            self.over.set()
        finally:
            if self.relay is not None:
                self.relay.stop()
            connection.close()

    def _tick(self):
        if self.recording.step():
            d = self.recording.state.duration_s
            if d - self._last_written >= 1.0:
                self._last_written = d
                LiveSession.objects.filter(pk=self.session_id).update(recorded_s=d)
                Video.objects.filter(pk=self.video_id).update(duration_s=d)
        s = LiveSession.objects.get(pk=self.session_id)
        if self.relay is not None:
            self._keep_relay(s)
        if s.state == State.WAITING and s.start_timed_out():
            self.failed = (f"no stream arrived within {settings.SHOPFOCUS_LIVE_START_TIMEOUT_S:.0f} s: "
                           + self._start_hint(s))
            services.mark(s.pk, State.FAILED, self.failed)
            self.over.set()
        elif s.grace_over():
            services.mark(s.pk, State.ENDING, f"the stream did not come back within "
                                              f"{settings.SHOPFOCUS_LIVE_RECONNECT_GRACE_S:.0f} s; it is over")
        elif s.state in (State.ENDING, State.ENDED, State.FAILED):
            # Fragments the server still closes after the publisher left (its last one) come next.
            if not s.publisher and self.recording.pending() == 0 and self._quiet():
                self.recording.step()
                self.over.set()

    def _quiet(self) -> bool:
        index = os.path.join(self.recording.fragments_dir, "index.m3u8")
        try:
            return time.time() - os.path.getmtime(index) > 2.0
        except FileNotFoundError:
            return True

    def _keep_relay(self, s: LiveSession):
        self.relay.poll()
        if s.state in (State.WAITING, State.LIVE, State.RECONNECTING) and not self.relay.running():
            if self.relay.exit_code() == 0:  # the source itself ended: so does the session
                services.mark(s.pk, State.ENDING, "the pulled stream ended")
                return
            last = getattr(self, "_relay_started", 0.0)
            if time.monotonic() - last > 3.0:
                if last:
                    log.info("live %s: the relay stopped (%s); starting it again", s.pk, self.relay.last_error())
                self._relay_started = time.monotonic()
                self.relay.start()
        elif s.state not in (State.WAITING, State.LIVE, State.RECONNECTING):
            self.relay.stop()

    def _start_hint(self, s: LiveSession) -> str:
        if s.source == LiveSession.Source.PULL:
            err = self.relay.last_error() if self.relay else ""
            return f"check the stream URL ({err})" if err else "check that the stream URL is live"
        return ("check the server URL and the stream key in OBS (Settings > Stream > Custom) and press "
                "Start Streaming, then start a new live session")


class LiveRun:
    def __init__(self, job: Job, session: LiveSession):
        self.job, self.session = job, session
        wd = session.work_dir()
        os.makedirs(wd, exist_ok=True)
        self.recording = Recording(session.fragments_dir(), session.video.file.path, os.path.join(wd, "recording.json"))
        self.relay = None
        if session.source == LiveSession.Source.PULL:
            self.relay = Relay(session.pull_url, session.publish_url_local(), os.path.join(wd, "relay.pid"),
                               os.path.join(wd, "relay.log"))
        self.state_dir = os.path.join(wd, "follow")
        self.memory_path = os.path.join(wd, "memory.npz")  # the shop memory the session runs with
        self.memory_record = os.path.join(wd, "memory.json")  # written last: {"version": ...}
        self.memory = None
        self.products = {p.product_id: p.pk for p in session.products.all()}
        self._last_report = None

    # ------------------------------------------------------------------ callbacks of the follower
    def emit(self, interval):
        from webapp.review.services import add_machine_intervals

        with_fresh_connection(lambda: add_machine_intervals(self.job, [interval]))

    def on_now(self, t_s: float, open_intervals):
        wall, cpu = time.monotonic(), time.process_time()
        if self._last_report:
            log.info("live %s: scored to %.1f s (recorded %.1f s) in %.2f s wall, %.2f s CPU", self.session.pk, t_s,
                     self.recording.state.duration_s, wall - self._last_report[0], cpu - self._last_report[1])
        self._last_report = (wall, cpu)
        # The interval reaching furthest (a product that just came beats one that just left), then the surest.
        best = max(open_intervals, key=lambda iv: (round(iv.end_s, 3), iv.score)) if open_intervals else None
        pk = self.products.get(best.product_id) if best else None

        def write():
            services.set_now_showing(self.session.pk, pk, best.score if best else 0.0,
                                     best.start_s if best else None, followed_s=t_s)
            if not lifecycle.progress(self.job.pk, "live", 0.0):
                raise CancelledError(f"job {self.job.pk} is no longer running")

        with_fresh_connection(write)

    # ------------------------------------------------------------------ the run
    def run(self) -> None:
        from ml.streaming import follow

        ingest = Ingest(self.session, self.recording, self.relay)
        ingest.start()
        try:
            with tempfile.TemporaryDirectory(prefix=f"shopfocus-live{self.session.pk}-") as tmp:
                catalog_dir = self._catalog(os.path.join(tmp, "catalog"))
                options = pipeline_options(self.job)
                self.memory = self._shop_memory()
                if not self.recording.started:
                    if settings.SHOPFOCUS_LIVE_WARM_UP:
                        self._report("warming up")
                        warm_up(catalog_dir, options, tmp)
                    self._report("waiting for the stream")
                while not self.recording.started and not ingest.over.is_set():
                    time.sleep(TICK_S)
                    if not with_fresh_connection(lambda: lifecycle.heartbeat(self.job.pk)):
                        raise CancelledError("the job was cancelled before the stream started")
                if ingest.error is not None:
                    raise ingest.error
                if not self.recording.started:
                    why = ingest.failed or "the stream never started"
                    services.mark(self.session.pk, State.FAILED, why)
                    with_fresh_connection(lambda: lifecycle.fail(self.job.pk, why))
                    return
                self._report("live")
                result = follow(self.recording.path, catalog_dir, os.path.join(tmp, "result.json"), options=options,
                                segment_s=settings.SHOPFOCUS_LIVE_SEGMENT_S, poll_s=TICK_S, emit=self.emit,
                                on_now=self.on_now, finished=ingest.over.is_set, state_dir=self.state_dir,
                                idle_timeout_s=None, memory=self.memory)
            if ingest.error is not None:
                raise ingest.error
            self._report("turning the recording into a video")
            self._finish(result)
        finally:
            ingest.stop_asked.set()
            ingest.join(timeout=30)

    def _report(self, stage: str) -> None:
        if not with_fresh_connection(lambda: lifecycle.progress(self.job.pk, stage, 0.0)):
            raise CancelledError(f"job {self.job.pk} is no longer running")

    def _shop_memory(self):
        """The shop's ``ml.adapt.ShopMemory`` for this session (None: it learned nothing), taken
        when the job first runs and recorded on it; a resumed job reads back the same one."""
        import json

        try:
            with open(self.memory_record, encoding="utf-8") as f:
                version = json.load(f)["version"]
        except (FileNotFoundError, ValueError, KeyError):
            version = None
        if version is not None and (not version or os.path.isfile(self.memory_path)):
            from ml.adapt import ShopMemory

            with_fresh_connection(lambda: Job.objects.filter(pk=self.job.pk).update(memory_version=version))
            self.job.memory_version = version
            return ShopMemory.load(self.memory_path) if version else None
        memory = with_fresh_connection(lambda: shop_memory_of(self.job))
        if memory is not None:
            atomic_write(self.memory_path, memory.save)
        atomic_write_json(self.memory_record, {"version": self.job.memory_version})
        return memory

    def _catalog(self, dest: str) -> str:
        from webapp.catalog.services import export_catalog_folder

        return export_catalog_folder(self.session.shop, dest, products=self.session.products.all())

    def _finish(self, result) -> None:
        """The recording becomes an ordinary video: an MP4, its probe, the final intervals."""
        video = self.session.video
        ts_path = video.file.path
        mp4_name = os.path.splitext(video.file.name)[0] + ".mp4"
        mp4_path = os.path.join(settings.MEDIA_ROOT, mp4_name)
        to_mp4(ts_path, mp4_path)
        info = probe_video(mp4_path)
        Video.objects.filter(pk=video.pk).update(
            file=mp4_name, original_name=os.path.basename(mp4_name), duration_s=info.duration_s, fps=info.fps,
            width=info.width, height=info.height, size_bytes=os.path.getsize(mp4_path),
            sha256=sha256_of_path(mp4_path))
        result.video = os.path.basename(mp4_name)
        if with_fresh_connection(lambda: finish_job(self.job.pk, result, self.memory)):
            services.mark(self.session.pk, State.ENDED, f"the stream ended; {len(result.intervals)} interval(s) "
                          "found: the recording is a video you can review", recorded_s=info.duration_s)
            services.set_now_showing(self.session.pk, None)
            os.remove(ts_path)


def warm_up(catalog_dir: str, options, workdir: str) -> None:
    """Score two seconds of a blank clip while the seller sets up the encoder: the models load
    (and stay loaded in this process) before the stream's first segment, not during it."""
    import av
    import numpy as np

    from ml.catalog import load_catalog
    from ml.pipeline import _Clock, compute_features

    path = os.path.join(workdir, "warm-up.ts")
    with av.open(path, "w", format="mpegts") as out:
        v = out.add_stream("libx264", rate=5)
        v.width, v.height, v.pix_fmt = 160, 96, "yuv420p"
        a = out.add_stream("aac", rate=16000)
        a.layout = "mono"
        for i in range(10):
            for packet in v.encode(av.VideoFrame.from_ndarray(np.full((96, 160, 3), 120, np.uint8), format="rgb24")):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        for i in range(32):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in a.encode(frame):
                out.mux(packet)
        for packet in a.encode():
            out.mux(packet)
    try:
        compute_features(path, load_catalog(catalog_dir), None, options, 2.0, True, lambda *_: None, _Clock(),
                         start_s=0.0, end_s=2.0)
    except Exception:  # noqa: BLE001 - warming is an optimisation; the real run reports real errors
        log.exception("warming the models up failed")


def run_live_session(job_id: int, worker: str = "") -> Job | None:
    """Claim the session's job and run it to the end (or to the failure the task records)."""
    job = with_fresh_connection(lambda: lifecycle.claim(job_id, worker))
    if job is None:
        log.info("live job %s was not queued any more; nothing to do", job_id)
        return None
    session = LiveSession.objects.select_related("video", "shop").filter(job=job).first()
    if session is None:
        lifecycle.fail(job_id, "this job belongs to no live session")
        return job
    if not session.is_active:
        lifecycle.fail(job_id, session.message or f"the live session is {session.state}")
        return job
    try:
        with Heartbeat(job.pk):
            LiveRun(job, session).run()
    except CancelledError:
        log.info("live job %s stopped: cancelled", job_id)
        services.mark(session.pk, State.FAILED, "the live session was cancelled")
    # Other errors propagate: the task's base class fails the job (or requeues it for a transient
    # one) and then settles the session from its job (services.release_finished_slots).
    job.refresh_from_db()
    return job
