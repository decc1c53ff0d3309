"""A long video in overlapping segments: plan them, run each anywhere, join, score once.

    plan = plan_segments(duration_s, SegmentOptions(segment_s=600), step_s=1.0, fps=1.0)
    part = run_segment(video, catalog, comments, options, plan[k], duration_s, has_audio)
    part.save(folder)                       # SegmentOutput: Features + Evidence + timings
    features, evidence = join(plan, [SegmentOutput.load(f) for f in folders])
    result = decide(video, duration_s, features, evidence, options, timings)

``localize_segmented`` runs the same steps one after another in one process; the web app runs
the segments as a Celery group on any number of workers (``webapp.segments``) and joins them in
whichever worker finishes the last one.

**Overlap.** The video is cut at boundaries ``b_0 = 0 < b_1 < ... < b_n = duration``. Segment
``k`` *keeps* the feature rows whose step centre lies in ``[b_k, b_k+1)`` but *decodes*
``context_s`` more on each inner side, so every row it keeps has the inputs it would have had
in one unsplit run: the tracklet crops within +-3 s (``VisualOptions.track_window_s``) and a
tracker that has settled, the speech windows (8 s, scored +-4 s around each step) and ASR with
the audio before the first kept word. Where two segments overlap, each row therefore comes from
the segment in whose middle it lies; nothing is averaged. Boundaries fall on multiples of both
the time step and the frame interval, so the segments sample the very frames, and produce the
very step grid, of the unsplit run. What still differs: a track that was already running at
``b_k - context_s`` starts fresh there (settled long before the kept rows), and whisper decodes
a different audio window (a word at the very edge of the context may come out differently).

**Tracklets across a boundary.** Both neighbours decoded the frames of the overlap, so a track
crossing the boundary appears in each, under each segment's own id. ``relink_tracklets`` pairs
them by the IoU of their boxes at the frames both saw (one-to-one, Hungarian assignment), or,
for tracks without located boxes (the whole-frame track), by how much of the overlap both span
with the same category; linked parts become one tracklet with one id, boxes renumbered.

Memory: a segment holds its own rows only (``Features``: 4 bytes per step, product and key);
the join holds the whole video's rows, 14 MB for 60 min x 160 products x 6 keys.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from .types import Boxes, Catalog, Evidence, Features, LocalizationResult, Shots, TextEvents, TrackletInfo, Transcript

Progress = Callable[[str, float], None]


@dataclass
class SegmentOptions:
    """``segment_s``: kept length of each segment (0: never split). A video is split only when
    it is longer than ``min_split_factor * segment_s`` (a 12-minute video is not worth two
    jobs' start-up at 10-minute segments). ``context_s``: seconds decoded past each inner
    boundary (see the module docstring for why 30)."""

    segment_s: float = 600.0
    context_s: float = 30.0
    min_split_factor: float = 1.5

    def __post_init__(self):
        if self.segment_s < 0 or self.context_s < 0 or self.min_split_factor < 1:
            raise ValueError("segment_s and context_s must be >= 0 and min_split_factor >= 1")


@dataclass(frozen=True)
class Segment:
    """Decode ``[start_s, end_s)``; keep the rows whose centre is in ``[keep_start_s, keep_end_s)``."""

    index: int
    start_s: float
    end_s: float
    keep_start_s: float
    keep_end_s: float

    @property
    def keep_s(self) -> float:
        return self.keep_end_s - self.keep_start_s

    def keeps(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        return (t >= self.keep_start_s) & (t < self.keep_end_s)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Segment":
        return cls(int(d["index"]), float(d["start_s"]), float(d["end_s"]), float(d["keep_start_s"]),
                   float(d["keep_end_s"]))


def grain_s(step_s: float, fps: float) -> float:
    """The shortest time that is a whole number of steps and of frame intervals (1 s at the
    defaults): boundaries on it keep the segments' frames and step grid those of one run."""
    for q in range(1, 1001):
        g = q * step_s
        if abs(g * fps - round(g * fps)) < 1e-6:
            return g
    return step_s  # no common multiple nearby: steps align, frames may shift by one sample


def plan_segments(duration_s: float, options: SegmentOptions, step_s: float = 1.0, fps: float = 1.0) -> list[Segment]:
    """Equal segments of at most about ``segment_s`` with boundaries on ``grain_s``; one
    segment covering everything when the video is too short to split."""
    duration_s = float(duration_s)
    if duration_s <= 0:
        raise ValueError(f"duration_s must be positive, got {duration_s}")
    whole = [Segment(0, 0.0, duration_s, 0.0, duration_s)]
    if options.segment_s <= 0 or duration_s <= options.min_split_factor * options.segment_s:
        return whole
    g = grain_s(step_s, fps)
    n = math.ceil(duration_s / options.segment_s)
    inner = sorted({round(round(k * duration_s / n / g) * g, 9) for k in range(1, n)})
    bounds = [0.0] + [b for b in inner if 0 < b < duration_s] + [duration_s]
    if len(bounds) < 3:
        return whole
    context = math.ceil(options.context_s / g - 1e-9) * g
    return [Segment(k, max(0.0, a - context), min(duration_s, b + context), a, b)
            for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))]


