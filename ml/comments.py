"""Comments file contract: CSV ``time_s,user,text``; the seller's headline may be given as a
comment at time 0 by user ``headline``."""

from __future__ import annotations

import math

import numpy as np

from .catalog import _reader, read_csv_text
from .errors import InputError
from .types import TextEvents

REQUIRED = ("time_s", "user", "text")


def load_comments(path: str, duration_s: float | None = None) -> TextEvents:
    reader = _reader(read_csv_text(path), path, REQUIRED)
    times, texts = [], []
    for row_no, row in enumerate(reader, start=2):
        where = f"{path} line {row_no}"
        raw = (row.get("time_s") or "").strip()
        try:
            t = float(raw)
        except ValueError:
            raise InputError(f"time_s {raw!r} is not a number of seconds", path=where) from None
        if not math.isfinite(t) or t < 0:
            raise InputError(f"time_s {raw!r} must be a finite number >= 0", path=where)
        if duration_s is not None and t > duration_s + 1.0:
            raise InputError(f"time_s {t:g} is after the end of the video ({duration_s:.1f} s)", path=where)
        text = (row.get("text") or "").strip()
        if text:
            times.append(t)
            texts.append(text)
    order = np.argsort(times, kind="stable")
    return TextEvents(np.asarray(times)[order], [texts[i] for i in order], np.ones(len(texts)), "comments")
