"""The long-stream planner (pure, fast, on made-up products) and its chunked narration."""

import wave

import numpy as np
import pytest

from ml.synth import long_suite, product_id_of
from ml.synth.long import narrate_to_wav
from ml.synth.longplan import LongSettings, colour_family, lookalikes, plan_long_episode, similarity
from ml.synth.script import Line, Plan
from ml.synth.sources import SourceItem, Sources

KINDS = [("clothing", "tshirt"), ("clothing", "shirt"), ("shoes", "casual shoe"), ("shoes", "heel"),
         ("cosmetics", "nail polish"), ("bags", "backpack"), ("other_produce", "apple"), ("bottles", "juice")]
COLOURS = ["black", "white", "navy blue", "red", "pink", "green", "brown", ""]


def _item(i, category, leaf, colour):
    grocery = category in ("other_produce", "bottles")
    return SourceItem(f"fake{i:04d}", f"Item {i} {colour} {leaf}", category, "Fruit" if grocery else "Apparel",
                      f"a {leaf}", "grocery" if grocery else "fashion", "instore" if grocery else "packshot",
                      [f"/x/{i}.jpg"], {"test": [f"/y/{i}.jpg"]} if grocery else {"any": [f"/y/{i}.jpg"]},
                      colour=colour, leaf=leaf)