# --------------------------------------------------------------------------- one segment
@dataclass
class SegmentOutput:
    """What one segment hands to the join: its features (all decoded rows), its evidence and
    its stage timings. Saved as a folder: features.npz, evidence.json, segment.json."""

    segment: Segment
    features: Features
    evidence: Evidence
    timings_s: dict[str, float] = field(default_factory=dict)

    def save(self, folder: str) -> bool:
        """Write the folder whole or not at all (a temporary sibling renamed into place).
        Returns False when another run of the same segment got there first (its output is kept)."""
        parent = os.path.dirname(os.path.abspath(folder))
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}-{uuid.uuid4().hex[:6]}-", dir=parent)
        try:
            self.features.save(os.path.join(tmp, "features.npz"))
            with open(os.path.join(tmp, "evidence.json"), "w", encoding="utf-8") as f:
                json.dump(self.evidence.to_json(), f)
            with open(os.path.join(tmp, "segment.json"), "w", encoding="utf-8") as f:
                json.dump({"segment": self.segment.to_dict(), "timings_s": self.timings_s}, f)
            try:
                os.rename(tmp, folder)
            except OSError:
                if SegmentOutput.exists(folder):
                    return False
                raise
            return True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def exists(folder: str) -> bool:
        return os.path.isfile(os.path.join(folder, "segment.json"))

    @classmethod
    def load(cls, folder: str) -> "SegmentOutput":
        with open(os.path.join(folder, "segment.json"), encoding="utf-8") as f:
            meta = json.load(f)
        with open(os.path.join(folder, "evidence.json"), encoding="utf-8") as f:
            evidence = Evidence.from_json(json.load(f))
        return cls(Segment.from_dict(meta["segment"]), Features.load(os.path.join(folder, "features.npz")),
                   evidence, {k: float(v) for k, v in meta.get("timings_s", {}).items()})


def run_segment(video: str, catalog: Catalog, comments: TextEvents | None, options, segment: Segment,
                duration_s: float, has_audio: bool, progress: Progress | None = None,
                memory=None) -> SegmentOutput:
    """The perception stages (``ml.pipeline.compute_features``) on the segment's decode range.
    ``options``: ``ml.pipeline.PipelineOptions``; ``progress(stage, fraction of this segment)``
    may raise ``ml.errors.CancelledError``; ``memory``: the shop's ``ml.adapt.ShopMemory`` (every
    segment of a video must get the same one)."""
    from .pipeline import _Clock, _limit_threads, compute_features, torch_threads

    _limit_threads(options.threads)
    clock = _Clock()
    t0 = time.perf_counter()
    if options.seed_modes:
        from .seed.tracklets import preload

        preload(options.seed_modes)
        torch_threads()
    features, evidence = compute_features(video, catalog, comments, options, duration_s, has_audio,
                                          progress or (lambda stage, fraction: None), clock,
                                          start_s=segment.start_s, end_s=segment.end_s, memory=memory)
    clock.add("total", time.perf_counter() - t0)
    return SegmentOutput(segment, features, evidence, dict(clock.timings))


# --------------------------------------------------------------------------- the join
def join_features(parts: list[SegmentOutput]) -> Features:
    """Each segment's kept rows, in order: every step of the video exactly once."""
    parts = sorted(parts, key=lambda p: p.segment.index)
    return Features.concatenate([p.features.take(p.segment.keeps(p.features.times)) for p in parts])


