"""Metrics at the operating point: what a reviewer and a viewer live with.

All are computed on the intervals as output (``evaluate.prediction_sets``: the result's
``intervals`` with ``score >= threshold`` when the result carries a ``threshold``, else all):

- **interval precision / recall / F1 at tIoU 0.5**: per product, output intervals are taken in
  descending score (stable for ties) and each is matched to the unmatched true interval of the
  same product with the highest tIoU, if that tIoU is >= 0.5 (``localization.match``: one match
  per true interval, duplicates are false positives). precision = matched / output,
  recall = matched true / true, F1 their harmonic mean.
- **proposals per true exhibition**: output intervals / true intervals.
- **false-alarm rate**: instants on a 0.5 s grid (cell centres 0.25, 0.75, ... < duration) that
  are farther than 1 s from every true interval ("idle" instants); the share of them that some
  output interval covers (``start <= t <= end``).
- **now-showing accuracy**: at every grid instant inside a true interval ("shown" instants), the
  output interval with the highest score among those covering it must name a product truly
  shown at that instant (two products at once: either one counts). No covering interval is
  wrong; ties for the top score count against us (every tied interval must be right).

Every function returns counts next to the rates, so a suite pools them by summing counts
(``pool``): F1 over all intervals, false alarms over all idle instants, now-showing over all
shown instants.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .localization import match

THETA = 0.5
GRID_S = 0.5
COLLAR_S = 1.0
COUNT_KEYS = ("n_output", "n_true", "n_tp", "idle_instants", "false_alarm_instants",
              "shown_instants", "now_showing_correct")


def match_flags(pred: list[dict], truth: list[dict], theta: float = THETA) -> np.ndarray:
    """(len(pred),) bool: interval i matches a true interval of its product at tIoU >= theta
    (greedy by score within each product, one match per true interval)."""
    flags = np.zeros(len(pred), bool)
    by_p: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pred):
        by_p[str(p["product_id"])].append(i)
    t_by: dict[str, list[dict]] = defaultdict(list)
    for t in truth:
        t_by[str(t["product_id"])].append(t)
    for pid, idx in by_p.items():
        if pid not in t_by:
            continue
        _, pairs = match([pred[i] for i in idx], t_by[pid], theta)
        for i, _ in pairs:
            flags[idx[i]] = True
    return flags


def grid(duration_s: float, step_s: float = GRID_S) -> np.ndarray:
    """Instants at the centres of the step_s cells of [0, duration_s)."""
    n = int(np.ceil(max(duration_s, 0.0) / step_s - 1e-9))
    t = (np.arange(n) + 0.5) * step_s
    return t[t < duration_s]


def _cover(t: np.ndarray, start: float, end: float) -> slice:
    return slice(int(np.searchsorted(t, start, "left")), int(np.searchsorted(t, end, "right")))


def instant_counts(output: list[dict], truth: list[dict], duration_s: float, step_s: float = GRID_S,
                   collar_s: float = COLLAR_S) -> dict:
    """False-alarm and now-showing counts on the instant grid (see the module docstring)."""
    t = grid(duration_s, step_s)
    near = np.zeros(len(t), bool)  # within collar_s of some true interval
    shown: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(t), bool))
    for iv in truth:
        s, e = float(iv["start_s"]), float(iv["end_s"])
        near[_cover(t, s - collar_s, e + collar_s)] = True
        shown[str(iv["product_id"])][_cover(t, s, e)] = True
    any_shown = np.zeros(len(t), bool)
    for m in shown.values():
        any_shown |= m
    covered = np.zeros(len(t), bool)
    best = np.full(len(t), -np.inf)
    right = np.zeros(len(t), bool)
    order = sorted(range(len(output)), key=lambda i: -float(output[i].get("score", 1.0)))
    for i in order:
        p = output[i]
        sl = _cover(t, float(p["start_s"]), float(p["end_s"]))
        if sl.stop <= sl.start:
            continue
        sc = float(p.get("score", 1.0))
        pid = str(p["product_id"])
        ok = shown[pid][sl] if pid in shown else np.zeros(sl.stop - sl.start, bool)
        b = best[sl]
        new = b == -np.inf
        tie = b == sc
        right[sl] = np.where(new, ok, np.where(tie, right[sl] & ok, right[sl]))
        best[sl] = np.where(new, sc, b)
        covered[sl] = True
    idle = ~near
    return {"idle_instants": int(idle.sum()), "false_alarm_instants": int((idle & covered).sum()),
            "shown_instants": int(any_shown.sum()), "now_showing_correct": int((any_shown & right).sum())}


def _ratio(a: float, b: float):
    return float(a) / float(b) if b else None


def rates(c: dict) -> dict:
    """Rates from (pooled) counts."""
    p = _ratio(c["n_tp"], c["n_output"])
    r = _ratio(c["n_tp"], c["n_true"])  # one match per true interval: matched truths = n_tp
    f1 = (2 * p * r / (p + r) if (p + r) else 0.0) if p is not None and r is not None else None
    return {"precision@0.5": p, "recall@0.5": r, "f1@0.5": f1,
            "proposals_per_true": _ratio(c["n_output"], c["n_true"]),
            "false_alarm_rate": _ratio(c["false_alarm_instants"], c["idle_instants"]),
            "now_showing_accuracy": _ratio(c["now_showing_correct"], c["shown_instants"])}


def operating_metrics(output: list[dict], truth: list[dict], duration_s: float | None = None,
                      theta: float = THETA) -> dict:
    """Counts and rates of one episode's output (``duration_s`` defaults to the last end)."""
    if duration_s is None:
        duration_s = max([float(x["end_s"]) for x in list(output) + list(truth)] or [0.0])
    flags = match_flags(output, truth, theta)
    c = {"n_output": len(output), "n_true": len(truth), "n_tp": int(flags.sum()),
         **instant_counts(output, truth, float(duration_s))}
    return {**c, **rates(c)}


def pool(per_episode: list[dict]) -> dict:
    """Sum the counts of several episodes' ``operating_metrics`` and recompute the rates."""
    c = {k: sum(int(m.get(k) or 0) for m in per_episode) for k in COUNT_KEYS}
    return {**c, **rates(c)}


def sweep(episodes: list[tuple[list[dict], list[dict], float]], thresholds) -> list[dict]:
    """Pooled operating metrics of several episodes at each threshold: [(proposals, truth,
    duration_s)] -> one ``pool`` result per threshold (with ``threshold``), the output being the
    proposals with ``score >= threshold``. For choosing an operating point on validation runs."""
    out = []
    for thr in thresholds:
        per = [operating_metrics([p for p in props if float(p.get("score", 1.0)) >= thr], truth, dur)
               for props, truth, dur in episodes]
        out.append({"threshold": float(thr), **pool(per)})
    return out
