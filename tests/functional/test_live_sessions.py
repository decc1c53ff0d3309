"""Live sessions over HTTP: a seller starts one and gets an ingest address; the RTMP server's
questions (key, busy, drops, ended sessions); capacity; the viewer's card and its long poll.
The real RTMP server, publisher and worker are in tests/functional/browser/test_live_stream.py."""

import threading
import time

import pytest
from django.test import Client
from django.urls import reverse

from webapp.live import rtmp, services
from webapp.live.models import LiveSession


@pytest.fixture
def start(personas, catalog):
    def start_(**kw):
        return services.start_session(personas.shop, personas.seller, kw.pop("title", "Morning show"),
                                      list(catalog), **kw)
    return start_


def rtmp_call(client, call, key, clientid="7", **extra):
    url = reverse(f"live:rtmp_{call}") + f"?token={rtmp.callback_token()}"
    return client.post(url, {"call": call if call != "update" else "update_publish", "name": key,
                             "clientid": clientid, "addr": "127.0.0.1", "app": "live", **extra})


def test_a_seller_starts_a_session_and_gets_a_server_url_and_a_secret_key(personas, catalog):
    c = personas.client(personas.seller)
    r = c.post(reverse("live:new", args=[personas.shop.slug]),
               {"title": "Fruit live", "products": [p.pk for p in catalog], "source": "push"})
    assert r.status_code == 302
    session = LiveSession.objects.get()
    assert session.state == "waiting" and session.job.status == "queued" and session.job.queue == "live"
    assert session.slot == 0 and session.products.count() == 3 and len(session.stream_key) >= 32
    page = c.get(r.url).content.decode()
    assert session.ingest_url() in page and session.stream_key in page
    reviewer_page = personas.client(personas.reviewer).get(r.url).content.decode()
    assert session.stream_key not in reviewer_page  # the key is for those who may stream


def test_only_sellers_and_admins_go_live_and_other_shops_see_nothing(personas, catalog, start):
    url = reverse("live:new", args=[personas.shop.slug])
    assert personas.client(personas.reviewer).post(url, {"products": [catalog[0].pk]}).status_code == 403
    session = start()
    assert personas.client(personas.other_seller).get(reverse("live:detail", args=[session.pk])).status_code == 404


@pytest.mark.parametrize("form, message", [
    ({"products": []}, "choose at least one product"),
    ({"source": "pull", "pull_url": "file:///etc/passwd"}, "must start with"),
    ({"source": "pull", "pull_url": "https://example.com/video.mp4"}, "HLS playlist"),
])
def test_a_session_that_cannot_start_says_why(personas, catalog, form, message):
    data = {"products": [p.pk for p in catalog], "source": "push", **form}
    r = personas.client(personas.seller).post(reverse("live:new", args=[personas.shop.slug]), data)
    assert r.status_code == 400 and message in r.content.decode()
    assert not LiveSession.objects.exists()


def test_a_session_past_the_server_capacity_is_refused_and_told_so(personas, catalog, start, settings):
    settings.SHOPFOCUS_LIVE_MAX_SESSIONS = 2
    first, second = start(), start()
    assert {first.slot, second.slot} == {0, 1}
    r = personas.client(personas.seller).post(reverse("live:new", args=[personas.shop.slug]),
                                              {"products": [catalog[0].pk], "source": "push"})
    assert r.status_code == 503 and "all 2 live slot(s) of this server are in use" in r.content.decode()
    assert LiveSession.objects.count() == 2  # nothing half-made: no video, no job
    assert personas.shop.videos.count() == 2
    services.mark(first.pk, LiveSession.State.ENDED, "done")
    assert start().slot == first.slot  # an ended session's slot is free again


def test_the_rtmp_server_refuses_a_wrong_key_and_a_second_publisher(start):
    session, c = start(), Client()
    assert rtmp_call(c, "publish", "not-the-key").status_code == 403
    assert rtmp_call(c, "publish", session.stream_key, clientid="1").status_code == 200
    session.refresh_from_db()
    assert session.state == "live" and session.publisher == "1" and session.first_published_at
    assert rtmp_call(c, "publish", session.stream_key, clientid="2").status_code == 403  # busy key
    assert rtmp_call(c, "update", session.stream_key, clientid="1").status_code == 200


def test_a_publisher_that_drops_and_comes_back_keeps_its_session(start):
    session, c = start(), Client()
    rtmp_call(c, "publish", session.stream_key, clientid="1")
    rtmp_call(c, "publish_done", session.stream_key, clientid="1")
    session.refresh_from_db()
    assert session.state == "reconnecting" and session.dropped_at and "dropped" in session.message
    assert rtmp_call(c, "publish", session.stream_key, clientid="9").status_code == 200
    session.refresh_from_db()
    assert session.state == "live" and session.reconnects == 1 and session.dropped_at is None


def test_an_ended_session_drops_its_publisher_and_takes_no_new_one(personas, start):
    session, c = start(), Client()
    rtmp_call(c, "publish", session.stream_key, clientid="1")
    r = personas.client(personas.seller).post(reverse("live:end", args=[session.pk]))
    assert r.status_code == 302
    assert rtmp_call(c, "update", session.stream_key, clientid="1").status_code == 403
    assert rtmp_call(c, "publish", session.stream_key, clientid="2").status_code == 403


def test_rtmp_callbacks_without_the_servers_token_do_not_exist(start):
    session = start()
    r = Client().post(reverse("live:rtmp_publish"), {"name": session.stream_key, "clientid": "1"})
    assert r.status_code == 404
    assert Client().post(reverse("live:rtmp_publish") + "?token=guess", {"name": session.stream_key}).status_code == 404