class _UnionFind:
    def __init__(self):
        self.parent: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise IoU of (n,4) boxes."""
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    area = lambda x: np.clip(x[:, 2] - x[:, 0], 0, None) * np.clip(x[:, 3] - x[:, 1], 0, None)  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-12)


def _boxes_by_track(boxes: Boxes, lo: float, hi: float) -> dict[int, dict[float, np.ndarray]]:
    out: dict[int, dict[float, np.ndarray]] = {}
    sel = (boxes.t >= lo) & (boxes.t < hi) & (boxes.track_id >= 0)
    for t, xyxy, tid in zip(boxes.t[sel], boxes.xyxy[sel], boxes.track_id[sel]):
        out.setdefault(int(tid), {})[round(float(t), 2)] = xyxy
    return out


def _pair_scores(left: Evidence, right: Evidence, lo: float, hi: float, min_common: int) -> dict[tuple[int, int], float]:
    """Similarity of each (left track, right track) seen in the overlap [lo, hi)."""
    scores: dict[tuple[int, int], float] = {}
    lb, rb = _boxes_by_track(left.boxes, lo, hi), _boxes_by_track(right.boxes, lo, hi)
    for a, at in lb.items():
        for c, ct in rb.items():
            common = sorted(set(at) & set(ct))
            if len(common) >= min_common:
                scores[(a, c)] = float(_iou(np.stack([at[t] for t in common]), np.stack([ct[t] for t in common])).mean())
    # Tracks without located boxes (the whole-frame track): the share of the overlap both span.
    span = max(hi - lo, 1e-9)
    for a in left.tracklets:
        if a.track_id in lb or a.end_s < lo:
            continue
        for c in right.tracklets:
            if c.track_id in rb or c.start_s >= hi or (a.category, a.parent_category) != (c.category, c.parent_category):
                continue
            both = min(a.end_s, c.end_s, hi) - max(a.start_s, c.start_s, lo)
            if both > 0:
                scores[(a.track_id, c.track_id)] = both / span
    return scores


def relink_tracklets(parts: list[SegmentOutput], min_score: float = 0.5, min_common: int = 2) -> Evidence:
    """One Evidence for the whole video: each segment's kept boxes, words, screen text and shot
    starts, and its tracklets with the parts of one track in neighbouring segments linked under
    one id (``min_score``: mean box IoU, or shared share of the overlap, to link; ``min_common``:
    frames both must have boxed). Tracklets seen only in a segment's context are dropped."""
    from scipy.optimize import linear_sum_assignment

    parts = sorted(parts, key=lambda p: p.segment.index)
    links = _UnionFind()
    for left, right in zip(parts[:-1], parts[1:]):
        lo, hi = right.segment.start_s, left.segment.end_s  # the frames both decoded
        scores = _pair_scores(left.evidence, right.evidence, lo, hi, min_common)
        if not scores:
            continue
        a_ids = sorted({a for a, _ in scores})
        c_ids = sorted({c for _, c in scores})
        m = np.zeros((len(a_ids), len(c_ids)))
        for (a, c), s in scores.items():
            m[a_ids.index(a), c_ids.index(c)] = s
        for i, j in zip(*linear_sum_assignment(-m)):
            if m[i, j] >= min_score:
                links.union((left.segment.index, a_ids[i]), (right.segment.index, c_ids[j]))

    # Each group's kept span, and the categories of its part with the longest kept span.
    groups: dict = {}
    for p in parts:
        seg = p.segment
        for tr in p.evidence.tracklets:
            start, end = max(tr.start_s, seg.keep_start_s), min(tr.end_s, seg.keep_end_s)
            if end < start or (end == start and not seg.keeps([start])[0]):
                continue  # only in this segment's context
            g = groups.setdefault(links.find((seg.index, tr.track_id)),
                                  {"start": start, "end": end, "best": -1.0, "cat": ("", "")})
            g["start"], g["end"] = min(g["start"], start), max(g["end"], end)
            if end - start > g["best"]:
                g["best"], g["cat"] = end - start, (tr.category, tr.parent_category)
    order = sorted(groups, key=lambda k: (groups[k]["start"], k))
    new_id = {root: i for i, root in enumerate(order)}
    tracklets = [TrackletInfo(new_id[r], groups[r]["start"], groups[r]["end"], *groups[r]["cat"]) for r in order]

    boxes, words, screens, shots = [], [], [], [0.0]
    for p in parts:
        seg, ev = p.segment, p.evidence
        kept = ev.boxes[seg.keeps(ev.boxes.t)]
        tid = np.array([new_id.get(links.find((seg.index, int(i))), -1) if i >= 0 else -1 for i in kept.track_id],
                       dtype=np.int64)
        boxes.append(Boxes(kept.t, kept.xyxy, tid))
        words += [w for w in ev.transcript.words if seg.keeps([w.start])[0]]
        if ev.screen_text is not None:
            sel = np.flatnonzero(seg.keeps(ev.screen_text.t))
            screens.append(TextEvents(ev.screen_text.t[sel], [ev.screen_text.text[i] for i in sel],
                                      ev.screen_text.score[sel], "screen_text"))
        shots += [float(s) for s in ev.shots.starts if seg.keeps([s])[0]]
    screen = None
    if screens:
        screen = TextEvents(np.concatenate([s.t for s in screens]), [x for s in screens for x in s.text],
                            np.concatenate([s.score for s in screens]), "screen_text")
    return Evidence(Boxes.merge(boxes), Shots(np.unique(np.asarray(shots))), tracklets, Transcript(words), screen)


