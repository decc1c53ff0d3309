"""The app served the way ``make run`` serves it (gunicorn, gthread workers, a bounded pool), hit
over loopback: the database connection count stays within the bound under concurrent load, a
bounded load run reports latencies, and 2 GB of junk named .mp4 is refused on its first chunk."""

from __future__ import annotations

import json
import os
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.urls import reverse

from tests.functional.conftest import THREADS, WORKERS
from tests.servers import CSRF_TOKEN, csrf_headers
from webapp.videos.models import Video



def endpoints(video, shop) -> dict[str, str]:
    return {"timeline JSON": reverse("video-review-timeline", args=[video.pk]),
            "video list (API)": f"/api/videos/?shop={shop.slug}",
            "video list (page)": reverse("videos:list", args=[shop.slug])}


def hammer(http, base, paths, n, concurrency):
    """``n`` GETs spread over ``paths`` from ``concurrency`` threads; (path, status, seconds) each."""
    def one(i):
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        r = http.get(base + path, timeout=60)
        return path, r.status_code, time.perf_counter() - t0

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(n)))


def server_connections(app_name) -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app_name])
        return cur.fetchone()[0]


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="counts PostgreSQL connections (CI runs it on PostgreSQL)")
def test_gunicorn_holds_at_most_workers_times_threads_database_connections_under_load(site):
    server, http, video, personas = site
    peak, stop = [0], threading.Event()

    def sample():
        from django.db import connection as own

        while not stop.is_set():
            peak[0] = max(peak[0], server_connections(server.app_name))
            time.sleep(0.01)
        own.close()

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        results = hammer(http, server.url, list(endpoints(video, personas.shop).values()), n=300, concurrency=40)
    finally:
        stop.set()
        sampler.join()

    assert [s for _, s, _ in results if s != 200] == []
    # 40 clients at once against 2 workers x 4 threads: the pool, not the load, sets the count.
    assert 1 <= peak[0] <= WORKERS * THREADS, f"{peak[0]} connections at peak"


def test_a_bounded_load_run_reports_the_latency_of_the_timeline_and_the_video_list(site, capsys):
    server, http, video, personas = site
    n = int(os.environ.get("SHOPFOCUS_LOAD_REQUESTS", 300))  # per endpoint
    report = {}
    for name, path in endpoints(video, personas.shop).items():
        hammer(http, server.url, [path], n=20, concurrency=4)  # warm each worker's caches
        results = hammer(http, server.url, [path], n=n, concurrency=8)
        assert [s for _, s, _ in results if s != 200] == []
        ms = sorted(1000 * t for _, _, t in results)
        report[name] = {"requests": n, "p50_ms": round(statistics.median(ms), 1),
                        "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 1)}
    with capsys.disabled():
        print(f"\nload ({WORKERS} gunicorn workers x {THREADS} threads, 8 clients, loopback): {json.dumps(report)}")
    assert set(report) == set(endpoints(video, personas.shop))


def test_two_gigabytes_of_junk_named_mp4_are_refused_on_the_first_chunk_and_nothing_is_kept(site):
    server, http, video, personas = site
    before = set(Video.objects.values_list("pk", flat=True))
    boundary = "shopfocus-junk-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\njunk\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"recording.mp4\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    junk_bytes = 2 * 1024**3
    request = (f"POST {reverse('videos:upload', args=[personas.shop.slug])} HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{server.port}\r\n"
               f"Cookie: sessionid={http.cookies['sessionid']}; csrftoken={CSRF_TOKEN}\r\n"
               f"X-CSRFToken: {csrf_headers()['X-CSRFToken']}\r\nX-Requested-With: XMLHttpRequest\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {len(head) + junk_bytes + len(tail)}\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sent = [0]
    answered = threading.Event()

    def send_junk():
        block = os.urandom(1024 * 1024)
        try:
            sock.sendall(request + head)
            while sent[0] < junk_bytes and not answered.is_set():
                sock.sendall(block)
                sent[0] += len(block)
        except OSError:
            pass  # the server closed the connection after answering: expected

    sender = threading.Thread(target=send_junk, daemon=True)
    sender.start()
    response = b""
    while b"\r\n\r\n" not in response or len(response.split(b"\r\n\r\n", 1)[1]) < _content_length(response):
        chunk = sock.recv(65536)
        if not chunk:
            break
        response += chunk
    sent_when_answered = sent[0]
    answered.set()
    sock.close()
    sender.join(timeout=30)

    status_line, _, rest = response.partition(b"\r\n")
    body = json.loads(response.split(b"\r\n\r\n", 1)[1])
    assert status_line.split()[1] == b"400", response[:500]
    assert body["error"].startswith("recording.mp4: not a video file that can be decoded")
    # The server answered after the first chunk: far less than the 2 GB had been sent by then.
    assert sent_when_answered < 64 * 1024**2, f"{sent_when_answered} bytes sent before the answer"
    assert set(Video.objects.values_list("pk", flat=True)) == before
    assert list(server.upload_tmp.iterdir()) == []
    stored = {p.name for p in (server.media_root / "videos" / str(personas.shop.pk)).iterdir()}
    assert stored == {os.path.basename(v.file.name) for v in Video.objects.filter(shop=personas.shop)}


def _content_length(response: bytes) -> int:
    for line in response.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0
