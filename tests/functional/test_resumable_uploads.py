"""Resumable uploads (tus 1.0.0 at /api/uploads/): the protocol's answers, and a 1 GB upload whose
connection is cut halfway that resumes where it stopped and becomes a video.

The 1 GB file is made on the fly: a real MP4 followed by a ``free`` box of padding (a box every
MP4 reader skips), so the assembled file is a valid video and the final checks run on it for real."""

from __future__ import annotations

import base64
import hashlib
import socket
import struct

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.servers import CSRF_TOKEN, csrf_headers
from webapp.videos.models import Upload, Video

TUS = {"Tus-Resumable": "1.0.0"}


def metadata(**items) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in items.items())


def create(client, shop, name="shelf.mp4", length=1000):
    return client.post(reverse("videos:tus_create"), headers={
        **TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(filename=name, shop=shop.slug)})


def patch(client, url, data: bytes, offset: int):
    return client.generic("PATCH", url, data, content_type="application/offset+octet-stream",
                          headers={**TUS, "Upload-Offset": str(offset)})


# --------------------------------------------------------------------------- the protocol
def test_a_resumable_upload_in_two_pieces_becomes_a_video(personas, catalog, video_bytes):
    client = personas.client(personas.seller)
    created = create(client, personas.shop, length=len(video_bytes))
    assert created.status_code == 201 and created["Tus-Resumable"] == "1.0.0"
    url = created["Location"]

    half = len(video_bytes) // 2
    assert patch(client, url, video_bytes[:half], 0)["Upload-Offset"] == str(half)
    assert client.head(url, headers=TUS)["Upload-Offset"] == str(half)
    assert patch(client, url, video_bytes[half:], half).status_code == 204

    done = client.post(reverse("videos:upload", args=[personas.shop.slug]),
                       {"upload": url.rstrip("/").rsplit("/", 1)[1], "title": "Shelf tour"},
                       headers={"x-requested-with": "XMLHttpRequest"})
    assert done.status_code == 201, done.content
    video = Video.objects.get()
    assert video.sha256 == hashlib.sha256(video_bytes).hexdigest() and video.title == "Shelf tour"
    assert not Upload.objects.exists() and video.jobs.get().status == "queued"


def test_a_script_with_an_api_token_uploads_resumably_and_gets_the_video(personas, catalog, video_bytes):
    from django.test import Client

    from tests.functional.test_api_tokens import make_token

    script = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {make_token(personas.client(personas.seller))}")
    url = create(script, personas.shop, name="obs.mp4", length=len(video_bytes))["Location"]
    assert patch(script, url, video_bytes, 0).status_code == 204
    comments = SimpleUploadedFile("c.csv", b"time_s,user,text\n1,ann,hi\n99,bob,late\n")

    done = script.post(url + "video/", {"title": "From OBS", "comments": comments})

    assert done.status_code == 201, done.content
    body = done.json()
    video = Video.objects.get(pk=body["id"])
    assert (video.title, video.uploader, video.comments.count()) == ("From OBS", personas.seller, 1)
    assert body["skipped_comment_lines"] == [3] and not Upload.objects.exists()
    assert video.jobs.get().status == "queued"


def test_a_finished_upload_is_kept_when_only_its_comments_file_is_wrong(personas, catalog, video_bytes):
    client = personas.client(personas.seller)
    url = create(client, personas.shop, length=len(video_bytes))["Location"]
    patch(client, url, video_bytes, 0)
    form = {"upload": url.rstrip("/").rsplit("/", 1)[1]}
    xhr = {"x-requested-with": "XMLHttpRequest"}
    bad = SimpleUploadedFile("c.csv", b"time_s,user,text\nsoon,ann,hi\n")

    refused = client.post(reverse("videos:upload", args=[personas.shop.slug]), {**form, "comments": bad}, headers=xhr)
    assert refused.status_code == 400 and "c.csv line 2" in refused.json()["error"]
    assert Upload.objects.get().is_complete()  # the 1 GB need not go up again

    assert client.post(reverse("videos:upload", args=[personas.shop.slug]), form, headers=xhr).status_code == 201
    assert Video.objects.count() == 1 and not Upload.objects.exists()


def test_a_piece_at_the_wrong_offset_is_refused_with_the_servers_offset(personas):
    client = personas.client(personas.seller)
    url = create(client, personas.shop)["Location"]
    response = patch(client, url, b"\0\0\0\x18ftypisom" + b"\0" * 20, offset=10)
    assert response.status_code == 409 and response["Upload-Offset"] == "0"


def test_junk_is_refused_on_its_first_piece_and_nothing_is_kept(personas, settings):
    client = personas.client(personas.seller)
    url = create(client, personas.shop, name="recording.mp4", length=10_000_000)["Location"]
    response = patch(client, url, b"MZ\x90\0 this is a program, not a video" * 100, offset=0)
    assert response.status_code == 415
    assert response.json()["error"].startswith("recording.mp4: not a video file that can be decoded")
    assert not Upload.objects.exists() and list((settings.MEDIA_ROOT / "uploads").iterdir()) == []


