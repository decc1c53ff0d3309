"""``python -m ml train``: fit fusion v2 on the benchmark's training split, choose the localizer's
settings and calibrate the interval scores on the validation split.

Inputs are run folders made by ``bench/run.py --split train|val --features-only --extra-args
"--fusion none"`` (a manifest.json naming each episode's features.npz and truth.json), or any
folder with ``features.npz`` and ``truth.json`` side by side. The test split is never read here.

Per modality subset (the benchmark's rows):
1. the presence x identity model (``ml.fusion``) is fitted on every training run, and twice more
   on half of them each, so every training run also gets curves from a model that did not see it;
2. for each localizer setting of a small grid, the interval scorer (``ml.calibration``) is fitted
   on the candidates of those out-of-fold training curves and Platt-scaled on the validation
   candidates; the decisions on the validation runs are measured at the operating point;
   Each setting is tried as it is and with boundary offsets (how much its intervals start early
   and end late: the median errors of its candidates on the out-of-fold training curves), and
   with each output rule: the edge-snapping window and the longest bridge dropped
   (``ml.scoring.drop_bridges``);
3. the setting with the best ``objective`` (interval F1@0.5 + now-showing accuracy - false-alarm
   rate, pooled over the validation runs) is kept.

Output: ``ml/models/fusion_v2.json`` (models, localizer settings, interval scorers, and the
validation metrics of each subset in ``meta["val"]``). ``--tune-output`` re-chooses only the
output rules of a fitted bundle (``tune_output``).
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import sys
import time
from dataclasses import asdict, replace

import numpy as np

from .calibration import IntervalScorer, boundary_offsets, candidate_labels, interval_features
from .fusion import BASE_FEATURES, MODELS_DIR, VISUAL_FEATURES, FusionBundle, FusionModel, select_features, subset_key
from .localize import Localizer, LocalizerOptions
from .scoring import Scorer
from .types import Features, Interval, ScoreCurves

# (modalities, visual_mode): the default pipeline and the Fashion Focus / ablation rows.
DEFAULT_SUBSET = (("visual", "speech", "comments"), "tracklet")
SUBSETS = [
    DEFAULT_SUBSET,
    (("visual", "speech", "screen_text", "comments"), "tracklet"),
    (("visual", "speech", "screen_text", "comments"), "image"),
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

# localizer settings searched for the default subset, and a smaller grid for the others
GRID = {"switch_cost": [4.0, 8.0, 16.0], "background_cost": [0.5, 2.0], "background_bias": [-1.0, 0.0, 1.0],
        "extra_bias": [0.0, 2.0], "identity_candidates": [False, True]}
SMALL_GRID = {"switch_cost": [4.0], "background_cost": [2.0], "background_bias": [-1.0, 0.0, 1.0]}
# edge snapping windows tried with every setting (``LocalizerOptions.snap_s``; 0: off)
SNAPS = (0.0, 2.0, 4.0)
# longest bridge dropped (``LocalizerOptions.bridge_max_s``, ``ml.scoring.drop_bridges``; 0: off)
BRIDGES = (0.0, 4.0, 8.0, 12.0)


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
            d = json.load(f)
        truth = [Interval.from_dict(x) for x in d["intervals"]]
        feats = Features.load(path)
        duration = float(d.get("duration_s") or (feats.times[-1] + feats.step_s / 2 if len(feats.times) else 0.0))
        runs.append({"name": os.path.dirname(path), "features": feats, "truth": truth, "duration_s": duration})
    return runs


def labels(times: np.ndarray, ids: list[str], truth: list[Interval]) -> np.ndarray:
    """(T,P) 1 where product p is exhibited at step t."""
    y = np.zeros((len(times), len(ids)), dtype=np.int8)
    col = {pid: j for j, pid in enumerate(ids)}
    for iv in truth:
        if iv.product_id in col:
            y[(times >= iv.start_s) & (times < iv.end_s), col[iv.product_id]] = 1
    return y


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


def episode_arrays(run: dict, modalities, visual_mode: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    feats = run["features"]
    return (select_features(feats.arrays, modalities, visual_mode),
            labels(feats.times, feats.product_ids, run["truth"]))


def fit_fusion(runs: list[dict], modalities, visual_mode: str, C: float = 1.0) -> FusionModel:
    return FusionModel(tuple(modalities), C).fit_episodes([episode_arrays(r, modalities, visual_mode) for r in runs])


def out_of_fold_curves(runs: list[dict], modalities, visual_mode: str, C: float) -> tuple[list[ScoreCurves], list[dict]]:
    """(curves, runs): each run's curves from a model fitted on the other half of the runs
    (none with fewer than two runs)."""
    if len(runs) < 2:
        return [], []
    curves, held_runs = [], []
    for k in (0, 1):
        held, fit_on = runs[k::2], runs[1 - k::2]
        scorer = Scorer(fit_fusion(fit_on, modalities, visual_mode, C), None, modalities, visual_mode)
        curves += [scorer.curves(r["features"]) for r in held]
        held_runs += held
    return curves, held_runs


def operating_point(decisions, runs: list[dict]) -> dict:
    """Pooled metrics at the operating point of several runs' decisions: ``ml.eval.operating``
    rates, ECE of the output and of every proposal (output + candidates)."""
    from .eval import calibration as cal
    from .eval.operating import operating_metrics, pool

    per, raw_out, raw_all = [], [], []
    for d, r in zip(decisions, runs):
        truth = [t.to_dict() for t in r["truth"]]
        out = [i.to_dict() for i in d.intervals]
        per.append(operating_metrics(out, truth, r["duration_s"]))
        raw_out.append(cal.calibration(out, truth)["raw"])
        raw_all.append(cal.calibration(out + [i.to_dict() for i in d.candidates], truth)["raw"])
    m = pool(per)
    m["ece"] = cal.pool(raw_out)["ece"]
    m["ece_all"] = cal.pool(raw_all)["ece"]
    return m


def objective(m: dict) -> float:
    return (m.get("f1@0.5") or 0.0) + (m.get("now_showing_accuracy") or 0.0) - (m.get("false_alarm_rate") or 0.0)


def candidate_set(curves_list: list[ScoreCurves], runs: list[dict], options: LocalizerOptions, cands_list):
    """(X, y) of each run's candidates, labelled as ``options`` would output them."""
    Xs, ys = [], []
    for curves, r, cands in zip(curves_list, runs, cands_list):
        Xs.append(interval_features(curves, cands))
        ys.append(candidate_labels(curves, cands, r["truth"], options=options))
    return np.concatenate(Xs), np.concatenate(ys)


