"""Follow a growing video (a live stream being recorded) and emit intervals as they close.

    python -m ml localize --follow --video live.ts --catalog DIR --out result.json

The file is polled; each time ``segment_s`` more seconds are decodable, that segment runs
through the perception stages (``pipeline.compute_features``) and its feature rows are appended
to the curves so far. Fusion and localization then run over the whole curve (cheap: a few ms per
thousand steps), and every interval that ended more than ``hold_s`` before the processed edge is
final, because no later evidence can extend it past the localizer's gap and smoothing windows:
it is printed at once as one JSON line on stdout. Delay is bounded by segment_s + hold_s + the
segment's processing time.

"Now showing" need not wait for intervals to close: after every segment ``on_now(t_s, open)``
gets the intervals of the same decision that reach the processed edge ``t_s`` (still open, best
first), so a viewer's card changes one segment after the product appears, not ``hold_s`` later.

With ``state_dir`` the follower is resumable: each segment's features and evidence are written
there as they are made, with what was emitted; a follower started again on the same file and
folder loads them and goes on from the next segment (a live worker that died loses nothing).

Trade-offs: tracklets do not cross segment boundaries (each segment gets a fresh tracker), and
speech at a boundary may lose a word. Use a container that is readable while written (MPEG-TS,
Matroska, fragmented MP4); a plain MP4 has its index at the end and cannot be followed.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time

from .catalog import load_catalog
from .comments import load_comments
from .errors import InputError
from .pipeline import PipelineOptions, _Clock, compute_features
from .scoring import Scorer
from .types import Evidence, Features, LocalizationResult


MAX_BATCH = 8  # segments scored in one go when the follower is behind (bounds memory and "now" staleness)


def _probe_growing(video: str):
    """VideoInfo of what is decodable so far, or None while the file is not yet readable."""
    from .decode import probe

    try:
        return probe(video)
    except InputError:
        return None


class _State:
    """The segments done so far, optionally mirrored in ``folder`` (one .npz + .json per segment,
    written before the segment counts as done, and ``emitted.json``)."""

    def __init__(self, folder: str | None):
        self.folder = folder
        self.features: Features | None = None
        self.evidence: list[Evidence] = []
        self.emitted: set[tuple[str, float]] = set()
        self.done = 0.0
        if folder:
            os.makedirs(folder, exist_ok=True)
            self._load()

    def _load(self):
        parts = []
        for npz in sorted(glob.glob(os.path.join(self.folder, "segment-*.npz"))):
            ev_path = npz[:-4] + ".json"
            if not os.path.exists(ev_path):  # the writer died between the two: redo the segment
                break
            parts.append(Features.load(npz))
            with open(ev_path, encoding="utf-8") as f:
                meta = json.load(f)
            self.evidence.append(Evidence.from_json(meta["evidence"]))
            self.done = float(meta["end_s"])
        if parts:
            self.features = Features.concatenate(parts)
        try:
            with open(os.path.join(self.folder, "emitted.json"), encoding="utf-8") as f:
                self.emitted = {(p, float(s)) for p, s in json.load(f)}
        except FileNotFoundError:
            pass

    def add(self, features: Features, evidence: Evidence, end_s: float):
        if self.folder:
            stem = os.path.join(self.folder, f"segment-{len(self.evidence):06d}")
            features.save(stem + ".npz")
            _write_json(stem + ".json", {"end_s": end_s, "evidence": evidence.to_json()})
        self.features = features if self.features is None else Features.concatenate([self.features, features])
        self.evidence.append(evidence)
        self.done = end_s

    def mark_emitted(self, key: tuple[str, float]):
        self.emitted.add(key)
        if self.folder:
            _write_json(os.path.join(self.folder, "emitted.json"), sorted(self.emitted))


def _write_json(path: str, data) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def follow(video: str, catalog_dir: str, out: str, comments: str | None = None,
           options: PipelineOptions | None = None, idle_timeout_s: float | None = 30.0,
           segment_s: float = 20.0, poll_s: float = 1.0, emit=None, on_now=None, finished=None,
           state_dir: str | None = None, memory=None) -> LocalizationResult:
    """Process ``video`` while it grows; write ``out`` and return the result once it is complete.

    Complete: ``finished()`` says so (the recorder stopped) and everything decodable is done,
    or, without ``finished``, it stopped growing for ``idle_timeout_s``. ``emit(interval)`` gets
    each interval once, as it closes; ``on_now(t_s, open_intervals)`` the provisional state after
    every segment. ``state_dir``: resume from, and keep, the follower's state there. ``memory``: the
