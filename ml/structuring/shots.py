"""Shot boundaries from colour-histogram differences between consecutive sampled frames.

Each frame becomes an HSV histogram (hue x saturation, plus a coarse value histogram so cuts
between equally coloured but differently lit scenes show). The Bhattacharyya distance to the
previous frame is a cut when it is large in absolute terms (``min_distance``) *and* large
relative to the recent typical distance (``ratio`` x the median of the last ``window``
distances): the relative test is the adaptive part, so a handheld, panning video whose every
step changes a lot does not cut at every frame, while a static video still cuts on a modest
change. At 1 fps a "gradual" transition spans one or two samples, which this sees as a cut.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from ..types import Frame, Shots


@dataclass
class ShotOptions:
    min_distance: float = 0.35  # Bhattacharyya distance in [0,1]; same scene re-framed ~0.1-0.25
    ratio: float = 2.5  # and at least this many times the recent median distance
    window: int = 8  # recent distances remembered for the adaptive test
    min_shot_s: float = 1.5  # no two cuts closer than this
    hard_distance: float = 0.6  # always a cut above this, whatever the recent median


def frame_histogram(image: np.ndarray) -> np.ndarray:
    """(H,W,3) RGB uint8 -> normalised float32 histogram (16 hue x 8 sat + 8 value bins)."""
    small = cv2.resize(image, (160, max(1, round(160 * image.shape[0] / image.shape[1]))),
                       interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hs = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256]).ravel()
    v = cv2.calcHist([hsv], [2], None, [8], [0, 256]).ravel()
    h = np.concatenate([hs / max(hs.sum(), 1), v / max(v.sum(), 1)]).astype(np.float32)
    return h / 2.0


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


class ShotDetector:
    """Streaming: ``update(frame)`` for frames in time order, then ``finish()`` -> Shots."""

    def __init__(self, options: ShotOptions | None = None):
        self.options = options or ShotOptions()
        self._prev: np.ndarray | None = None
        self._recent: deque[float] = deque(maxlen=self.options.window)
        self._starts: list[float] = []
        self.distances_: list[float] = []

    def update(self, frame: Frame) -> bool:
        """True when a new shot starts at ``frame``; the first frame starts the first shot."""
        hist = frame_histogram(frame.image)
        if self._prev is None:
            self._prev = hist
            self._starts.append(0.0)
            return True
        d = histogram_distance(self._prev, hist)
        self._prev = hist
        self.distances_.append(d)
        o = self.options
        typical = float(np.median(self._recent)) if self._recent else 0.0
        cut = d >= o.hard_distance or (d >= o.min_distance and d >= o.ratio * typical)
        if cut and frame.t - self._starts[-1] < o.min_shot_s:
            cut = False
        if cut:
            self._starts.append(float(frame.t))
            self._recent.clear()  # the new shot's own motion level is what counts from now on
        else:
            self._recent.append(d)
        return cut

    def finish(self) -> Shots:
        return Shots(np.asarray(self._starts or [0.0], dtype=np.float64))
