"""What the timeline reads from a job's JSON artefacts: the fused curves in a compact cached
form, and the evidence panel's data (modality curves, transcript, screen text, comments, boxes)."""

from __future__ import annotations

import gzip
import json
import os

from django.conf import settings


def _percent(curves: dict) -> dict:
    """Fused curves as integer percent: the lanes draw 14 px high, and a 2-hour video with 300
    products is 600,000 values, so this keeps the response a few MB instead of a dozen."""
    return {pid: [int(round((v or 0.0) * 100)) for v in values] for pid, values in (curves or {}).items()}


def compact_curves_path(video) -> str | None:
    """``timeline-curves.json.gz`` next to the latest succeeded job's curves (made once)."""
    job = video.latest_succeeded_job
    rel = job.artefacts.get("curves") if job else None
    if not rel:
        return None
    path = os.path.join(settings.MEDIA_ROOT, os.path.dirname(rel), "timeline-curves.json.gz")
    if not os.path.exists(path):
        curves = job.load_artefact("curves") or {}
        body = json.dumps({"times": [round(t, 2) for t in curves.get("times", [])], "step_s": curves.get("step_s", 0),
                           "fused_pct": _percent(curves.get("fused"))}, separators=(",", ":")).encode()
        tmp = f"{path}.{os.getpid()}.part"
        with open(tmp, "wb") as f:
            f.write(gzip.compress(body, 6))
        os.replace(tmp, path)
    return path


def evidence(video) -> dict:
    """What the evidence panel shows at any time of the video."""
    curves = video.load_artefact("curves") or {}
    result = video.load_artefact("result") or {}
    boxes = normalise_boxes(video.load_artefact("boxes"), video, (result.get("options") or {}).get("max_side"))
    return {
        "times": curves.get("times", []), "modalities": curves.get("modalities", {}),
        "transcript": video.load_artefact("transcript") or [],
        "screen_text": video.load_artefact("screen_text") or [],
        "comments": [[c.time_s, c.user, c.text] for c in video.comments.all()[:5000]],
        "boxes": boxes, "shots": video.load_artefact("shots") or [],
    }


def normalise_boxes(raw, video, max_side=None) -> list:
    """Tracklet boxes as ``[t, x0, y0, x1, y1, track_id]`` in 0..1 of the frame, sorted by time.

    Accepts the shapes the pipeline may write: a list of dicts (``t``, ``xyxy``, ``track_id`` or
    ``tracker_id``), a dict of columns, or a list of lists ``[t, x0, y0, x1, y1, (id)]``. Pixel
    coordinates are taken relative to the decoded size (``max_side`` scaling) or the video's."""
    if not raw:
        return []
    rows = []
    if isinstance(raw, dict) and "xyxy" in raw:
        ids = raw.get("tracker_id") or raw.get("track_id") or [-1] * len(raw["xyxy"])
        raw = [{"t": t, "xyxy": b, "track_id": i} for t, b, i in zip(raw.get("t", []), raw["xyxy"], ids)]
    for r in raw if isinstance(raw, list) else []:
        if isinstance(r, dict):
            box = r.get("xyxy") or r.get("box")
            t = r.get("t", r.get("time_s"))
            tid = r.get("track_id", r.get("tracker_id", -1))
        elif isinstance(r, (list, tuple)) and len(r) >= 5:
            t, box, tid = r[0], r[1:5], (r[5] if len(r) > 5 else -1)
        else:
            continue
        if t is None or not box or len(box) != 4:
            continue
        rows.append([float(t), *map(float, box), int(tid if tid is not None else -1)])
    if not rows:
        return []
    big = max(max(r[3], r[4]) for r in rows)
    if big > 1.5:  # pixels
        w, h = float(video.width or 1), float(video.height or 1)
        if max_side and max(w, h) > max_side:
            k = max_side / max(w, h)
            w, h = w * k, h * k
        rows = [[r[0], r[1] / w, r[2] / h, r[3] / w, r[4] / h, r[5]] for r in rows]
    rows.sort(key=lambda r: r[0])
    return [[round(x, 4) if isinstance(x, float) else x for x in r] for r in rows]
