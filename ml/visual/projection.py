"""A learned linear projection of the crop and catalog vectors before the cosine.

    M = load_projection(path)        # (d,d) float32, or None for the pretrained space
    z = project(x, M)                # rows L2-normalised after x @ M

The matrix is ``I + A``, fitted by ``python -m ml.seed.projection`` (a triplet loss of
train-split tracklets against shop images, hard negatives among look-alikes; the step and the
weight decay chosen on the validation products). ``VisualAnalyzer`` projects the catalog
vectors before it builds its index and every query before it searches; the tracker's
appearance re-linking, the box search and a shop's memory views stay in the raw space.
"""

from __future__ import annotations

import json
import os

import numpy as np

PACKAGED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "projection.npz")


def load_projection(path: str | None) -> np.ndarray | None:
    """The (d,d) matrix ``I + delta`` at ``path`` ("packaged": ``ml/models/projection.npz``;
    None, "" or "none": no projection). A missing or malformed file is an error: a run asked
    for a projection it cannot have."""
    if not path or path == "none":
        return None
    if path == "packaged":
        path = PACKAGED
    with np.load(path, allow_pickle=False) as z:
        if "delta" not in z:
            raise ValueError(f"projection {path}: no 'delta' array (write it with python -m ml.seed.projection)")
        d = np.asarray(z["delta"], np.float32)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"projection {path}: matrix of shape {d.shape}, expected (d,d)")
    return d + np.eye(len(d), dtype=np.float32)


def projection_meta(path: str = PACKAGED) -> dict:
    with np.load(PACKAGED if path == "packaged" else path, allow_pickle=False) as z:
        return json.loads(str(z["meta"])) if "meta" in z else {}


def project(x: np.ndarray, matrix: np.ndarray | None) -> np.ndarray:
    """Rows of ``x`` through ``matrix``, L2-normalised (``x`` itself when ``matrix`` is None)."""
    if matrix is None:
        return x
    z = np.asarray(x, np.float32) @ matrix
    return (z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-12)).astype(np.float32)