def fit_subset(train_runs, val_runs, modalities, mode, grid: dict, C: float = 1.0, offsets: bool = True,
               snaps=SNAPS, bridges=BRIDGES):
    """-> (model, localizer options, interval scorer, validation metrics) for one subset. With
    ``offsets``, each setting is also tried with boundary offsets: the median errors of its
    candidates on the out-of-fold training curves (``ml.calibration.boundary_offsets``; never
    the validation runs when there are training curves); each of those with every edge-snapping
    window in ``snaps`` and every bridge length in ``bridges``; the objective on validation
    decides."""
    model = fit_fusion(train_runs, modalities, mode, C)
    oof, oof_runs = out_of_fold_curves(train_runs, modalities, mode, C)
    val_curves = [Scorer(model, None, modalities, mode).curves(r["features"]) for r in val_runs]
    fit_curves, fit_runs = (oof, oof_runs) if oof else (val_curves, val_runs)
    best = None
    for values in itertools.product(*grid.values()):
        settings = dict(zip(grid, values))
        loc = Localizer(LocalizerOptions(**settings))  # the offsets do not change the candidates
        cands = [loc.candidates(c) for c in fit_curves]
        val_cands = [loc.candidates(c) for c in val_curves]
        shifts = [(0.0, 0.0)]
        if offsets:
            shifts.append(boundary_offsets(fit_curves, cands, [r["truth"] for r in fit_runs]))
        for (start, end), snap in itertools.product(shifts, snaps):
            opts = LocalizerOptions(**settings, start_offset_s=start, end_offset_s=end, snap_s=snap)
            X, y = candidate_set(fit_curves, fit_runs, opts, cands)
            Xv, yv = candidate_set(val_curves, val_runs, opts, val_cands)
            scorer_iv = IntervalScorer(C=C).fit(X, y).calibrate(Xv, yv)
            for bridge in bridges:  # the bridge rule acts after scoring: same candidates, same scorer
                o = replace(opts, bridge_max_s=float(bridge))
                s = Scorer(model, o, modalities, mode, scorer_iv)
                m = operating_point([s.decide(c) for c in val_curves], val_runs)
                if best is None or objective(m) > objective(best[3]):
                    best = (model, o, scorer_iv, m)
    return best