def join(parts: list[SegmentOutput]) -> tuple[Features, Evidence]:
    """Features and Evidence of the whole video from its segments' outputs (any order)."""
    if not parts:
        raise ValueError("join needs at least one segment output")
    indices = sorted(p.segment.index for p in parts)
    if indices != list(range(len(parts))):
        raise ValueError(f"segment outputs {indices} are not one each of 0..{len(parts) - 1}")
    return join_features(parts), relink_tracklets(parts)


def summed_timings(parts: list[SegmentOutput]) -> dict[str, float]:
    """Stage seconds added over the segments (the work, whatever the number of workers); the
    segments' own totals add up to ``segment_work``, and ``segments`` counts them."""
    out: dict[str, float] = {"segments": float(len(parts))}
    for p in parts:
        for k, v in p.timings_s.items():
            k = "segment_work" if k == "total" else k
            out[k] = out.get(k, 0.0) + float(v)
    return out


def decide(video: str, duration_s: float, features: Features, evidence: Evidence, options,
           timings_s: dict[str, float] | None = None, memory=None) -> LocalizationResult:
    """Fusion and localization once over the joined features (``ml.scoring.Scorer``), with the
    shop's refitted interval scorer when ``memory`` has one."""
    from .scoring import Scorer

    t0 = time.perf_counter()
    scorer = Scorer.load(options, memory)
    curves = scorer.curves(features)
    decision = scorer.decide(curves)
    timings = dict(timings_s or {})
    timings["fusion"] = timings.get("fusion", 0.0) + time.perf_counter() - t0
    return LocalizationResult(video=str(video), duration_s=duration_s, intervals=decision.intervals,
                              timings_s=timings, options=options.to_dict(), curves=curves, evidence=evidence,
                              threshold=decision.threshold, candidates=decision.candidates)


def localize_segmented(video: str, catalog, comments: str | None = None, options=None,
                       segments: SegmentOptions | None = None, progress: Progress | None = None,
                       memory=None) -> LocalizationResult:
    """``ml.pipeline.localize`` through segments, one after another in this process: the same
    plan, segment runs, join and scoring as the Celery path, for the CLI, tests and benchmarks."""
    from .catalog import load_catalog
    from .comments import load_comments
    from .decode import probe
    from .pipeline import PipelineOptions
    from .scoring import Scorer

    options = options or PipelineOptions()
    progress = progress or (lambda stage, fraction: None)
    t0 = time.perf_counter()
    info = probe(video)
    if not isinstance(catalog, Catalog):
        catalog = load_catalog(catalog)
    events = load_comments(comments, info.duration_s) if comments else None
    Scorer.load(options)  # fail before the expensive stages when no model is trained
    plan = plan_segments(info.duration_s, segments or SegmentOptions(), options.step_s, options.fps)
    total = sum(s.end_s - s.start_s for s in plan)
    parts, done = [], 0.0
    for seg in plan:
        span = seg.end_s - seg.start_s

        def report(stage, fraction, done=done, span=span, seg=seg):
            progress(f"segment {seg.index + 1}/{len(plan)}: {stage}", 0.95 * (done + fraction * span) / total)

        parts.append(run_segment(video, catalog, events, options, seg, info.duration_s, info.has_audio, report,
                                 memory=memory))
        done += span
    t_join = time.perf_counter()
    features, evidence = join(parts)
    timings = {**summed_timings(parts), "join": time.perf_counter() - t_join}
    result = decide(video, info.duration_s, features, evidence, options, timings, memory=memory)
    result.timings_s["total"] = time.perf_counter() - t0
    progress("done", 1.0)
    return result


__all__ = ["SegmentOptions", "Segment", "SegmentOutput", "plan_segments", "grain_s", "run_segment", "join",
           "join_features", "relink_tracklets", "summed_timings", "decide", "localize_segmented"]
