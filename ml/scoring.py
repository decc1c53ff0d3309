"""Features -> score curves -> intervals: fusion, localization and calibration behind one object.

    scorer = Scorer.load(options)          # options: PipelineOptions (fusion, modalities, visual_mode)
    curves = scorer.curves(features)       # ScoreCurves: fused (T,P), background (T,), per-modality evidence
    result = scorer.decide(curves)         # Decision(intervals, candidates, threshold)

``pipeline.localize``, ``ml.streaming.follow``, ``ml.segments`` and ``ml train`` all score
through it, so they cannot drift apart. Fusion v2 (``ml.fusion``: presence x identity) gives
each step a distribution over the products and "nothing"; the localizer (``ml.localize``)
proposes candidates from it; the interval scorer (``ml.calibration``) gives each a calibrated
probability of matching a true exhibition. ``decide`` then keeps one product per proposed span
(a primary run or its runner-up, whichever scores higher), never outputs two overlapping
intervals of one product, drops a short interval squeezed between two better ones of other
products (``drop_bridges``), and outputs those scoring at least ``threshold`` (0.5: more likely
right than wrong); the rest are ``candidates`` a reviewer may still look at.

Memory: fusion expands each base feature into three columns and works in float64, about 72
bytes per (step, product, base feature); ``curves`` therefore runs over blocks of
``block_steps`` steps (every step is scored on its own, so blocks give the same numbers) and
holds only the (T,P) outputs whole.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .calibration import CONTEXT_S, IntervalScorer, interval_features, to_interval
from .fusion import FusionBundle, FusionModel, column_means, expand_features, select_features
from .localize import Localizer, LocalizerOptions
from .types import Features, Interval, ScoreCurves

if TYPE_CHECKING:
    from .pipeline import PipelineOptions


@dataclass
class Decision:
    """What is output: ``intervals`` (score >= ``threshold``, the default output) and
    ``candidates`` (below it, for a reviewer who wants to look further)."""

    intervals: list[Interval]
    candidates: list[Interval] = field(default_factory=list)
    threshold: float = 0.5


MAX_SHARED = 0.5  # share of a candidate's steps that better candidates of other products may hold
BRIDGE_GAP_S = 1.0  # how near a better interval must end (start) to a bridge's start (end)


def drop_bridges(intervals: list[Interval], max_s: float, threshold: float, gap_s: float = BRIDGE_GAP_S) -> list[Interval]:
    """``intervals`` without the **bridges**: an interval at most ``max_s`` long with, on each
    side, an interval of another product that scores higher, at least ``threshold`` (it is
    output), starts (ends) beyond it and ends (starts) within ``gap_s`` of its edge or inside
    its first (last) half. Between two exhibitions the smoothed curves and a tracklet window
    blur both products over the cut, and a third product can win those few seconds; such an
    interval is nearly always wrong (validation: 6 of 6), while a short exhibition of its own
    has idle time or no stronger neighbour on at least one side. ``max_s`` 0: none dropped."""
    if max_s <= 0:
        return list(intervals)
    shown = [o for o in intervals if o.score >= threshold]  # the neighbours that count: output ones
    by_end = sorted(shown, key=lambda o: o.end_s)
    by_start = sorted(shown, key=lambda o: o.start_s)
    ends, starts = [o.end_s for o in by_end], [o.start_s for o in by_start]

    def beaten(iv, o) -> bool:
        return o.product_id != iv.product_id and o.score > iv.score

    out = []
    for iv in intervals:
        dur = iv.end_s - iv.start_s
        if dur <= max_s:  # the few output intervals whose end (start) falls near its start (end)
            lo, hi = bisect_left(ends, iv.start_s - gap_s), bisect_right(ends, iv.start_s + dur / 2)
            if any(beaten(iv, o) and o.start_s < iv.start_s for o in by_end[lo:hi]):
                lo, hi = bisect_left(starts, iv.end_s - dur / 2), bisect_right(starts, iv.end_s + gap_s)
                if any(beaten(iv, o) and o.end_s > iv.end_s for o in by_start[lo:hi]):
                    continue  # a better neighbour on each side: a bridge
        out.append(iv)
    return out


def _covered(c, spans: list[tuple[int, int]]) -> float:
    """Share of candidate ``c``'s steps covered by ``spans``."""
    if not spans:
        return 0.0
    mask = np.zeros(c.b - c.a, bool)
    for a, b in spans:
        lo, hi = max(a, c.a), min(b, c.b)
        if hi > lo:
            mask[lo - c.a:hi - c.a] = True
    return float(mask.mean())


