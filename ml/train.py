"""``python -m ml train``: fit fusion v1 on the benchmark's training split and choose the
localizer's thresholds on the validation split.

Inputs are run folders made by ``bench/run.py --split train|val --features-only --extra-args
"--fusion none"`` (a manifest.json naming each episode's features.npz and truth.json), or any
folder with ``features.npz`` and ``truth.json`` side by side. The test split is never
read here. Output: ``ml/models/fusion_v1.json`` with one model per modality subset (the
benchmark's ablation rows) and the training metadata.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
from dataclasses import asdict

import numpy as np

from .fusion import (BASE_FEATURES, MODELS_DIR, VISUAL_FEATURES, FusionBundle, FusionModel, expand_features, select_features,
                     subset_key)
from .localize import Localizer
from .scoring import Scorer
from .types import Features, Interval, ScoreCurves

# (modalities, visual_mode): the default pipeline and the Fashion Focus / ablation rows.
SUBSETS = [
    (("visual", "speech", "screen_text", "comments"), "tracklet"),
    (("visual", "speech", "screen_text", "comments"), "image"),
    (("visual", "speech", "comments"), "tracklet"),
    (("visual",), "tracklet"),
    (("visual",), "image"),
    (("speech",), "tracklet"),
    (("screen_text",), "tracklet"),
    (("comments",), "tracklet"),
    # the seed models (ml.seed) in place of the cosine tracklet feature: Video2Shop's AsymNet,
    # and the LXMERT-style fusion of tracklet crops and window text (with and without text)
    (("visual",), "asymnet"),
    (("visual", "speech", "comments"), "asymnet"),
    (("visual",), "lxmert"),
    (("visual", "speech", "comments"), "lxmert"),
    (("visual", "speech", "screen_text", "comments"), "lxmert"),
]


def _pairs(folder: str) -> list[tuple[str, str]]:
    """(features.npz, truth.json) pairs: from the harness' manifest.json, else side by side."""
    manifest = os.path.join(folder, "manifest.json")
    if os.path.isfile(manifest):
        with open(manifest) as f:
            eps = json.load(f)["episodes"]
        return [(e["features"], e["truth"]) for e in eps if e.get("rc") == 0 and e.get("features")]
    return [(p, os.path.join(os.path.dirname(p), "truth.json"))
            for p in sorted(glob.glob(os.path.join(folder, "**", "features.npz"), recursive=True))]


def load_runs(folder: str) -> list[dict]:
    """Every (features, truth) run under ``folder`` (see ``_pairs``): {"name", "features", "truth"}."""
    runs = []
    for path, truth_path in _pairs(folder):
        if not (os.path.isfile(path) and os.path.isfile(truth_path)):
            continue
        with open(truth_path) as f:
            truth = [Interval.from_dict(d) for d in json.load(f)["intervals"]]
        runs.append({"name": os.path.dirname(path), "features": Features.load(path), "truth": truth})
    return runs


def labels(times: np.ndarray, ids: list[str], truth: list[Interval]) -> np.ndarray:
    """(T,P) 1 where product p is exhibited at step t."""
    y = np.zeros((len(times), len(ids)), dtype=np.int8)
    col = {pid: j for j, pid in enumerate(ids)}
    for iv in truth:
        if iv.product_id in col:
            y[(times >= iv.start_s) & (times < iv.end_s), col[iv.product_id]] = 1
    return y


def mean_map(preds: list[list[Interval]], truths: list[list[Interval]]) -> float:
    """mAP averaged over tIoU 0.3, 0.5, 0.7 and episodes: the localizer's selection metric."""
    from .eval.localization import localization_metrics

    values = []
    for p, t in zip(preds, truths):
        m = localization_metrics([i.to_dict() for i in p], [i.to_dict() for i in t])["mAP_mean"]
        if np.isfinite(m):
            values.append(m)
    return float(np.mean(values)) if values else 0.0


def fused_curves(run: dict, model: FusionModel, modalities, visual_mode: str) -> ScoreCurves:
    """A run's features through a subset's fusion model -> its score curves (``ml.scoring``)."""
    return Scorer(model, None, modalities, visual_mode).curves(run["features"])


def missing_modalities(runs: list[dict], modalities, visual_mode: str) -> list[str]:
    """The modalities of a subset that some run has no base feature for: fitting without them
    would silently give the subset another subset's model."""
    lacking = []
    for m in modalities:
        if m == "visual":
            need = {VISUAL_FEATURES[visual_mode]}
        else:
            need = {name for name, mod in BASE_FEATURES.items() if mod == m}
        if any(not need & set(r["features"].keys()) for r in runs):
            lacking.append(m if m != "visual" else f"visual ({VISUAL_FEATURES[visual_mode]})")
    return lacking


