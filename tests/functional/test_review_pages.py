"""The review pages and their JSON API over HTTP: permissions, optimistic locking, split/merge,
bulk accept, history, clips, filmstrip, and the viewer's signed link."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from tests.functional.browser import data as world_data
from tests.functional.browser import media as test_media
from webapp.review import clips, pages
from webapp.review.models import Correction, Interval


@pytest.fixture(scope="session")
def review_video_path(tmp_path_factory):
    return test_media.make_video(tmp_path_factory.mktemp("review-media") / "grocery-live.mp4")


@pytest.fixture
def world(personas, review_video_path):
    return world_data.build_world(personas, review_video_path)


def client_for(world, who) -> Client:
    return world.personas.client(getattr(world.personas, who))


def patch(c, iv_id, body):
    return c.patch(reverse("interval-detail", args=[iv_id]), json.dumps(body), content_type="application/json")


def post(c, name, arg, body):
    url = reverse(f"interval-{name}", args=[arg] if arg is not None else [])
    return c.post(url, json.dumps(body), content_type="application/json")


# --------------------------------------------------------------------------- pages and permissions
@pytest.mark.parametrize("name", ["review:timeline", "review:focus", "review:viewer", "video-review-timeline",
                                  "video-review-curves", "review:video_file", "review:poster",
                                  "video-review-evidence", "review:filmstrip"])
def test_it_shows_the_pages_to_the_shop_and_404s_another_shop(world, name):
    url = reverse(name, args=[world.video.pk])
    assert client_for(world, "reviewer").get(url).status_code == 200
    assert client_for(world, "seller").get(url).status_code == 200
    assert client_for(world, "other_seller").get(url).status_code == 404


def test_it_sends_anonymous_visitors_of_the_timeline_to_the_login_page(world):
    r = Client().get(reverse("review:timeline", args=[world.video.pk]))
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_timeline_data_holds_products_intervals_and_job(world):
    r = client_for(world, "reviewer").get(reverse("video-review-timeline", args=[world.video.pk]))
    d = r.json()
    assert d["can_review"] is True
    assert {p["product_id"] for p in d["products"]} == {"gs_34", "gs_06", "gs_45"}  # tests/data/catalog
    assert all(p["thumbnail"] for p in d["products"])
    assert len(d["intervals"]) == len(world.intervals()) >= 2
    assert d["job"]["status"] == "succeeded"


def test_curves_come_as_cached_integer_percent(world):
    c = client_for(world, "reviewer")
    url = reverse("video-review-curves", args=[world.video.pk])
    d = c.get(url).json()
    assert d["times"] and set(d["fused_pct"]) == {"gs_34", "gs_06", "gs_45"}
    assert all(0 <= v <= 100 for values in d["fused_pct"].values() for v in values)
    r = c.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate")
    import gzip

    assert r["Content-Encoding"] == "gzip" and json.loads(gzip.decompress(r.content)) == d


def test_evidence_has_transcript_screen_text_and_boxes_in_frame_units(world):
    d = client_for(world, "reviewer").get(reverse("video-review-evidence", args=[world.video.pk])).json()
    assert "modalities" in d and "transcript" in d and "screen_text" in d
    for b in d["boxes"]:
        assert len(b) == 6 and all(0 <= v <= 1.0001 for v in b[1:5])


def test_a_seller_reads_but_cannot_edit(world):
    iv = world.intervals()[0]
    r = patch(client_for(world, "seller"), iv.pk, {"version": iv.version, "status": "accepted"})
    assert r.status_code == 403
    r = patch(client_for(world, "other_seller"), iv.pk, {"version": iv.version, "status": "accepted"})
    assert r.status_code == 404


# --------------------------------------------------------------------------- edits
def test_an_edit_with_the_current_version_saves_and_writes_a_correction(world):
    iv = world.intervals()[0]
    r = patch(client_for(world, "reviewer"), iv.pk, {"version": iv.version, "end_s": iv.end_s - 0.5})
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == iv.version + 1 and body["status"] == "edited"
    c = Correction.objects.get(interval=iv)
    assert c.user == world.personas.reviewer and c.before["end_s"] == iv.end_s


def test_a_stale_version_gets_409_with_the_current_interval(world):
    iv = world.intervals()[0]
    c = client_for(world, "reviewer")
    assert patch(c, iv.pk, {"version": iv.version, "status": "accepted"}).status_code == 200
    r = patch(c, iv.pk, {"version": iv.version, "status": "rejected"})
    assert r.status_code == 409
    assert r.json()["current"]["status"] == "accepted" and r.json()["current"]["version"] == iv.version + 1
    assert Interval.objects.get(pk=iv.pk).status == "accepted"


@pytest.mark.parametrize("body, message", [
    ({"end_s": 1.0, "start_s": 2.0}, "end_s must be after start_s"),
    ({"status": "maybe"}, "is not a valid choice"),
    ({"product": 999999}, "not in this shop's catalog"),
])
def test_an_invalid_edit_gets_400_with_a_reason(world, body, message):
    iv = world.intervals()[0]
    r = patch(client_for(world, "reviewer"), iv.pk, dict(body, version=iv.version))
    assert r.status_code == 400 and message in json.dumps(r.json())


def test_split_then_merge_round_trips_and_is_logged(world):
    c = client_for(world, "reviewer")
    iv = world.main()
    mid = round((iv.start_s + iv.end_s) / 2, 3)
    r = post(c, "split", iv.pk, {"version": iv.version, "at": mid})
    assert r.status_code == 200
    first, second = r.json()["intervals"]
    assert first["end_s"] == mid and second["start_s"] == mid and second["end_s"] == iv.end_s
    assert second["score"] == first["score"] == iv.score
    r = post(c, "merge", first["id"], {"version": first["version"], "other": second["id"],
                                       "other_version": second["version"]})
    assert r.status_code == 200
    merged = r.json()["interval"]
    assert (merged["start_s"], merged["end_s"]) == (iv.start_s, iv.end_s)
    assert not Interval.objects.filter(pk=second["id"]).exists()
    actions = list(Correction.objects.filter(video=world.video).values_list("action", flat=True))
    assert actions.count("split") == 2 and actions.count("merge") == 1 and actions.count("delete") == 1


def test_split_outside_the_interval_is_refused(world):
    iv = world.main()
    r = post(client_for(world, "reviewer"), "split", iv.pk, {"version": iv.version, "at": iv.end_s + 1})
    assert r.status_code == 400


def test_create_and_delete_an_interval(world):
    c = client_for(world, "reviewer")
    product = world.main().product
    slot = world.free_slot(product)
    r = post(c, "list", None, {"video": world.video.pk, "product": product.pk, "start_s": slot, "end_s": slot + 2})
    assert r.status_code == 201
    new = r.json()
    assert new["origin"] == "person" and new["status"] == "accepted"
    r = c.delete(reverse("interval-detail", args=[new["id"]]) + f"?version={new['version']}")
    assert r.status_code == 204 and not Interval.objects.filter(pk=new["id"]).exists()


def test_bulk_accept_takes_only_proposals_above_the_threshold(world):
    r = post(client_for(world, "reviewer"), "bulk-accept", None, {"video": world.video.pk, "min_score": 0.6})
    assert r.status_code == 200
    for iv in world.intervals():
        assert (iv.status == "accepted") == (iv.score >= 0.6), iv


def test_history_lists_corrections_newest_first(world):
    c = client_for(world, "reviewer")
    iv = world.intervals()[0]
    patch(c, iv.pk, {"version": iv.version, "status": "accepted"})
    patch(c, iv.pk, {"version": iv.version + 1, "status": "rejected"})
    page = c.get(reverse("correction-list") + f"?video={world.video.pk}&limit=2").json()
    d = page["results"]
    assert page["count"] == 2 and page["next"] is None
    assert [x["action"] for x in d] == ["reject", "accept"]
    assert d[0]["user"] == "reviewer"


# --------------------------------------------------------------------------- media
def _duration(data: bytes) -> float:
    import av

    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        return float(s.duration * s.time_base) if s.duration else float(c.duration) / 1e6


def test_a_product_clip_is_an_mp4_of_its_intervals_and_is_cached(world):
    c = client_for(world, "seller")
    product = world.main().product
    url = reverse("review:clip", args=[world.video.pk, product.pk])
    r = c.get(url)
    assert r.status_code == 200 and r["Content-Type"] == "video/mp4"
    data = b"".join(r.streaming_content)
    kept = [iv for iv in world.intervals(product.product_id) if iv.status != "rejected"]
    expected = sum(iv.duration_s for iv in kept)
    # stream copy cuts on keyframes (one a second in the test video): each cut may move by < 0.6 s
    assert abs(_duration(data) - expected) < 0.6 * len(kept)
    r2 = c.get(url)
    assert b"".join(r2.streaming_content) == data  # served from the cache


def test_a_clip_starting_on_a_keyframe_is_stream_copied(world, monkeypatch):
    keyframes = clips.keyframe_times(world.video)
    assert 0.0 in keyframes and any(abs(k - 2.0) < 0.05 for k in keyframes)
    calls = []
    real = clips.cut_segment
    monkeypatch.setattr(clips, "cut_segment", lambda *a, **k: (calls.append(k["copy"]), real(*a, **k))[1])
    seg = clips.Segment(0, 1, 2.0, 6.0)
    path = clips.clip_for(world.video, [seg], "copy-test")
    assert calls == [True]
    with open(path, "rb") as f:
        assert abs(_duration(f.read()) - 4.0) < 0.3
    clips.clip_for(world.video, [clips.Segment(0, 1, 3.3, 6.0)], "encode-test")
    assert calls == [True, False]


def test_all_clips_come_as_one_zip(world):
    r = client_for(world, "seller").get(reverse("review:clips_zip", args=[world.video.pk]))
    assert r.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    names = set(z.namelist())
    published = Interval.objects.published(world.video)
    assert {pages.clip_name(iv.product) for iv in published} == names
    for iv in published:  # the title first, in characters every file system takes
        assert re.fullmatch(r"[A-Za-z0-9_-]+-[A-Za-z0-9_-]+\.mp4", pages.clip_name(iv.product))
        assert pages.clip_name(iv.product).startswith(iv.product.title.split()[0])


def test_the_filmstrip_is_a_jpeg_sprite(world):
    r = client_for(world, "reviewer").get(reverse("review:filmstrip", args=[world.video.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    from PIL import Image

    img = Image.open(io.BytesIO(b"".join(r.streaming_content)))
    layout = clips.filmstrip_layout(world.video)
    assert img.size == (layout["tile_w"] * layout["columns"], layout["tile_h"] * layout["rows"])


def test_focus_page_lists_moments_and_clip_links(world):
    r = client_for(world, "seller").get(reverse("review:focus", args=[world.video.pk]))
    html = r.content.decode()
    for iv in world.intervals():
        if iv.status != "rejected":
            assert reverse("review:clip", args=[world.video.pk, iv.product_id]) in html
    assert world.main().product.title in html and "Download all clips (ZIP)" in html


# --------------------------------------------------------------------------- viewer
def _viewer_key(world) -> str:
    html = client_for(world, "seller").get(reverse("review:focus", args=[world.video.pk])).content.decode()
    import re

    return re.search(r"\?key=([^\"&<]+)", html).group(1)


def test_the_viewer_needs_membership_or_the_signed_key(world):
    url = reverse("review:viewer", args=[world.video.pk])
    assert Client().get(url).status_code == 404
    assert Client().get(url + "?key=forged").status_code == 404
    key = _viewer_key(world)
    r = Client().get(url + f"?key={key}")
    assert r.status_code == 200 and "X-Frame-Options" not in r
    # a key for one video opens no other video
    assert Client().get(reverse("review:viewer", args=[world.video.pk + 999]) + f"?key={key}").status_code == 404


def test_the_viewer_shows_the_published_intervals_and_streams_with_ranges(world):
    iv = world.main()
    patch(client_for(world, "reviewer"), iv.pk, {"version": iv.version, "status": "accepted"})
    key = _viewer_key(world)
    r = Client().get(reverse("review:viewer", args=[world.video.pk]) + f"?key={key}")
    data = json.loads(r.content.decode().split('id="nv-data" type="application/json">')[1].split("</script>")[0])
    published = list(Interval.objects.published(world.video))
    assert [i["product"] for i in data["intervals"]] == [i.product_id for i in published] and iv in published
    assert data["products"][str(iv.product_id)]["title"] == iv.product.title
    media_url = reverse("review:viewer_media", args=[world.video.pk, "video", 0]) + f"?key={key}"
    r = Client().get(media_url, HTTP_RANGE="bytes=0-99")
    assert r.status_code == 206 and len(b"".join(r.streaming_content)) == 100
    thumb = data["products"][str(iv.product_id)]["thumbnail"]
    assert Client().get(thumb).status_code == 200


def test_boxes_come_in_frame_units_from_the_evidence_and_other_shapes_are_left_out():
    from ml.types import Boxes, Evidence
    from webapp.review.artefacts import evidence_boxes

    boxes = Boxes([1.0, 0.5], [[0.1, 0.1, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0]], [3, -1])
    rows = Evidence(boxes=boxes).to_json()["boxes"]
    assert evidence_boxes(rows) == [[0.5, 0.0, 0.0, 1.0, 1.0, -1], [1.0, 0.1, 0.1, 0.5, 0.5, 3]]
    assert evidence_boxes([{"t": 1.0, "xyxy": [64, 36, 320, 180], "track_id": 3}]) == []
    assert evidence_boxes(None) == []


def test_the_timeline_data_comes_compressed(world):
    r = client_for(world, "reviewer").get(reverse("video-review-timeline", args=[world.video.pk]),
                                          HTTP_ACCEPT_ENCODING="gzip")
    import gzip

    assert r["Content-Encoding"] == "gzip" and json.loads(gzip.decompress(r.content))["intervals"]
