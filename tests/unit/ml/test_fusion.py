"""Fusion v2: presence (is anything from the list shown?) x identity (which product?)."""

import os

import numpy as np
import pytest

from ml.fusion import MODELS_DIR, FusionBundle, FusionModel, background_features, expand_features, subset_key


def _episode(rng, T=90, P=5, idle_every=3):
    """Product t // 10 is shown, except every ``idle_every``-th block, when nothing is: visual is
    informative (the shown product's cosine is higher), speech is noise."""
    y = np.zeros((T, P))
    block = np.arange(T) // 10
    shown = block % idle_every != idle_every - 1
    y[np.arange(T)[shown], (block % P)[shown]] = 1
    visual = 0.4 + 0.2 * y + 0.04 * rng.normal(size=(T, P))
    speech = rng.uniform(size=(T, P))
    return {"visual": visual, "speech_sem": speech}, y


def _fit(seed=0, n=4):
    rng = np.random.default_rng(seed)
    return FusionModel(("speech", "visual")).fit_episodes([_episode(rng) for _ in range(n)])


def test_centred_margin_and_own_level_copies_by_hand():
    names, X = expand_features({"visual": np.array([[0.2, 0.4, 0.6], [0.2, 0.2, 0.2]])})
    assert names == ["visual", "visual_c", "visual_m", "visual_h"]
    assert X.shape == (2, 3, 4)
    np.testing.assert_allclose(X[0, :, 1], [-0.2, 0.0, 0.2], atol=1e-6)
    np.testing.assert_allclose(X[0, :, 2], [-0.4, -0.2, 0.2], atol=1e-6)  # vs the best other product
    np.testing.assert_allclose(X[0, :, 3], [0.0, 0.1, 0.2], atol=1e-6)  # vs the product's own mean over time
    _, Xg = expand_features({"visual": np.array([[0.2, 0.4, 0.6]])}, {"visual": np.array([0.0, 0.5, 0.5])})
    np.testing.assert_allclose(Xg[0, :, 3], [0.2, -0.1, 0.1], atol=1e-6)  # given levels (a whole run's)


def test_step_features_by_hand():
    identity = np.array([[0.5, 0.25, 0.25]])
    names, B = background_features({"visual": np.array([[0.2, 0.4, 0.7]])}, identity)
    got = dict(zip(names, B[0]))
    assert got["visual_max"] == pytest.approx(0.7) and got["visual_lead"] == pytest.approx(0.3)
    assert got["visual_mean"] == pytest.approx(1.3 / 3) and got["log_products"] == pytest.approx(np.log(3))
    assert got["identity_top"] == pytest.approx(0.5)
    ent = -(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25)) / np.log(3)
    assert got["identity_entropy"] == pytest.approx(ent)


def test_products_and_nothing_share_one_probability_and_idle_steps_go_to_nothing():
    model = _fit()
    base, y = _episode(np.random.default_rng(9))
    names, X = expand_features(base)
    fused, background, evidence = model.predict(names, X, base)
    assert fused.shape == y.shape and background.shape == (len(y),)
    np.testing.assert_allclose(fused.sum(axis=1) + background, 1.0, atol=1e-5)
    shown = y.any(axis=1)
    assert (fused[shown].argmax(1) == y[shown].argmax(1)).mean() > 0.9
    assert background[~shown].mean() > 0.8 and background[shown].mean() < 0.2
    assert set(evidence) == {"visual", "speech"}
    assert (evidence["visual"][shown].argmax(1) == y[shown].argmax(1)).mean() > 0.9


def test_identity_weights_are_never_negative_and_favour_the_informative_modality():
    model = _fit(1)
    w = dict(zip(model.names, model.coef_))
    assert min(w.values()) >= 0.0
    assert w["visual_m"] + w["visual"] > w["speech_sem_m"] + w["speech_sem"]
    b = dict(zip(model.bg_names, model.bg_coef_))
    assert b["visual_max"] >= 0 and b["identity_top"] >= 0 and b["identity_entropy"] <= 0


