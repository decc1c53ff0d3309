"""Score curves -> candidate intervals, with "nothing" as a state of its own.

Fusion v2 gives, at every step, a distribution over the stream's products *and* "nothing from
the list" (``ScoreCurves.fused`` and ``ScoreCurves.background``, summing to 1). After a moving
average of ``smooth_s``, a Viterbi decode over the P+1 states finds the most likely sequence of
"what is shown": staying is free, entering a product costs ``switch_cost`` and entering
"nothing" ``background_cost`` (log-probability units), and ``background_bias`` is added to the
background's log-probability. Each maximal run of one product in that path is a **primary**
candidate. The other kinds give the interval scorer (``ml.calibration``) something to choose
from where the path can be wrong:

- **secondary**: a second product held up beside the primary one (its smoothed probability stays
  above ``secondary_threshold`` for ``secondary_min_s`` while another product owns the path);
- **alternate**: the ``alternates`` runner-up products over a primary run's span (a look-alike
  the path may have confused with the shown one);
- **extra**: runs of a second decode in which "nothing" is ``extra_bias`` less likely (weak
  exhibitions that the main path leaves to the background);
- **run**: plain runs of the smoothed probability above ``run_threshold`` (0: off);
- **identity**: runs of a decode of the identity alone (which product, were one shown; no
  "nothing" state, switching costs ``switch_cost``; steps where "nothing" is above
  ``IDENTITY_MAX_BACKGROUND`` break the runs), with ``identity_candidates``: an exhibition
  that the presence model doubts still gets a span with its best product, and the interval
  scorer weighs the doubt.

Candidates are not output as they are: ``ml.scoring.Scorer.decide`` scores each with the
calibrated interval scorer and keeps one product per span. The settings are chosen on the
validation split by ``python -m ml train``, not by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import ScoreCurves

IDENTITY_MAX_BACKGROUND = 0.9
KINDS = ("primary", "secondary", "alternate", "extra", "run", "identity")


@dataclass
class LocalizerOptions:
    switch_cost: float = 4.0
    background_cost: float = 2.0
    background_bias: float = 0.0
    smooth_s: float = 3.0  # moving-average window
    min_duration_s: float = 2.0
    secondary_threshold: float = 0.3
    secondary_min_s: float = 3.0
    alternates: int = 1
    extra_bias: float = 2.0  # 0: no extra decode
    run_threshold: float = 0.0  # 0: no threshold runs
    identity_candidates: bool = True
    # seconds added to each interval's start and end as it is output (``ml.calibration.to_interval``):
    # the smoothed curves start a little early and end late; ``python -m ml train`` sets these to
    # minus the median start and end errors of the training split's matched candidates
    start_offset_s: float = 0.0
    end_offset_s: float = 0.0
    # an output edge moves onto the shot change (``ScoreCurves.cuts``) within this many seconds
    # where the interval's product changes most across it (``ml.calibration.snap_edge``); 0: never.
    # Chosen by ``python -m ml train`` like the offsets, which apply first.
    snap_s: float = 0.0
    # an output interval this long or shorter whose product differs from better-scoring output
    # intervals that touch it on both sides (within ``ml.scoring.BRIDGE_GAP_S``) is dropped: it
    # is the smear of the change between two exhibitions (``ml.scoring.drop_bridges``); 0: never.
    # Chosen by ``python -m ml train`` like the snap window.
    bridge_max_s: float = 0.0


@dataclass
class Candidate:
    """A proposed interval before scoring: product column ``j`` over steps [a, b)."""

    j: int
    a: int
    b: int
    kind: str
    group: int = -1  # primary run this candidate competes with (alternates), else its own index


def smooth(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average along axis 0 (edges repeat), for (T,) or (T,P)."""
    if n <= 1 or len(x) < 2:
        return x
    two_d = x.ndim == 2
    x2 = x if two_d else x[:, None]
    pad = n // 2
    xp = np.pad(x2.astype(np.float64), ((pad, n - 1 - pad), (0, 0)), mode="edge")
    c = np.cumsum(np.concatenate([np.zeros((1, x2.shape[1])), xp]), axis=0)
    out = ((c[n:] - c[:-n]) / n).astype(np.float32)
    return out if two_d else out[:, 0]


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def viterbi(logp: np.ndarray, enter: np.ndarray) -> np.ndarray:
    """Most likely state path (T,) for emissions ``logp`` (T,S): moving from any state into
    state s costs ``enter[s]``, staying costs nothing."""
    T, S = logp.shape
    if T == 0:
        return np.zeros(0, np.int64)
    back = np.empty((T, S), np.int32)
    back[0] = np.arange(S)
    score = logp[0].astype(np.float64).copy()
    own = np.arange(S)
    for t in range(1, T):
        best = int(score.argmax())
        switch = score[best] - enter
        move = switch > score
        back[t] = np.where(move, best, own)
        score = np.where(move, switch, score) + logp[t]
    path = np.empty(T, np.int64)
    path[-1] = int(score.argmax())
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


