"""Score curves -> intervals.

Per product the fused probability curve is smoothed, products compete at each time step (a
product stays a candidate only while its score is within ``compete_ratio`` of the best product
at that time, so two items shown together can both be kept while a weak runner-up is not),
then hysteresis opens an interval above ``high`` and keeps it while above ``low``; short gaps are
merged and too-short intervals dropped. An interval's score is the mean fused probability inside
it times a duration prior; its evidence is the mean per-modality probability inside it.

The thresholds are chosen on the validation split (``Localizer.fit``), not by hand.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

from .types import MODALITIES, Interval, ScoreCurves


@dataclass
class LocalizerOptions:
    smooth_s: float = 3.0  # moving-average window
    high: float = 0.6
    low: float = 0.4
    compete_ratio: float = 0.6
    min_duration_s: float = 2.0
    max_gap_s: float = 3.0
    max_per_time: int = 2  # at most this many products active at one time step


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or len(x) < 2:
        return x
    kernel = np.ones(n, dtype=np.float32) / n
    pad = n // 2
    xp = np.pad(x, ((pad, n - 1 - pad), (0, 0)), mode="edge")
    return np.stack([np.convolve(xp[:, j], kernel, mode="valid") for j in range(x.shape[1])], axis=1)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


class Localizer:
    def __init__(self, options: LocalizerOptions | None = None):
        self.options = options or LocalizerOptions()

    def predict(self, curves: ScoreCurves) -> list[Interval]:
        o = self.options
        T, P = curves.fused.shape
        if T == 0 or P == 0:
            return []
        step = curves.step_s
        s = _smooth(curves.fused, max(1, int(round(o.smooth_s / step))))
        best = s.max(axis=1, keepdims=True)
        ok = s >= o.compete_ratio * best
        if o.max_per_time and P > o.max_per_time:
            kth = -np.sort(-s, axis=1)[:, o.max_per_time - 1:o.max_per_time]
            ok &= s >= kth
        out: list[Interval] = []
        gap = int(round(o.max_gap_s / step))
        for j in range(P):
            high = ok[:, j] & (s[:, j] >= o.high)
            low = ok[:, j] & (s[:, j] >= o.low)
            runs = [(a, b) for a, b in _runs(low) if high[a:b].any()]
            merged: list[list[int]] = []
            for a, b in runs:
                if merged and a - merged[-1][1] <= gap:
                    merged[-1][1] = b
                else:
                    merged.append([a, b])
            for a, b in merged:
                start = max(0.0, curves.times[a] - step / 2)
                end = curves.times[b - 1] + step / 2
                if end - start < o.min_duration_s:
                    continue
                score = float(curves.fused[a:b, j].mean())
                evidence = {m: float(curves.modalities[m][a:b, j].mean()) if m in curves.modalities else 0.0
                            for m in MODALITIES}
                out.append(Interval(curves.product_ids[j], float(start), float(end), score, evidence))
        out.sort(key=lambda i: (i.start_s, -i.score))
        return out

    def fit(self, episodes: list[tuple[ScoreCurves, list[Interval]]], metric) -> "Localizer":
        """Grid-search thresholds maximising ``metric(pred_by_episode, truth_by_episode)``."""
        grid = {"high": [0.5, 0.6, 0.7, 0.8], "low": [0.3, 0.4, 0.5], "compete_ratio": [0.5, 0.7, 0.85],
                "smooth_s": [1.0, 3.0, 5.0], "max_gap_s": [2.0, 4.0]}
        best, best_opts = -1.0, self.options
        for values in itertools.product(*grid.values()):
            kw = dict(zip(grid, values))
            if kw["low"] > kw["high"]:
                continue
            opts = LocalizerOptions(**{**asdict(self.options), **kw})
            preds = [Localizer(opts).predict(c) for c, _ in episodes]
            value = metric(preds, [t for _, t in episodes])
            if value > best:
                best, best_opts = value, opts
        self.options = best_opts
        self.best_score_ = best
        return self
