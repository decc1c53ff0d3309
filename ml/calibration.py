"""Candidate intervals -> calibrated scores: P(this interval matches a true one at tIoU 0.5).

A candidate (``ml.localize.Candidate``) is described by a few numbers read off the score curves
over its span (``interval_features``): how probable its product is there, how far it leads the
best other product and "nothing", how clearly the curve rises at its edges, its length, which
kind of candidate it is and what each modality says. A logistic regression maps them to the
probability of a match; it is fitted on candidates of the training split whose curves come from
fusion models that did not see those episodes (out-of-fold), so it learns from errors like the
ones it will meet. Then the score is **Platt-scaled on the validation split** (a logistic fit of
the logit to the validation outcomes): two parameters cannot overfit the few hundred validation
candidates, where isotonic regression would make a step function of them and rank ties.

The default output keeps an interval when its calibrated score is at least ``threshold`` (0.5:
more likely right than wrong).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .localize import KINDS, Candidate
from .types import MODALITIES, Interval, ScoreCurves

CONTEXT_S = 4.0  # seconds each side of a span for the edge contrast
SNAP_CONTEXT_S = 2.0  # seconds each side of a shot change over which its contrast is read
SNAP_MIN_CONTRAST = 0.1  # a change the product's probability drops (rises) less across is no edge

FEATURE_NAMES = (
    ["mean", "max", "presence", "share_top", "margin_other", "margin_background", "contrast",
     "log_duration", "log_products"]
    + [f"kind_{k}" for k in KINDS]
    + [f"evidence_{m}" for m in MODALITIES]
)


def interval_features(curves: ScoreCurves, cands: list[Candidate]) -> np.ndarray:
    """(len(cands), len(FEATURE_NAMES)) features of each candidate over its span."""
    T, P = curves.fused.shape
    X = np.zeros((len(cands), len(FEATURE_NAMES)), np.float64)
    if not cands:
        return X
    fused = curves.fused.astype(np.float64)
    bg = curves.background if curves.background is not None else np.clip(1.0 - fused.sum(axis=1), 0, 1)
    bg = np.asarray(bg, np.float64)
    top = fused.argmax(axis=1)
    ctx = max(1, int(round(CONTEXT_S / curves.step_s)))
    if P > 1:
        s2 = -np.sort(-fused, axis=1)[:, :2]
    else:
        s2 = np.concatenate([fused, np.zeros_like(fused)], axis=1)
    for i, c in enumerate(cands):
        a, b, j = c.a, c.b, c.j
        x = fused[a:b, j]
        other = np.where(top[a:b] == j, s2[a:b, 1], s2[a:b, 0])
        outside = np.concatenate([fused[max(0, a - ctx):a, j], fused[b:b + ctx, j]])
        ev = [float(curves.modalities[m][a:b, j].mean()) if m in curves.modalities else 0.0 for m in MODALITIES]
        X[i] = ([x.mean(), x.max(), 1.0 - bg[a:b].mean(), float((top[a:b] == j).mean()),
                 float((x - other).mean()), float((x - bg[a:b]).mean()),
                 x.mean() - (outside.mean() if len(outside) else 0.0),
                 np.log((b - a) * curves.step_s), np.log(max(P, 1))]
                + [1.0 if c.kind == k else 0.0 for k in KINDS] + ev)
    return X


def to_interval(curves: ScoreCurves, c: Candidate, score: float, options=None) -> Interval:
    """The candidate's span in seconds, moved by the localizer's boundary offsets
    (``LocalizerOptions.start_offset_s`` / ``end_offset_s``; none when ``options`` is None); an
    interval the offsets would make shorter than one step keeps one step about its centre."""
    step = curves.step_s
    start = float(curves.times[c.a]) - step / 2
    end = float(curves.times[c.b - 1]) + step / 2
    if options is not None:
        start, end = start + options.start_offset_s, end + options.end_offset_s
        if options.snap_s > 0 and len(curves.cuts):
            start = snap_edge(curves, c.j, start, options.snap_s, rising=True)
            end = snap_edge(curves, c.j, end, options.snap_s, rising=False)
        if end - start < step:
            mid = 0.5 * (start + end)
            start, end = mid - step / 2, mid + step / 2
    start = max(0.0, start)
    evidence = {m: float(curves.modalities[m][c.a:c.b, c.j].mean()) if m in curves.modalities else 0.0
                for m in MODALITIES}
    return Interval(curves.product_ids[c.j], start, end, float(score), evidence)


def snap_edge(curves: ScoreCurves, j: int, t: float, window_s: float, rising: bool) -> float:
    """The shot change (``curves.cuts``) within ``window_s`` of edge ``t`` across which product
    ``j``'s probability rises (a start) or drops (an end) most, over ``SNAP_CONTEXT_S`` each side;
    ``t`` itself when none changes it by ``SNAP_MIN_CONTRAST``. A cut inside an exhibition,
    where the product is there on both sides, has no contrast and does not attract the edge."""
    lo, hi = np.searchsorted(curves.cuts, [t - window_s, t + window_s], side="left")
    if lo >= hi:
        return t
    x, times = curves.fused[:, j], curves.times
    best, best_t = SNAP_MIN_CONTRAST, t
    for cut in curves.cuts[lo:hi]:
        a, m, b = np.searchsorted(times, [cut - SNAP_CONTEXT_S, cut, cut + SNAP_CONTEXT_S])
        if m <= a or b <= m:
            continue
        contrast = float(x[m:b].mean() - x[a:m].mean())
        contrast = contrast if rising else -contrast
        if contrast > best:
            best, best_t = contrast, float(cut)
    return best_t


def candidate_labels(curves: ScoreCurves, cands: list[Candidate], truth: list[Interval], theta: float = 0.5,
                     options=None) -> np.ndarray:
    """1 where a candidate, as it would be output (``to_interval`` with ``options``' offsets),
    overlaps a true interval of its product at tIoU >= theta."""
    y = np.zeros(len(cands), np.int8)
    by_p: dict[str, list[Interval]] = {}
    for t in truth:
        by_p.setdefault(t.product_id, []).append(t)
    for i, c in enumerate(cands):
        iv = to_interval(curves, c, 0.0, options)
        if any(iv.iou(t) >= theta for t in by_p.get(iv.product_id, [])):
            y[i] = 1
    return y


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass
class IntervalScorer:
    """Logistic regression over ``interval_features``, then Platt scaling (``calibrate``)."""

    C: float = 1.0
    threshold: float = 0.5
    names: list[str] = field(default_factory=lambda: list(FEATURE_NAMES))

    def fit(self, X: np.ndarray, y: np.ndarray) -> "IntervalScorer":
        from sklearn.linear_model import LogisticRegression

        self.mean_ = X.mean(axis=0)
        self.scale_ = np.maximum(X.std(axis=0), 1e-6)
        y = np.asarray(y).astype(int)
        if len(set(y.tolist())) < 2:  # one class only: a constant at its rate
            self.coef_ = np.zeros(X.shape[1])
            self.intercept_ = float(_logit(np.array([y.mean() if len(y) else 0.5]))[0])
        else:
            lr = LogisticRegression(C=self.C, max_iter=2000).fit((X - self.mean_) / self.scale_, y)
            self.coef_ = lr.coef_[0].astype(np.float64)
            self.intercept_ = float(lr.intercept_[0])
        self.platt_ = (1.0, 0.0)
        return self

    def raw_logit(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def calibrate(self, X: np.ndarray, y: np.ndarray) -> "IntervalScorer":
        """Platt scaling on held-out candidates (the validation split)."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y).astype(int)
        if len(set(y.tolist())) < 2:
            return self
        z = self.raw_logit(X)[:, None]
        lr = LogisticRegression(C=1e4, max_iter=1000).fit(z, y)
        self.platt_ = (float(lr.coef_[0, 0]), float(lr.intercept_[0]))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0)
        a, b = self.platt_
        return 1.0 / (1.0 + np.exp(-np.clip(a * self.raw_logit(X) + b, -30, 30)))

    def to_dict(self) -> dict:
        return {"C": self.C, "threshold": self.threshold, "names": self.names, "coef": self.coef_.tolist(),
                "intercept": self.intercept_, "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "platt": list(self.platt_)}

    @classmethod
    def from_dict(cls, d: dict) -> "IntervalScorer":
        s = cls(d.get("C", 1.0), float(d.get("threshold", 0.5)), list(d["names"]))
        if s.names != FEATURE_NAMES:
            raise ValueError("interval scorer was fitted on other features: retrain with `make train`")
        s.coef_ = np.asarray(d["coef"], np.float64)
        s.intercept_ = float(d["intercept"])
        s.mean_ = np.asarray(d["mean"], np.float64)
        s.scale_ = np.asarray(d["scale"], np.float64)
        s.platt_ = tuple(float(x) for x in d["platt"])
        return s


def boundary_offsets(curves_list: list[ScoreCurves], cands_list: list[list[Candidate]],
                     truths: list[list[Interval]], min_iou: float = 0.3) -> tuple[float, float]:
    """(start, end) offsets in seconds: minus the median signed start and end errors of the
    primary candidates that overlap a true interval of their product at tIoU >= ``min_iou``
    (each against its best such interval), rounded to 0.1 s; (0, 0) with fewer than 10."""
    ds, de = [], []
    for curves, cands, truth in zip(curves_list, cands_list, truths):
        for c in cands:
            if c.kind != "primary":
                continue
            iv = to_interval(curves, c, 0.0)
            mine = [t for t in truth if t.product_id == iv.product_id]
            best = max(mine, key=iv.iou, default=None)
            if best is not None and iv.iou(best) >= min_iou:
                ds.append(iv.start_s - best.start_s)
                de.append(iv.end_s - best.end_s)
    if len(ds) < 10:
        return 0.0, 0.0
    return round(-float(np.median(ds)), 1), round(-float(np.median(de)), 1)


__all__ = ["FEATURE_NAMES", "IntervalScorer", "boundary_offsets", "candidate_labels", "interval_features",
           "to_interval"]
