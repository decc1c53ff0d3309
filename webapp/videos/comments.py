"""The seller's comments file (CSV ``time_s,user,text``): import, replace, export for the pipeline.

A row timed after the end of the video is skipped and reported, not a reason to reject the file;
a row that is not a comment at all (a time that is not a number) still rejects it, with its line."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import tempfile

from django.db import transaction

from ml.catalog import read_csv_text
from ml.comments import load_comments
from ml.errors import InputError

from .models import Comment, Video

END_SLACK_S = 1.0  # the same slack as ml.comments: a comment up to 1 s after the end is kept


class CommentsError(InputError):
    """The comments file is wrong (the video itself may be fine: a finished upload is kept)."""


@dataclasses.dataclass(frozen=True)
class CommentsImport:
    rows: list[dict]  # fields of Comment
    skipped_lines: list[int]  # line numbers (header = 1) of rows after the end of the video
    duration_s: float | None = None
    name: str = "comments.csv"  # the file's name as the seller knows it

    def report(self) -> str:
        """One sentence for the seller: what was imported and which lines were skipped."""
        text = f"{len(self.rows)} comment(s) imported from {self.name}"
        if self.skipped_lines:
            lines = ", ".join(map(str, self.skipped_lines[:20])) + (" ..." if len(self.skipped_lines) > 20 else "")
            text += (f"; {len(self.skipped_lines)} row(s) after the end of the video ({self.duration_s:.1f} s) "
                     f"were skipped (line {lines})")
        return text


def _save_upload(uploaded, workdir: str) -> str:
    path = os.path.join(workdir, "comments.csv")
    with open(path, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    return path


def parse_comments_upload(uploaded, duration_s: float | None) -> CommentsImport:
    with tempfile.TemporaryDirectory(prefix="shopfocus-comments-") as workdir:
        path = _save_upload(uploaded, workdir)
        return parse_comments_file(path, duration_s, display_name=os.path.basename(uploaded.name or "comments.csv"))


def parse_comments_file(path: str, duration_s: float | None, *, display_name: str = "comments.csv") -> CommentsImport:
    """Validate with ml's loader (every format check, with line numbers), then keep the rows
    inside the video and list the others."""
    try:
        load_comments(path, None)
        text = read_csv_text(path)
    except InputError as e:
        raise CommentsError(str(e).replace(path, display_name)) from None
    rows, skipped = [], []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        row = {(k or "").strip(): v for k, v in row.items()}
        body = (row.get("text") or "").strip()
        if not body:
            continue
        t = float(row["time_s"])
        if duration_s is not None and t > duration_s + END_SLACK_S:
            skipped.append(line)
            continue
        rows.append({"time_s": t, "user": (row.get("user") or "").strip()[:200], "text": body})
    return CommentsImport(rows, skipped, duration_s, display_name)


def store_comments(video: Video, parsed: CommentsImport) -> int:
    """Replace the video's comments with the parsed rows."""
    with transaction.atomic():
        video.comments.all().delete()
        Comment.objects.bulk_create(Comment(video=video, **row) for row in parsed.rows)
    return len(parsed.rows)


def replace_comments(video: Video, uploaded) -> CommentsImport:
    parsed = parse_comments_upload(uploaded, video.duration_s)
    store_comments(video, parsed)
    return parsed


def export_comments_csv(video: Video, path: str) -> str | None:
    """Write the video's comments as the contract CSV; None when there are none."""
    comments = list(video.comments.all())
    if not comments:
        return None
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["time_s", "user", "text"])
        for c in comments:
            w.writerow([f"{c.time_s:g}", c.user, c.text])
    return path
