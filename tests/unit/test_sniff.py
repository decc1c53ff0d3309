"""The container sniff that refuses junk on the first upload chunk: real files made here, and junk."""

import pytest

from tests import media
from webapp.videos.sniff import SNIFF_BYTES, sniff_container


@pytest.mark.parametrize("fmt, kind", [("mp4", "mp4/mov"), ("mov", "mp4/mov"), ("matroska", "matroska/webm"),
                                       ("webm", "matroska/webm"), ("avi", "avi")])
def test_real_video_containers_are_recognised_from_their_first_bytes(tmp_path, fmt, kind):
    import av

    path = tmp_path / f"clip.{fmt}"
    codec = "libvpx" if fmt == "webm" else "mpeg4"
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        import numpy as np

        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert sniff_container(path.read_bytes()[:SNIFF_BYTES]) == kind


@pytest.mark.parametrize("head", [b"these are my notes", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00",
                                  b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"PK\x03\x04" + b"\0" * 8,
                                  b"RIFF\x00\x00\x00\x00WAVEfmt ", b"\0" * 12])
def test_junk_and_other_formats_are_not_video_containers(head):
    assert sniff_container(head) is None


def test_the_test_suites_own_video_is_a_container(tmp_path):
    path = media.make_video(tmp_path / "v.mp4")
    assert sniff_container(open(path, "rb").read(SNIFF_BYTES)) == "mp4/mov"
