"""Screen text: RapidOCR on a rendered overlay and a real grocery photo, run on few keyframes."""

import os

import numpy as np
import pytest
from PIL import Image

from ml.screentext import ScreenTextOptions, ScreenTextReader, read_text
from ml.types import Frame

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "text")


def _image(name):
    return np.asarray(Image.open(os.path.join(DATA, name)).convert("RGB"))


@pytest.fixture(scope="module")
def tropicana():
    return _image("overlay_tropicana.png")  # 960x540, rendered with PIL


@pytest.fixture(scope="module")
def oatly():
    return _image("overlay_oatly.png")


def _frames(images, t0=0.0, dt=1.0):
    return [Frame(i, t0 + i * dt, im) for i, im in enumerate(images)]


def test_it_reads_a_rendered_product_title(tropicana):
    text, score, lines = read_text(tropicana)
    assert "Tropicana Apple Juice" in lines
    assert text.index("Tropicana") < text.index("2.49")  # reading order: title line first
    assert 0.6 <= score <= 1.0


def test_it_reads_the_brand_on_a_real_juice_carton():
    # GroceryStoreDataset (MIT) photo of a God Morgon orange juice carton in a shop
    text, _, _ = read_text(_image("god_morgon_orange_juice.jpg"))
    words = text.lower().split()
    assert "orange" in words and "god" in words


def test_unchanged_frames_are_read_once_and_their_text_repeated(tropicana, oatly):
    reader = ScreenTextReader(ScreenTextOptions())
    for f in _frames([tropicana] * 5 + [oatly] * 5):
        reader.update(f)
    ev = reader.finish()
    assert reader.ocr_calls_ == 2
    assert ev.source == "screen_text"
    assert len(ev) == 10  # one event per second while each overlay is up
    assert all("Tropicana Apple Juice" in t for t in ev.text[:5])
    assert all("Oatly Oat Milk" in t for t in ev.text[5:])
    np.testing.assert_array_equal(ev.t, np.arange(10.0))
    assert ev.score.dtype == np.float32 and np.all(ev.score > 0.6)


def test_small_noise_does_not_make_a_new_keyframe(tropicana):
    rng = np.random.default_rng(0)
    noisy = [np.clip(tropicana.astype(int) + rng.integers(-4, 5, tropicana.shape), 0, 255).astype(np.uint8)
             for _ in range(6)]
    reader = ScreenTextReader()
    for f in _frames(noisy):
        reader.update(f)
    reader.finish()
    assert reader.ocr_calls_ == 1


def test_ocr_runs_at_most_once_per_min_interval(tropicana, oatly):
    reader = ScreenTextReader(ScreenTextOptions(min_interval_s=2.0))
    for f in _frames([tropicana, oatly] * 6, dt=0.5):  # the picture changes every 0.5 s for 6 s
        reader.update(f)
    ev = reader.finish()
    assert reader.ocr_calls_ <= 4  # 6 s / 2 s, plus the pending frame read at finish
    assert any("Oatly" in t for t in ev.text) and any("Tropicana" in t for t in ev.text)


def test_a_change_too_soon_is_read_at_finish(tropicana, oatly):
    reader = ScreenTextReader(ScreenTextOptions(min_interval_s=2.0))
    reader.update(Frame(0, 0.0, tropicana))
    reader.update(Frame(1, 0.5, oatly))  # too early for another OCR: kept pending
    ev = reader.finish()
    assert reader.ocr_calls_ == 2
    assert "Oatly Oat Milk" in ev.text[-1] and ev.t[-1] == 0.5


def test_blank_frames_are_not_ocrd_and_give_no_events():
    reader = ScreenTextReader()
    for f in _frames([np.zeros((360, 640, 3), np.uint8)] * 4):
        reader.update(f)
    ev = reader.finish()
    assert reader.ocr_calls_ == 0 and len(ev) == 0 and ev.source == "screen_text"


def test_large_frames_are_shrunk_to_max_side_before_ocr(tropicana):
    big = np.asarray(Image.fromarray(tropicana).resize((1920, 1080)))
    _, _, lines = read_text(big, ScreenTextOptions(max_side=960))
    assert "Tropicana Apple Juice" in lines


def test_a_new_title_on_the_same_background_is_a_new_keyframe(tropicana):
    from PIL import ImageDraw, ImageFont

    card = Image.fromarray(tropicana)
    d = ImageDraw.Draw(card)
    d.rectangle([40, 380, 920, 500], fill=(250, 250, 245))
    d.text((60, 390), "Tropicana Orange Juice", font=ImageFont.load_default(size=44), fill=(20, 20, 20))
    reader = ScreenTextReader()
    for f in _frames([tropicana] * 3 + [np.asarray(card)] * 3):
        reader.update(f)
    ev = reader.finish()
    assert reader.ocr_calls_ == 2
    assert "Orange" in ev.text[-1] and "Orange" not in ev.text[0]