def test_the_viewer_card_needs_the_signed_key_and_shows_what_is_on_screen(personas, start):
    from webapp.embeds.services import current_key

    session = start()
    anon = Client()
    assert anon.get(reverse("live:viewer", args=[session.pk])).status_code == 404
    assert anon.get(reverse("live:now", args=[session.pk]) + "?key=forged").status_code == 404
    key = current_key(session.video, personas.seller).key
    page = anon.get(reverse("live:viewer", args=[session.pk]) + f"?key={key}")
    assert page.status_code == 200 and "X-Frame-Options" not in page  # embeddable, by the shop's sites only
    assert "frame-ancestors 'self'" in page["Content-Security-Policy"]
    now = anon.get(reverse("live:now", args=[session.pk]) + f"?key={key}&after=-1").json()
    assert now["product"] is None and now["live"] is True
    rtmp_call(Client(), "publish", session.stream_key)
    banana = session.products.get(product_id="BAN")
    assert services.set_now_showing(session.pk, banana.pk, 0.9, 12.0, followed_s=16.0)
    assert not services.set_now_showing(session.pk, banana.pk, 0.8, 12.0)  # no change, no new version
    now = anon.get(reverse("live:now", args=[session.pk]) + f"?key={key}&after=-1").json()
    assert now["product"]["product_id"] == "BAN" and now["version"] == 1 and now["since_s"] == 12.0
    thumb = anon.get(now["product"]["thumbnail"])
    assert thumb.status_code == 200
    services.set_now_showing(session.pk, None)
    assert anon.get(reverse("live:now", args=[session.pk]) + f"?key={key}").json()["product"] is None


@pytest.mark.parametrize("name", ["review:poster", "review:filmstrip", "review:video_file"])
def test_before_the_stream_arrives_the_review_pages_media_say_so_instead_of_failing(personas, start, name, settings,
                                                                                   tmp_path):
    """The review timeline of a session still waiting for its stream asks for its poster, filmstrip
    and file: a 404 saying nothing has been streamed yet (these were 500s), and the page works."""
    settings.SHOPFOCUS_LIVE_DIR = tmp_path / "live"
    session, seller = start(), personas.client(personas.seller)
    assert seller.get(reverse("review:timeline", args=[session.video_id])).status_code == 200
    r = seller.get(reverse(name, args=[session.video_id]))
    assert r.status_code == 404 and "the recording has not started yet" in r.content.decode()


@pytest.mark.parametrize("kind", ["poster", "video"])
def test_before_the_stream_arrives_the_viewers_media_say_so_instead_of_failing(personas, start, kind):
    from webapp.embeds.services import current_key

    session = start()
    key = current_key(session.video, personas.seller).key
    r = Client().get(reverse("review:viewer_media", args=[session.video_id, kind, 0]) + f"?key={key}")
    assert r.status_code == 404 and "the recording has not started yet" in r.content.decode()


def test_a_long_poll_answers_as_soon_as_the_product_changes(transactional_db, personas, catalog, settings):
    settings.SHOPFOCUS_LIVE_LONGPOLL_S = 15
    session = services.start_session(personas.shop, personas.seller, "t", list(catalog))
    rtmp_call(Client(), "publish", session.stream_key)
    oat = session.products.get(product_id="OAT")
    def change():
        from django.db import connection

        services.set_now_showing(session.pk, oat.pk, 0.7, 3.0)
        connection.close()

    timer = threading.Timer(1.0, change)
    timer.start()
    t0 = time.monotonic()
    now = personas.client(personas.seller).get(reverse("live:now", args=[session.pk]) + "?after=0").json()
    waited = time.monotonic() - t0
    timer.join()
    assert now["product"]["product_id"] == "OAT" and now["poll_ms"] == 0
    assert 0.9 <= waited < 10  # woke on the change, not at the long poll's end


def test_past_its_long_poll_limit_the_server_tells_viewers_to_poll(personas, start, settings):
    from webapp.live import views

    session = start()
    while views._long_polls.acquire(blocking=False):  # every long-poll slot of this process is taken
        pass
    try:
        now = personas.client(personas.seller).get(reverse("live:now", args=[session.pk]) + "?after=0").json()
    finally:
        for _ in range(settings.SHOPFOCUS_LIVE_LONGPOLL_MAX):
            try:
                views._long_polls.release()
            except ValueError:
                break
    assert now["poll_ms"] == settings.SHOPFOCUS_LIVE_POLL_MS > 0


def test_a_stream_that_never_starts_fails_with_a_message_saying_what_to_check(transactional_db, personas, catalog,
                                                                            settings, tmp_path):
    """The live worker (here in this process) waits SHOPFOCUS_LIVE_START_TIMEOUT_S for the first
    fragment, then fails the session and its job, and frees the slot."""
    from django.db import connection

    from webapp.live.worker import run_live_session

    settings.SHOPFOCUS_LIVE_DIR = tmp_path / "live"
    settings.SHOPFOCUS_LIVE_START_TIMEOUT_S = 1
    settings.SHOPFOCUS_LIVE_WARM_UP = False
    session = services.start_session(personas.shop, personas.seller, "Nobody came", list(catalog))
    try:
        run_live_session(session.job_id)
    finally:
        connection.close()
    session.refresh_from_db()
    session.job.refresh_from_db()
    assert session.state == "failed" and session.slot is None
    assert "no stream arrived within 1 s" in session.message and "stream key in OBS" in session.message
    assert session.job.status == "failed" and "no stream arrived" in session.job.message
