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
    boxes = evidence_boxes(video.load_artefact("boxes"))
    return {
        "times": curves.get("times", []), "modalities": curves.get("modalities", {}),
        "transcript": video.load_artefact("transcript") or [],
        "screen_text": video.load_artefact("screen_text") or [],
        "comments": [[c.time_s, c.user, c.text] for c in video.comments.all()[:5000]],
        "boxes": boxes, "shots": video.load_artefact("shots") or [],
    }


def evidence_boxes(raw) -> list:
    """The boxes artefact as the pipeline writes it (``ml.types.Evidence``: ``[t, x0, y0, x1, y1,
    track_id]`` in 0..1 of the frame, sorted by time); [] when there is none or it has another shape
    (an artefact of an older pipeline)."""
    from ml.types import Evidence

    try:
        return Evidence.from_json({"boxes": raw or []}).boxes.to_rows()
    except ValueError:
        return []
