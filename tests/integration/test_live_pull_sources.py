"""A live session can pull from an SRT or RTMP URL as well as HLS (issue 14, part 1): the relay
(webapp.live.recording.Relay, the ffmpeg that republishes a pulled stream to our RTMP server under
the session's key) takes a real SRT listener and a real RTMP server as its source and delivers the
whole stream. HLS through the whole live path is tests/integration/test_live_worker_dies.py."""

from __future__ import annotations

import shutil
import subprocess
import time

import av
import pytest

from tests import media
from tests.servers import free_port
from webapp.live.recording import Relay

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (`make test` installs it)")


def ffmpeg(*args, log):
    return subprocess.Popen(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-y", *args],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.parametrize("scheme", ["srt", "rtmp"])
def test_the_relay_pulls_a_live_srt_or_rtmp_source_and_republishes_all_of_it(scheme, tmp_path):
    src = media.make_video(tmp_path / "show.mp4", seconds_per_scene=2.0, audio=True)  # 6 s, H.264 + AAC
    ingest, source_port = free_port(), free_port()
    log = open(tmp_path / "servers.log", "ab")
    # Our side: an RTMP receiver standing in for nginx-rtmp, recording what the relay publishes.
    receiver = ffmpeg("-listen", "1", "-i", f"rtmp://127.0.0.1:{ingest}/live/the-key", "-c", "copy",
                      str(tmp_path / "received.flv"), log=log)
    # The seller's side: a live source at its own pace, waiting for the puller.
    url = (f"srt://127.0.0.1:{source_port}" if scheme == "srt" else f"rtmp://127.0.0.1:{source_port}/show/stream")
    served = (["-f", "mpegts", f"{url}?mode=listener"] if scheme == "srt" else ["-f", "flv", "-listen", "1", url])
    source = ffmpeg("-re", "-i", src, "-c", "copy", *served, log=log)
    try:
        time.sleep(1.0)  # both listeners up
        relay = Relay(url, f"rtmp://127.0.0.1:{ingest}/live/the-key", str(tmp_path / "relay.pid"),
                      str(tmp_path / "relay.log"))
        assert relay.command()[:3] == ["ffmpeg", "-nostdin", "-hide_banner"] and "-re" not in relay.command()
        relay.start()
        deadline = time.monotonic() + 60
        while relay.exit_code() is None and time.monotonic() < deadline:
            relay.poll()
            time.sleep(0.2)
        assert relay.exit_code() == 0, (tmp_path / "relay.log").read_text()  # the source ended: a clean end
        receiver.wait(timeout=30)
    finally:
        for p in (receiver, source):
            if p.poll() is None:
                p.kill()
                p.wait()
        log.close()
    with av.open(str(tmp_path / "received.flv")) as got:
        video = got.streams.video[0]
        assert video.codec_context.name == "h264" and len(got.streams.audio) == 1
        frames = sum(1 for _ in got.decode(video))
    assert frames >= 55, f"{frames} of 60 frames arrived"  # all of the 6 s at 10 fps (stream-copied)