def train(train_dir: str, val_dir: str, out: str, C: float = 1.0, log=print, subsets=None,
          offsets: bool = True, snaps=SNAPS, bridges=BRIDGES) -> FusionBundle:
    t0 = time.perf_counter()
    train_runs, val_runs = load_runs(train_dir), load_val_runs(val_dir)
    if not train_runs:
        raise FileNotFoundError(f"no features.npz + truth.json runs under {train_dir}")
    if not val_runs:
        raise FileNotFoundError(f"no features.npz + truth.json runs under {val_dir}")
    models, localizers, scorers, val = {}, {}, {}, {}
    for modalities, mode in subsets or SUBSETS:
        key = subset_key(modalities, mode)
        lacking = missing_modalities(train_runs + val_runs, modalities, mode)
        if lacking:  # e.g. runs made without screen text or --extra-visual: say so, fit the rest
            log(f"{key:45s} skipped: the runs lack {', '.join(lacking)} features "
                f"(localize --modalities visual,speech,screen_text,comments --extra-visual asymnet,lxmert)")
            continue
        grid = GRID if (tuple(modalities), mode) == DEFAULT_SUBSET else SMALL_GRID
        t = time.perf_counter()
        model, opts, scorer_iv, m = fit_subset(train_runs, val_runs, modalities, mode, grid, C, offsets, snaps, bridges)
        models[key], localizers[key], scorers[key] = model, asdict(opts), scorer_iv.to_dict()
        val[key] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}
        log(f"{key:45s} val F1 {m['f1@0.5']:.3f} P {m['precision@0.5']:.3f} R {m['recall@0.5']:.3f} "
            f"FA {m['false_alarm_rate']:.3f} NS {m['now_showing_accuracy']:.3f} "
            f"ppt {m['proposals_per_true']:.2f} ECE {m['ece'] if m['ece'] is not None else float('nan'):.3f} "
            f"({time.perf_counter() - t:.0f} s) {asdict(opts)}")
    if not models:
        raise ValueError("no modality subset could be fitted: the runs lack their features")
    default_key = subset_key(*DEFAULT_SUBSET)
    localizers["default"] = localizers.get(default_key, next(iter(localizers.values())))
    bundle = FusionBundle(models, localizers, {
        "kind": "presence x identity (fusion v2), calibrated interval scores",
        "train_episodes": len(train_runs), "val_episodes": len(val_runs),
        "train_dir": os.path.relpath(train_dir), "val_dir": [os.path.relpath(d) for d in _folders(val_dir)],
        "C": C, "boundary_offsets": offsets, "snaps": list(snaps), "bridges": list(bridges), "seconds": round(time.perf_counter() - t0, 1), "val": val}, scorers)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    bundle.save(out)
    log(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    return bundle


def _folders(dirs) -> list[str]:
    """One folder or several, as a list."""
    return [dirs] if isinstance(dirs, str) else list(dirs)


def load_val_runs(val_dirs) -> list[dict]:
    """The runs under each of several folders (``load_runs``), pooled."""
    return [r for d in _folders(val_dirs) for r in load_runs(d)]


def _bundle_scorers(bundle: FusionBundle, runs: list[dict]):
    """(subset key, its Scorer, its curves of each run) for every subset of ``bundle`` the runs
    have the features of."""
    for modalities, mode in SUBSETS:
        key = subset_key(modalities, mode)
        if key not in bundle.models or missing_modalities(runs, modalities, mode):
            continue
        scorer = Scorer.from_bundle(bundle, modalities, mode)
        yield key, scorer, [scorer.curves(r["features"]) for r in runs]


def tune_output(bundle_path: str, val_dirs, snaps=SNAPS, bridges=BRIDGES, out: str | None = None,
                log=print) -> dict[str, dict[str, float]]:
    """Choose each subset's output rules on validation runs: its edge-snapping window
    (``LocalizerOptions.snap_s``) and longest bridge dropped (``bridge_max_s``), leaving its
    fusion model, other localizer settings and interval scorer as they are. The pair with the
    best ``objective`` over the pooled runs of ``val_dirs`` wins (ties: the smaller values).
    Writes the bundle to ``out`` (default: in place) and returns {subset: {"snap_s",
    "bridge_max_s"}}."""
    bundle = FusionBundle.load(bundle_path)
    runs = load_val_runs(val_dirs)
    if not runs:
        raise FileNotFoundError(f"no features.npz + truth.json runs under {val_dirs}")
    chosen, report = {}, {}
    shown = (("F1", "f1@0.5"), ("FA", "false_alarm_rate"), ("NS", "now_showing_accuracy"), ("ECE", "ece"))
    for key, scorer, curves in _bundle_scorers(bundle, runs):
        best = None
        for snap, bridge in itertools.product(sorted(snaps), sorted(bridges)):
            opts = replace(scorer.localizer, snap_s=float(snap), bridge_max_s=float(bridge))
            s = Scorer(scorer.model, opts, scorer.modalities, scorer.visual_mode, scorer.intervals)
            m = operating_point([s.decide(c) for c in curves], runs)
            report.setdefault(key, {})[f"snap {snap:g} bridge {bridge:g}"] = {
                k: None if m[k] is None else round(m[k], 4) for _, k in shown}
            log(f"{key:45s} snap {snap:g} s, bridge {bridge:g} s: " + " ".join(
                f"{label} {'-' if m[k] is None else format(m[k], '.3f')}" for label, k in shown))
            if best is None or objective(m) > objective(best[1]) + 1e-9:
                best = ({"snap_s": float(snap), "bridge_max_s": float(bridge)}, m)
        chosen[key] = best[0]
        bundle.localizer[key] = {**asdict(scorer.localizer), **best[0]}
    default_key = subset_key(*DEFAULT_SUBSET)
    if default_key in chosen:
        bundle.localizer["default"] = dict(bundle.localizer[default_key])
    bundle.meta["output_tuned"] = {"val_runs": len(runs), "val_dirs": [os.path.relpath(d) for d in _folders(val_dirs)],
                                   "snaps": list(snaps), "bridges": list(bridges), "chosen": chosen, "val": report}
    bundle.meta.pop("snap_tuned", None)  # the earlier tuning of the snap window alone, superseded
    bundle.save(out or bundle_path)
    log(f"wrote {out or bundle_path}: {chosen}")
    return chosen


def score_bundle(bundle_path: str, val_dir: str, log=print) -> dict[str, dict]:
    """Operating-point metrics of every subset of an already fitted bundle on the runs under
    ``val_dir`` (nothing is refitted)."""
    bundle = FusionBundle.load(bundle_path)
    runs = load_val_runs(val_dir)
    if not runs:
        raise FileNotFoundError(f"no features.npz + truth.json runs under {val_dir}")
    out = {}
    for key, scorer, curves in _bundle_scorers(bundle, runs):
        m = operating_point([scorer.decide(c) for c in curves], runs)
        out[key] = {k: m[k] for k in ("f1@0.5", "precision@0.5", "recall@0.5", "false_alarm_rate",
                                      "now_showing_accuracy", "proposals_per_true", "ece")}
        log(f"{key:45s} {json.dumps({k: round(v, 3) if v is not None else None for k, v in out[key].items()})}")
    return out


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="fit fusion v2 on training runs; localizer and calibration on validation runs")
    p.add_argument("--train", default="bench/runs/features_train", help="folder of training runs (features.npz + truth.json)")
    p.add_argument("--val", nargs="+", default=["bench/runs/features_val"],
                   help="folder(s) of validation runs, pooled")
    p.add_argument("--out", default=os.path.join(MODELS_DIR, "fusion_v2.json"))
    p.add_argument("--C", type=float, default=1.0, help="inverse L2 regularisation strength")
    p.add_argument("--only-default", action="store_true", help="fit the default subset only (quick experiments)")
    p.add_argument("--no-boundary-offsets", action="store_true",
                   help="output the candidates' spans as they are (no start/end offsets from the training split)")
    p.add_argument("--no-snap", action="store_true",
                   help="never move an edge onto a shot change (only snap window 0 is tried)")
    p.add_argument("--no-bridges", action="store_true",
                   help="never drop a short interval squeezed between two better ones (only bridge length 0 is tried)")
    p.add_argument("--tune-output", action="store_true",
                   help="fit nothing: choose each subset's edge-snapping window and bridge rule of the bundle --out "
                        "on the runs under --val")
    p.add_argument("--score-only", action="store_true",
                   help="fit nothing: print the operating-point metrics of every subset of the bundle --out on the runs under --val")
    p.set_defaults(func=_main)


def _main(a) -> int:
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if a.tune_output:
        tune_output(a.out, a.val, log=log)
    elif a.score_only:
        print(json.dumps(score_bundle(a.out, a.val, log=log), indent=1))
    else:
        train(a.train, a.val, a.out, a.C, log=log, subsets=[DEFAULT_SUBSET] if a.only_default else None,
              offsets=not a.no_boundary_offsets, snaps=(0.0,) if a.no_snap else SNAPS,
              bridges=(0.0,) if a.no_bridges else BRIDGES)
    return 0
