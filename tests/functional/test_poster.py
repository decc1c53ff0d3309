"""The players' poster is a real frame where a product is shown, not the video's first frame (the
first seconds of a stream are often a title card, so every player looked empty: issue 12)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from tests import media


def closest_scene(jpeg: bytes) -> str:
    """Which of the test video's scene photos the JPEG shows (its frames are those photos)."""
    img = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB").resize((320, 240)), dtype=np.float32)
    return min(media.SCENES, key=lambda s: float(np.abs(img - media._frame(s).astype(np.float32)).mean()))


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def juice_shown_last(personas, video):
    """The shelf video (banana 0-1 s, oat milk 1-2 s, juice 2-3 s) whose only interval is the juice."""
    from ml.types import Interval as MlInterval
    from ml.types import LocalizationResult
    from webapp.review.services import store_machine_intervals
    from webapp.videos.models import Job

    job = Job.objects.create(video=video, status=Job.Status.SUCCEEDED, progress=1.0, stage="done")
    store_machine_intervals(job, LocalizationResult("shelf.mp4", 3.0, [MlInterval("JUI", 2.0, 2.9, 0.9, {"visual": 0.8})]))
    return video


def test_the_poster_is_a_frame_of_the_shown_product_not_the_first_frame(personas, juice_shown_last):
    r = personas.client(personas.seller).get(reverse("review:poster", args=[juice_shown_last.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    assert closest_scene(body(r)) == media.SCENES[2] != media.SCENES[0]


def test_a_video_with_nothing_published_yet_shows_its_middle_frame(personas, video):
    r = personas.client(personas.seller).get(reverse("review:poster", args=[video.pk]))
    assert r.status_code == 200 and closest_scene(body(r)) == media.SCENES[1]


def test_the_viewer_by_key_gets_the_same_poster(personas, juice_shown_last):
    from webapp.embeds.services import current_key

    key = current_key(juice_shown_last, personas.seller).key
    page = Client().get(reverse("review:viewer", args=[juice_shown_last.pk]) + f"?key={key}")
    assert page.status_code == 200
    poster_url = page.context["poster"]
    assert "poster" in poster_url and "key=" in poster_url
    r = Client().get(poster_url)
    assert r.status_code == 200 and closest_scene(body(r)) == media.SCENES[2]
