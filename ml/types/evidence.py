"""What a run found besides its scores, for the reviewer's panels: boxes, shots, tracklets,
transcript and screen text, with one JSON form (``Evidence.to_json`` / ``Evidence.from_json``).

JSON (each key is also one artefact file in the web app):

    {"boxes": [[t, x0, y0, x1, y1, track_id], ...],     # 0..1 of the frame, sorted by t
     "shots": [start_s, ...],
     "tracklets": [{"track_id", "start_s", "end_s", "category", "parent_category"}, ...],
     "transcript": [[start_s, end_s, text], ...],
     "screen_text": [[t, text], ...]}                     # only when screen text was read

Boxes are kept in frame units (0..1), not pixels: the decoder's size is a setting, and frame
units are what an overlay on the video needs. Memory: 28 bytes per box in numpy columns (a 4 h
stream at 1 fps with 4 boxes a frame: 1.6 MB), against about 1 KB as a list of dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .media import Proposals, Shots
from .text import TextEvents, Transcript, Word


@dataclass
class Boxes:
    """Tracked boxes for display: t (n,) seconds, xyxy (n,4) float32 in 0..1 of the frame,
    track_id (n,) int64 (-1: not tracked)."""

    t: np.ndarray
    xyxy: np.ndarray
    track_id: np.ndarray

    def __post_init__(self):
        self.t = np.asarray(self.t, dtype=np.float64).reshape(-1)
        n = len(self.t)
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(n, 4)
        self.track_id = np.asarray(self.track_id, dtype=np.int64).reshape(n)

    def __len__(self) -> int:
        return len(self.t)

    def __getitem__(self, mask) -> "Boxes":
        return Boxes(self.t[mask], self.xyxy[mask], self.track_id[mask])

    @classmethod
    def empty(cls) -> "Boxes":
        return cls(np.zeros(0), np.zeros((0, 4)), np.zeros(0))

    @classmethod
    def merge(cls, items: list["Boxes"]) -> "Boxes":
        items = [b for b in items if len(b)]
        if not items:
            return cls.empty()
        return cls(*(np.concatenate([getattr(b, k) for b in items]) for k in ("t", "xyxy", "track_id")))

    @classmethod
    def from_proposals(cls, proposals: Proposals, frame_wh: tuple[int, int]) -> "Boxes":
        """The located boxes of tracked proposals (whole-frame and centre boxes carry no
        location and are left out), pixels -> frame units of a ``frame_wh`` (w, h) frame."""
        keep = proposals[proposals.source != "frame"]
        w, h = frame_wh
        scale = np.float32([w, h, w, h]) if w and h else np.ones(4, np.float32)
        return cls(keep.t, keep.xyxy / scale, keep.tracker_id)

    def to_rows(self) -> list[list]:
        order = np.argsort(self.t, kind="stable")
        return [[round(float(self.t[i]), 3), *(round(float(v), 4) for v in self.xyxy[i]), int(self.track_id[i])]
                for i in order]

    @classmethod
    def from_rows(cls, rows: list) -> "Boxes":
        a = np.asarray(rows, dtype=np.float64).reshape(-1, 6) if len(rows) else np.zeros((0, 6))
        return cls(a[:, 0], a[:, 1:5], a[:, 5].astype(np.int64))


@dataclass(frozen=True)
class TrackletInfo:
    """What the reviewer sees of a tracklet: its span and predicted categories (no embeddings)."""

    track_id: int
    start_s: float
    end_s: float
    category: str = ""
    parent_category: str = ""

    def to_dict(self) -> dict:
        return {"track_id": int(self.track_id), "start_s": round(float(self.start_s), 3),
                "end_s": round(float(self.end_s), 3), "category": self.category,
                "parent_category": self.parent_category}

    @classmethod
    def from_dict(cls, d: dict) -> "TrackletInfo":
        return cls(int(d["track_id"]), float(d["start_s"]), float(d["end_s"]), str(d.get("category", "")),
                   str(d.get("parent_category", "")))


@dataclass
class Evidence:
    """boxes (``Boxes``), shots (``Shots``, empty when vision did not run), tracklets, the
    transcript, and screen text (None when it was not read)."""

    boxes: Boxes = field(default_factory=Boxes.empty)
    shots: Shots = field(default_factory=lambda: Shots(np.zeros(0)))
    tracklets: list[TrackletInfo] = field(default_factory=list)
    transcript: Transcript = field(default_factory=Transcript.empty)
    screen_text: TextEvents | None = None

    def to_json(self) -> dict:
        out = {"boxes": self.boxes.to_rows(),
               "shots": [round(float(s), 3) for s in self.shots.starts],
               "tracklets": [t.to_dict() for t in self.tracklets],
               "transcript": [[round(w.start, 2), round(w.end, 2), w.text] for w in self.transcript.words]}
        if self.screen_text is not None:
            out["screen_text"] = [[round(float(t), 2), s] for t, s in zip(self.screen_text.t, self.screen_text.text)]
        return out

    @classmethod
    def from_json(cls, d: dict) -> "Evidence":
        """The inverse of ``to_json`` (times and coordinates as rounded there). A value of any
        other shape is a ValueError naming the key."""
        try:
            screen = d.get("screen_text")
            return cls(
                Boxes.from_rows(d.get("boxes") or []),
                Shots(np.asarray(d.get("shots") or [], dtype=np.float64)),
                [TrackletInfo.from_dict(t) for t in d.get("tracklets") or []],
                Transcript([Word(float(s), float(e), str(text)) for s, e, text in d.get("transcript") or []]),
                None if screen is None else TextEvents(np.asarray([float(t) for t, _ in screen]),
                                                       [str(s) for _, s in screen], np.ones(len(screen)),
                                                       "screen_text"))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"evidence JSON has an unexpected shape ({e})") from None

    @classmethod
    def concatenate(cls, parts: list["Evidence"]) -> "Evidence":
        """Evidence of consecutive segments of one video, in order. Each segment numbers its
        tracks from 0, so a later part's track ids are shifted past the earlier parts' ids."""
        boxes, tracklets, offset = [], [], 0
        for p in parts:
            ids = [t.track_id for t in p.tracklets] + [int(i) for i in p.boxes.track_id if i >= 0]
            shifted = np.where(p.boxes.track_id >= 0, p.boxes.track_id + offset, -1)
            boxes.append(Boxes(p.boxes.t, p.boxes.xyxy, shifted))
            tracklets += [replace(t, track_id=t.track_id + offset) for t in p.tracklets]
            offset += max(ids, default=-1) + 1
        screens = [p.screen_text for p in parts if p.screen_text is not None]
        screen = None
        if screens:
            screen = TextEvents(np.concatenate([s.t for s in screens]), [x for s in screens for x in s.text],
                                np.concatenate([s.score for s in screens]), "screen_text")
        return cls(Boxes.merge(boxes), Shots(np.unique(np.concatenate([p.shots.starts for p in parts] or [np.zeros(0)]))),
                   tracklets, Transcript([w for p in parts for w in p.transcript.words]), screen)
