"""Atomic files for the on-disk caches: exported graphs (``atomic_path``) and best-effort .npy
arrays (catalog image vectors, title vectors)."""

from __future__ import annotations

import contextlib
import os
import tempfile

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str, prefix: str, suffix: str = ""):
    """A temporary path next to ``path`` to write to; renamed onto ``path`` when the block ends
    without an exception (atomic on POSIX: concurrent readers see no file or the whole file),
    removed in any case."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=os.path.dirname(path))
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_atomic(path: str, array: np.ndarray, prefix: str = ".npy_") -> bool:
    """Write ``array`` to ``path`` through a temp file and a rename, so a reader never sees half
    a file. A full or read-only disk only costs the next run the work: False, nothing raised."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".npy", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        return False
    return True
