"""A long video split into parts that real Celery workers on Redis run side by side, joined
and scored once: it finds what one unsplit run finds.

Tolerance (stated): the same intervals, one to one (same product), each boundary within one
time step (1 s) and each score within 0.02, and the visual curves equal to 1e-3. The video's
audio is silent, so nothing here depends on whisper, whose transcript of one stretch of speech
changes with the audio around it (on a 130 s benchmark episode with narration, split in three,
every interval still matched, boundaries within 1 s and scores within 0.04)."""

import numpy as np
import pytest
from django.db import transaction

from tests import media
from tests.integration.conftest import assert_succeeded, wait_finished
from webapp.segments.models import JobSegment
from webapp.videos import lifecycle
from webapp.videos.ingest import create_video_from_path
from webapp.videos.models import Comment

pytestmark = pytest.mark.worker

STEP_S, SCORE_TOL, CURVE_TOL = 1.0, 0.02, 1e-3


@pytest.fixture
def tour(personas, catalog, tmp_path):
    """30 s: banana, oat milk, apple juice, 10 s each; viewers comment on each."""
    path = media.make_video(tmp_path / "tour.mp4", seconds_per_scene=10.0, audio=True)
    video = create_video_from_path(personas.shop, personas.seller, path, "Thirty-second shelf tour")
    Comment.objects.bulk_create([Comment(video=video, time_s=t, user="ann", text=text) for t, text in [
        (3.0, "that banana looks ripe"), (14.0, "is the oat milk vegan?"), (16.0, "oatly oat milk please"),
        (25.0, "how much is the apple juice")]])
    return video


def run(video, options):
    with transaction.atomic():  # sent on commit
        job = lifecycle.start(video, options=options)
    return wait_finished(job, timeout=900)


def assert_same_intervals(whole: list[dict], split: list[dict]):
    key = lambda i: (i["product_id"], i["start_s"])  # noqa: E731
    whole, split = sorted(whole, key=key), sorted(split, key=key)
    assert [i["product_id"] for i in split] == [i["product_id"] for i in whole], (whole, split)
    for a, b in zip(whole, split):
        assert abs(a["start_s"] - b["start_s"]) <= STEP_S and abs(a["end_s"] - b["end_s"]) <= STEP_S, (a, b)
        assert abs(a["score"] - b["score"]) <= SCORE_TOL, (a, b)


def test_a_video_split_in_two_parts_on_two_workers_finds_what_one_unsplit_run_finds(
        redis_broker, start_worker, tour):
    first = start_worker(redis_broker)
    whole_job = run(tour, {"segment_s": 0})
    assert_succeeded(whole_job, first)
    whole = {name: whole_job.load_artefact(name) for name in ("result", "curves", "tracklets")}
    assert whole["result"]["intervals"], "the unsplit run found nothing to compare with"

    second = start_worker(redis_broker)
    split_job = run(tour, {"segment_s": 16, "segment_context_s": 6})  # parts 0-15 s and 15-30 s
    assert_succeeded(split_job, second)

    parts = list(JobSegment.objects.filter(job=split_job).order_by("index"))
    assert [(p.keep_start_s, p.keep_end_s, p.status) for p in parts] == [(0.0, 15.0, "done"), (15.0, 30.0, "done")]
    assert split_job.timings["segments"] == 2.0 and split_job.attempts == 1
    split = {name: split_job.load_artefact(name) for name in ("result", "curves", "tracklets")}
    assert split["result"]["duration_s"] == pytest.approx(whole["result"]["duration_s"])
    assert_same_intervals(whole["result"]["intervals"], split["result"]["intervals"])
    assert split["curves"]["times"] == whole["curves"]["times"]
    for pid, curve in whole["curves"]["modalities"]["visual"].items():
        np.testing.assert_allclose(split["curves"]["modalities"]["visual"][pid], curve, atol=CURVE_TOL)
    # The oat milk is on screen across the cut at 15 s: its track, seen by both parts, is one again.
    spans = lambda ts: sorted((t["start_s"], t["end_s"], t["category"]) for t in ts)  # noqa: E731
    assert spans(split["tracklets"]) == spans(whole["tracklets"])
    assert any(t["start_s"] < 15.0 < t["end_s"] for t in split["tracklets"])
