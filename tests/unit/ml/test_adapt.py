"""Learning from corrections (ml.adapt) on small real media: in-store photos of a banana, oat milk
and juice against the shop's catalog photos; the 12 s narrated clip for the whole pipeline."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ml.adapt import MIN_EXAMPLES, Example, ShopMemory, harvest_views, is_improvement, refit
from ml.calibration import IntervalScorer
from ml.catalog import load_catalog
from ml.decode import iter_frames
from ml.pipeline import load_score_curves, localize, save_curves
from ml.types import Evidence, ScoreCurves
from ml.visual.analyzer import VisualAnalyzer, VisualOptions
from tests import media

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CLIP = os.path.join(ROOT, "tests", "data", "clip", "clip.mp4")
CLIP_CATALOG = os.path.join(ROOT, "tests", "data", "catalog")
SCENE_S = 3.0  # banana [0,3), oat milk [3,6), juice [6,9)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    d = tmp_path_factory.mktemp("adapt")
    catalog = load_catalog(media.write_catalog(d / "catalog"))
    video = media.make_video(d / "v.mp4", seconds_per_scene=SCENE_S)
    ev = _visual(catalog, video)
    return catalog, video, Evidence(boxes=ev.boxes)


def _visual(catalog, video, memory=None):
    analyzer = VisualAnalyzer(catalog, VisualOptions(), memory=memory)
    for frame in iter_frames(video, fps=1.0):
        analyzer.update(frame)
    return analyzer.finish()


def _during(ev, start, end):
    return (ev.frame_times >= start) & (ev.frame_times < end)


def test_harvest_views_returns_a_few_distinct_crops_from_inside_each_interval(shop):
    catalog, video, evidence = shop
    examples = [Example("BAN", 0.0, 2.9, 1, {"video": "v"}), Example("JUI", 6.0, 8.9, 0, {"video": "v"})]
    views = harvest_views(video, evidence, catalog, examples, per_interval=2)
    assert {v.product_id for v in views} == {"BAN", "JUI"}
    for v in views:
        ex = next(e for e in examples if e.product_id == v.product_id)
        assert ex.start_s <= v.t <= ex.end_s and v.positive == bool(ex.label) and v.source == {"video": "v"}
        assert v.vector.shape == (1280,) and v.vector.dtype == np.float32
        assert abs(float(np.linalg.norm(v.vector)) - 1.0) < 1e-4
        x0, y0, x1, y1 = v.box
        assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 240 and 0 < v.area <= 1 and v.sharpness > 0
        assert v.image.shape[:2] == (int(round(y1)) - int(y0), int(round(x1)) - int(x0))
    for pid in ("BAN", "JUI"):
        mine = [v for v in views if v.product_id == pid]
        assert 1 <= len(mine) <= 2
        if len(mine) == 2:
            assert float(mine[0].vector @ mine[1].vector) <= 0.95


def test_examples_of_products_outside_the_catalog_give_no_views(shop):
    catalog, video, evidence = shop
    assert harvest_views(video, evidence, catalog, [Example("NOT-OURS", 0.0, 3.0, 1)]) == []


def test_a_positive_view_of_the_shown_product_raises_its_visual_score(shop):
    catalog, video, evidence = shop
    views = harvest_views(video, evidence, catalog, [Example("OAT", 3.0, 5.9, 1)])
    assert views and all(v.positive for v in views)
    plain, learned = _visual(catalog, video), _visual(catalog, video, ShopMemory.from_views(views))
    j, shown = catalog.index_of("OAT"), _during(plain, 3.0, 6.0)
    for key in ("image_scores", "tracklet_scores"):
        before, after = getattr(plain, key)[shown, j], getattr(learned, key)[shown, j]
        assert np.all(after >= before - 1e-6) and after.mean() > before.mean() + 0.05, (key, before, after)


def test_a_negative_view_lowers_the_wrongly_given_product_and_nothing_else(shop):
    catalog, video, evidence = shop
    # a reviewer rejected "juice" over the banana scene: its crops become negatives of JUI
    views = harvest_views(video, evidence, catalog, [Example("JUI", 0.0, 2.9, 0)])
    assert views and not any(v.positive for v in views)
    plain, learned = _visual(catalog, video), _visual(catalog, video, ShopMemory.from_views(views))
    j, banana = catalog.index_of("JUI"), _during(plain, 0.0, 3.0)
    assert learned.image_scores[banana, j].mean() < plain.image_scores[banana, j].mean() - 0.05
    assert np.all(learned.image_scores <= plain.image_scores + 1e-6)
    others = [catalog.index_of("BAN"), catalog.index_of("OAT")]
    assert np.array_equal(learned.image_scores[:, others], plain.image_scores[:, others])


def test_a_memory_of_another_shops_products_leaves_the_run_exactly_as_without_one(tmp_path):
    from ml.cli import main
    from ml.eval import load_curves

    rng = np.random.default_rng(0)
    v = rng.normal(size=(4, 1280)).astype(np.float32)
    ShopMemory(v / np.linalg.norm(v, axis=1, keepdims=True), ["X1", "X1", "X2", "X2"],
               np.array([True, False, True, False])).save(str(tmp_path / "other_shop.npz"))
    plain = localize(CLIP, CLIP_CATALOG)
    assert main(["localize", "--video", CLIP, "--catalog", CLIP_CATALOG, "--out", str(tmp_path / "r.json"),
                 "--curves", str(tmp_path / "c.npz"), "--memory", str(tmp_path / "other_shop.npz"), "--quiet"]) == 0
    with open(tmp_path / "r.json") as f:
        with_memory = json.load(f)
    assert with_memory["intervals"] == [iv.to_dict() for iv in plain.intervals]
    assert with_memory["candidates"] == [iv.to_dict() for iv in plain.candidates]
    curves = load_curves(str(tmp_path / "c.npz"))
    assert np.array_equal(curves["fused"], plain.curves.fused)
    for m in plain.curves.modalities:
        assert np.array_equal(curves[f"m_{m}"], plain.curves.modalities[m])


def test_a_jobs_saved_curves_come_back_for_a_refit(tmp_path):
    curves = _curves(np.random.default_rng(2))
    curves.step_s = 0.5
    save_curves(curves, str(tmp_path / "curves.npz"))
    back = load_score_curves(str(tmp_path / "curves.npz"))
    assert back.step_s == 0.5 and back.product_ids == curves.product_ids
    assert np.array_equal(back.fused, curves.fused) and np.array_equal(back.background, curves.background)
    assert set(back.modalities) == {"visual"} and np.array_equal(back.modalities["visual"], curves.modalities["visual"])


def test_an_empty_memory_changes_no_visual_score(shop):
    catalog, video, _ = shop
    plain, empty = _visual(catalog, video), _visual(catalog, video, ShopMemory.from_views([]))
    assert np.array_equal(plain.image_scores, empty.image_scores)
    assert np.array_equal(plain.tracklet_scores, empty.tracklet_scores)


def test_shop_memory_survives_save_and_load(tmp_path):
    scorer = {"C": 1.0, "threshold": 0.5, "names": ["a"], "coef": [0.5], "intercept": 0.1, "mean": [0.0],
              "scale": [1.0], "platt": [1.0, 0.0]}
    v = np.eye(3, 8, dtype=np.float32)
    mem = ShopMemory(v, ["A", "B", "A"], np.array([True, True, False]), scorer, "shop-7 refit 3",
                     np.array([0.85, 0.9, 0.95]))
    path = str(tmp_path / "memory.npz")
    mem.save(path)
    back = ShopMemory.load(path)
    assert os.path.isfile(path) and back.version == "shop-7 refit 3" and back.scorer == scorer
    assert back.product_ids == ["A", "B", "A"] and back.positive.tolist() == [True, True, False]
    assert np.array_equal(back.vectors, v) and back.vectors.dtype == np.float32
    assert back.thresholds.tolist() == pytest.approx([0.85, 0.9, 0.95])
    (pos_v, pos_o, pos_t), (neg_v, neg_o, neg_t) = back.views_for(["B", "A", "C"])
    assert pos_o.tolist() == [1, 0] and neg_o.tolist() == [1] and np.array_equal(neg_v, v[2:])


def _curves(rng, n_steps=120, n_products=4):
    """Curves of a run that shows product k over [30k, 30k+20): the fused score rises there."""
    fused = np.full((n_steps, n_products), 0.05, np.float32)
    for k in range(n_products):
        fused[30 * k:30 * k + 20, k] = 0.6 + 0.3 * rng.random(20)
    fused += 0.05 * rng.random(fused.shape).astype(np.float32)
    fused /= np.maximum(fused.sum(axis=1, keepdims=True) + 0.2, 1.0)
    background = 1.0 - fused.sum(axis=1)
    ids = [f"p{k}" for k in range(n_products)]
    return ScoreCurves(np.arange(n_steps) + 0.5, 1.0, ids, {"visual": fused}, fused, background)


def test_refit_with_too_few_examples_returns_no_scorer():
    curves = _curves(np.random.default_rng(0))
    few = [Example("p0", 0.0, 20.0, 1), Example("p1", 30.0, 50.0, 1)]
    assert len(few) < MIN_EXAMPLES
    r = refit([(curves, few)])
    assert r.scorer is None and r.improved is False


def test_refit_on_enough_examples_gives_a_loadable_scorer_measured_on_held_back_runs():
    rng = np.random.default_rng(1)
    runs = []
    for _ in range(max(3, MIN_EXAMPLES // 4 + 1)):
        examples = [Example(f"p{k}", 30.0 * k, 30.0 * k + 20.0, 1) for k in range(4)]
        examples.append(Example("p3", 100.0, 110.0, 0))
        runs.append((_curves(rng), examples))
    r = refit(runs, held_share=0.3, seed=0)
    assert r.scorer is not None
    IntervalScorer.from_dict(r.scorer)
    assert r.n_train + r.n_held == sum(len(ex) for _, ex in runs) and r.n_held > 0
    assert {"f1", "precision", "recall", "now_showing", "n_examples"} <= set(r.before) and set(r.before) == set(r.after)
    assert r.improved == is_improvement(r.before, r.after)


def test_the_activation_rule_wants_a_real_gain_on_enough_held_back_truth():
    before = {"f1": 0.70, "now_showing": 0.80, "n_true": 10}
    assert is_improvement(before, {"f1": 0.75, "now_showing": 0.80, "n_true": 10})
    assert not is_improvement(before, {"f1": 0.71, "now_showing": 0.80, "n_true": 10})  # within noise
    assert not is_improvement(before, {"f1": 0.80, "now_showing": 0.70, "n_true": 10})  # viewers lose
    assert not is_improvement(before, {"f1": 0.90, "now_showing": 0.90, "n_true": 2})  # too little to tell


@pytest.mark.parametrize("label,start,end", [(2, 0.0, 1.0), (1, 3.0, 3.0), (0, 5.0, 4.0)])
def test_an_example_must_have_a_binary_label_and_a_positive_length(label, start, end):
    with pytest.raises(ValueError):
        Example("p", start, end, label)
