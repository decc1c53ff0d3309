"""A live session pulling an HLS URL (served here over HTTP) keeps recording when its live worker
is killed, and the worker that replaces it goes on from the recording and the follower's saved
state: every interval closed before the kill is in the final video, none is stored twice."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
import time

from tests import live
from tests.live import GRACE_S, rig  # noqa: F401 (the fixture)


def serve(folder):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", live.free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def overlap(a, b) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / max(1e-9, min(a[1] - a[0], b[1] - b[0]))


def test_a_pulled_stream_outlives_its_live_worker_and_loses_no_closed_interval(rig, personas):
    from webapp.live import services
    from webapp.live.models import LiveSession

    tmp = rig["tmp"]
    hls = tmp / "source"
    hls.mkdir()
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(rig["episode"]), "-c", "copy", "-f", "hls",
                    "-hls_time", "2", "-hls_list_size", "0", str(hls / "index.m3u8")], check=True)
    source = serve(hls)
    try:
        session = services.start_session(personas.shop, personas.seller, "Pulled live", list(personas.shop.products.all()),
                                         source="pull", pull_url=f"http://127.0.0.1:{source.server_port}/index.m3u8")
        live.wait_for(lambda: LiveSession.objects.filter(pk=session.pk, state="live").exists(), 300,
                      "the pulled stream to be on")
        closed = live.wait_for(lambda: list(session.video.intervals.values_list("product__product_id", "start_s",
                                                                               "end_s")), 180, "a closed interval")
        rig["worker"].kill()  # the machine of the live worker dies; nginx and the relay go on
        time.sleep(6)  # its job's heartbeat goes stale (5 s in these tests)
        rig["workers"].append(live.start_worker(tmp, rig["settings"], rig["server"], rig["live_dir"], n=1))
        live.wait_for(lambda: LiveSession.objects.filter(pk=session.pk, state__in=("ended", "failed")).exists(),
                      GRACE_S + 400, "the session to end")
    finally:
        source.shutdown()
    session.refresh_from_db()
    job = session.job
    job.refresh_from_db()
    log = rig["workers"][1].output()
    assert session.state == "ended" and job.status == "succeeded", f"{session.message} {job.message}\n{log[-3000:]}"
    assert job.attempts == 2  # the reaper gave the job to the second worker
    final = list(session.video.intervals.values_list("product__product_id", "start_s", "end_s"))
    for iv in closed:
        assert iv in final, f"{iv} was closed before the worker died but is not in the video: {final}"
    for i, a in enumerate(final):
        for b in final[i + 1:]:
            assert a[0] != b[0] or overlap(a[1:], b[1:]) < 0.5, f"stored twice: {a} {b}"
    assert abs(session.video.duration_s - live.DURATION_S) < 4  # the recording went on meanwhile
    resumed = [float(line.split("resuming from ")[1].split(" s")[0]) for line in log.splitlines()
               if "resuming from " in line]
    assert resumed and resumed[0] >= max(iv[2] for iv in closed), "the new worker scored the stream again from 0"