class Scorer:
    """One fitted fusion model, its localizer settings and interval scorer for a modality subset.

    ``model=None`` (``fusion="none"``: feature-only runs) gives all-zero curves and no intervals.
    """

    def __init__(self, model: FusionModel | None, localizer: LocalizerOptions | None = None,
                 modalities=("visual", "speech", "comments"), visual_mode: str = "tracklet",
                 intervals: IntervalScorer | None = None, block_steps: int = 2048):
        self.model = model
        self.localizer = localizer or LocalizerOptions()
        self.modalities = tuple(modalities)
        self.visual_mode = visual_mode
        self.intervals = intervals
        self.block_steps = max(1, int(block_steps))

    @classmethod
    def load(cls, options: "PipelineOptions", memory=None) -> "Scorer":
        """The shipped model for ``options`` (``fusion``, ``modalities``, ``visual_mode``), with
        the shop's refitted interval scorer when ``memory`` (``ml.adapt.ShopMemory``) has one.
        Raises FileNotFoundError / ValueError when it is not trained: call this before the
        expensive stages."""
        if options.fusion == "none":
            return cls(None, None, options.modalities, options.visual_mode)
        scorer = cls.from_bundle(FusionBundle.load(options.fusion), options.modalities, options.visual_mode)
        return scorer if memory is None else memory.apply(scorer)

    @classmethod
    def from_bundle(cls, bundle: FusionBundle, modalities, visual_mode: str = "tracklet") -> "Scorer":
        return cls(bundle.for_modalities(modalities, visual_mode), bundle.localizer_options(modalities, visual_mode),
                   modalities, visual_mode, bundle.interval_scorer(modalities, visual_mode))

    def with_intervals(self, intervals: IntervalScorer) -> "Scorer":
        """The same fusion and localizer with another interval scorer (a shop's refit)."""
        return Scorer(self.model, self.localizer, self.modalities, self.visual_mode, intervals, self.block_steps)

    @property
    def threshold(self) -> float:
        return self.intervals.threshold if self.intervals is not None else 0.5

    @property
    def settle_s(self) -> float:
        """Seconds after an interval's end within which later evidence can still change it
        (smoothing, the secondary run length, the scorer's edge context, and a margin for the
        path's switching costs): a follower may publish it once past that."""
        o = self.localizer
        return o.smooth_s + o.secondary_min_s + CONTEXT_S + 10.0

    def curves(self, features: Features) -> ScoreCurves:
        """(T,P) fused probability, (T,) background and per-modality evidence probabilities."""
        T, P = len(features.times), len(features.product_ids)
        if self.model is None:
            return ScoreCurves(features.times, features.step_s, features.product_ids, {},
                               np.zeros((T, P), np.float32), np.ones(T, np.float32), features.cuts)
        selected = select_features(features.arrays, self.modalities, self.visual_mode)
        col_mean = column_means(selected)  # over the whole run, so blocks see the same levels
        q = np.zeros((T, P), np.float32)
        per: dict[str, np.ndarray] = {}
        for a in range(0, max(T, 1), self.block_steps):
            b = min(T, a + self.block_steps)
            if b <= a:
                break
            names, X = expand_features({k: v[a:b] for k, v in selected.items()}, col_mean)
            qa, pa = self.model.identity(names, X)
            q[a:b] = qa
            for m, v in pa.items():
                per.setdefault(m, np.zeros((T, P), np.float32))[a:b] = v
        presence = self.model.presence(selected, q).astype(np.float32)
        fused = presence[:, None] * q
        background = 1.0 - presence
        evidence = {m: presence[:, None] * v for m, v in per.items()}
        return ScoreCurves(features.times, features.step_s, features.product_ids, evidence, fused, background,
                           features.cuts)

    def scored_candidates(self, curves: ScoreCurves):
        """The localizer's candidates with their calibrated scores (training reads these)."""
        cands = Localizer(self.localizer).candidates(curves)
        if not cands or self.intervals is None:
            return cands, np.zeros(len(cands))
        return cands, self.intervals.predict(interval_features(curves, cands))

    def decide(self, curves: ScoreCurves) -> Decision:
        if self.model is None or self.intervals is None:
            return Decision([], [], self.threshold)
        cands, scores = self.scored_candidates(curves)
        # one product per span: a primary run and its runner-ups compete, the best scoring stays
        best_of_group: dict[int, int] = {}
        for i, c in enumerate(cands):
            g = best_of_group.get(c.group)
            if g is None or scores[i] > scores[g]:
                best_of_group[c.group] = i
        keep = sorted(set(best_of_group.values()), key=lambda i: -scores[i])
        # one interval per product and time: overlapping candidates of a product keep the best
        taken: dict[int, list[tuple[int, int]]] = {}
        shown: list[tuple[int, int]] = []
        chosen = []
        for i in keep:
            c = cands[i]
            if any(c.a < b and a < c.b for a, b in taken.get(c.j, [])):
                continue
            # at any instant no more products than the evidence supports: a candidate mostly under
            # a better one of another product is dropped, unless it is a product held up beside it
            if c.kind != "secondary" and _covered(c, shown) > MAX_SHARED:
                continue
            taken.setdefault(c.j, []).append((c.a, c.b))
            shown.append((c.a, c.b))
            chosen.append(to_interval(curves, c, float(scores[i]), self.localizer))
        chosen.sort(key=lambda iv: (iv.start_s, -iv.score))
        thr = self.threshold
        chosen = drop_bridges(chosen, self.localizer.bridge_max_s, thr)
        return Decision([iv for iv in chosen if iv.score >= thr], [iv for iv in chosen if iv.score < thr], thr)


__all__ = ["Scorer", "Decision", "drop_bridges"]