class Localizer:
    def __init__(self, options: LocalizerOptions | None = None):
        self.options = options or LocalizerOptions()

    def smoothed(self, curves: ScoreCurves) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed fused (T,P) and background (T,) probabilities."""
        n = max(1, int(round(self.options.smooth_s / curves.step_s)))
        bg = curves.background if curves.background is not None else np.clip(1.0 - curves.fused.sum(axis=1), 0, 1)
        return smooth(curves.fused, n), smooth(np.asarray(bg, np.float32), n)

    def _path(self, fused: np.ndarray, bg: np.ndarray, bias: float) -> np.ndarray:
        o = self.options
        P = fused.shape[1]
        logp = np.log(np.concatenate([bg[:, None], fused], axis=1).astype(np.float64) + 1e-6)
        logp[:, 0] += bias
        enter = np.full(P + 1, o.switch_cost)
        enter[0] = o.background_cost
        return viterbi(logp, enter) - 1  # -1: nothing, else the product column

    def candidates(self, curves: ScoreCurves) -> list[Candidate]:
        o = self.options
        T, P = curves.fused.shape
        if T == 0 or P == 0:
            return []
        fused, bg = self.smoothed(curves)
        min_steps = max(1, int(np.ceil(o.min_duration_s / curves.step_s - 1e-9)))
        out: list[Candidate] = []
        seen: set[tuple[int, int, int]] = set()

        def add(j, a, b, kind, group=-1):
            if b - a < min_steps or (j, a, b) in seen:
                return
            seen.add((j, a, b))
            out.append(Candidate(int(j), int(a), int(b), kind, group if group >= 0 else len(out)))

        path = self._path(fused, bg, o.background_bias)
        for j in range(P):
            for a, b in runs(path == j):
                if b - a < min_steps:
                    continue
                g = len(out)
                add(j, a, b, "primary")
                if o.alternates > 0 and P > 1:
                    m = fused[a:b].mean(axis=0)
                    m[j] = -1.0
                    for k in np.argsort(-m)[:o.alternates]:
                        add(k, a, b, "alternate", g)
        if o.secondary_threshold < 1.0 and P > 1:
            sec_steps = max(min_steps, int(np.ceil(o.secondary_min_s / curves.step_s - 1e-9)))
            owned = path >= 0
            for j in range(P):
                mask = owned & (path != j) & (fused[:, j] >= o.secondary_threshold)
                for a, b in runs(mask):
                    if b - a >= sec_steps:
                        add(j, a, b, "secondary")
        if o.extra_bias > 0:
            path2 = self._path(fused, bg, o.background_bias - o.extra_bias)
            for j in range(P):
                mine = path == j
                for a, b in runs(path2 == j):
                    if not mine[a:b].any():
                        add(j, a, b, "extra")
        if o.identity_candidates and P > 1:
            q = fused / np.maximum(fused.sum(axis=1, keepdims=True), 1e-9)
            ipath = viterbi(np.log(q.astype(np.float64) + 1e-6), np.full(P, o.switch_cost))
            doubt = bg < IDENTITY_MAX_BACKGROUND  # near-certain idle time breaks the runs
            for j in range(P):
                for a, b in runs((ipath == j) & doubt):
                    add(j, a, b, "identity")
        if o.run_threshold > 0:
            for j in range(P):
                for a, b in runs(fused[:, j] >= o.run_threshold):
                    add(j, a, b, "run")
        return out


__all__ = ["KINDS", "Candidate", "Localizer", "LocalizerOptions", "runs", "smooth", "viterbi"]