def train(train_dir: str, val_dir: str, out: str, C: float = 1.0, log=print) -> FusionBundle:
    t0 = time.perf_counter()
    train_runs, val_runs = load_runs(train_dir), load_runs(val_dir)
    if not train_runs:
        raise FileNotFoundError(f"no features.npz + truth.json runs under {train_dir}")
    if not val_runs:
        raise FileNotFoundError(f"no features.npz + truth.json runs under {val_dir}")
    models, localizers, val_map = {}, {}, {}
    for modalities, mode in SUBSETS:
        key = subset_key(modalities, mode)
        lacking = missing_modalities(train_runs + val_runs, modalities, mode)
        if lacking:  # e.g. runs made without screen text or --extra-visual: say so, fit the rest
            log(f"{key:45s} skipped: the runs lack {', '.join(lacking)} features "
                f"(localize --modalities visual,speech,screen_text,comments --extra-visual asymnet,lxmert)")
            continue
        Xs, ys = [], []
        for run in train_runs:
            feats = run["features"]
            names, X = expand_features(select_features(feats.arrays, modalities, mode))
            Xs.append(X.reshape(-1, X.shape[-1]))
            ys.append(labels(feats.times, feats.product_ids, run["truth"]).reshape(-1))
        model = FusionModel(modalities, C).fit(names, np.concatenate(Xs), np.concatenate(ys))
        models[key] = model
        episodes = [(fused_curves(run, model, modalities, mode), run["truth"]) for run in val_runs]
        localizer = Localizer().fit(episodes, mean_map)
        localizers[key] = asdict(localizer.options)
        val_map[key] = round(localizer.best_score_, 4)
        log(f"{key:45s} val mAP(0.3:0.7)={localizer.best_score_:.3f} "
            f"weights={ {n: round(float(w), 2) for n, w in zip(model.names, model.coef_)} }")
    if not models:
        raise ValueError("no modality subset could be fitted: the runs lack their features")
    default_key = subset_key(("visual", "speech", "comments"), "tracklet")  # the pipeline's default
    localizers["default"] = localizers.get(default_key, next(iter(localizers.values())))
    bundle = FusionBundle(models, localizers, {
        "train_episodes": len(train_runs), "val_episodes": len(val_runs),
        "train_dir": os.path.relpath(train_dir), "val_dir": os.path.relpath(val_dir),
        "C": C, "seconds": round(time.perf_counter() - t0, 1),
        "val_map_0.3_0.7": val_map})
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    bundle.save(out)
    log(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    return bundle


def score_bundle(bundle_path: str, val_dir: str, log=print) -> dict[str, float]:
    """mAP(0.3:0.7) of every subset of an already fitted bundle (its own localizer settings) on
    the runs under ``val_dir``: compares the visual modes on more validation episodes than the
    fit used, without refitting anything."""
    bundle = FusionBundle.load(bundle_path)
    runs = load_runs(val_dir)
    if not runs:
        raise FileNotFoundError(f"no features.npz + truth.json runs under {val_dir}")
    out = {}
    for modalities, mode in SUBSETS:
        key = subset_key(modalities, mode)
        if key not in bundle.models or missing_modalities(runs, modalities, mode):
            continue
        scorer = Scorer.from_bundle(bundle, modalities, mode)
        preds = [scorer.decide(scorer.curves(run["features"])).intervals for run in runs]
        out[key] = round(mean_map(preds, [run["truth"] for run in runs]), 4)
        log(f"{key:45s} mAP(0.3:0.7)={out[key]:.3f} on {len(runs)} runs")
    return out


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="fit fusion v1 on training runs, localizer thresholds on validation runs")
    p.add_argument("--train", default="bench/runs/features_train", help="folder of training runs (features.npz + truth.json)")
    p.add_argument("--val", default="bench/runs/features_val", help="folder of validation runs")
    p.add_argument("--out", default=os.path.join(MODELS_DIR, "fusion_v1.json"))
    p.add_argument("--C", type=float, default=1.0, help="inverse L2 regularisation strength")
    p.add_argument("--score-only", action="store_true",
                   help="fit nothing: print the mAP of every subset of the bundle --out on the runs under --val")
    p.set_defaults(func=_main)


def _main(a) -> int:
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if a.score_only:
        print(json.dumps(score_bundle(a.out, a.val, log=log), indent=1))
    else:
        train(a.train, a.val, a.out, a.C, log=log)
    return 0
