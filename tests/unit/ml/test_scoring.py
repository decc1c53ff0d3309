"""Scorer: the one object that turns Features into score curves and intervals."""

import numpy as np
import pytest

from ml.fusion import FusionBundle, expand_features, select_features
from ml.localize import Localizer
from ml.pipeline import PipelineOptions
from ml.scoring import Decision, Scorer
from ml.types import FeatureKey, Features


def _features(T=120, P=6, seed=0):
    """Product t // 20 is shown: visual and speech point at it, with noise."""
    rng = np.random.default_rng(seed)
    shown = np.zeros((T, P), np.float32)
    shown[np.arange(T), (np.arange(T) // 20) % P] = 1
    arrays = {FeatureKey.VISUAL: 0.5 + 0.3 * shown + 0.05 * rng.normal(size=(T, P)),
              FeatureKey.VISUAL_IMG: 0.5 + 0.2 * shown + 0.05 * rng.normal(size=(T, P))}
    for source in ("speech", "comments"):
        for score in ("semantic", "lexical"):
            arrays[FeatureKey.text(source, score)] = np.clip(0.4 * shown + 0.1 * rng.uniform(size=(T, P)), 0, 1)
    return Features(Features.grid(0.0, T, 1.0), 1.0, [f"p{j}" for j in range(P)], arrays)


def test_it_gives_the_numbers_of_the_shipped_fusion_model_and_localizer():
    features = _features()
    options = PipelineOptions()
    bundle = FusionBundle.load(options.fusion)
    model = bundle.for_modalities(options.modalities, options.visual_mode)
    names, X = expand_features(select_features(features.arrays, options.modalities, options.visual_mode))
    fused, evidence = model.predict(names, X)

    scorer = Scorer.load(options)
    curves = scorer.curves(features)
    assert np.array_equal(curves.fused, fused)
    assert set(curves.modalities) == set(evidence) == {"visual", "speech", "comments"}
    assert all(np.array_equal(curves.modalities[m], evidence[m]) for m in evidence)
    decision = scorer.decide(curves)
    loc = Localizer(bundle.localizer_options(options.modalities, options.visual_mode))
    assert isinstance(decision, Decision) and decision.intervals == loc.predict(curves)
    assert {iv.product_id for iv in decision.intervals} >= {"p0", "p1", "p2"}


def test_scoring_in_blocks_of_steps_gives_the_same_curves():
    features = _features(T=97)
    whole = Scorer.load(PipelineOptions())
    blocks = Scorer(whole.model, whole.localizer, whole.modalities, whole.visual_mode, block_steps=10)
    a, b = whole.curves(features), blocks.curves(features)
    assert np.array_equal(a.fused, b.fused) and all(np.array_equal(a.modalities[m], b.modalities[m]) for m in a.modalities)


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
