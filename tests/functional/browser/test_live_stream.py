"""A seller goes live from a real ``ffmpeg -re`` publisher through the real RTMP server (nginx-
rtmp), a real live worker records and follows the stream, and a viewer's card in Chromium
changes to the product on screen. The publisher drops and comes back; a wrong key and a second
publisher are refused; intervals are stored while the session runs; the finished stream is a
video with intervals, focus view and clips.

The end-to-end delay (the publisher sending the first frame of a product -> the card showing
it) is measured for every product and written to test-artifacts/live-delay.json."""

from __future__ import annotations

import json
import os
import statistics
import time

from tests import live
from tests.live import GRACE_S, rig  # noqa: F401 (the fixture)

from .conftest import Session

DROP_AT_S = 26.0  # the publisher's connection dies inside gs_06's exhibition, and comes back


def test_a_viewer_sees_the_product_on_screen_live_through_a_drop_and_the_stream_becomes_a_video(
        rig, personas, browser, live_server, artifacts):
    from webapp.live.models import LiveSession

    tmp, server = rig["tmp"], rig["server"]
    seller = Session(browser, live_server, personas.seller, artifacts, "live")
    p = seller.page
    p.goto(f"{live_server.url}/shops/{personas.shop.slug}/live/new/")
    p.fill("#id_title", "Grocery live")
    p.click("#live-form button[type=submit]")
    p.wait_for_selector("#live-key")
    key, server_url = p.inner_text("#live-key").strip(), p.inner_text("#live-server").strip()
    viewer_url = p.get_attribute("#live-viewer-link", "href")
    session = LiveSession.objects.get()
    assert server_url == server.url and key == session.stream_key

    # The viewer's card, in its own (anonymous) browser context: empty while nothing is shown.
    viewer_ctx = browser.new_context()
    viewer = viewer_ctx.new_page()
    viewer.add_init_script("window.__changes = []; window.addEventListener('lv-change', "
                           "function (e) { window.__changes.push([e.detail, Date.now() / 1000]); });")
    viewer.goto(viewer_url)
    assert viewer.locator("#lv-card .nv-card").count() == 0

    wrong = live.Publisher(rig["episode"], f"{server_url}/not-the-key", tmp / "wrong.log")
    assert wrong.wait(timeout=60) != 0  # refused by the on_publish check
    live.wait_for(lambda: LiveSession.objects.filter(pk=session.pk, job__stage="waiting for the stream").exists(), 240,
             "the live worker to be warm and waiting")
    first = live.Publisher(rig["episode"], f"{server_url}/{key}", tmp / "publish-1.log", duration_s=DROP_AT_S + 2)
    live.wait_for(lambda: LiveSession.objects.filter(pk=session.pk, state="live").exists(), 30, "the publisher to be on")
    second = live.Publisher(rig["episode"], f"{server_url}/{key}", tmp / "busy.log")
    assert second.wait(timeout=60) != 0  # a second publisher on a busy key is refused
    time.sleep(max(0.0, first.wall_of(DROP_AT_S) - time.time()))
    first.kill()  # the encoder's connection dies without a goodbye
    live.wait_for(lambda: LiveSession.objects.filter(pk=session.pk, state="reconnecting").exists(), 30, "the drop")
    time.sleep(1.0)
    again = live.Publisher(rig["episode"], f"{server_url}/{key}", tmp / "publish-2.log", start_s=DROP_AT_S)
    live.wait_for(lambda: LiveSession.objects.filter(pk=session.pk, state="live", reconnects=1).exists(), 30,
             "the publisher to come back")

    # Intervals arrive while the session runs (one query: an interval stored while its job is still
    # running is one stored as it closed, not at the end), and the seller's timeline shows them.
    # On a loaded machine the follower lags the stream by up to a catch-up batch (32 s).
    live.wait_for(lambda: session.video.intervals.filter(job__status="running").exists(), 300,
                  "an interval stored while the session runs")
    p.goto(f"{live_server.url}/videos/{session.video_id}/review/")
    p.wait_for_function("window.__rv && window.__rv.intervals.size > 0", timeout=30000)
    assert again.wait(timeout=120) == 0, again.output()
    stream_end = time.time()

    live.wait_for(lambda: LiveSession.objects.filter(pk=session.pk, state__in=("ended", "failed")).exists(),
             GRACE_S + 300, "the session to end")
    session.refresh_from_db()
    assert session.state == "ended", f"{session.message}\n{rig['worker'].output()[-3000:]}"
    viewer.wait_for_function("() => document.querySelectorAll('#lv-card .nv-card').length === 0", timeout=30000)
    viewer.wait_for_selector(".lv-ended", timeout=30000)  # the card points at the recording instead
    changes = viewer.evaluate("window.__changes")
    seller.shot("live-ended")

    # The card changed to each product, in the order the stream showed them, within a bound.
    delays = {}
    sent_at = [(again if start_s >= DROP_AT_S else first).wall_of(start_s) for start_s, _, _ in live.SCRIPT]
    for i, (start_s, end_s, pid) in enumerate(live.SCRIPT):
        until = sent_at[i + 1] if i + 1 < len(sent_at) else float("inf")
        seen = [t for shown, t in changes if shown == pid and sent_at[i] - 1.0 <= t < until]
        if seen:  # the card changed to it after it appeared (not already showing it by mistake)
            delays[f"{pid}@{start_s:.0f}s"] = round(seen[0] - sent_at[i], 2)
    order = [pid for pid, _ in changes if pid in dict((p_, 1) for *_, p_ in live.SCRIPT)]
    firsts = list(dict.fromkeys(order))
    report = {"delays_s": delays, "median_s": statistics.median(delays.values()) if delays else None,
              "changes": changes, "segment_s": 4, "load_avg": os.getloadavg(),
              "stream_end_to_session_end_s": round(time.time() - stream_end, 1)}
    (artifacts / "live-delay.json").write_text(json.dumps(report, indent=1))
    # Under load the follower lags by up to a catch-up batch, and the card shows nothing once the
    # stream is over: the products it reached while the stream ran are the ones measured.
    assert delays, f"the card never changed to a product after it appeared: {changes}; script {live.SCRIPT}"
    # (first showings only: with SHOPFOCUS_LIVE_DELAY_REPEAT > 1 the script shows each product again)
    assert firsts == list(dict.fromkeys(pid for *_, pid in live.SCRIPT if pid in firsts)), f"out of order: {changes}"
    assert max(delays.values()) < 120, report  # bounded even on a loaded 2-core machine

    # The finished stream is an ordinary video: MP4, its intervals, focus view and a clip.
    video = session.video
    video.refresh_from_db()
    assert video.file.name.endswith(".mp4") and abs(video.duration_s - live.DURATION_S) < 4
    job = session.job
    job.refresh_from_db()
    assert job.status == "succeeded" and "curves" in job.artefacts
    found = set(video.intervals.values_list("product__product_id", flat=True))
    assert len(found & {pid for *_, pid in live.SCRIPT}) >= 2, found
    c = personas.client(personas.seller)
    assert c.get(f"/videos/{video.pk}/focus/").status_code == 200
    product = video.intervals.first().product
    clip = c.get(f"/videos/{video.pk}/clips/{product.pk}.mp4")
    assert clip.status_code == 200 and b"ftyp" in b"".join(clip.streaming_content)[:64]
    viewer_ctx.close()
    seller.context.close()
