"""Versioned indexes on disk: build the new one beside the old, then switch a pointer.

    store = IndexStore(root)                 # e.g. MEDIA_ROOT/search/shop_7
    store.publish(index, version=12)         # root/v00000012/ complete, then CURRENT -> 12
    index, version = store.load_current()    # None, None before the first publish

A version folder is written under a temporary name and renamed when complete, then the
``CURRENT`` file (one line: the version) is replaced with ``os.replace``: a reader sees the old
version or the new one, never a half-written one. The old folder stays until a newer version is
current (``keep`` most recent versions stay, so a reader that read ``CURRENT`` just before a
switch still finds its folder). A version older than the current one is never made current: a
slow build that finishes after a newer one is kept out (``publish`` returns False).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from .index import CatalogIndex

_VERSION_DIR = re.compile(r"^v(\d{8,})$")


class IndexStore:
    def __init__(self, root: str, keep: int = 2):
        self.root = os.fspath(root)
        self.keep = max(1, keep)

    def folder(self, version: int) -> str:
        return os.path.join(self.root, f"v{int(version):08d}")

    def versions(self) -> list[int]:
        """Complete version folders on disk, oldest first."""
        if not os.path.isdir(self.root):
            return []
        return sorted(int(m.group(1)) for name in os.listdir(self.root) if (m := _VERSION_DIR.match(name)))

    def current_version(self) -> int | None:
        try:
            with open(os.path.join(self.root, "CURRENT")) as f:
                text = f.read().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def publish(self, index: CatalogIndex, version: int) -> bool:
        """Write ``index`` as ``version`` and make it current unless a newer one already is."""
        os.makedirs(self.root, exist_ok=True)
        final = self.folder(version)
        tmp = tempfile.mkdtemp(prefix=f".v{int(version):08d}-", dir=self.root)
        try:
            index.save(tmp)
            if os.path.isdir(final):
                shutil.rmtree(final)
            os.rename(tmp, final)
        finally:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
        current = self.current_version()
        if current is not None and current > version:
            return False
        fd, pointer = tempfile.mkstemp(prefix=".CURRENT-", dir=self.root)
        with os.fdopen(fd, "w") as f:
            f.write(f"{int(version)}\n")
        os.replace(pointer, os.path.join(self.root, "CURRENT"))
        self.prune()
        return True

    def prune(self) -> list[int]:
        """Remove all but the ``keep`` newest versions up to the current one (never the current)."""
        current = self.current_version()
        if current is None:
            return []
        old = [v for v in self.versions() if v <= current]
        removed = old[:-self.keep]
        for v in removed:
            shutil.rmtree(self.folder(v), ignore_errors=True)
        return removed

    def load_current(self) -> tuple[CatalogIndex | None, int | None]:
        version = self.current_version()
        if version is None:
            return None, None
        return CatalogIndex.load(self.folder(version)), version

    def bytes_of(self, version: int) -> int:
        folder = self.folder(version)
        return sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
