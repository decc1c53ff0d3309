"""Writing under MEDIA_ROOT when the disk may fill up: atomic files (temp + rename, so no reader
ever sees a half-written or 0-byte file) and one error, StorageFull, for ENOSPC/EDQUOT."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile

FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class StorageFull(Exception):
    """The server's storage is full: nothing the uploader can fix, so said plainly (HTTP 507)."""

    def __init__(self, what: str = "the file"):
        super().__init__(f"storage full: the server has no room left to store {what}")


def is_storage_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


def atomic_write(path: str, write) -> None:
    """``write(tmp_path)`` writes a temporary file beside ``path`` (its name ends like ``path``'s,
    so numpy adds no suffix), which is then renamed over ``path``."""
    folder = os.path.dirname(path)
    ext = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=f".tmp{ext}", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str, data) -> None:
    """``json.dump`` to a temporary file beside ``path``, then rename it over ``path``."""

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))

    atomic_write(path, write)


def remove_quietly(path: str | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(path)
