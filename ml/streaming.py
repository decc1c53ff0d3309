"""Follow a growing video (a live stream being recorded) and emit intervals as they close.

    python -m ml localize --follow --video live.ts --catalog DIR --out result.json

The file is polled; each time ``segment_s`` more seconds are decodable, that segment runs
through the perception stages (``pipeline.compute_features``) and its feature rows are appended
to the curves so far. Fusion and localization then run over the whole curve (cheap: a few ms per
thousand steps), and every interval that ended more than ``hold_s`` before the processed edge is
final, because no later evidence can extend it past the localizer's gap and smoothing windows:
it is printed at once as one JSON line on stdout. Delay is bounded by segment_s + hold_s + the
segment's processing time.

Trade-offs: tracklets do not cross segment boundaries (each segment gets a fresh tracker), and
speech at a boundary may lose a word. Use a container that is readable while written (MPEG-TS,
Matroska, fragmented MP4); a plain MP4 has its index at the end and cannot be followed.
"""

from __future__ import annotations

import json
import sys
import time

from .catalog import load_catalog
from .comments import load_comments
from .errors import InputError
from .pipeline import PipelineOptions, _Clock, compute_features
from .scoring import Scorer
from .types import Evidence, Features, LocalizationResult


def _probe_growing(video: str):
    """VideoInfo of what is decodable so far, or None while the file is not yet readable."""
    from .decode import probe

    try:
        return probe(video)
    except InputError:
        return None


def follow(video: str, catalog_dir: str, out: str, comments: str | None = None,
           options: PipelineOptions | None = None, idle_timeout_s: float = 30.0,
           segment_s: float = 20.0, poll_s: float = 1.0, emit=None) -> int:
    """Process ``video`` while it grows; write ``out`` when it stops growing for idle_timeout_s."""
    options = options or PipelineOptions()
    emit = emit or (lambda interval: print(json.dumps(interval.to_dict()), flush=True))
    catalog = load_catalog(catalog_dir)
    events = load_comments(comments) if comments else None
    scorer = Scorer.load(options)
    hold_s = scorer.settle_s + options.step_s

    clock = _Clock()
    done = 0.0
    so_far: Features | None = None
    evidence: list[Evidence] = []
    emitted: set[tuple[str, float]] = set()
    last_growth, last_len = time.monotonic(), -1.0
    curves, decision = None, None
    while True:
        info = _probe_growing(video)
        length = info.duration_s if info is not None else None
        now = time.monotonic()
        if length is not None and length > last_len + 1e-3:
            last_len, last_growth = length, now
        finished = now - last_growth > idle_timeout_s
        end = None
        if length is not None and length - done >= segment_s:
            end = done + segment_s * int((length - done) // segment_s)
        elif finished and length is not None and length - done > options.step_s / 2:
            end = length
        if end is not None:
            features, seg_evidence = compute_features(video, catalog, events, options, length, info.has_audio,
                                                      lambda *_: None, clock, start_s=done, end_s=end)
            so_far = features if so_far is None else Features.concatenate([so_far, features])
            evidence.append(seg_evidence)
            done = end
            curves = scorer.curves(so_far)
            decision = scorer.decide(curves)
            for iv in decision.intervals:
                key = (iv.product_id, round(iv.start_s, 3))
                if (iv.end_s < done - hold_s or finished) and key not in emitted:
                    emitted.add(key)
                    emit(iv)
            continue
        if finished:
            break
        time.sleep(poll_s)
    if last_len < 0:
        raise InputError(f"no decodable video appeared within {idle_timeout_s:.0f}s", path=video)
    intervals = decision.intervals if decision else []
    for iv in intervals:  # whatever was still open at the end
        if (iv.product_id, round(iv.start_s, 3)) not in emitted:
            emit(iv)
    LocalizationResult(video=video, duration_s=done, intervals=intervals, timings_s=clock.timings,
                       options=options.to_dict(), curves=curves, evidence=Evidence.concatenate(evidence),
                       threshold=decision.threshold if decision else 0.0,
                       candidates=decision.candidates if decision else []).dump(out)
    print(f"followed {done:.1f} s of video, {len(intervals)} intervals -> {out}", file=sys.stderr)
    return 0