@pytest.mark.parametrize("headers, status, message", [
    ({"Upload-Length": "10", "Upload-Metadata": metadata(filename="a.mp4", shop="corner-grocery")}, 412,
     "Tus-Resumable"),
    ({**TUS, "Upload-Metadata": metadata(filename="a.mp4", shop="corner-grocery")}, 400, "Upload-Length"),
    ({**TUS, "Upload-Length": "10", "Upload-Metadata": metadata(filename="a.exe", shop="corner-grocery")}, 400,
     "a.exe: has extension '.exe'"),
    ({**TUS, "Upload-Length": str(10**13), "Upload-Metadata": metadata(filename="a.mp4", shop="corner-grocery")},
     413, "larger than the upload limit"),
    ({**TUS, "Upload-Length": "10", "Upload-Metadata": "filename ***"}, 400, "not base64"),
], ids=["no-tus-header", "no-length", "bad-extension", "too-large", "bad-metadata"])
def test_a_bad_start_of_an_upload_gets_its_own_clear_message(personas, headers, status, message):
    response = personas.client(personas.seller).post(reverse("videos:tus_create"), headers=headers)
    assert response.status_code == status and message in response.json()["error"]
    assert not Upload.objects.exists()


def test_nobody_else_sees_or_continues_someones_upload(personas):
    url = create(personas.client(personas.seller), personas.shop)["Location"]
    for intruder in (personas.other_seller, personas.reviewer):
        assert personas.client(intruder).head(url, headers=TUS).status_code == 404
    assert personas.client(personas.reviewer).post(reverse("videos:tus_create"), headers={
        **TUS, "Upload-Length": "10", "Upload-Metadata": metadata(filename="a.mp4", shop=personas.shop.slug),
    }).status_code == 403


# --------------------------------------------------------------------------- 1 GB, cut halfway
class PaddedVideo:
    """A real MP4 then a ``free`` box of zeros up to ``size`` bytes, made as it is read."""

    def __init__(self, video: bytes, size: int):
        self.head = video + struct.pack(">I", size - len(video)) + b"free"
        self.size = size

    def chunks(self, start: int, end: int | None = None, block: int = 4 * 1024 * 1024):
        end = self.size if end is None else end
        zeros = bytes(block)
        pos = start
        while pos < end:
            if pos < len(self.head):
                piece = self.head[pos:min(end, len(self.head), pos + block)]
            else:
                piece = zeros[:min(block, end - pos)]
            yield piece
            pos += len(piece)

    def sha256(self) -> str:
        h = hashlib.sha256()
        for piece in self.chunks(0):
            h.update(piece)
        return h.hexdigest()


class Rest:
    """The file from ``offset`` on, as a streamed request body of known length (counts what it sends)."""

    def __init__(self, padded: PaddedVideo, offset: int):
        self.padded, self.offset, self.sent = padded, offset, 0

    def __len__(self):
        return self.padded.size - self.offset

    def __iter__(self):
        for piece in self.padded.chunks(self.offset):
            self.sent += len(piece)
            yield piece


def test_a_1_gb_upload_cut_off_halfway_resumes_where_it_stopped(site, video_bytes):
    server, http, _, personas = site
    size = 1024**3
    padded = PaddedVideo(video_bytes, size)
    created = http.post(server.url + reverse("videos:tus_create"), headers={
        **TUS, **csrf_headers(), "Upload-Length": str(size),
        "Upload-Metadata": metadata(filename="live-recording.mp4", shop=personas.shop.slug)})
    assert created.status_code == 201, created.text
    url = server.url + created.headers["Location"]

    # The whole file in one PATCH, and the connection dropped (a reset) after 512 MB.
    path = created.headers["Location"]
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sock.sendall((f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nTus-Resumable: 1.0.0\r\n"
                  f"Cookie: sessionid={http.cookies['sessionid']}; csrftoken={CSRF_TOKEN}\r\n"
                  f"X-CSRFToken: {CSRF_TOKEN}\r\nUpload-Offset: 0\r\n"
                  f"Content-Type: application/offset+octet-stream\r\nContent-Length: {size}\r\n\r\n").encode())
    cut_at = size // 2
    for piece in padded.chunks(0, cut_at):
        sock.sendall(piece)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()

    offset = _settled_offset(http, url)
    # Everything that reached the server was kept: at most what sat in socket buffers is lost.
    assert cut_at - 64 * 1024**2 <= offset <= cut_at, offset

    rest = Rest(padded, offset)
    resumed = http.patch(url, data=rest, headers={
        **TUS, **csrf_headers(), "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
    assert resumed.status_code == 204, resumed.text
    assert resumed.headers["Upload-Offset"] == str(size) and rest.sent == size - offset

    done = http.post(server.url + reverse("videos:upload", args=[personas.shop.slug]),
                     data={"upload": path.rstrip("/").rsplit("/", 1)[1], "title": "Live recording"},
                     headers={**csrf_headers(), "X-Requested-With": "XMLHttpRequest"})
    assert done.status_code == 201, done.text
    video = Video.objects.get(pk=done.json()["id"])
    assert (video.size_bytes, video.duration_s) == (size, pytest.approx(3.0))
    assert video.sha256 == padded.sha256()
    assert not Upload.objects.exists() and list((server.media_root / "uploads").iterdir()) == []
    video.file.delete()  # 1 GB: do not keep it for the rest of the session


def _settled_offset(http, url, timeout: float = 30) -> int:
    """The server's offset once it has noticed the dropped connection (it stops growing)."""
    import time

    deadline, last = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        now = int(http.head(url, headers=TUS).headers["Upload-Offset"])
        if now == last:
            return now
        last = now
        time.sleep(0.5)
    return last
