"""What scoring produces: score curves, intervals, and the result of a whole run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .evidence import Evidence

MODALITIES = ("visual", "speech", "screen_text", "comments")


@dataclass
class ScoreCurves:
    """Per time step and product, one score per modality in [0,1], and the fused score.

    times (T,) seconds at the centre of each step; step_s the step length; product_ids (P,);
    modalities maps name -> (T,P) float32; fused (T,P) float32; background (T,) float32, the
    probability that nothing from the list is shown (fusion v2: ``fused`` rows plus ``background``
    sum to 1), or None where the scorer has no such hypothesis; cuts (k,) the shot-change times
    of the features (``Features.cuts``), where the localizer may put an interval's edge.
    """

    times: np.ndarray
    step_s: float
    product_ids: list[str]
    modalities: dict[str, np.ndarray]
    fused: np.ndarray
    background: np.ndarray | None = None
    cuts: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self):
        self.times = np.asarray(self.times, dtype=np.float64)
        self.cuts = np.unique(np.asarray(self.cuts, dtype=np.float64).reshape(-1))
        shape = (len(self.times), len(self.product_ids))
        self.fused = np.asarray(self.fused, dtype=np.float32).reshape(shape)
        # a new dict: the caller's is not changed
        self.modalities = {k: np.asarray(v, dtype=np.float32).reshape(shape) for k, v in self.modalities.items()}
        if self.background is not None:
            self.background = np.asarray(self.background, dtype=np.float32).reshape(shape[0])


@dataclass
class Interval:
    product_id: str
    start_s: float
    end_s: float
    score: float
    evidence: dict[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def iou(self, other: "Interval") -> float:
        inter = max(0.0, min(self.end_s, other.end_s) - max(self.start_s, other.start_s))
        union = max(self.end_s, other.end_s) - min(self.start_s, other.start_s)
        return inter / union if union > 0 else 0.0

    def to_dict(self) -> dict:
        return {"product_id": self.product_id, "start_s": round(float(self.start_s), 3),
                "end_s": round(float(self.end_s), 3), "score": round(float(self.score), 4),
                "evidence": {k: round(float(self.evidence.get(k, 0.0)), 4) for k in MODALITIES}}

    @classmethod
    def from_dict(cls, d: dict) -> "Interval":
        return cls(str(d["product_id"]), float(d["start_s"]), float(d["end_s"]),
                   float(d.get("score", 1.0)), dict(d.get("evidence") or {}))


@dataclass
class LocalizationResult:
    """What ``python -m ml localize`` writes as result.json (the fixed contract).

    ``intervals`` are the default output (``score >= threshold``); ``candidates`` are proposals
    below the threshold a reviewer may still want to see. ``curves`` and ``evidence`` (boxes,
    shots, tracklets, transcript, screen text: what the reviewer's panels show) are not part of
    result.json; ``evidence.to_json()`` is their one serialised form.
    """

    video: str
    duration_s: float
    intervals: list[Interval]
    timings_s: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    curves: ScoreCurves | None = None
    evidence: "Evidence | None" = None
    threshold: float = 0.5  # contract 1's value when a result names none
    candidates: list[Interval] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"video": self.video, "duration_s": round(float(self.duration_s), 3),
                "intervals": [i.to_dict() for i in self.intervals],
                "threshold": round(float(self.threshold), 4),
                "candidates": [i.to_dict() for i in self.candidates],
                "timings_s": {k: round(float(v), 3) for k, v in self.timings_s.items()},
                "options": self.options}

    def dump(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=1)


def options_dict(obj) -> dict:
    """A stage's options dataclass as a JSON-able dict (stored on results)."""
    return asdict(obj)