shop's ``ml.adapt.ShopMemory``, as in ``ml.pipeline.localize``."""
    options = options or PipelineOptions()
    emit = emit or (lambda interval: print(json.dumps(interval.to_dict()), flush=True))
    catalog = load_catalog(catalog_dir)
    events = load_comments(comments) if comments else None
    scorer = Scorer.load(options, memory)
    hold_s = scorer.settle_s + options.step_s

    clock = _Clock()
    state = _State(state_dir)
    last_growth, last_len = time.monotonic(), -1.0
    curves, decision = None, None
    if state.features is not None:
        print(f"resuming from {state.done:.1f} s ({len(state.evidence)} segments in {state_dir})", file=sys.stderr)
        curves = scorer.curves(state.features)
        decision = scorer.decide(curves)
    while True:
        info = _probe_growing(video)
        length = info.duration_s if info is not None else None
        now = time.monotonic()
        if length is not None and length > last_len + 1e-3:
            last_len, last_growth = length, now
        if finished is not None:
            complete = bool(finished())
        else:
            complete = idle_timeout_s is not None and now - last_growth > idle_timeout_s
        done = state.done
        end = None
        if length is not None and length - done >= segment_s:
            # behind (a slow machine, a resumed follower): catch up by up to MAX_BATCH segments at once
            end = done + segment_s * min(MAX_BATCH, int((length - done) // segment_s))
        elif complete and length is not None and length - done > options.step_s / 2:
            end = length
        if end is not None:
            features, seg_evidence = compute_features(video, catalog, events, options, length, info.has_audio,
                                                      lambda *_: None, clock, start_s=done, end_s=end,
                                                      memory=memory)
            state.add(features, seg_evidence, end)
            curves = scorer.curves(state.features)
            decision = scorer.decide(curves)
            last = complete and length - end <= options.step_s / 2  # nothing after this batch can extend them
            for iv in decision.intervals:
                key = (iv.product_id, round(iv.start_s, 3))
                if (iv.end_s < end - hold_s or last) and key not in state.emitted:
                    state.mark_emitted(key)
                    emit(iv)
            if on_now is not None:
                edge = end - 1.5 * options.step_s
                on_now(end, sorted((iv for iv in decision.intervals if iv.end_s >= edge), key=lambda iv: -iv.score))
            continue
        if complete:
            break
        time.sleep(poll_s)
    if last_len < 0 and state.features is None:
        raise InputError(f"no decodable video appeared within {idle_timeout_s or 0:.0f}s", path=video)
    intervals = decision.intervals if decision else []
    for iv in intervals:  # whatever was still open at the end
        key = (iv.product_id, round(iv.start_s, 3))
        if key not in state.emitted:
            state.mark_emitted(key)
            emit(iv)
    result = LocalizationResult(video=video, duration_s=state.done, intervals=intervals, timings_s=clock.timings,
                                options=options.to_dict(), curves=curves,
                                evidence=Evidence.concatenate(state.evidence) if state.evidence else None,
                                threshold=decision.threshold if decision else 0.0,
                                candidates=decision.candidates if decision else [])
    result.dump(out)
    print(f"followed {state.done:.1f} s of video, {len(intervals)} intervals -> {out}", file=sys.stderr)
    return result
