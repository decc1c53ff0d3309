"""Features -> score curves -> intervals: fusion and localization behind one object.

    scorer = Scorer.load(options)          # options: PipelineOptions (fusion, modalities, visual_mode)
    curves = scorer.curves(features)       # ScoreCurves: fused (T,P) and per-modality evidence
    result = scorer.decide(curves)         # Decision(intervals, candidates, threshold)

``pipeline.localize``, ``ml.streaming.follow`` and ``ml train`` all score through it, so the
three cannot drift apart. Today it wraps fusion v1 (``ml.fusion.FusionModel``, one logistic
regression per modality subset) and the hysteresis ``ml.localize.Localizer`` with the settings
chosen on the validation split. No operating point is calibrated yet: every interval the
localizer keeps is output (``threshold`` 0, no candidates).

Memory: fusion expands each base feature into three columns and works in float64, about 72
bytes per (step, product, base feature); ``curves`` therefore runs over blocks of
``block_steps`` steps (every step is scored on its own, so blocks give the same numbers) and
holds only the (T,P) outputs whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .fusion import FusionBundle, FusionModel, expand_features, select_features
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
    threshold: float = 0.0


class Scorer:
    """One fitted fusion model and its localizer settings for a modality subset.

    ``model=None`` (``fusion="none"``: feature-only runs) gives all-zero curves and no intervals.
    """

    def __init__(self, model: FusionModel | None, localizer: LocalizerOptions | None = None,
                 modalities=("visual", "speech", "comments"), visual_mode: str = "tracklet",
                 block_steps: int = 2048):
        self.model = model
        self.localizer = localizer or LocalizerOptions()
        self.modalities = tuple(modalities)
        self.visual_mode = visual_mode
        self.block_steps = max(1, int(block_steps))

    @classmethod
    def load(cls, options: "PipelineOptions") -> "Scorer":
        """The shipped model for ``options`` (``fusion``, ``modalities``, ``visual_mode``).
        Raises FileNotFoundError / ValueError when it is not trained: call this before the
        expensive stages."""
        if options.fusion == "none":
            return cls(None, None, options.modalities, options.visual_mode)
        return cls.from_bundle(FusionBundle.load(options.fusion), options.modalities, options.visual_mode)

    @classmethod
    def from_bundle(cls, bundle: FusionBundle, modalities, visual_mode: str = "tracklet") -> "Scorer":
        return cls(bundle.for_modalities(modalities, visual_mode), bundle.localizer_options(modalities, visual_mode),
                   modalities, visual_mode)

    @property
    def settle_s(self) -> float:
        """Seconds after an interval's end within which later evidence can still change it (the
        localizer's gap merging and smoothing): a follower may publish it once past that."""
        return self.localizer.max_gap_s + self.localizer.smooth_s

    def curves(self, features: Features) -> ScoreCurves:
        """(T,P) fused probability and per-modality evidence probabilities."""
        T, P = len(features.times), len(features.product_ids)
        if self.model is None:
            return ScoreCurves(features.times, features.step_s, features.product_ids, {},
                               np.zeros((T, P), np.float32))
        selected = select_features(features.arrays, self.modalities, self.visual_mode)
        fused = np.zeros((T, P), np.float32)
        evidence: dict[str, np.ndarray] = {}
        for a in range(0, max(T, 1), self.block_steps):
            b = min(T, a + self.block_steps)
            names, X = expand_features({k: v[a:b] for k, v in selected.items()})
            f, ev = self.model.predict(names, X)
            fused[a:b] = f
            for m, v in ev.items():
                evidence.setdefault(m, np.zeros((T, P), np.float32))[a:b] = v
        return ScoreCurves(features.times, features.step_s, features.product_ids, evidence, fused)

    def decide(self, curves: ScoreCurves) -> Decision:
        if self.model is None:
            return Decision([], [], 0.0)
        return Decision(Localizer(self.localizer).predict(curves), [], 0.0)


__all__ = ["Scorer", "Decision"]
