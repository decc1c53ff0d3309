"""Real servers for the live tests, each on a free port: the RTMP ingest (nginx-rtmp, configured
by ``webapp.live.rtmp`` as ``manage.py live_rtmp`` does), ``ffmpeg -re`` publishers, a live
Celery worker (``-Q live``), and a small episode-like video made from the MIT grocery photos."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import use_broker

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("SHOPFOCUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
GRACE_S = 10  # the live worker's reconnect grace in these tests
CATALOG_DIR = ROOT / "tests" / "data" / "catalog"
# (start_s, end_s, product_id): what the episode shows; the rest of the time an idle grey set.
# SHOPFOCUS_LIVE_DELAY_REPEAT=N shows the three products N times (a longer delay measurement).
_CYCLE = [(4.0, 16.0, "gs_34"), (20.0, 32.0, "gs_06"), (36.0, 48.0, "gs_45")]
_REPEAT = max(1, int(os.environ.get("SHOPFOCUS_LIVE_DELAY_REPEAT", "1")))
SCRIPT = [(a + 48.0 * k, b + 48.0 * k, pid) for k in range(_REPEAT) for a, b, pid in _CYCLE]
DURATION_S = 48.0 * _REPEAT + 4.0
FPS, SIZE, GOP = 10, (640, 360), 20  # a keyframe every 2 s, as OBS is told to send


def database_url() -> str:
    """The test database's URL, for the worker process."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{os.path.abspath(s['NAME'])}"
    auth = (s["USER"] or "") + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float, proc=None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:] if log else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def make_episode(path) -> Path:
    """H.264 + AAC (silent) MP4 of SCRIPT: each product photo on a light set, a slow drift."""
    import av
    from PIL import Image

    path = Path(path)
    frames = {}
    for _, _, pid in SCRIPT:
        img = Image.open(CATALOG_DIR / "images" / f"{pid}_iconic.jpg").convert("RGB")
        img.thumbnail((int(SIZE[0] * 0.6), int(SIZE[1] * 0.85)))
        canvas = Image.new("RGB", SIZE, (232, 228, 220))
        canvas.paste(img, ((SIZE[0] - img.width) // 2, (SIZE[1] - img.height) // 2))
        frames[pid] = np.asarray(canvas)
    idle = np.full((SIZE[1], SIZE[0], 3), 96, dtype=np.uint8)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        v.options = {"g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0", "preset": "veryfast", "crf": "30"}
        a = out.add_stream("aac", rate=16000)
        a.layout = "mono"
        for i in range(int(DURATION_S * FPS)):
            t = i / FPS
            img = next((frames[pid] for s, e, pid in SCRIPT if s <= t < e), idle)
            frame = av.VideoFrame.from_ndarray(np.roll(img, int(4 * np.sin(t)), axis=1), format="rgb24")
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        pts, n = 0, 1024
        while pts < DURATION_S * 16000:
            frame = av.AudioFrame.from_ndarray(np.zeros((1, n), dtype=np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, pts
            pts += n
            for packet in a.encode(frame):
                out.mux(packet)
        for packet in a.encode():
            out.mux(packet)
    return path


class RtmpServer:
    """nginx-rtmp as ``manage.py live_rtmp`` runs it, on a free port, calling back ``callback_url``."""

    def __init__(self, workdir: Path, live_dir: Path, callback_url: str):
        from webapp.live import rtmp

        self.port = free_port()
        self.workdir = workdir
        conf = rtmp.write_config(str(workdir), port=self.port, bind="127.0.0.1", callback_url=callback_url,
                                 hls_dir=str(live_dir / "hls"))
        self.log_path = workdir / "nginx.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(rtmp.command(str(workdir), conf), stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_port(self.port, 15, self.proc, self.log_path)

    @property
    def url(self) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


class Publisher:
    """``ffmpeg -re`` publishing ``video`` (from ``start_s``) to ``url``, as OBS would: H.264 + AAC in FLV."""

    def __init__(self, video, url: str, log_path: Path, start_s: float = 0.0, duration_s: float | None = None):
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re"]
        if start_s:
            cmd += ["-ss", f"{start_s:.3f}"]
        cmd += ["-i", str(video)]
        if duration_s:
            cmd += ["-t", f"{duration_s:.3f}"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", str(GOP), "-c:a", "aac",
                "-f", "flv", url]
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.started = time.time()  # wall clock of the stream's t=start_s (the delay is measured from here)
        self.start_s = start_s
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wall_of(self, t_s: float) -> float:
        """The wall-clock time the publisher sent the episode's second ``t_s``."""
        return self.started + (t_s - self.start_s)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self):
        """The encoder's machine drops off the network: no goodbye to the server."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()


class LiveWorker:
    """``celery -A webapp worker -Q live`` with the test's database, media, live folder and broker."""

    def __init__(self, log_path: Path, env: dict):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        full = dict(os.environ)
        full.update({"DJANGO_SETTINGS_MODULE": "webapp.settings", "PYTHONUNBUFFERED": "1",
                     "SHOPFOCUS_HEARTBEAT_S": "1", "SHOPFOCUS_HEARTBEAT_TIMEOUT_S": "5",
                     "SHOPFOCUS_PRELOAD_MODELS": "0"})  # as before preloading: the delays measured
        full.update({k: str(v) for k, v in env.items()})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", "live", "-c", "1", "-P", "prefork",
             "-n", f"live-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
            cwd=ROOT, env=full, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120) -> "LiveWorker":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.output():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"live worker exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            time.sleep(0.2)
        raise TimeoutError(f"live worker not ready after {timeout}s:\n{self.output()[-4000:]}")

    def kill(self):
        """SIGKILL the worker and its pool process, as when its machine dies."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def require_tools():
    from webapp.live import rtmp

    missing = [p for p in (rtmp.NGINX, rtmp.RTMP_MODULE) if not os.path.exists(p)]
    if missing or not any(os.access(os.path.join(d, "ffmpeg"), os.X_OK) for d in os.environ["PATH"].split(":")):
        pytest.fail(f"the live tests need nginx with the RTMP module and ffmpeg ({', '.join(missing)} missing): "
                    "`make install` installs Debian's nginx, libnginx-mod-rtmp and ffmpeg")


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def start_worker(tmp_path: Path, settings, server: "RtmpServer", live_dir: Path, n: int = 0) -> LiveWorker:
    return LiveWorker(tmp_path / f"live-worker{n}.log", {
        "DATABASE_URL": database_url(), "MEDIA_ROOT": settings.MEDIA_ROOT, "CELERY_BROKER_URL": REDIS_URL,
        "SHOPFOCUS_VAR_DIR": tmp_path / "worker-var", "SHOPFOCUS_LIVE_DIR": live_dir,
        "SHOPFOCUS_LIVE_RTMP_PORT": server.port, "SHOPFOCUS_LIVE_RECONNECT_GRACE_S": GRACE_S,
        "SHOPFOCUS_LIVE_SEGMENT_S": 4}).wait_ready()


@pytest.fixture
def rig(transactional_db, personas, live_server, settings, tmp_path):
    """RTMP server + live worker on the test database, a Redis broker, the catalog of tests/data."""
    import redis

    from webapp.catalog.services import import_catalog_folder
    from webapp.celery import app

    require_tools()
    live_dir = tmp_path / "live"
    settings.SHOPFOCUS_LIVE_DIR = live_dir
    (tmp_path / "nginx").mkdir()
    server = RtmpServer(tmp_path / "nginx", live_dir, live_server.url)
    settings.SHOPFOCUS_LIVE_RTMP_URL, settings.SHOPFOCUS_LIVE_RTMP_PORT = server.url, server.port
    import_catalog_folder(personas.shop, str(CATALOG_DIR))
    redis.Redis.from_url(REDIS_URL).flushdb()
    use_broker(app, REDIS_URL)
    episode = make_episode(tmp_path / "episode.mp4")
    workers = [start_worker(tmp_path, settings, server, live_dir)]
    try:
        yield {"server": server, "worker": workers[0], "workers": workers, "episode": episode, "tmp": tmp_path,
               "live_dir": live_dir, "settings": settings}
    finally:
        for w in workers:
            w.stop()
        server.stop()
        use_broker(app, "memory://")
        redis.Redis.from_url(REDIS_URL).flushdb()


