"""Serving stored media files with HTTP Range, so the browser's player can seek."""

from __future__ import annotations

import mimetypes
import os
import re

from django.http import HttpResponse, StreamingHttpResponse

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def _iter_file(path, start, length, chunk=512 * 1024):
    with open(path, "rb") as f:
        f.seek(start)
        while length > 0:
            data = f.read(min(chunk, length))
            if not data:
                break
            length -= len(data)
            yield data


def ranged_file_response(request, full: str) -> HttpResponse:
    """A file with HTTP Range support (the player seeks with it)."""
    size = os.path.getsize(full)
    ctype = mimetypes.guess_type(full)[0] or "application/octet-stream"
    start, end, status = 0, size - 1, 200
    rng = _RANGE.match(request.headers.get("range", "").strip())
    if rng and size:
        a, b = rng.groups()
        if a:
            start, end = int(a), (min(int(b), size - 1) if b else size - 1)
        elif b:
            start, end = max(0, size - int(b)), size - 1
        if start > end or start >= size:
            resp = HttpResponse(status=416)
            resp["Content-Range"] = f"bytes */{size}"
            return resp
        status = 206
    length = max(0, end - start + 1)
    resp = StreamingHttpResponse(_iter_file(full, start, length), status=status, content_type=ctype)
    resp["Content-Length"] = str(length)
    resp["Accept-Ranges"] = "bytes"
    if status == 206:
        resp["Content-Range"] = f"bytes {start}-{end}/{size}"
    return resp
