"""Storing a seller's video: name/type/size checks, a container sniff of the first bytes, a
decode probe, the move into MEDIA_ROOT (nothing left behind on a full disk), the duplicate check
by SHA-256, the comments file, and the first job."""

from __future__ import annotations

import dataclasses
import hashlib
import os

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from ml.errors import InputError

from . import lifecycle
from .comments import CommentsImport, parse_comments_upload
from .models import Comment, Video
from .sniff import SNIFF_BYTES, not_a_video_message, sniff_container
from .storage import StorageFull, is_storage_full, remove_quietly
from .uploads import format_bytes

def probe_video(path: str):
    """``ml.decode.probe``: a VideoInfo, or InputError naming what is wrong with the file."""
    from ml.decode import probe

    return probe(path)


def check_video_name(name: str, content_type: str = "", size: int | None = None) -> None:
    """What can be judged before a byte is stored: extension, declared type and size."""
    ext = os.path.splitext(name)[1].lower()
    allowed = settings.SHOPFOCUS_VIDEO_EXTENSIONS
    if ext not in allowed:
        raise InputError(f"has extension {ext or '(none)'!r}; upload one of {', '.join(allowed)}", path=name)
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype and ctype not in settings.SHOPFOCUS_VIDEO_MIME_TYPES:
        raise InputError(f"was sent as {ctype!r}, which is not a video type", path=name)
    if size == 0:
        raise InputError("file is empty (0 bytes)", path=name)
    if size is not None and size > settings.SHOPFOCUS_MAX_UPLOAD_BYTES:
        raise InputError(f"is larger than the upload limit of {format_bytes(settings.SHOPFOCUS_MAX_UPLOAD_BYTES)}",
                         path=name)


def check_video_file(path: str, name: str):
    """Container sniff and decode probe of a stored file; returns ml's VideoInfo."""
    with open(path, "rb") as f:
        if sniff_container(f.read(SNIFF_BYTES)) is None:
            raise InputError(not_a_video_message(name))
    try:
        info = probe_video(path)
    except InputError as e:
        raise InputError(str(e).replace(path, name)) from None
    if not info.width or not info.height:
        raise InputError("has no video stream", path=name)
    return info


def sha256_of_path(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


@dataclasses.dataclass
class Ingested:
    video: Video
    job: object | None = None
    comments: CommentsImport | None = None
    duplicates: list = dataclasses.field(default_factory=list)  # other videos of the shop, same file
    waiting_for_broker: bool = False  # stored and queued, but the broker could not be reached

    def duplicate_warning(self) -> str:
        if not self.duplicates:
            return ""
        first = self.duplicates[0]
        more = f" and {len(self.duplicates) - 1} other(s)" if len(self.duplicates) > 1 else ""
        return (f"this file was uploaded before, as {first.title!r} (video #{first.pk}){more}: same SHA-256; "
                "both are kept, delete one if it was a mistake")


    def to_json(self) -> tuple[dict, int]:
        """The answer to an upload, for scripts and the page's script: (body, HTTP status)."""
        from django.urls import reverse

        video = self.video
        body = {"id": video.pk, "redirect": reverse("videos:detail", args=[video.pk]), "sha256": video.sha256,
                "duplicates": [{"id": v.pk, "title": v.title, "url": reverse("videos:detail", args=[v.pk])}
                               for v in self.duplicates],
                "warnings": self.notes(), "skipped_comment_lines": self.comments.skipped_lines if self.comments else []}
        if self.waiting_for_broker:
            return {**body, "error": self.broker_message(), "job_status": "waiting for the job queue"}, 503
        return body, 201

    def notes(self) -> list[str]:
        return [n for n in (self.comments.report() if self.comments else "", self.duplicate_warning()) if n]

    def broker_message(self) -> str:
        return (f"the job queue cannot be reached right now: {self.video.title!r} is saved (video #{self.video.pk}) "
                "and its processing starts by itself when the queue is back; no need to upload it again")


def _store_file(video: Video, name: str, source) -> None:
    """Put ``source`` (an UploadedFile, or a path that is moved) at the video's storage name;
    on any failure nothing is left there, and a full disk is StorageFull."""
    rel = video.file.field.generate_filename(video, name)  # videos/<shop>/<uuid>.<ext>: never taken
    target = default_storage.path(rel)
    try:
        if isinstance(source, str):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                os.rename(source, target)  # same filesystem: instant
            except OSError:
                with open(source, "rb") as f:
                    rel = default_storage.save(rel, File(f))
                os.unlink(source)
        else:
            # A TemporaryUploadedFile is moved into MEDIA_ROOT, not copied.
            rel = default_storage.save(rel, source)
    except OSError as e:
        remove_quietly(target)
        if is_storage_full(e):
            raise StorageFull("this video") from e
        raise
    video.file.name = rel


def create_video(shop, user, source, *, name: str, title: str = "", comments=None, start=True) -> Ingested:
    """Validate and store a video, its optional comments CSV, and queue a job.

    ``source`` is an UploadedFile (the form) or the path of a finished resumable upload (moved
    into place). Raises InputError (nothing stored) or StorageFull (nothing stored); a broker
    that cannot be reached is not an error: the video and job are kept and the job is marked."""
    name = os.path.basename(name or "video")
    if isinstance(source, str):
        size = os.path.getsize(source)
        check_video_name(name, "", size)
        info = check_video_file(source, name)
        digest = sha256_of_path(source)
    else:
        size = source.size
        check_video_name(name, source.content_type, size)
        path = source.temporary_file_path() if hasattr(source, "temporary_file_path") else None
        if path is None:  # in memory (tests); the form's handler always streams to a temporary file
            import tempfile

            with tempfile.NamedTemporaryFile(prefix="shopfocus-probe-", suffix=os.path.splitext(name)[1]) as tmp:
                for chunk in source.chunks():
                    tmp.write(chunk)
                tmp.flush()
                info = check_video_file(tmp.name, name)
                digest = sha256_of_path(tmp.name)
        else:
            info = check_video_file(path, name)
            digest = getattr(source, "sha256", "") or sha256_of_path(path)
    parsed = parse_comments_upload(comments, info.duration_s) if comments else None
    video = Video(shop=shop, title=(title or "").strip()[:300] or os.path.splitext(name)[0], original_name=name,
                  duration_s=info.duration_s, fps=info.fps, width=info.width, height=info.height,
                  size_bytes=size, sha256=digest, uploader=user if user and user.is_authenticated else None)
    _store_file(video, name, source)
    outcome = Ingested(video, comments=parsed)
    try:
        with transaction.atomic():
            video.save()
            if parsed:
                Comment.objects.bulk_create(Comment(video=video, **row) for row in parsed.rows)
            if start:
                outcome.job = lifecycle.start(video, user)
    except lifecycle.BrokerUnavailable:
        outcome.waiting_for_broker = True  # committed: the reaper sends the job when the broker is back
    except BaseException:
        remove_quietly(video.file.path)
        raise
    outcome.duplicates = list(video.duplicates())
    return outcome


def create_video_from_path(shop, user, path: str, title: str = "") -> Video:
    """Store a copy of a video already on disk (the demo command); no job."""
    info = probe_video(path)
    video = Video(shop=shop, title=title or os.path.basename(path), original_name=os.path.basename(path),
                  duration_s=info.duration_s, fps=info.fps, width=info.width, height=info.height,
                  size_bytes=os.path.getsize(path), sha256=sha256_of_path(path), uploader=user)
    with open(path, "rb") as f:
        video.file.save(os.path.basename(path), File(f), save=True)
    return video
