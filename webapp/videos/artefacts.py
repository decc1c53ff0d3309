"""The JSON artefacts of a job (result, score curves, transcript...) under MEDIA_ROOT."""

from __future__ import annotations

import os
import shutil

import numpy as np
from django.conf import settings

from .storage import StorageFull, atomic_write, atomic_write_json, is_storage_full

MAX_CURVE_STEPS = 2000


def curves_json(curves, max_steps: int = MAX_CURVE_STEPS) -> dict:
    """Score curves for the timeline, max-pooled to at most ``max_steps`` steps (peaks survive).

    ``{"times": [T], "step_s": s, "product_ids": [P], "fused": {pid: [T]},
       "modalities": {name: {pid: [T]}}, "nothing": [T]}``; "nothing" is the probability that no
    product of the list is shown (fusion v2's background), max-pooled like the rest, [] when the
    scorer has none."""
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
    bg = getattr(curves, "background", None)
    out["nothing"] = np.round(pool(np.asarray(bg)[:, None])[:, 0], 4).tolist() if bg is not None and T else []
    return out


def write_artefacts(job, result, memory=None) -> dict:
    """result.json, curves.json and one JSON file per key of the run's evidence
    (``ml.types.Evidence.to_json``: boxes, shots, tracklets, transcript, screen_text), each written
    atomically; on a full disk the job's folder is removed whole and StorageFull raised.

    Beside them, two .npz files for ``ml`` to read back: ``curves_npz``, the full-resolution
    curves (``ml.pipeline.save_curves``; curves.json is max-pooled for the timeline, too lossy to
    refit from), and ``memory``, the ``ml.adapt.ShopMemory`` the run was given (when it had one),
    so the result can be reproduced."""
    rel_dir = f"{job.video.artefacts_dir()}/job{job.pk}"
    abs_dir = os.path.join(settings.MEDIA_ROOT, rel_dir)
    items = {"result": result.to_json()}
    if result.curves is not None:
        items["curves"] = curves_json(result.curves)
    for key, value in (result.evidence.to_json() if result.evidence is not None else {}).items():
        items.setdefault(key, value)
    binary = {}
    if result.curves is not None:
        from ml.pipeline import save_curves

        binary["curves_npz"] = ("curves.npz", lambda path: save_curves(result.curves, path))
    if memory is not None:
        binary["memory"] = ("memory.npz", memory.save)
    written = {}
    try:
        os.makedirs(abs_dir, exist_ok=True)
        for name, data in items.items():
            atomic_write_json(os.path.join(abs_dir, f"{name}.json"), data)
            written[name] = f"{rel_dir}/{name}.json"
        for name, (filename, write) in binary.items():
            atomic_write(os.path.join(abs_dir, filename), write)
            written[name] = f"{rel_dir}/{filename}"
    except OSError as e:
        shutil.rmtree(abs_dir, ignore_errors=True)
        if is_storage_full(e):
            raise StorageFull("this job's results") from e
        raise
    return written


def remove_artefacts(video) -> None:
    shutil.rmtree(os.path.join(settings.MEDIA_ROOT, video.artefacts_dir()), ignore_errors=True)
