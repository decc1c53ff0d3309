"""Real servers the fault and load tests start for themselves, each on a free port: a
redis-server they can kill and restart, and gunicorn serving the app as ``make run`` does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def server_database_url() -> str:
    """The URL of the test database, for a server or worker process started by a test."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{os.path.abspath(s['NAME'])}"
    if "postgresql" in s["ENGINE"]:
        auth = s["USER"] or ""
        if s.get("PASSWORD"):
            auth += f":{s['PASSWORD']}"
        return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    raise RuntimeError(f"no worker URL for {s['ENGINE']}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


class RedisServer:
    """``redis-server`` without persistence: a restart loses every queued message, as a Redis
    that restarts without AOF/RDB does."""

    def __init__(self, workdir: Path):
        import shutil

        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is missing: `make test` installs Debian's redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.proc = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.log = open(self.workdir / f"redis-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, 10, self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL, as when the machine or the container goes away."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()

    def queue_length(self, queue: str) -> int:
        import redis

        return redis.Redis.from_url(self.url).llen(queue)


class Gunicorn:
    """The app under gunicorn with webapp/gunicorn.conf.py (what ``make run`` runs)."""

    def __init__(self, workdir: Path, env: dict, workers: int = 2, threads: int = 4):
        self.port = free_port()
        self.workers, self.threads = workers, threads
        self.log_path = workdir / f"gunicorn-{self.port}.log"
        full_env = dict(os.environ)
        full_env.update({"SHOPFOCUS_WEB_BIND": f"127.0.0.1:{self.port}", "SHOPFOCUS_WEB_WORKERS": str(workers),
                         "SHOPFOCUS_WEB_THREADS": str(threads), "SHOPFOCUS_WEB_ACCESS_LOG": "",
                         "DJANGO_SETTINGS_MODULE": "webapp.settings", "PYTHONUNBUFFERED": "1"})
        full_env.pop("SHOPFOCUS_DB_POOL_MAX", None)
        full_env.update({k: str(v) for k, v in env.items()})
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "webapp/gunicorn.conf.py"], cwd=ROOT,
                                     env=full_env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port, 60, self.proc, self.log_path)
        self._wait_app()

    def _wait_app(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/login/", timeout=5).read()
                return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"gunicorn does not answer:\n{self.output()[-3000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


def session_cookies(user) -> dict:
    """Cookies of a logged-in session for ``user`` (stored in the database the server reads),
    with a CSRF cookie: send ``csrf_headers()`` along on writes."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF_TOKEN}


CSRF_TOKEN = "a" * 32  # any well-formed token: Django compares the cookie with the header


def csrf_headers() -> dict:
    return {"X-CSRFToken": CSRF_TOKEN}
