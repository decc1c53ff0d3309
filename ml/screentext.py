"""Text on screen (overlays, price cards, package labels) -> TextEvents, with few OCR calls.

    reader = ScreenTextReader(ScreenTextOptions())
    for frame in frames:              # ml.types.Frame, RGB, in time order
        reader.update(frame)
    events = reader.finish()          # TextEvents(source="screen_text"): t, text, score

OCR (RapidOCR, PP-OCR det + rec on ONNX Runtime) costs about 0.3-1 s per frame on 2 cores,
so it runs only on *keyframes*: a frame is OCR'd when more than ``change_threshold`` of the
pixels of its 64x36 grey thumbnail differ by more than ``pixel_delta`` (0..1) from the
thumbnail of the last OCR'd frame, and no sooner than ``min_interval_s`` after the previous OCR.
A fraction of changed pixels, not a mean difference: a new overlay title changes a small area
strongly (mean difference ~0.02, but ~10 % of the pixels), while sensor noise and compression
change everything slightly (no pixel past the delta). Camera motion changes everything
strongly; then ``min_interval_s`` bounds the cost. A changed frame that came
too early is kept as pending and OCR'd if the picture is still different when the interval is
over (or at ``finish``), so a short-lived overlay is not lost entirely.

Screen text usually stays up for a while; matching pools events over a short window, so every
``repeat_s`` seconds while the picture is unchanged the last OCR result is re-emitted at the
current time (no OCR). One event per OCR'd frame: the lines kept (score >= ``min_score``,
at least ``min_chars`` letters/digits) joined in reading order (top to bottom, left to right),
its score the mean line score. Joined lines keep a title split over two lines together
("TROPICANA" / "Apple Juice") for matching.

Trade-off of ``max_side``: frames are shrunk so the longer side is at most this before OCR;
960 reads 20-pixel-high overlay text on 720p video; smaller is faster but loses small text.
Give the reader full-resolution frames if you can: 640-px pipeline frames lose small print.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from .types import Frame, TextEvents

_OCR: dict[tuple, object] = {}
_LOCK = threading.Lock()


@dataclass
class ScreenTextOptions:
    max_side: int = 960  # frames larger than this are shrunk before OCR
    min_score: float = 0.6  # recognition confidence below which a line is dropped
    min_chars: int = 2  # lines with fewer letters/digits are dropped (noise, single glyphs)
    pixel_delta: float = 0.08  # a thumbnail pixel "changed" past this grey difference (0..1)
    change_threshold: float = 0.01  # fraction of changed thumbnail pixels that makes a keyframe
    min_interval_s: float = 2.0  # at most one OCR per this many seconds
    repeat_s: float = 1.0  # re-emit the last text this often while the picture is unchanged
    min_contrast: float = 2.0  # thumbnail grey std (0..255) below this: blank frame, no OCR
    threads: int = 2  # ONNX Runtime intra-op threads


def get_ocr(max_side: int = 960, threads: int = 2):
    """RapidOCR engine, created once per process and configuration (no angle classifier:
    upside-down text is rare on shopping videos and it costs a third of the time)."""
    key = (max_side, threads)
    with _LOCK:
        if key not in _OCR:
            from rapidocr import RapidOCR

            _OCR[key] = RapidOCR(params={
                "Global.use_cls": False, "Global.log_level": "error",
                "Global.max_side_len": max(max_side, 32), "Det.limit_type": "max",
                "Det.limit_side_len": max(max_side, 32),
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1})
        return _OCR[key]


def thumbnail(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB -> (36,64) float32 grey in [0,1]: the change-detection signature."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def read_text(image: np.ndarray, options: ScreenTextOptions | None = None) -> tuple[str, float, list[str]]:
    """OCR one RGB image -> (joined text, mean score, kept lines); ("", 0.0, []) if nothing."""
    o = options or ScreenTextOptions()
    h, w = image.shape[:2]
    scale = min(1.0, o.max_side / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    bgr = np.ascontiguousarray(image[:, :, ::-1])  # RapidOCR treats arrays as BGR
    res = get_ocr(o.max_side, o.threads)(bgr)
    txts = list(getattr(res, "txts", None) or [])
    if not txts:
        return "", 0.0, []
    scores = list(getattr(res, "scores", None) or [1.0] * len(txts))
    boxes = getattr(res, "boxes", None)
    lines = []
    for k, (txt, sc) in enumerate(zip(txts, scores)):
        txt = " ".join(str(txt).split())
        if float(sc) < o.min_score or sum(c.isalnum() for c in txt) < o.min_chars:
            continue
        if boxes is not None and len(boxes) > k:
            b = np.asarray(boxes[k], dtype=np.float32).reshape(-1, 2)
            key = (float(b[:, 1].mean()), float(b[:, 0].min()), float(b[:, 1].max() - b[:, 1].min()))
        else:
            key = (float(k), 0.0, 1.0)
        lines.append((key, txt, float(sc)))
    if not lines:
        return "", 0.0, []
    # reading order: rows (centres within half a line height) top to bottom, then left to right
    lines.sort(key=lambda x: x[0][0])
    rows: list[list] = []
    for ln in lines:
        if rows and abs(ln[0][0] - rows[-1][-1][0][0]) < 0.5 * max(ln[0][2], 1.0):
            rows[-1].append(ln)
        else:
            rows.append([ln])
    ordered = [ln for row in rows for ln in sorted(row, key=lambda x: x[0][1])]
    kept = [ln[1] for ln in ordered]
    return " ".join(kept), float(np.mean([ln[2] for ln in ordered])), kept


class ScreenTextReader:
    """Stateful: ``update(frame)`` for each sampled frame in time order, then ``finish()``.

    ``ocr_calls_`` counts OCR runs (for cost reports and tests). Frames must come in time
    order; ``finish()`` is called once. Memory: one pending frame and the emitted events.
    """

    def __init__(self, options: ScreenTextOptions | None = None):
        self.options = options or ScreenTextOptions()
        self._t: list[float] = []
        self._text: list[str] = []
        self._score: list[float] = []
        self._last_sig: np.ndarray | None = None  # thumbnail of the last OCR'd frame
        self._last_ocr_t = -np.inf
        self._last_emit_t = -np.inf
        self._last_result: tuple[str, float] = ("", 0.0)
        self._pending: Frame | None = None
        self.ocr_calls_ = 0

    def _emit(self, t: float, text: str, score: float) -> None:
        if text:
            self._t.append(float(t))
            self._text.append(text)
            self._score.append(score)
        self._last_emit_t = float(t)

    def _ocr(self, frame: Frame, sig: np.ndarray) -> None:
        o = self.options
        self._last_sig, self._last_ocr_t, self._pending = sig, frame.t, None
        if float(sig.std() * 255.0) < o.min_contrast:
            self._last_result = ("", 0.0)
        else:
            text, score, _ = read_text(frame.image, o)
            self.ocr_calls_ += 1
            self._last_result = (text, score)
        self._emit(frame.t, *self._last_result)

    def _changed(self, sig: np.ndarray) -> bool:
        if self._last_sig is None:
            return True
        changed = np.abs(sig - self._last_sig) > self.options.pixel_delta
        return float(changed.mean()) > self.options.change_threshold

    def update(self, frame: Frame) -> None:
        o = self.options
        sig = thumbnail(frame.image)
        due = frame.t - self._last_ocr_t >= o.min_interval_s
        if self._changed(sig):
            if due:
                self._ocr(frame, sig)
                return
            self._pending = frame  # the latest changed frame waits for the rate limit
        elif self._pending is not None and due:
            # the picture changed briefly and came back: read the short-lived frame once, late,
            # without making it the reference the following frames are compared to
            keep = (self._last_sig, self._last_result)
            self._ocr(self._pending, thumbnail(self._pending.image))
            self._last_sig, self._last_result = keep
        if frame.t - self._last_emit_t >= o.repeat_s:
            # while a change waits for the rate limit this repeats the old text for < min_interval_s
            self._emit(frame.t, *self._last_result)

    def finish(self) -> TextEvents:
        if self._pending is not None:
            p = self._pending
            self._ocr(p, thumbnail(p.image))
        order = np.argsort(self._t, kind="stable")
        ev = TextEvents(np.asarray(self._t, dtype=np.float64)[order], [self._text[i] for i in order],
                        np.asarray(self._score, dtype=np.float32)[order], "screen_text")
        return ev
