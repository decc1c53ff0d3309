"""Fusion v1: a learned logistic regression over per-modality features."""

import numpy as np
import pytest

from ml.fusion import FusionBundle, FusionModel, expand_features, subset_key


def _episode(rng, T=60, P=5, informative=True):
    """Truth: product t // 12 is shown; visual is informative, speech is noise."""
    y = np.zeros((T, P))
    y[np.arange(T), (np.arange(T) // 12) % P] = 1
    visual = 0.4 + 0.2 * y + 0.05 * rng.normal(size=(T, P)) if informative else rng.normal(size=(T, P))
    speech = rng.uniform(size=(T, P))
    return {"visual": visual, "speech_sem": speech}, y


def test_centred_and_margin_copies_are_added_per_time_step():
    names, X = expand_features({"visual": np.array([[0.2, 0.4, 0.6]])})
    assert names == ["visual", "visual_c", "visual_m"]
    assert X.shape == (1, 3, 3)
    np.testing.assert_allclose(X[0, :, 1], [-0.2, 0.0, 0.2], atol=1e-6)
    np.testing.assert_allclose(X[0, :, 2], [-0.4, -0.2, 0.2], atol=1e-6)  # vs the best other product


def test_fitted_model_ranks_the_shown_product_first_and_weights_the_informative_modality():
    rng = np.random.default_rng(0)
    base, y = _episode(rng)
    names, X = expand_features(base)
    model = FusionModel(("speech", "visual")).fit(names, X, y)
    fused, evidence = model.predict(names, X)
    assert fused.shape == y.shape and set(evidence) == {"visual", "speech"}
    assert (fused.argmax(1) == y.argmax(1)).mean() > 0.9
    w = dict(zip(model.names, np.abs(model.coef_)))
    assert w["visual_m"] > w["speech_sem_m"]
    assert (evidence["visual"].argmax(1) == y.argmax(1)).mean() > 0.9


def test_bundle_round_trips_through_json_and_names_missing_subsets(tmp_path):
    rng = np.random.default_rng(1)
    base, y = _episode(rng)
    names, X = expand_features(base)
    model = FusionModel(("speech", "visual")).fit(names, X, y)
    bundle = FusionBundle({subset_key(("visual", "speech")): model}, {"high": 0.7})
    bundle.save(str(tmp_path / "f.json"))
    loaded = FusionBundle.load(str(tmp_path / "f.json"))
    np.testing.assert_allclose(loaded.for_modalities(("speech", "visual")).predict(names, X)[0],
                               model.predict(names, X)[0], atol=1e-6)
    assert loaded.localizer == {"high": 0.7}
    with pytest.raises(ValueError, match="no fusion model trained for modalities 'comments'"):
        loaded.for_modalities(("comments",))
    with pytest.raises(ValueError, match="visual@image"):
        loaded.for_modalities(("visual", "speech"), visual_mode="image")


def test_the_shipped_bundle_has_every_benchmark_subset():
    bundle = FusionBundle.load("v1")
    for subset in [("visual",), ("speech",), ("screen_text",), ("comments",),
                   ("visual", "speech", "comments"), ("visual", "speech", "screen_text", "comments")]:
        assert bundle.for_modalities(subset).coef_.shape == (len(bundle.for_modalities(subset).names),)
    assert bundle.for_modalities(("visual",), "image").names == ["visual", "visual_c", "visual_m"]
    for mode in ("asymnet", "lxmert"):  # the seed models, through --visual-mode
        assert bundle.for_modalities(("visual",), mode).names == ["visual", "visual_c", "visual_m"]
        assert "speech_lex_m" in bundle.for_modalities(("visual", "speech", "comments"), mode).names
        assert f"comments,speech,visual@{mode}" in bundle.meta["val_map_0.3_0.7"]
    assert bundle.meta["train_episodes"] > 0


def test_training_skips_a_subset_whose_features_the_runs_lack():
    from ml.train import missing_modalities
    from ml.types import Features

    def run(*keys):
        return {"features": Features([0.5], 1.0, ["p"], {k: np.zeros((1, 1)) for k in keys})}

    runs = [run("visual", "speech_sem", "speech_lex", "comments_sem"),
            run("visual", "visual_asymnet", "speech_lex", "comments_lex")]
    assert missing_modalities(runs, ("visual", "speech", "comments"), "tracklet") == []
    assert missing_modalities(runs, ("visual", "speech"), "asymnet") == ["visual (visual_asymnet)"]
    assert missing_modalities(runs, ("screen_text",), "tracklet") == ["screen_text"]
