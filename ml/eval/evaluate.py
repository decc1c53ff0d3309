"""One episode's metrics from result.json, truth.json and (optionally) the curves file.

What each metric is computed on:
- ``operating`` (precision/recall/F1 at tIoU 0.5, proposals per true exhibition, false alarms,
  now-showing) and ``calibration``: the intervals as output, i.e. ``intervals`` with
  ``score >= threshold`` when result.json has a ``threshold`` (contract: the default output);
- ``calibration_all``: every scored proposal (``intervals`` + below-threshold ``candidates``);
- ``localization`` (mAP, a ranking metric): every scored proposal too, so a threshold does not
  cut its recall (with no candidates and no threshold all three sets are the same);
- ``retrieval``: the curves.
"""

from __future__ import annotations

import json
import math

from . import calibration as cal
from .cost import realtime_factors
from .localization import localization_metrics
from .operating import operating_metrics
from .retrieval import curves_recall, load_curves, modality_keys


def _load_json(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _check_intervals(items, where: str, need_score: bool) -> list[dict]:
    if not isinstance(items, list):
        raise ValueError(f"{where}: 'intervals' must be a list")
    out = []
    for i, it in enumerate(items):
        try:
            d = {"product_id": str(it["product_id"]), "start_s": float(it["start_s"]),
                 "end_s": float(it["end_s"])}
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{where}: interval {i} lacks a valid product_id/start_s/end_s ({e})") from None
        if d["end_s"] < d["start_s"]:
            raise ValueError(f"{where}: interval {i} ends before it starts")
        if need_score:
            d["score"] = float(it.get("score", 1.0))
        if "category" in it:
            d["category"] = it["category"]
        out.append(d)
    return out


def prediction_sets(pred: dict) -> tuple[list[dict], list[dict], float | None]:
    """(output, proposals, threshold) of a result.json: the intervals as output (``intervals``
    with ``score >= threshold`` when a threshold is given), every scored proposal (``intervals``
    then ``candidates``) and the threshold (None when absent)."""
    p = _check_intervals(pred.get("intervals", []), "prediction", True)
    cand = _check_intervals(pred.get("candidates") or [], "prediction candidates", True)
    threshold = pred.get("threshold")
    if threshold is None:
        return p, p + cand, None
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"prediction: 'threshold' must be a number, got {threshold!r}") from None
    return [x for x in p if x["score"] >= threshold], p + cand, threshold


def check_truth(truth: dict) -> list[dict]:
    return _check_intervals(truth.get("intervals", []), "truth", False)


def evaluate(pred: dict, truth: dict, curves: dict | None = None, categories: dict | None = None,
             wall_s: float | None = None) -> dict:
    """All metrics of one episode as a JSON-able dict (NaN -> None).

    ``pred``: result.json content; ``truth``: truth.json content; ``curves``: from
    ``load_curves``; ``categories``: product_id -> category (the catalog's)."""
    output, proposals, threshold = prediction_sets(pred)
    t = check_truth(truth)
    duration = pred.get("duration_s")
    out = {"threshold": threshold,
           "operating": operating_metrics(output, t, float(duration) if duration else None),
           "calibration": cal.calibration(output, t), "calibration_all": cal.calibration(proposals, t),
           "localization": localization_metrics(proposals, t), "cost": realtime_factors(pred, wall_s)}
    if curves is not None:
        out["retrieval"] = curves_recall(t, curves, "fused", categories)
        out["retrieval_by_modality"] = {k[2:]: curves_recall(t, curves, k, categories)
                                        for k in modality_keys(curves)}
    return clean(out)


def evaluate_files(pred_path: str, truth_path: str, curves_path: str | None = None,
                   catalog_dir: str | None = None, wall_s: float | None = None) -> dict:
    categories = None
    if catalog_dir:
        from ml.catalog import load_catalog
        categories = {pr.product_id: pr.category for pr in load_catalog(catalog_dir, check_images=False).products}
    curves = load_curves(curves_path) if curves_path else None
    return evaluate(_load_json(pred_path), _load_json(truth_path), curves, categories, wall_s)


def clean(x):
    """NaN/inf -> None recursively, so the output is strict JSON."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
