"""Tracking proposals over sampled frames into tracklets (Video2Shop's trajectories).

Per frame, every live track is first carried forward by its OpenCV KCF tracker (run on a
half-size copy of the frame: KCF cost grows with the box area and 0.5x is 4x
cheaper with little loss at 640 px), then matched to this frame's proposals greedily by

    score = iou_weight * IoU(carried box, proposal) + (1 - iou_weight) * cosine(track, proposal)

where ``cosine`` compares the proposal's embedding with the track's running mean embedding.
A pair is only allowed when IoU >= ``min_iou`` or the cosine alone is >= ``appearance_link``
(so a product that jumps across the picture, or comes back after being hidden, keeps its
track), and never when the cosine is below ``min_cosine`` (the whole-frame box stays put but its
content changes: a different product in the same place is a new track).
Unmatched proposals start tracks; a track unmatched but still followed by KCF is reported as
an extra ``source="track"`` box for up to ``max_carry`` frames (embedded through the
``embed`` callable when one is given); otherwise it waits ``max_missing`` frames, then ends.

``update(..., new_shot=True)`` ends every track (a cut breaks spatial continuity). Ended tracks
are re-linked, across cuts too, when their mean embeddings agree (cosine >= ``relink_cosine``)
and they are at most ``relink_gap_s`` apart - the re-entry case: greedily, in start order, each
track continuing the best-matching earlier one. That happens as the stream goes (a track is
re-linked once every track that started before it has ended), and a tracklet no later track can
continue is final: ``pop_final()`` hands those over during the stream, ``finish()`` the rest.
So a caller that scores tracklets as they become final holds seconds of crop embeddings, not
hours of them (a 240-minute stream keeps about 50 000 tracked crops, 250 MB as float32).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from ..types import Frame, Proposals, Tracklet
from .proposals import box_iou

Embed = Callable[[list[np.ndarray]], np.ndarray]


@dataclass
class TrackerOptions:
    use_kcf: bool = True
    kcf_scale: float = 0.5
    kcf_patch: int = 48
    iou_weight: float = 0.5
    min_iou: float = 0.3
    # Measured on 24 GroceryStore in-store photos, GeM EfficientNet-Lite0: two jittered crops
    # of one photo have cosine >= 0.90 (median 0.95); crops of different products <= 0.81
    # (median 0.65, p99 0.78). The gates sit between the two.
    min_cosine: float = 0.8
    appearance_link: float = 0.88
    max_missing: int = 2  # frames a track may go unmatched before it ends
    max_carry: int = 0  # of those, frames its KCF box is reported as a "track" proposal
    # (0: KCF only predicts where a track moved, for association; each carried box costs a
    # lone network pass, ~25 ms, which the 10x real-time budget does not have)
    relink_cosine: float = 0.88
    relink_gap_s: float = 10.0
    min_length: int = 1  # tracklets shorter than this many boxes are dropped at finish
    kcf_sources: tuple[str, ...] = ("motion", "saliency", "person", "catalog", "track")


@dataclass
class _Track:
    id: int
    source: str
    t: list = field(default_factory=list)
    xyxy: list = field(default_factory=list)
    emb: list = field(default_factory=list)
    conf: list = field(default_factory=list)
    kcf: object = None
    missing: int = 0
    sum_emb: np.ndarray | None = None

    def add(self, t, box, emb, conf):
        self.t.append(float(t))
        self.xyxy.append(np.asarray(box, dtype=np.float32))
        self.conf.append(float(conf))
        if emb is not None:
            # a copy: a row view would keep the whole embedding batch alive (float16 halved this
            # too, but cost 0.8 / 1.6 points of R@1 / mAP@0.5 on the short test episodes (86.0 / 78.1
            # against 86.8 / 79.7) for a few MB: a 10-minute stream keeps about 2100 tracked crops)
            self.emb.append(np.array(emb, dtype=np.float32))
            self.sum_emb = np.array(emb, dtype=np.float32) if self.sum_emb is None else self.sum_emb + emb
        self.missing = 0

    def mean_emb(self):
        if self.sum_emb is None:
            return None
        return self.sum_emb / max(float(np.linalg.norm(self.sum_emb)), 1e-12)


def crop_box(image: np.ndarray, box) -> np.ndarray:
    h, w = image.shape[:2]
    x0, y0 = int(max(0, min(w - 1, box[0]))), int(max(0, min(h - 1, box[1])))
    x1, y1 = int(max(x0 + 1, min(w, round(box[2])))), int(max(y0 + 1, min(h, round(box[3]))))
    return image[y0:y1, x0:x1]


class Tracker:
    """Streaming tracker: ``update`` per sampled frame in time order, ``finish`` -> tracklets."""

    def __init__(self, options: TrackerOptions | None = None, embed: Embed | None = None):
        self.options = options or TrackerOptions()
        self.embed = embed
        self._live: list[_Track] = []
        self._done: list[_Track] = []  # ended, not yet re-linked
        # re-linked tracks that a later one may still continue: one that ended more than
        # relink_gap_s before the start of every track still to come is final
        self._recent: list[_Track] = []
        self._final: list[Tracklet] = []
        self._next_id = 0

    def _small(self, image: np.ndarray) -> np.ndarray:
        s = self.options.kcf_scale
        return cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s != 1 else image

    def _start_kcf(self, track: _Track, small: np.ndarray, box) -> None:
        if not self.options.use_kcf or track.source not in self.options.kcf_sources:
            track.kcf = None
            return
        s = self.options.kcf_scale
        x0, y0, x1, y1 = (float(v) * s for v in box)
        if x1 - x0 < 8 or y1 - y0 < 8:
            track.kcf = None
            return
        params = cv2.TrackerKCF_Params()
        # the default 80x80 patch costs ~15 ms per update; 48x48 ~3 ms and follows as well
        params.max_patch_size = self.options.kcf_patch * self.options.kcf_patch
        track.kcf = cv2.TrackerKCF_create(params)
        track.kcf.init(small, (int(x0), int(y0), int(x1 - x0), int(y1 - y0)))

    def _carry(self, track: _Track, small: np.ndarray) -> np.ndarray | None:
        if track.kcf is None:
            return None
        ok, (x, y, w, h) = track.kcf.update(small)
        if not ok or w <= 0 or h <= 0:
            track.kcf = None
            return None
        s = self.options.kcf_scale
        return np.float32([x / s, y / s, (x + w) / s, (y + h) / s])

    def update(self, frame: Frame, proposals: Proposals, new_shot: bool = False) -> Proposals:
        """The proposals with ``tracker_id`` set (a new object; the input is not changed).

        ``proposals.embeddings`` (n,d), when present, enables appearance association. The
        result's first ``len(proposals)`` rows are the input boxes; after them come KCF-carried
        boxes of unmatched tracks (``source="track"``), embedded through the ``embed`` callable
        when one was given and the input has embeddings (else the result has none).
        """
        o = self.options
        embeddings = proposals.embeddings
        if new_shot:
            self._end(self._live)
        small = self._small(frame.image) if o.use_kcf else None
        live = self._live
        carried = [self._carry(tr, small) if small is not None else None for tr in live]
        pred = np.float32([c if c is not None else tr.xyxy[-1] for c, tr in zip(carried, live)]).reshape(-1, 4)
        n = len(proposals)
        ids = np.full(n, -1, dtype=np.int64)
        if live and n:
            iou = box_iou(pred, proposals.xyxy)
            cos = np.zeros_like(iou)
            if embeddings is not None:
                for i, tr in enumerate(live):
                    m = tr.mean_emb()
                    if m is not None:
                        cos[i] = embeddings @ m
            allowed = (iou >= o.min_iou) | (cos >= o.appearance_link)
            if embeddings is not None:
                allowed &= cos >= o.min_cosine
            # a track only continues a box from the same kind of source (a saliency blob
            # does not become the whole-frame track)
            same = np.array([[tr.source == s or (tr.source != "frame" and s != "frame")
                              for s in proposals.source] for tr in live], dtype=bool)
            score = np.where(allowed & same, o.iou_weight * iou + (1 - o.iou_weight) * cos, -1.0)
            while True:
                i, j = np.unravel_index(np.argmax(score), score.shape)
                if score[i, j] < 0:
                    break
                ids[j] = live[i].id
                score[i, :] = -1.0
                score[:, j] = -1.0
        by_id = {tr.id: tr for tr in live}
        extra_boxes, extra_ids = [], []
        for j in range(n):
            emb = embeddings[j] if embeddings is not None else None
            if ids[j] < 0:
                tr = _Track(self._next_id, str(proposals.source[j]))
                self._next_id += 1
                self._live.append(tr)
                by_id[tr.id] = tr
                ids[j] = tr.id
            tr = by_id[int(ids[j])]
            tr.add(frame.t, proposals.xyxy[j], emb, proposals.confidence[j])
            if small is not None:
                self._start_kcf(tr, small, proposals.xyxy[j])
        matched = set(ids.tolist())
        ended = []
        for tr, c in zip(live, carried):
            if tr.id in matched:
                continue
            tr.missing += 1
            if tr.missing > o.max_missing:
                ended.append(tr)
            elif c is not None and tr.missing <= o.max_carry:
                extra_boxes.append(c)
                extra_ids.append(tr.id)
        self._end(ended)
        # every track still to come starts at or after the oldest live one (or after this frame)
        self._relink(min((tr.t[0] for tr in self._live), default=float(frame.t)))
        out_emb = embeddings
        extra_emb = None
        if extra_boxes:
            if self.embed is not None and embeddings is not None:
                extra_emb = self.embed([crop_box(frame.image, b) for b in extra_boxes])
                out_emb = np.concatenate([embeddings, extra_emb])
            else:
                out_emb = None  # carried boxes without vectors: the rows would not align
            for k, (b, tid) in enumerate(zip(extra_boxes, extra_ids)):
                tr = by_id[tid]
                tr.add(frame.t, b, extra_emb[k] if extra_emb is not None else None, 0.5)
                tr.missing = 1  # carried, not re-detected: still counts towards ending
        return Proposals(np.concatenate([proposals.xyxy, np.float32(extra_boxes).reshape(-1, 4)]),
                         np.concatenate([proposals.confidence, np.full(len(extra_boxes), 0.5)]),
                         np.full(n + len(extra_boxes), frame.index), np.full(n + len(extra_boxes), frame.t),
                         np.concatenate([proposals.source, np.array(["track"] * len(extra_boxes), dtype=object)]),
                         np.concatenate([ids, np.asarray(extra_ids, dtype=np.int64)]), out_emb)

    def _end(self, tracks: list[_Track]) -> None:
        for tr in tracks:
            tr.kcf = None
            self._done.append(tr)
        gone = {tr.id for tr in tracks}
        self._live = [tr for tr in self._live if tr.id not in gone]

    def _relink(self, frontier: float) -> None:
        """Re-link the ended tracks that start at or before ``frontier`` (no track starting
        earlier is still live, so the order is the one a pass over the whole stream would take:
        start time, then the order they ended), then finalise the tracks that none starting at
        or after ``frontier`` may continue."""
        o = self.options
        ready = sorted((tr for tr in self._done if tr.t[0] <= frontier), key=lambda tr: tr.t[0])
        if ready:
            self._done = [tr for tr in self._done if tr.t[0] > frontier]
        for tr in ready:
            self._finalise([prev for prev in self._recent if tr.t[0] - prev.t[-1] > o.relink_gap_s])
            best, best_cos = None, o.relink_cosine
            m = tr.mean_emb()
            for prev in self._recent:
                if m is None or prev.t[-1] >= tr.t[0]:
                    continue
                if prev.source != tr.source and "frame" in (prev.source, tr.source):
                    continue
                pm = prev.mean_emb()
                if pm is None:
                    continue
                c = float(m @ pm)
                if c >= best_cos:
                    best, best_cos = prev, c
            if best is None:
                self._recent.append(tr)
                continue
            best.t += tr.t
            best.xyxy += tr.xyxy
            best.conf += tr.conf
            best.emb += tr.emb
            if tr.sum_emb is not None:
                best.sum_emb = tr.sum_emb if best.sum_emb is None else best.sum_emb + tr.sum_emb
        self._finalise([prev for prev in self._recent if frontier - prev.t[-1] > o.relink_gap_s])

    def _finalise(self, tracks: list[_Track]) -> None:
        if not tracks:
            return
        gone = {id(tr) for tr in tracks}
        self._recent = [tr for tr in self._recent if id(tr) not in gone]
        for tr in tracks:
            if len(tr.t) < self.options.min_length:
                continue
            # embeddings align with boxes, or are (0,d) when some boxes were never embedded
            d = tr.emb[0].shape[0] if tr.emb else 0
            emb = np.stack(tr.emb) if len(tr.emb) == len(tr.t) else np.zeros((0, d), np.float32)
            self._final.append(Tracklet(tr.id, np.asarray(tr.t), np.stack(tr.xyxy), emb, float(np.mean(tr.conf))))
            tr.t, tr.xyxy, tr.emb, tr.conf = [], [], [], []  # the lists go now: no second copy

    def pop_final(self) -> list[Tracklet]:
        """The tracklets that became final since the last call: no later box joins them."""
        out, self._final = self._final, []
        return out

    def finish(self) -> list[Tracklet]:
        """End all tracks; the tracklets not handed over by ``pop_final`` yet, sorted by
        (start time, id)."""
        self._end(list(self._live))
        self._relink(float("inf"))  # finalises every track: none is to come
        return sorted(self.pop_final(), key=lambda tr: (tr.start_s, tr.track_id))
