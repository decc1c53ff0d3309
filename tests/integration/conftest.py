"""A real Celery worker process (``celery -A webapp worker``) against the test database.

Tests that use it take ``transactional_db`` so what they write is committed and visible to the
worker; the worker gets the test database's URL, the test's MEDIA_ROOT and its own broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import use_broker
from tests.servers import server_database_url

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("SHOPFOCUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


class Worker:
    def __init__(self, log_path: Path, env: dict, beat: bool = False):
        self.log_path = log_path
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", "cpu,gpu", "-c", "1", "-P", "prefork",
             "-n", self.name, "--without-gossip", "--without-mingle", "-l", "INFO"]
            + (["-B", "-s", str(log_path.with_suffix(".beat"))] if beat else []),
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90) -> "Worker":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.output():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.output()[-4000:]}")

    def kill(self):
        """SIGKILL the worker and its pool processes, as when a machine dies."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def start_worker(transactional_db, settings, tmp_path):
    """``start_worker(broker_url, beat=False, **env)`` starts a worker (with the beat schedule that
    runs the reaper when ``beat``) and waits until it is ready."""
    workers = []

    def start(broker_url: str = REDIS_URL, beat: bool = False, **extra_env) -> Worker:
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": "webapp.settings",
            "DATABASE_URL": server_database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "SHOPFOCUS_VAR_DIR": str(tmp_path / "worker-var"),
            "SHOPFOCUS_HEARTBEAT_S": "1",
            "SHOPFOCUS_HEARTBEAT_TIMEOUT_S": "5",
            "SHOPFOCUS_PROGRESS_MIN_INTERVAL_S": "0.5",
            "PYTHONUNBUFFERED": "1",
            # most tests run fake pipelines or time a worker's death: no model loading at start
            # (test_warm_worker turns it on)
            "SHOPFOCUS_PRELOAD_MODELS": "0",
        })
        env.pop("CELERY_BROKER_URL", None)
        if broker_url:  # None: the settings' default (the embedded filesystem broker)
            env["CELERY_BROKER_URL"] = broker_url
        env.update({k: str(v) for k, v in extra_env.items()})
        worker = Worker(tmp_path / f"worker{len(workers)}.log", env, beat=beat)
        workers.append(worker)
        return worker.wait_ready()

    yield start
    for w in workers:
        w.stop()
    connection.close()  # PostgreSQL drops the test database only when nobody is connected


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own on a free port, which the test may kill and restart;
    the app's producer side sends to it."""
    from tests.servers import RedisServer
    from webapp.celery import app

    server = RedisServer(tmp_path)
    use_broker(app, server.url)
    yield server
    use_broker(app, "memory://")
    server.kill()


@pytest.fixture
def redis_broker():
    import redis

    from webapp.celery import app

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except redis.exceptions.ConnectionError as e:
        pytest.fail(f"no Redis at {REDIS_URL} ({e}): `make test` starts one (or set SHOPFOCUS_TEST_REDIS_URL)")
    use_broker(app, REDIS_URL)
    yield REDIS_URL
    use_broker(app, "memory://")
    redis.Redis.from_url(REDIS_URL).flushdb()


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def wait_finished(job, timeout: float = 600):
    def done():
        job.refresh_from_db()
        return job.is_finished

    wait_for(done, timeout, what=f"job {job.pk} to finish")
    return job


def assert_succeeded(job, worker=None):
    """Fail with the job's message and the worker's log tail when the job did not succeed."""
    log = worker.output() if worker else ""
    if job.status != "succeeded":
        pytest.fail(f"job {job.pk} {job.status}: {job.message}\n{log[-3000:]}")


def queue_job(video):
    """A new job for the video, sent to the broker when the transaction commits."""
    from django.db import transaction

    from webapp.videos import lifecycle

    with transaction.atomic():
        return lifecycle.start(video)


@pytest.fixture
def long_video(personas, catalog, tmp_path):
    """24 s of real photos: long enough that the real pipeline is still running when killed."""
    from tests import media
    from webapp.videos.ingest import create_video_from_path

    path = media.make_video(tmp_path / "long.mp4", seconds_per_scene=8.0, audio=True)
    return create_video_from_path(personas.shop, personas.seller, path, "Long shelf tour")


@pytest.fixture(scope="session")
def tabletop_path(media_dir):
    """12 s of the three products on a table (BAN, OAT, JUI, 4 s each): crops can be cut from it."""
    from tests import media

    return media.make_tabletop_video(media_dir / "tabletop.mp4")


def running_in_a_stage(job, stages=("vision", "speech", "text")):
    from webapp.videos.models import Job

    return lambda: Job.objects.filter(pk=job.pk, status="running", stage__in=stages).exists()