@pytest.fixture(scope="module")
def sources():
    items = [_item(i, *KINDS[i % len(KINDS)], COLOURS[(i // len(KINDS)) % len(COLOURS)]) for i in range(900)]
    return Sources("/fake", items, ["/clips/a.mp4", "/clips/b.mp4"])


def _shown_share(plan, duration_s, fps=10.0):
    shown = np.zeros(int(duration_s * fps), bool)
    for iv in plan.truth:
        shown[int(round(iv["start_s"] * fps)):int(round(iv["end_s"] * fps))] = True
    return float(shown.mean())


@pytest.fixture(scope="module")
def hour(sources):
    return plan_long_episode(sources, np.random.default_rng(7), "test", "medium", 3600.0, 10.0)


def test_an_hour_long_plan_leaves_at_least_30_percent_of_the_time_without_a_catalog_product(hour):
    assert 1 - _shown_share(hour, 3600.0) >= 0.30
    kinds = {s.kind for s in hour.segments}
    assert {"exhibit", "idle", "distractor", "clip", "blank"} <= kinds
    assert hour.segments[0].start_s == 0.0 and hour.segments[-1].end_s == pytest.approx(3600.0)
    for a, b in zip(hour.segments, hour.segments[1:]):
        assert b.start_s == pytest.approx(a.end_s)  # contiguous timeline


def test_the_product_list_has_the_asked_size_from_the_split_only(hour):
    ids = [it.item_id for it in hour.catalog]
    assert len(ids) == 160 == len(set(ids))
    assert all(it.split == "test" for it in hour.catalog) and not hour.notes["padded"]
    cat = {product_id_of(i) for i in ids}
    shown = {product_id_of(i) for i in hour.notes["exhibited"]}
    assert {t["product_id"] for t in hour.truth} <= cat
    assert len(shown) >= 30 and len(shown) < 160  # most listed products are never shown


def test_exhibited_products_come_with_look_alikes_in_the_list(hour):
    by_id = {it.item_id: it for it in hour.catalog}
    exhibited = [by_id[i] for i in hour.notes["exhibited"]]
    with_mate = [it for it in exhibited
                 if any(o.item_id != it.item_id and o.category == it.category and o.leaf == it.leaf
                        and (not it.colour or colour_family(o.colour) == colour_family(it.colour))
                        for o in hour.catalog)]
    assert len(with_mate) == len(exhibited)  # same kind (and colour family when known), listed on purpose
    assert all(len(v) == 2 for v in hour.notes["lookalikes"].values())
    # some look-alike pairs are both exhibited (at different times)
    pairs = [(a, b) for a in exhibited for b in exhibited if a.item_id < b.item_id and similarity(a, b) >= 3]
    assert pairs


def test_exhibitions_are_8_to_90_seconds_and_off_catalog_items_are_not_listed(hour):
    cat = {it.item_id for it in hour.catalog}
    for s in hour.segments:
        if s.kind == "exhibit":
            assert 8.0 - 1e-6 <= s.end_s - s.start_s <= 90.0 + 1e-6 and s.item.item_id in cat
        if s.kind == "distractor":
            assert s.item.item_id not in cat
        if s.overlay is not None:
            assert s.overlay.item_id not in cat


def test_the_host_talks_through_idle_time_and_describes_off_catalog_items(hour):
    idle = [s for s in hour.segments if s.kind == "idle" and s.end_s - s.start_s > 10]
    talk = [ln for ln in hour.lines if ln.kind == "offtopic" and any(s.start_s <= ln.start_s < s.end_s for s in idle)]
    assert len(talk) >= 2 * len(idle) and all(not ln.product_id for ln in talk)
    off = [ln for ln in hour.lines if ln.kind == "offcatalog"]
    assert off and all(not ln.product_id for ln in off)


def test_the_validation_list_is_padded_with_training_products_that_are_never_shown(sources):
    plan = plan_long_episode(sources, np.random.default_rng(3), "val", "hard", 3600.0, 10.0,
                             LongSettings(catalog_size=200, pad_split="train"))
    assert len(plan.catalog) == 200
    splits = {it.split for it in plan.catalog}
    assert splits == {"val", "train"}
    padded = set(plan.notes["padded"])
    assert padded and all(it.split == "train" for it in plan.catalog if it.item_id in padded)
    assert {t["product_id"] for t in plan.truth} <= {product_id_of(it.item_id) for it in plan.catalog
                                                     if it.split == "val"}
    assert all(s.item.split == "val" for s in plan.segments if s.kind == "exhibit")
    assert 1 - _shown_share(plan, 3600.0) >= 0.30


def test_plans_are_deterministic_by_seed(sources):
    a = plan_long_episode(sources, np.random.default_rng(11), "test", "hard", 900.0, 10.0)
    b = plan_long_episode(sources, np.random.default_rng(11), "test", "hard", 900.0, 10.0)
    assert a.truth == b.truth and a.comments == b.comments
    assert [(ln.start_s, ln.text) for ln in a.lines] == [(ln.start_s, ln.text) for ln in b.lines]


def test_a_list_larger_than_the_split_is_refused_with_the_reason(sources):
    with pytest.raises(ValueError, match="needs more products"):
        plan_long_episode(sources, np.random.default_rng(0), "val", "medium", 600.0, 10.0,
                          LongSettings(catalog_size=500))


def test_look_alikes_share_category_then_kind_then_colour():
    tee_black, tee_navy, tee_white = _item(1, "clothing", "tshirt", "black"), _item(2, "clothing", "tshirt", "navy blue"), \
        _item(3, "clothing", "tshirt", "white")
    shirt_black, shoe_black = _item(4, "clothing", "shirt", "black"), _item(5, "shoes", "heel", "black")
    assert similarity(tee_black, shoe_black) == -1.0
    assert similarity(tee_black, tee_navy) > similarity(tee_black, tee_white) > similarity(tee_black, shirt_black)
    got = lookalikes(tee_black, [shoe_black, shirt_black, tee_white, tee_navy], 3, np.random.default_rng(0))
    assert got == [tee_navy, tee_white, shirt_black]


def test_the_long_suite_is_hour_long_streams_with_big_lists():
    specs = long_suite(2, split="test") + long_suite(2, split="val")
    assert all(s.long and s.duration_s >= 3600 and s.catalog_size >= 150 and s.domain == "mixed" for s in specs)
    keys = [s.key() for s in specs]
    assert len(set(keys)) == 4 and all(k.startswith("long") for k in keys)


def test_chunked_narration_places_lines_as_one_piece_and_writes_every_sample(tmp_path):
    import shutil

    if not shutil.which("espeak-ng"):
        pytest.fail("espeak-ng is needed for the narration: `make test` installs it")
    plan = Plan([], [], [Line(1.0, "Hello everyone.", "offtopic"), Line(9.0, "Look at this red bag.", "desc", "p1"),
                         Line(19.5, "Thank you.", "offtopic")], [], [], {"voice": "en-us", "speed": 160, "pitch": 50})
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    done_a = narrate_to_wav(plan, 25.0, 30.0, 1, str(a), chunk_s=4.0)
    done_b = narrate_to_wav(plan, 25.0, 30.0, 1, str(b), chunk_s=60.0)
    assert done_a == done_b and [d["start_s"] for d in done_a] == [1.0, 9.0, 19.5]
    with wave.open(str(a)) as w:
        sr = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
    assert len(x) == 25 * sr
    rms = lambda s, e: float(np.sqrt(np.mean(x[int(s * sr):int(e * sr)] ** 2)))  # noqa: E731
    speech = rms(done_a[1]["start_s"], done_a[1]["end_s"])
    assert speech > 5 * rms(14.0, 18.0)  # 30 dB SNR: the spoken line stands far above the room sound
    assert rms(14.0, 18.0) > 0  # and the room sound is there between the lines (chunk joins included)
