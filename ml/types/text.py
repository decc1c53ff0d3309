"""Timed text: ASR words and transcripts, and text events of any source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
