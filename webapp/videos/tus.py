"""Resumable uploads: the server side of the tus 1.0.0 protocol (core, creation, termination).

A multi-GB recording is sent with ``POST /api/uploads/`` (``Upload-Length``, ``Upload-Metadata``
with ``filename`` and ``shop``), then ``PATCH`` requests that append at ``Upload-Offset``. The
bytes go straight from the socket to ``MEDIA_ROOT/uploads/<id>.part`` as they arrive, so a
dropped connection keeps everything received: ``HEAD`` answers the offset (the file's size:
right even after a server crash) and the client goes on from there. The first bytes are sniffed
(junk is refused on the first chunk); a full disk is 507 and the upload is removed. When the
last byte is in, the finished upload is handed to the upload form (``upload=<id>``), which
checks and stores it like any other video (``ingest.create_video`` moves the file into place).

Written here rather than taken from a library: django-tus (last release 2020) keeps uploads in
the cache, and drf-tus reads each PATCH whole into memory (``request.body``) and keeps nothing of
an interrupted one, pins django-fsm 2.8.1 (archived) and jsonfield, and checks no ownership.
The browser side is tus-js-client (static/vendor/tus.min.js, MIT)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ml.errors import InputError
from webapp.accounts.models import Shop

from .comments import CommentsError
from .ingest import check_video_name, create_video
from .models import Upload
from .sniff import SNIFF_BYTES, not_a_video_message, sniff_container
from .storage import StorageFull, is_storage_full

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
READ_BYTES = 1024 * 1024


class OffsetOctetStream(BaseParser):
    """Declares ``application/offset+octet-stream`` (the PATCH body); the view streams it itself."""

    media_type = "application/offset+octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


def tus_headers(**extra) -> dict:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def error(message: str, code: int) -> Response:
    return Response({"error": message}, status=code, headers=tus_headers())


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata: key base64,key2 base64`` -> {key: text}; InputError when malformed."""
    out = {}
    for item in filter(None, (p.strip() for p in (header or "").split(","))):
        key, _, value = item.partition(" ")
        try:
            out[key] = base64.b64decode(value, validate=True).decode("utf-8") if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise InputError(f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text") from None
    return out


def _int_header(request, name: str) -> int:
    raw = request.headers.get(name, "")
    if not (raw.isascii() and raw.isdigit()):  # str.isdigit() alone takes '²', which int() refuses
        raise InputError(f"the {name} header must be a whole number of bytes (got {raw!r})")
    return int(raw)


def uploads_of(user):
    """Unfinished uploads a user may continue: their own, in shops they still upload to."""
    return Upload.objects.filter(user=user, shop__in=Shop.objects.visible_to(user))


class TusView(APIView):
    parser_classes = [OffsetOctetStream]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise _Precondition()

    def handle_exception(self, exc):
        if isinstance(exc, _Precondition):
            return Response({"error": f"send the header Tus-Resumable: {TUS_VERSION}"},
                            status=status.HTTP_412_PRECONDITION_FAILED, headers={"Tus-Version": TUS_VERSION})
        if isinstance(exc, InputError):
            return error(str(exc), status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def options(self, request, *args, **kwargs):
        return Response(status=status.HTTP_204_NO_CONTENT, headers=tus_headers(
            **{"Tus-Version": TUS_VERSION, "Tus-Extension": "creation,termination",
               "Tus-Max-Size": str(settings.SHOPFOCUS_MAX_UPLOAD_BYTES)}))


class _Precondition(Exception):
    pass


class UploadCreate(TusView):
    @extend_schema(summary="Start a resumable upload (tus creation)", request=None,
                   parameters=[OpenApiParameter("Tus-Resumable", str, OpenApiParameter.HEADER, required=True),
                               OpenApiParameter("Upload-Length", int, OpenApiParameter.HEADER, required=True),
                               OpenApiParameter("Upload-Metadata", str, OpenApiParameter.HEADER, required=True,
                                                description="filename and shop (slug), base64, e.g. "
                                                            "'filename c2hlbGYubXA0,shop ZGVtby1ncm9jZXJ5'")],
                   responses={201: None, 400: dict, 403: dict, 404: dict, 412: dict, 413: dict})
    def post(self, request):
        length = _int_header(request, "Upload-Length")
        meta = parse_metadata(request.headers.get("Upload-Metadata", ""))
        name = os.path.basename(meta.get("filename") or "")
        if not name:
            raise InputError("Upload-Metadata must name the file (filename)")
        shop = get_object_or_404(Shop.objects.visible_to(request.user), slug=meta.get("shop") or "")
        if not shop.can_upload(request.user):
            raise PermissionDenied("only the shop's sellers and admins upload videos")
        check_video_name(name, "", None)  # the extension first
        if length > settings.SHOPFOCUS_MAX_UPLOAD_BYTES:
            try:
                check_video_name(name, "", length)
            except InputError as e:
                return error(str(e), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        check_video_name(name, "", length)
        upload = Upload.objects.create(shop=shop, user=request.user, filename=name, length=length)
        try:
            os.makedirs(os.path.dirname(upload.path), exist_ok=True)
            open(upload.path, "xb").close()
        except OSError as e:
            upload.discard()
            if is_storage_full(e):
                return error(f"{StorageFull(name)}; nothing was kept", status.HTTP_507_INSUFFICIENT_STORAGE)
            raise
        url = reverse("videos:tus_upload", args=[upload.pk])
        return Response({"id": str(upload.pk), "url": url}, status=status.HTTP_201_CREATED,
                        headers=tus_headers(Location=url))


class UploadDetail(TusView):
    def get_upload(self, pk) -> Upload:
        upload = uploads_of(self.request.user).filter(pk=pk).first()
        if upload is None:
            raise Http404
        return upload

    @extend_schema(summary="How much of the upload the server has (tus offset)",
                   responses={200: None, 404: None, 412: None})
    def head(self, request, pk):
        upload = self.get_upload(pk)
        return Response(status=status.HTTP_200_OK, headers=tus_headers(
            **{"Upload-Offset": str(upload.offset()), "Upload-Length": str(upload.length)}))

    @extend_schema(summary="The upload's state as JSON", responses={200: dict, 404: dict, 412: dict})
    def get(self, request, pk):
        upload = self.get_upload(pk)
        return Response({"id": str(upload.pk), "filename": upload.filename, "offset": upload.offset(),
                         "length": upload.length, "complete": upload.is_complete()}, headers=tus_headers())

    @extend_schema(summary="Append bytes at Upload-Offset (tus core)",
                   request={"application/offset+octet-stream": bytes},
                   parameters=[OpenApiParameter("Upload-Offset", int, OpenApiParameter.HEADER, required=True)],
                   responses={204: None, 400: dict, 404: dict, 409: dict, 412: dict, 415: dict, 507: dict})
    def patch(self, request, pk):
        upload = self.get_upload(pk)
        if request.content_type.split(";")[0].strip() != OffsetOctetStream.media_type:
            return error(f"send the bytes as {OffsetOctetStream.media_type}", status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        offset = _int_header(request, "Upload-Offset")
        have = upload.offset()
        if offset != have:
            return Response({"error": f"the server has {have} bytes of this upload, not {offset}"},
                            status=status.HTTP_409_CONFLICT, headers=tus_headers(**{"Upload-Offset": str(have)}))
        sent = int(request.headers.get("Content-Length") or 0)
        if offset + sent > upload.length:
            return error("more bytes than Upload-Length", status.HTTP_400_BAD_REQUEST)
        try:
            written = receive(request, upload, offset, sent)
        except InputError as e:
            upload.discard()
            return error(str(e), status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        except StorageFull as e:
            upload.discard()
            return error(f"{e}; nothing was kept", status.HTTP_507_INSUFFICIENT_STORAGE)
        Upload.objects.filter(pk=upload.pk).update(updated=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT,
                        headers=tus_headers(**{"Upload-Offset": str(offset + written)}))

    @extend_schema(summary="Abandon the upload (tus termination)", responses={204: None, 404: dict, 412: dict})
    def delete(self, request, pk):
        self.get_upload(pk).discard()
        return Response(status=status.HTTP_204_NO_CONTENT, headers=tus_headers())


def receive(request, upload: Upload, offset: int, length: int) -> int:
    """Stream up to ``length`` bytes of the body to the upload's file at ``offset``; returns how
    many were written. A client that goes away keeps what arrived (the next HEAD says so)."""
    stream = request.stream
    written = 0
    with open(upload.path, "r+b") as out:
        out.truncate(offset)  # a crashed earlier PATCH may have left more than it acknowledged
        out.seek(offset)
        while written < length:
            try:
                data = stream.read(min(READ_BYTES, length - written)) if stream is not None else b""
            except Exception as e:  # the client dropped the connection mid-body
                log.info("upload %s: the client went away at %d bytes (%s)", upload.pk, offset + written, e)
                break
            if not data:
                break
            if offset + written == 0:
                data = _first_bytes(stream, data, length)
                if sniff_container(data[:SNIFF_BYTES]) is None:
                    raise InputError(not_a_video_message(upload.filename))
            try:
                out.write(data)
            except OSError as e:
                if is_storage_full(e):
                    raise StorageFull(upload.filename) from e
                raise
            written += len(data)
        with contextlib.suppress(OSError):
            out.flush()
    return written


def _first_bytes(stream, data: bytes, length: int) -> bytes:
    """Enough of the start of the file to sniff it (a client may send a tiny first read)."""
    while len(data) < min(SNIFF_BYTES, length):
        more = stream.read(SNIFF_BYTES - len(data))
        if not more:
            break
        data += more
    return data


def store_finished_upload(user, upload: Upload, title: str = "", comments=None):
    """The finished upload as a video (``ingest.create_video``, the file moved into place). A bad
    video or a full disk removes the upload; a bad comments file keeps it for another try."""
    try:
        outcome = create_video(upload.shop, user, upload.path, name=upload.filename, title=title, comments=comments)
    except CommentsError:
        raise
    except (InputError, StorageFull):
        upload.discard()
        raise
    upload.discard()
    return outcome


class UploadFinish(APIView):
    """For scripts (an API token): the finished upload becomes a video, as the upload form does."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="Turn a finished upload into a video (and queue its job)",
                   request={"multipart/form-data": {"type": "object", "properties": {
                       "title": {"type": "string"}, "comments": {"type": "string", "format": "binary"}}}},
                   responses={201: dict, 400: dict, 403: dict, 404: dict, 503: dict, 507: dict})
    def post(self, request, pk):
        upload = uploads_of(request.user).filter(pk=pk).first()
        if upload is None:
            raise Http404
        if not upload.shop.can_upload(request.user):
            raise PermissionDenied("only the shop's sellers and admins upload videos")
        try:
            upload = finished_upload(request.user, upload.shop, pk)
            outcome = store_finished_upload(request.user, upload, request.data.get("title", ""),
                                            request.FILES.get("comments"))
        except StorageFull as e:
            return Response({"error": f"{e}; nothing was kept"}, status=status.HTTP_507_INSUFFICIENT_STORAGE)
        except InputError as e:
            return Response({"error": str(e)}, status=status.HTTP_400_BAD_REQUEST)
        body, code = outcome.to_json()
        return Response(body, status=code)


def finished_upload(user, shop, pk) -> Upload:
    """The caller's complete upload for ``shop``, for the upload form; InputError otherwise."""
    upload = uploads_of(user).filter(pk=pk, shop=shop).first() if _is_uuid(pk) else None
    if upload is None:
        raise InputError("that upload is not there any more (finished, abandoned or expired): upload the file again")
    if not upload.is_complete():
        raise InputError(f"{upload.filename}: the upload is not finished ({upload.offset()} of {upload.length} "
                         "bytes): it resumes where it stopped when you choose the same file again")
    return upload


def _is_uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def purge_stale_uploads(now=None) -> int:
    """Remove unfinished uploads nobody touched for SHOPFOCUS_UPLOAD_EXPIRES_S (the reaper runs it)."""
    now = now or timezone.now()
    cutoff = now - timezone.timedelta(seconds=settings.SHOPFOCUS_UPLOAD_EXPIRES_S)
    stale = list(Upload.objects.filter(Q(updated__lt=cutoff)))
    for upload in stale:
        upload.discard()
    return len(stale)

