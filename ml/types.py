"""The data that flows between stages: one dataclass per stage output.

Columns are aligned numpy arrays (as ``supervision.Detections``); every type validates its
shapes in ``__post_init__``, can be sliced with a boolean mask where that makes sense, and has
``empty()``. Stages never mutate an input object; they return new ones.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

MODALITIES = ("visual", "speech", "screen_text", "comments")


# --------------------------------------------------------------------------- decoding
@dataclass(frozen=True)
class VideoInfo:
    """What ``ml.decode.probe`` learns about a file before decoding it."""

    path: str
    duration_s: float
    fps: float
    width: int  # after applying rotation metadata
    height: int
    rotation: int = 0  # degrees, as stored in the container's display matrix
    has_audio: bool = False
    codec: str = ""
    size_bytes: int = 0


@dataclass
class Frame:
    """One sampled frame. ``image`` is HxWx3 uint8 RGB, already rotated upright."""

    index: int  # position in the sampled sequence (0, 1, 2, ...)
    t: float  # presentation time in seconds
    image: np.ndarray

    def __post_init__(self):
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"Frame.image must be HxWx3 uint8, got {self.image.shape} {self.image.dtype}")


# --------------------------------------------------------------------------- structuring
@dataclass
class Proposals:
    """Class-agnostic candidate regions.

    xyxy (n,4) float32 pixels; confidence (n,) float32; frame_index (n,) int64; t (n,) float64
    seconds; source (n,) object: which proposer made it ("frame", "motion", "saliency",
    "person", "catalog", "track"); tracker_id (n,) int64, -1 when not tracked.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    frame_index: np.ndarray
    t: np.ndarray
    source: np.ndarray
    tracker_id: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.xyxy)
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(n, 4)
        self.confidence = np.asarray(self.confidence, dtype=np.float32)
        self.frame_index = np.asarray(self.frame_index, dtype=np.int64)
        self.t = np.asarray(self.t, dtype=np.float64)
        self.source = np.asarray(self.source, dtype=object)
        if self.tracker_id is None:
            self.tracker_id = np.full(n, -1, dtype=np.int64)
        self.tracker_id = np.asarray(self.tracker_id, dtype=np.int64)
        for name in ("confidence", "frame_index", "t", "source", "tracker_id"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Proposals.{name} has {len(getattr(self, name))} rows, xyxy has {n}")

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, mask) -> "Proposals":
        return Proposals(self.xyxy[mask], self.confidence[mask], self.frame_index[mask], self.t[mask],
                         self.source[mask], self.tracker_id[mask])

    @classmethod
    def empty(cls) -> "Proposals":
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=object))

    @classmethod
    def merge(cls, items: list["Proposals"]) -> "Proposals":
        items = [p for p in items if len(p)]
        if not items:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, k) for p in items])
                     for k in ("xyxy", "confidence", "frame_index", "t", "source", "tracker_id")))


@dataclass
class Tracklet:
    """A region followed over time: boxes, times and one embedding per kept crop.

    t (m,) seconds, xyxy (m,4), embeddings (m,d) float32 L2-normalised (may be (0,d) when
    embedding was skipped), category/parent_category predicted from the catalog's categories.
    """

    track_id: int
    t: np.ndarray
    xyxy: np.ndarray
    embeddings: np.ndarray
    confidence: float = 1.0
    category: str = ""
    parent_category: str = ""

    def __post_init__(self):
        self.t = np.asarray(self.t, dtype=np.float64)
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(len(self.t), 4)
        self.embeddings = np.asarray(self.embeddings, dtype=np.float32)

    @property
    def start_s(self) -> float:
        return float(self.t[0]) if len(self.t) else 0.0

    @property
    def end_s(self) -> float:
        return float(self.t[-1]) if len(self.t) else 0.0

    def feature(self) -> np.ndarray:
        """Mean of the crop embeddings, re-normalised: the Vis.Trk feature."""
        if not len(self.embeddings):
            raise ValueError(f"tracklet {self.track_id} has no embeddings")
        v = self.embeddings.mean(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)


@dataclass
class Shots:
    """Shot boundaries: start times (k,) of each shot, the first being 0."""

    starts: np.ndarray

    def shot_of(self, t: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, np.asarray(t), side="right") - 1


