"""The JSON artefacts of a job (result, score curves, transcript...) under MEDIA_ROOT."""

from __future__ import annotations

import dataclasses
import os
import shutil

import numpy as np
from django.conf import settings

from .storage import StorageFull, atomic_write_json, is_storage_full

MAX_CURVE_STEPS = 2000


def to_jsonable(obj, depth: int = 0):
    """Dataclasses, numpy arrays and containers as plain JSON (floats rounded, embeddings dropped)."""
    if depth > 12:
        return None
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name), depth + 1) for f in dataclasses.fields(obj)
                if f.name != "embeddings"}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            return np.round(obj.astype(np.float64), 4).tolist()
        if obj.dtype.kind == "O":
            return [to_jsonable(x, depth + 1) for x in obj.tolist()]
        return obj.tolist()
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return round(v, 4) if np.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, depth + 1) for k, v in obj.items() if k != "embeddings"}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(x, depth + 1) for x in obj]
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict(), depth + 1)
    return str(obj)


def curves_json(curves, max_steps: int = MAX_CURVE_STEPS) -> dict:
    """Score curves for the timeline, max-pooled to at most ``max_steps`` steps (peaks survive).

    ``{"times": [T], "step_s": s, "product_ids": [P], "fused": {pid: [T]},
       "modalities": {name: {pid: [T]}}}``"""
    times = np.asarray(curves.times, dtype=np.float64)
    T = len(times)
    factor = max(1, int(np.ceil(T / max_steps))) if T else 1

    def pool(a):
        a = np.asarray(a, dtype=np.float32)
        if factor == 1:
            return a
        pad = (-len(a)) % factor
        if pad:
            a = np.concatenate([a, np.repeat(a[-1:], pad, axis=0)])
        return a.reshape(-1, factor, a.shape[1]).max(axis=1)

    if factor > 1:
        pad = (-T) % factor
        t = np.concatenate([times, np.repeat(times[-1:], pad)]) if pad else times
        times = t.reshape(-1, factor).mean(axis=1)
    ids = list(curves.product_ids)
    fused = pool(curves.fused) if T else np.zeros((0, len(ids)))
    out = {"times": np.round(times, 3).tolist(), "step_s": float(curves.step_s) * factor, "product_ids": ids,
           "fused": {pid: np.round(fused[:, j], 4).tolist() for j, pid in enumerate(ids)}, "modalities": {}}
    for name, arr in curves.modalities.items():
        pooled = pool(arr) if T else np.zeros((0, len(ids)))
        out["modalities"][name] = {pid: np.round(pooled[:, j], 4).tolist() for j, pid in enumerate(ids)}
    return out


def write_artefacts(job, result) -> dict:
    """result.json, curves.json and one JSON file per ``result.extras`` key, each written
    atomically; on a full disk the job's folder is removed whole and StorageFull raised."""
    rel_dir = f"{job.video.artefacts_dir()}/job{job.pk}"
    abs_dir = os.path.join(settings.MEDIA_ROOT, rel_dir)
    items = {"result": result.to_json()}
    if result.curves is not None:
        items["curves"] = curves_json(result.curves)
    for key, value in (result.extras or {}).items():
        safe = "".join(c for c in str(key) if c.isalnum() or c in "_-")[:64]
        if safe and safe not in items:
            items[safe] = to_jsonable(value)
    written = {}
    try:
        os.makedirs(abs_dir, exist_ok=True)
        for name, data in items.items():
            atomic_write_json(os.path.join(abs_dir, f"{name}.json"), data)
            written[name] = f"{rel_dir}/{name}.json"
    except OSError as e:
        shutil.rmtree(abs_dir, ignore_errors=True)
        if is_storage_full(e):
            raise StorageFull("this job's results") from e
        raise
    return written


def remove_artefacts(video) -> None:
    shutil.rmtree(os.path.join(settings.MEDIA_ROOT, video.artefacts_dir()), ignore_errors=True)
