"""Temporal localization metrics, ActivityNet style.

Per product, predictions are ranked by score (ties keep their input order: the sort is
stable). Walking down the ranking, a prediction is a true positive when some still-unmatched
true interval of the same product has tIoU >= θ with it (the highest-tIoU one is taken, as in
ActivityNet's ``compute_average_precision_detection``); otherwise — duplicates and second
detections of an already matched interval included — it is a false positive.

AP is the area under the interpolated precision/recall curve (precision made monotone from the
right, summed over recall steps). mAP averages AP over the products that have at least one true
interval; a product with truth but no prediction has AP 0; predictions for products with no
truth do not enter the mean (they cannot be ranked against anything of theirs).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

THRESHOLDS = (0.3, 0.5, 0.7)


def tiou(a_start: float, a_end: float, b_start: np.ndarray, b_end: np.ndarray) -> np.ndarray:
    """Temporal IoU of one interval against arrays of intervals (zero-length union -> 0)."""
    inter = np.clip(np.minimum(a_end, b_end) - np.maximum(a_start, b_start), 0, None)
    union = np.maximum(a_end, b_end) - np.minimum(a_start, b_start)
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC/ActivityNet interpolated AP from precision/recall at each ranked prediction."""
    mprec = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def match(preds: list[dict], truths: list[dict], theta: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Greedy matching of one product's predictions (any order) to its truths.

    Returns (tp flags in ranked order, [(pred_index, truth_index)] pairs with input indices)."""
    order = np.argsort([-float(p.get("score", 1.0)) for p in preds], kind="stable")
    ts = np.array([t["start_s"] for t in truths], float)
    te = np.array([t["end_s"] for t in truths], float)
    used = np.zeros(len(truths), bool)
    tp = np.zeros(len(preds), bool)
    pairs = []
    for rank, i in enumerate(order):
        if not len(truths):
            break
        ious = tiou(float(preds[i]["start_s"]), float(preds[i]["end_s"]), ts, te)
        for j in np.argsort(-ious, kind="stable"):
            if ious[j] < theta:
                break
            if used[j]:
                continue
            used[j] = True
            tp[rank] = True
            pairs.append((int(i), int(j)))
            break
    return tp, pairs


def average_precision(preds: list[dict], truths: list[dict], theta: float) -> float:
    if not truths:
        return float("nan")
    if not preds:
        return 0.0
    tp, _ = match(preds, truths, theta)
    ctp = np.cumsum(tp)
    precision = ctp / np.arange(1, len(tp) + 1)
    recall = ctp / len(truths)
    return interpolated_ap(precision, recall)


def _group(items: list[dict]) -> dict[str, list[dict]]:
    g: dict[str, list[dict]] = defaultdict(list)
    for it in items:
        g[str(it["product_id"])].append(it)
    return g


def localization_metrics(pred: list[dict], truth: list[dict], thresholds=THRESHOLDS,
                         boundary_theta: float = 0.3) -> dict:
    """mAP@θ for each θ, their mean, per-product AP and median boundary errors.

    Boundary errors are over the pairs matched at ``boundary_theta``: |Δstart|, |Δend| in
    seconds (None when nothing matched)."""
    P, T = _group(pred), _group(truth)
    out: dict = {"n_true": len(truth), "n_pred": len(pred), "n_products_with_truth": len(T)}
    per_product: dict[str, dict] = {pid: {} for pid in sorted(T)}
    maps = []
    for th in thresholds:
        aps = []
        for pid in sorted(T):
            ap = average_precision(P.get(pid, []), T[pid], th)
            per_product[pid][f"ap@{th:g}"] = round(ap, 4)
            aps.append(ap)
        m = float(np.mean(aps)) if aps else float("nan")
        out[f"mAP@{th:g}"] = m
        maps.append(m)
    out["mAP_mean"] = float(np.mean(maps)) if maps else float("nan")
    ds, de = [], []
    for pid, ts in T.items():
        ps = P.get(pid, [])
        _, pairs = match(ps, ts, boundary_theta)
        for i, j in pairs:
            ds.append(abs(float(ps[i]["start_s"]) - float(ts[j]["start_s"])))
            de.append(abs(float(ps[i]["end_s"]) - float(ts[j]["end_s"])))
    out["n_matched@%g" % boundary_theta] = len(ds)
    out["median_start_error_s"] = float(np.median(ds)) if ds else None
    out["median_end_error_s"] = float(np.median(de)) if de else None
    out["median_boundary_error_s"] = float(np.median(ds + de)) if ds else None
    out["per_product"] = per_product
    return out