# --------------------------------------------------------------------------- text sources
@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass
class Transcript:
    """ASR output as timed words; ``language`` and ``options`` record how it was made."""

    words: list[Word] = field(default_factory=list)
    language: str = "en"
    duration_s: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> "Transcript":
        return cls()

    @classmethod
    def from_faster_whisper(cls, segments, info=None, options: dict | None = None) -> "Transcript":
        words = []
        for seg in segments:
            for w in (seg.words or []):
                text = w.word.strip()
                if text:
                    words.append(Word(float(w.start), float(w.end), text, float(w.probability)))
        return cls(words, getattr(info, "language", "en") or "en",
                   float(getattr(info, "duration", 0.0) or 0.0), dict(options or {}))

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def between(self, start: float, end: float) -> list[Word]:
        return [w for w in self.words if w.end >= start and w.start <= end]


@dataclass
class TextEvents:
    """Timed snippets of text from one source (screen text, comments, speech windows).

    t (n,) seconds, text list of n strings, score (n,) source confidence, source name.
    """

    t: np.ndarray
    text: list[str]
    score: np.ndarray
    source: str = ""

    def __post_init__(self):
        self.t = np.asarray(self.t, dtype=np.float64)
        self.score = np.asarray(self.score, dtype=np.float32)
        if not (len(self.t) == len(self.text) == len(self.score)):
            raise ValueError("TextEvents columns have different lengths")

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def empty(cls, source: str = "") -> "TextEvents":
        return cls(np.zeros(0), [], np.zeros(0), source)


# --------------------------------------------------------------------------- catalog
@dataclass(frozen=True)
class Product:
    product_id: str
    title: str
    category: str
    images: tuple[str, ...]  # absolute paths
    description: str = ""
    parent_category: str = ""

    @property
    def text(self) -> str:
        """What the text encoder sees of this product."""
        return f"{self.title}. {self.description}".strip(". ").strip() if self.description else self.title


@dataclass
class Catalog:
    products: list[Product]
    root: str = ""

    def __len__(self) -> int:
        return len(self.products)

    @property
    def ids(self) -> list[str]:
        return [p.product_id for p in self.products]

    def index_of(self, product_id: str) -> int:
        return self.ids.index(product_id)

    def categories(self) -> dict[str, str]:
        """category -> parent_category (may be "")."""
        return {p.category: p.parent_category for p in self.products}


# --------------------------------------------------------------------------- scoring
@dataclass
class ScoreCurves:
    """Per time step and product, one score per modality in [0,1], and the fused score.

    times (T,) seconds at the centre of each step; step_s the step length; product_ids (P,);
    modalities maps name -> (T,P) float32; fused (T,P) float32.
    """

    times: np.ndarray
    step_s: float
    product_ids: list[str]
    modalities: dict[str, np.ndarray]
    fused: np.ndarray

    def __post_init__(self):
        self.times = np.asarray(self.times, dtype=np.float64)
        shape = (len(self.times), len(self.product_ids))
        self.fused = np.asarray(self.fused, dtype=np.float32).reshape(shape)
        for k, v in list(self.modalities.items()):
            self.modalities[k] = np.asarray(v, dtype=np.float32).reshape(shape)

    def window(self, start_s: float, end_s: float) -> np.ndarray:
        """Boolean mask (T,) of steps whose centre lies in [start_s, end_s]."""
        return (self.times >= start_s) & (self.times <= end_s)


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
    """What ``python -m ml localize`` writes as result.json (the fixed contract)."""

    video: str
    duration_s: float
    intervals: list[Interval]
    timings_s: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    curves: ScoreCurves | None = None  # not serialised into result.json
    extras: dict[str, Any] = field(default_factory=dict)  # transcript, tracklets... for the UI

    def to_json(self) -> dict:
        return {"video": self.video, "duration_s": round(float(self.duration_s), 3),
                "intervals": [i.to_dict() for i in self.intervals],
                "timings_s": {k: round(float(v), 3) for k, v in self.timings_s.items()},
                "options": self.options}

    def dump(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=1)


def options_dict(obj) -> dict:
    """A stage's options dataclass as a JSON-able dict (stored on results)."""
    return asdict(obj)
