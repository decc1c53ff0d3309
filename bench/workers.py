"""One long stream split across Celery workers (issue 13, part 3): 1 worker against N.

    python bench/workers.py                       # the first long test stream, 1 then 2 workers
    python bench/workers.py --workers 1,2,4 --video V --catalog C --comments K

What it measures is the whole job as a seller meets it: the video is stored through
``webapp.videos.ingest`` and started through ``webapp.videos.lifecycle`` exactly as an upload is;
real ``celery -A webapp worker -Q cpu -c 1`` processes (as many as asked) take its parts from
Redis; the clock runs from the job's start to SUCCEEDED (the join, fusion, localization and the
stored artefacts included). The split is the settings' (``SHOPFOCUS_SEGMENT_S``, 600 s:
six parts for an hour). Each configuration runs on a fresh database, so no part is reused.

Needs PostgreSQL and Redis (``DATABASE_URL``, default the local ``shopfocus_bench`` database,
created when missing; ``CELERY_BROKER_URL``, default ``redis://127.0.0.1:6379/9``, flushed).
Writes ``bench/results/workers.{json,md}``. Each worker's networks get cores / workers threads
(``SHOPFOCUS_THREADS``, ``--threads``): two workers of two threads each on two cores ran the
60-minute stream in 403 s against 276 s for one (eight busy threads thrashing two cores). On this
2-core machine two workers share the same two cores, so the ratio says how much of a core one
worker leaves idle (vision, speech and decoding already overlap inside a part), not what two
hosts give: with N hosts the parts of one stream spread over N machines (same broker, ``-Q cpu``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shopfocus_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/9"


def _first_long_stream() -> dict:
    from ml.synth import long_suite

    spec = long_suite(1, 0, "test", 3600.0)[0]
    d = os.path.join(REPO, "bench", "cache", spec.key())
    if not os.path.isfile(os.path.join(d, "DONE")):
        raise SystemExit(f"{d} is not generated: run `python bench/run.py --generate-only --episodes 0 --long 1`")
    return {"video": os.path.join(d, "video.mp4"), "catalog": os.path.join(d, "catalog"),
            "comments": os.path.join(d, "comments.csv"), "name": spec.name}


def _fresh_database(url: str) -> None:
    """Drop and create the database named in ``url`` (PostgreSQL), then migrate it."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, check=True, env=os.environ)