def test_two_products_shown_at_once_both_count_as_right():
    rng = np.random.default_rng(3)
    eps = []
    for _ in range(4):
        base, y = _episode(rng)
        y[:10, 1] = 1  # a second product beside the first for the first block
        base["visual"][:10, 1] += 0.2
        eps.append((base, y))
    model = FusionModel(("speech", "visual")).fit_episodes(eps)
    names, X = expand_features(eps[0][0])
    fused, _, _ = model.predict(names, X, eps[0][0])
    # the pair holds the step's mass, and over the block each of the two gets a fair share of it
    assert (fused[:10, :2].sum(axis=1) > 0.8).all() and (fused[:10, :2].mean(axis=0) > 0.25).all()


def test_bundle_round_trips_through_json_and_names_missing_subsets(tmp_path):
    model = _fit(2)
    bundle = FusionBundle({subset_key(("visual", "speech")): model}, {"switch_cost": 3.0})
    bundle.save(str(tmp_path / "f.json"))
    loaded = FusionBundle.load(str(tmp_path / "f.json"))
    base, _ = _episode(np.random.default_rng(5))
    names, X = expand_features(base)
    for a, b in zip(loaded.for_modalities(("speech", "visual")).predict(names, X, base)[:2], model.predict(names, X, base)[:2]):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert loaded.localizer == {"switch_cost": 3.0}
    with pytest.raises(ValueError, match="no fusion model trained for modalities 'comments'"):
        loaded.for_modalities(("comments",))
    with pytest.raises(ValueError, match="visual@image"):
        loaded.for_modalities(("visual", "speech"), visual_mode="image")
    with pytest.raises(ValueError, match="no calibrated interval scorer"):
        loaded.interval_scorer(("visual", "speech"))


def test_a_v1_model_file_is_refused_with_how_to_fix_it(tmp_path):
    d = {"modalities": ["visual"], "names": ["visual"], "coef": [1.0], "intercept": 0.0, "mean": [0.0], "scale": [1.0]}
    with pytest.raises(ValueError, match="make train"):
        FusionModel.from_dict(d)


def test_the_shipped_bundle_has_every_benchmark_subset_with_its_calibrated_scorer():
    bundle = FusionBundle.load()
    for subset in [("visual",), ("speech",), ("screen_text",), ("comments",),
                   ("visual", "speech", "comments"), ("visual", "speech", "screen_text", "comments")]:
        model = bundle.for_modalities(subset)
        assert model.coef_.shape == (len(model.names),) and (model.coef_ >= 0).all()
        assert bundle.interval_scorer(subset).threshold == 0.5
    assert bundle.for_modalities(("visual",), "image").names == ["visual", "visual_c", "visual_m", "visual_h"]
    for mode in ("asymnet", "lxmert"):  # the seed models, through --visual-mode
        assert bundle.for_modalities(("visual",), mode).names == ["visual", "visual_c", "visual_m", "visual_h"]
        assert "speech_lex_m" in bundle.for_modalities(("visual", "speech", "comments"), mode).names
        assert f"comments,speech,visual@{mode}" in bundle.meta["val"]
    assert bundle.meta["train_episodes"] > 0 and "f1@0.5" in bundle.meta["val"]["comments,speech,visual"]


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


def test_a_steady_leader_reads_as_more_stable_than_a_flickering_one():
    steady = np.tile([[0.8, 0.1, 0.1]], (7, 1))
    flicker = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]] * 2 + [[0.8, 0.1, 0.1]])
    x = {"visual": np.zeros((7, 3))}
    names, Bs = background_features(x, steady)
    _, Bf = background_features(x, flicker)
    k = names.index("stability")
    assert (Bs[:, k] == 1.0).all() and (Bf[:, k] < 0.5).all()


