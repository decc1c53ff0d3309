"""What decoding and structuring produce: video facts, sampled frames, proposals, tracklets, shots."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


@dataclass
class Proposals:
    """Class-agnostic candidate regions of sampled frames (supervision's ``Detections``).

    xyxy (n,4) float32 pixels; confidence (n,) float32; frame_index (n,) int64; t (n,) float64
    seconds; source (n,) object: which proposer made it ("frame", "motion", "saliency",
    "person", "catalog", "track"); tracker_id (n,) int64, -1 when not tracked; embeddings
    (n,d) float32 L2-normalised appearance vectors, or None before the embedder has run.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    frame_index: np.ndarray
    t: np.ndarray
    source: np.ndarray
    tracker_id: np.ndarray | None = None
    embeddings: np.ndarray | None = None

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
        if self.embeddings is not None:
            self.embeddings = np.asarray(self.embeddings, dtype=np.float32)
            if self.embeddings.ndim != 2:
                raise ValueError(f"Proposals.embeddings must be (n,d), got {self.embeddings.shape}")
        for name in _PROPOSAL_COLUMNS[1:]:
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"Proposals.{name} has {len(value)} rows, xyxy has {n}")

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, mask) -> "Proposals":
        return Proposals(*(None if getattr(self, k) is None else getattr(self, k)[mask] for k in _PROPOSAL_COLUMNS))

    def with_embeddings(self, embeddings: np.ndarray) -> "Proposals":
        """A copy carrying ``embeddings`` (n,d), aligned with the rows."""
        return Proposals(*(getattr(self, k) for k in _PROPOSAL_COLUMNS[:-1]), embeddings)

    @classmethod
    def empty(cls) -> "Proposals":
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=object))

    @classmethod
    def merge(cls, items: list["Proposals"]) -> "Proposals":
        """Rows of every item in order; embeddings are kept when every non-empty item has them."""
        items = [p for p in items if len(p)]
        if not items:
            return cls.empty()
        with_emb = [p.embeddings is not None for p in items]
        if any(with_emb) and not all(with_emb):
            raise ValueError("Proposals.merge: some items have embeddings and some do not")
        cols = [np.concatenate([getattr(p, k) for p in items]) for k in _PROPOSAL_COLUMNS[:-1]]
        return cls(*cols, np.concatenate([p.embeddings for p in items]) if all(with_emb) else None)


_PROPOSAL_COLUMNS = ("xyxy", "confidence", "frame_index", "t", "source", "tracker_id", "embeddings")


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