class _Worker:
    def __init__(self, log_path: str, env: dict):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", "cpu", "-c", "1", "-P", "prefork",
             "-n", f"bench-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, errors="replace") as f:
                if " ready." in f.read():
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}: see {self.log_path}")
            time.sleep(0.5)
        raise TimeoutError(f"worker not ready after {timeout}s: see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def run_once(ep: dict, n_workers: int, work: str, timeout_s: float, threads: int) -> dict:
    """A fresh database, ``n_workers`` warm workers, one job for the stream: its wall time."""
    import django

    _fresh_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.db import connection, transaction

    from webapp.accounts.models import Shop
    from webapp.catalog.services import import_catalog_folder
    from webapp.celery import app
    from webapp.segments.models import JobSegment
    from webapp.videos import lifecycle
    from webapp.videos.ingest import create_video_from_path
    from webapp.videos.models import Comment, Job

    app.connection_for_write().default_channel.client.flushdb()  # no message of an earlier run
    shop = Shop.objects.create(name="Bench shop", slug=f"bench-{n_workers}")
    import_catalog_folder(shop, ep["catalog"])
    video = create_video_from_path(shop, None, ep["video"], f"{ep['name']} ({n_workers} workers)")
    with open(ep["comments"], newline="", encoding="utf-8") as f:
        Comment.objects.bulk_create([Comment(video=video, time_s=float(r["time_s"]), user=r.get("user", ""),
                                             text=r["text"]) for r in csv.DictReader(f)])
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="webapp.settings", PYTHONUNBUFFERED="1",
               SHOPFOCUS_THREADS=str(threads))
    workers = [_Worker(os.path.join(work, f"worker{n_workers}_{i}.log"), env) for i in range(n_workers)]
    try:
        for w in workers:
            w.wait_ready()  # warm: models loaded as each pool process starts
        t0 = time.time()
        with transaction.atomic():
            job = lifecycle.start(video)
        deadline = t0 + timeout_s
        while True:
            job.refresh_from_db()
            if job.is_finished or time.time() > deadline:
                break
            time.sleep(1.0)
        wall = time.time() - t0
        parts = list(JobSegment.objects.filter(job=job).order_by("index").values(
            "index", "keep_start_s", "keep_end_s", "status", "worker", "started_at", "finished_at"))
        out = {"workers": n_workers, "threads": threads, "status": job.status, "message": job.message, "wall_s": round(wall, 1),
               "rtf": round(video.duration_s / wall, 2) if wall else None, "duration_s": video.duration_s,
               "intervals": job.intervals.count(), "segments": len(parts),
               "segment_workers": sorted({p["worker"] for p in parts if p.get("worker")}),
               "segment_wall_s": [round((p["finished_at"] - p["started_at"]).total_seconds(), 1)
                                  for p in parts if p["finished_at"] and p["started_at"]]}
        if job.status != Job.Status.SUCCEEDED:
            out["error"] = job.message
        return out
    finally:
        for w in workers:
            w.stop()
        connection.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench/workers.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", default="1,2", help="worker counts to compare (comma-separated)")
    p.add_argument("--video")
    p.add_argument("--catalog")
    p.add_argument("--comments")
    p.add_argument("--threads", type=int, default=0,
                   help="network threads per worker (SHOPFOCUS_THREADS; 0: cores / workers, at least 1)")
    p.add_argument("--timeout-min", type=float, default=60.0)
    p.add_argument("--name", default="workers")
    a = p.parse_args(argv)
    ep = ({"video": a.video, "catalog": a.catalog, "comments": a.comments, "name": os.path.basename(a.video)}
          if a.video else _first_long_stream())
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ.setdefault("CELERY_BROKER_URL", DEFAULT_BROKER)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    work = tempfile.mkdtemp(prefix="sf-bench-workers-")
    os.environ["MEDIA_ROOT"] = os.path.join(work, "media")
    os.environ["SHOPFOCUS_VAR_DIR"] = os.path.join(work, "var")
    rows = []
    for n in [int(x) for x in a.workers.split(",") if x.strip()]:
        print(f"{n} worker(s)...", flush=True)
        threads = a.threads or max(1, (os.cpu_count() or 1) // n)
        rows.append(run_once(ep, n, work, a.timeout_min * 60, threads))
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]["wall_s"] if rows and rows[0].get("status") == "succeeded" else None
    for r in rows:
        r["speedup"] = round(base / r["wall_s"], 2) if base and r.get("status") == "succeeded" else None
    res_dir = os.path.join(REPO, "bench", "results")
    os.makedirs(res_dir, exist_ok=True)
    info = {"date": time.strftime("%Y-%m-%d %H:%M"), "episode": ep, "cpus": os.cpu_count(),
            "load_before": os.getloadavg(), "rows": rows}
    with open(os.path.join(res_dir, f"{a.name}.json"), "w") as f:
        json.dump(info, f, indent=1, default=str)
    lines = [f"# One stream on 1 vs N Celery workers ({info['date']}, {os.cpu_count()} cores)", "",
             f"Stream: `{ep['name']}`; parts of `SHOPFOCUS_SEGMENT_S`; wall = job start to SUCCEEDED.", "",
             "| workers | threads each | status | wall (s) | x real time | speed-up | parts | parts' wall (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['threads']} | {r['status']} | {r['wall_s']} | {r['rtf']} | {r['speedup']} | "
                     f"{r['segments']} | {', '.join(str(x) for x in r['segment_wall_s'])} |")
    with open(os.path.join(res_dir, f"{a.name}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r.get("status") == "succeeded" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