def _smeared_run(folder, seed):
    """Products a, b, c shown over [10, 30), [40, 60), [70, 90) s of a 100 s run whose visual
    feature ramps up over the 3 s before each and down over the 3 s after (as a tracklet window
    smears an edge), with vision's shot changes at the true edges and inside each exhibition."""
    import json

    from ml.types import FeatureKey, Features

    rng = np.random.default_rng(seed)
    times = Features.grid(0.0, 100.0, 0.5)
    ids = ["a", "b", "c", "d", "e"]
    visual = 0.3 + 0.02 * rng.normal(size=(len(times), len(ids)))
    truth = []
    for j, (s, e) in enumerate([(10, 30), (40, 60), (70, 90)]):
        level = np.clip(np.minimum((times - (s - 3)) / 3, ((e + 3) - times) / 3), 0, 1)
        visual[:, j] += 0.6 * level
        truth.append({"product_id": ids[j], "start_s": s, "end_s": e})
    zeros = np.zeros_like(visual)
    feats = Features(times, 0.5, ids, {FeatureKey.VISUAL: visual, FeatureKey.SPEECH_SEM: zeros,
                                       FeatureKey.SPEECH_LEX: zeros, FeatureKey.COMMENTS_SEM: zeros,
                                       FeatureKey.COMMENTS_LEX: zeros},
                     cuts=[10, 20, 30, 40, 50, 60, 70, 80, 90])
    os.makedirs(folder)
    feats.save(os.path.join(folder, "features.npz"))
    with open(os.path.join(folder, "truth.json"), "w") as f:
        json.dump({"duration_s": 100.0, "intervals": truth}, f)


def test_the_output_rules_are_chosen_on_validation_and_nothing_else_changes(tmp_path):
    import shutil

    from ml.train import tune_output

    for k in range(3):
        _smeared_run(str(tmp_path / "val" / f"ep{k}"), k)
    path = str(tmp_path / "bundle.json")
    shutil.copy(os.path.join(MODELS_DIR, "fusion_v2.json"), path)
    before = FusionBundle.load(path)
    key = subset_key(("visual", "speech", "comments"))
    chosen = tune_output(path, [str(tmp_path / "val")], snaps=(0.0, 2.0, 4.0), bridges=(0.0, 8.0), log=lambda m: None)
    after = FusionBundle.load(path)
    # smeared edges on true shot changes: snapping wins, and the rules are all that changed
    assert chosen[key]["snap_s"] > 0 and after.localizer[key]["snap_s"] == chosen[key]["snap_s"]
    assert after.localizer[key]["bridge_max_s"] == chosen[key]["bridge_max_s"]
    assert after.localizer["default"] == after.localizer[key]
    rules = ("snap_s", "bridge_max_s")
    assert {k: v for k, v in after.localizer[key].items() if k not in rules} == \
        {k: v for k, v in before.localizer[key].items() if k not in rules}
    assert after.intervals == before.intervals
    assert np.array_equal(after.for_modalities(("visual", "speech", "comments")).coef_,
                          before.for_modalities(("visual", "speech", "comments")).coef_)
    report = after.meta["output_tuned"]
    assert report["val_runs"] == 3 and report["chosen"][key] == chosen[key]
    fa = {w: v["false_alarm_rate"] for w, v in report["val"][key].items()}
    best = f"snap {chosen[key]['snap_s']:g} bridge {chosen[key]['bridge_max_s']:g}"
    assert fa[best] < fa["snap 0 bridge 0"], fa


def test_the_full_fit_searches_the_bridge_rule_with_the_other_settings(tmp_path):
    from ml.scoring import Scorer
    from ml.train import fit_subset, load_runs, objective, operating_point

    for k in range(4):
        _smeared_run(str(tmp_path / "train" / f"ep{k}"), 10 + k)
    for k in range(2):
        _smeared_run(str(tmp_path / "val" / f"ep{k}"), k)
    train_runs, val_runs = load_runs(str(tmp_path / "train")), load_runs(str(tmp_path / "val"))
    grid = {"switch_cost": [4.0], "background_cost": [2.0], "background_bias": [0.0]}
    model, opts, scorer_iv, m = fit_subset(train_runs, val_runs, ("visual", "speech", "comments"), "tracklet", grid,
                                           offsets=False, snaps=(0.0,), bridges=(0.0, 8.0))
    assert opts.bridge_max_s in (0.0, 8.0) and opts.snap_s == 0.0
    # what it reports is what the chosen settings give
    s = Scorer(model, opts, ("visual", "speech", "comments"), "tracklet", scorer_iv)
    again = operating_point([s.decide(s.curves(r["features"])) for r in val_runs], val_runs)
    assert objective(again) == pytest.approx(objective(m)) and m["n_true"] == 6
