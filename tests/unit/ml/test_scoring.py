"""Scorer: the one object that turns Features into score curves, candidates and the output."""

import numpy as np
import pytest

from ml.calibration import IntervalScorer, interval_features
from ml.fusion import FusionBundle, expand_features, select_features
from ml.localize import Localizer, LocalizerOptions
from ml.pipeline import PipelineOptions
from ml.scoring import Decision, Scorer, drop_bridges
from ml.types import FeatureKey, Features, Interval, ScoreCurves


def _features(T=120, P=6, seed=0, idle=()):
    """Product t // 20 is shown (but not in the ``idle`` blocks): visual and speech point at it."""
    rng = np.random.default_rng(seed)
    shown = np.zeros((T, P), np.float32)
    shown[np.arange(T), (np.arange(T) // 20) % P] = 1
    for blk in idle:
        shown[blk * 20:(blk + 1) * 20] = 0
    arrays = {FeatureKey.VISUAL: 0.5 + 0.3 * shown + 0.05 * rng.normal(size=(T, P)),
              FeatureKey.VISUAL_IMG: 0.5 + 0.2 * shown + 0.05 * rng.normal(size=(T, P))}
    for source in ("speech", "comments"):
        for score in ("semantic", "lexical"):
            arrays[FeatureKey.text(source, score)] = np.clip(0.4 * shown + 0.1 * rng.uniform(size=(T, P)), 0, 1)
    return Features(Features.grid(0.0, T, 1.0), 1.0, [f"p{j}" for j in range(P)], arrays)


def test_it_gives_the_numbers_of_the_shipped_fusion_model_localizer_and_calibration():
    features = _features()
    options = PipelineOptions()
    bundle = FusionBundle.load(options.fusion)
    model = bundle.for_modalities(options.modalities, options.visual_mode)
    base = select_features(features.arrays, options.modalities, options.visual_mode)
    names, X = expand_features(base)
    fused, background, evidence = model.predict(names, X, base)

    scorer = Scorer.load(options)
    curves = scorer.curves(features)
    np.testing.assert_allclose(curves.fused, fused, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(curves.background, background, rtol=1e-5, atol=1e-7)
    assert set(curves.modalities) == set(evidence) == {"visual", "speech", "comments"}
    decision = scorer.decide(curves)
    assert isinstance(decision, Decision) and decision.threshold == 0.5
    assert all(iv.score >= 0.5 for iv in decision.intervals) and all(c.score < 0.5 for c in decision.candidates)
    cands = Localizer(bundle.localizer_options(options.modalities, options.visual_mode)).candidates(curves)
    scores = bundle.interval_scorer(options.modalities, options.visual_mode).predict(interval_features(curves, cands))
    every = {round(float(s), 6) for s in scores}  # what is output is a subset of the scored candidates
    assert {round(iv.score, 6) for iv in decision.intervals + decision.candidates} <= every
    assert {iv.product_id for iv in decision.intervals} >= {"p0", "p1", "p2"}


def test_nothing_is_output_while_nothing_is_shown():
    scorer = Scorer.load(PipelineOptions())
    decision = scorer.decide(scorer.curves(_features(idle=(1, 3))))
    for iv in decision.intervals:
        assert not (iv.start_s >= 22 and iv.end_s <= 38) and not (iv.start_s >= 62 and iv.end_s <= 78)
    curves = scorer.curves(_features(idle=(1, 3)))
    assert curves.background[25:35].mean() > curves.background[5:15].mean() + 0.1


def _toy_scorer(scores_by_kind):
    """A scorer whose interval scores depend only on the candidate's kind (weights on the kind flags)."""
    from ml.calibration import FEATURE_NAMES

    iv = IntervalScorer()
    n = len(FEATURE_NAMES)
    iv.mean_, iv.scale_, iv.intercept_, iv.platt_ = np.zeros(n), np.ones(n), 0.0, (1.0, 0.0)
    iv.coef_ = np.zeros(n)
    for kind, p in scores_by_kind.items():
        iv.coef_[FEATURE_NAMES.index(f"kind_{kind}")] = np.log(p / (1 - p))
    return Scorer(model=object(), localizer=LocalizerOptions(smooth_s=1.0, alternates=1, extra_bias=2.0,
                                                             secondary_threshold=1.0,
                                                             identity_candidates=False), intervals=iv)


def _curves(fused):
    fused = np.asarray(fused, np.float32)
    return ScoreCurves(np.arange(len(fused)) + 0.5, 1.0, [f"p{j}" for j in range(fused.shape[1])],
                       {"visual": fused}, fused, 1 - fused.sum(axis=1))


def test_a_span_keeps_one_product_the_better_scoring_of_the_path_and_its_runner_up():
    fused = np.zeros((12, 3))
    fused[2:9] = [0.5, 0.4, 0.05]
    d = _toy_scorer({"primary": 0.3, "alternate": 0.8}).decide(_curves(fused))
    assert [(i.product_id, i.start_s, i.end_s) for i in d.intervals] == [("p1", 2.0, 9.0)]
    assert d.candidates == []  # the losing primary is not offered again for the same span
    d = _toy_scorer({"primary": 0.8, "alternate": 0.3}).decide(_curves(fused))
    assert [i.product_id for i in d.intervals] == ["p0"]


def test_below_the_threshold_goes_to_candidates():
    fused = np.zeros((12, 2))
    fused[2:9, 0] = 0.9
    d = _toy_scorer({"primary": 0.3, "alternate": 0.1}).decide(_curves(fused))
    assert d.intervals == [] and [c.product_id for c in d.candidates] == ["p0"] and d.candidates[0].score == pytest.approx(0.3)


def test_scoring_in_blocks_of_steps_gives_the_same_curves():
    features = _features(T=97)
    whole = Scorer.load(PipelineOptions())
    blocks = Scorer(whole.model, whole.localizer, whole.modalities, whole.visual_mode, whole.intervals, block_steps=10)
    a, b = whole.curves(features), blocks.curves(features)
    assert np.array_equal(a.fused, b.fused) and np.array_equal(a.background, b.background)
    assert all(np.array_equal(a.modalities[m], b.modalities[m]) for m in a.modalities)


def test_the_visual_mode_picks_its_feature():
    features = _features()
    trk = Scorer.load(PipelineOptions(modalities=("visual",))).curves(features)
    img = Scorer.load(PipelineOptions(modalities=("visual",), visual_mode="image")).curves(features)
    assert not np.array_equal(trk.fused, img.fused)


def test_features_only_runs_score_nothing():
    scorer = Scorer.load(PipelineOptions(fusion="none"))
    curves = scorer.curves(_features())
    assert curves.fused.shape == (120, 6) and not curves.fused.any() and scorer.decide(curves).intervals == []


def test_a_missing_model_or_feature_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="make train"):
        Scorer.load(PipelineOptions(fusion="nonexistent"))
    f = _features()
    without_visual = Features(f.times, f.step_s, f.product_ids, {k: v for k, v in f.arrays.items() if k != "visual"})
    with pytest.raises(ValueError, match="visual features 'visual' missing"):
        Scorer.load(PipelineOptions()).curves(without_visual)


def _iv(pid, start, end, score):
    return Interval(pid, float(start), float(end), float(score))


def test_a_short_interval_squeezed_between_two_better_ones_of_other_products_is_dropped():
    a, b = _iv("a", 0, 20, 0.9), _iv("b", 26, 50, 0.8)
    bridge = _iv("c", 20.5, 25.5, 0.6)  # 0.5 s after a ends, 0.5 s before b starts
    assert drop_bridges([a, bridge, b], max_s=8.0, threshold=0.5) == [a, b]
    # reaching into the neighbours (their edges inside its halves) is a bridge too
    assert drop_bridges([a, _iv("c", 18, 27, 0.6), b], max_s=10.0, threshold=0.5) == [a, b]
    # rule off, or the interval longer than max_s: kept
    assert drop_bridges([a, bridge, b], max_s=0.0, threshold=0.5) == [a, bridge, b]
    assert drop_bridges([a, bridge, b], max_s=4.0, threshold=0.5) == [a, bridge, b]


def test_a_short_exhibition_with_idle_time_or_no_stronger_neighbour_on_one_side_stays():
    a, b = _iv("a", 0, 20, 0.9), _iv("b", 26, 50, 0.8)
    for kept in ([a, _iv("c", 22, 25.5, 0.6), b],          # 2 s of idle time before it
                 [a, _iv("c", 20.5, 25.5, 0.85), b],       # it beats b: no better neighbour on its right
                 [a, _iv("c", 20.5, 25.5, 0.6)],           # nothing on its right
                 [a, _iv("a", 20.5, 25.5, 0.6), b],        # the same product as its left neighbour
                 [_iv("a", 0, 20, 0.45), _iv("c", 20.5, 25.5, 0.3), _iv("b", 26, 50, 0.8)]):  # a is not output
        assert drop_bridges(kept, max_s=8.0, threshold=0.5) == kept


def test_the_decision_drops_bridges_when_the_localizer_says_so():
    from dataclasses import replace

    from ml.calibration import FEATURE_NAMES

    fused = np.zeros((30, 3))
    fused[0:12, 0] = 0.9
    fused[12:16, 2] = 0.5  # a third product wins the 4 s between two exhibitions
    fused[16:30, 1] = 0.9
    s = _toy_scorer({})  # the score rises with the candidate's mean probability: 0.9 -> 0.88, 0.5 -> 0.6
    s.intervals.coef_[FEATURE_NAMES.index("mean")], s.intervals.intercept_ = 4.0, -1.6
    s.localizer = replace(s.localizer, alternates=0, extra_bias=0.0, switch_cost=0.5, min_duration_s=2.0)
    curves = _curves(fused)
    kept = s.decide(curves)
    assert [i.product_id for i in kept.intervals] == ["p0", "p2", "p1"]
    s.localizer = replace(s.localizer, bridge_max_s=8.0)
    assert [i.product_id for i in s.decide(curves).intervals] == ["p0", "p1"]
