"""On-disk cache of catalog image vectors, keyed by content, shared by the CLI and every worker.

    store = ViewCache.for_embedder(embedder.options, tta=True)   # or ViewCache(folder)
    vectors = store.get(digest)          # (views, d) float32, or None
    store.put(digest, vectors)

A catalog image's vectors (the image and its test-time views, ``augment``) depend only on the
image's bytes and on what shapes the network's output: the exported graph (weights, input size),
the pooling, the resize mode, the backend and whether test-time views are on. The folder is
keyed by a hash of those settings and each file by the SHA-256 of the image file, so:

- a re-run on the same catalog, or a job whose catalog the worker exported to a fresh temporary
  folder, embeds nothing (paths and titles do not matter, only the bytes);
- a shop that adds or changes one product re-embeds that product's images only;
- a changed image has a new digest (a new file), and changed settings a new folder: a stale
  vector is never read.

Each file is one image's ``(views, d)`` float32 ``.npy`` (5 x 1280 x 4 bytes = 25 KB with the
default test-time views), written to a temporary name and renamed, so concurrent workers never
read half a file; an unreadable or misshapen file counts as a miss and is rewritten. Nothing is
ever evicted: delete the folder (``$SHOPFOCUS_CACHE/catalog_views``) to reclaim the space.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from ..npyfile import save_atomic

# bump when augment(), read_rgb() or the pooling code changes what a cached vector holds
CACHE_VERSION = 1


def file_digest(path: str) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def settings_key(options, tta: bool) -> str:
    """Hash of everything besides the image that decides its vectors."""
    from .embedder import _graph_key

    meta = {"v": CACHE_VERSION, "graph": _graph_key(options), "pooling": options.pooling,
            "gem_p": float(options.gem_p), "resize": options.resize, "backend": options.backend,
            "tta": bool(tta)}
    return hashlib.sha1(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]


class ViewCache:
    """A folder of ``<digest>.npy`` files, one per catalog image (see the module docstring)."""

    def __init__(self, folder: str):
        self.folder = folder

    @classmethod
    def for_embedder(cls, options, tta: bool, root: str | None = None) -> "ViewCache":
        """The cache for these embedder settings under ``root`` (default: the embedder's cache
        dir, ``$SHOPFOCUS_CACHE`` or ``~/.cache/shopfocus``, + ``catalog_views``)."""
        from .embedder import cache_dir

        root = root or os.path.join(cache_dir(options), "catalog_views")
        return cls(os.path.join(root, settings_key(options, tta)))

    def _path(self, digest: str) -> str:
        return os.path.join(self.folder, digest[:2], f"{digest}.npy")

    def get(self, digest: str, dim: int | None = None) -> np.ndarray | None:
        """The stored (views, d) vectors of the image with this digest, or None."""
        path = self._path(digest)
        try:
            v = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if v.ndim != 2 or v.dtype != np.float32 or not len(v) or (dim is not None and v.shape[1] != dim):
            return None
        return v

    def put(self, digest: str, vectors: np.ndarray) -> None:
        """Store atomically; a full or read-only disk only costs the next run the embedding."""
        save_atomic(self._path(digest), vectors, ".views_")
