"""ml.decode on small real videos made from the MIT grocery photos in tests/data."""

from __future__ import annotations

import types
from fractions import Fraction

import av
import numpy as np
import pytest

from ml.decode import iter_audio_chunks, iter_frames, load_audio, prefetch, probe
from ml.errors import InputError
from tests import media


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """3 scenes x 1 s at 10 fps, 320x240, no audio."""
    return media.make_video(tmp_path_factory.mktemp("dec") / "clip.mp4")


@pytest.fixture(scope="module")
def clip_with_audio(tmp_path_factory):
    return media.make_video(tmp_path_factory.mktemp("deca") / "clip_a.mp4", audio=True)


def _write(path, images, times, rotation=0, rate=30):
    """Encode RGB images at the given presentation times (seconds): variable frame rate."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = images[0].shape[1], images[0].shape[0], "yuv420p"
        s.time_base = Fraction(1, 1000)
        s.options = {"preset": "ultrafast"}
        if rotation:
            s.set_display_rotation(rotation)
        for img, t in zip(images, times):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            f.pts, f.time_base = int(round(t * 1000)), Fraction(1, 1000)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return str(path)


def test_it_probes_a_real_video(clip):
    info = probe(clip)
    assert (info.width, info.height) == (320, 240)
    assert info.duration_s == pytest.approx(3.0, abs=0.15)
    assert info.fps == pytest.approx(10.0)
    assert info.codec == "h264" and not info.has_audio and info.size_bytes > 0


def _text_as_mp4(d):
    p = d / "notes.mp4"
    p.write_text("this is a shopping list, not a video\n" * 20)
    return p


def _zero_bytes(d):
    p = d / "empty.mp4"
    p.write_bytes(b"")
    return p


def _truncated(d):
    src = media.make_video(d / "full.mp4")
    data = open(src, "rb").read()
    p = d / "truncated.mp4"
    p.write_bytes(data[: len(data) // 2])
    return p


def _faststart(path, seconds=4, fps=10):
    """An MP4 with its index (moov) first, as phones and web encoders write them."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.options = {"preset": "ultrafast"}
        s.codec_context.gop_size = fps
        for _ in range(seconds * fps):
            img = rng.integers(0, 255, (48, 64, 3), np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return str(path)


def _truncated_faststart(d):
    data = open(_faststart(d / "fs.mp4"), "rb").read()
    p = d / "cut.mp4"
    p.write_bytes(data[: len(data) * 6 // 10])  # the index survives, the frames near the end do not
    return p


def _audio_only(d):
    return media.make_audio_only(d / "voice.m4a")


def _missing(d):
    return d / "nowhere.mp4"


@pytest.mark.parametrize("make, message", [
    (_text_as_mp4, "not a video file"),
    (_zero_bytes, "empty (0 bytes)"),
    (_truncated, "truncated"),
    (_truncated_faststart, "truncated"),
    (_audio_only, "no video stream"),
    (_missing, "not found"),
])
def test_it_rejects_bad_input_with_one_clear_line(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputError) as err:
        probe(str(path))
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text


def test_iter_frames_is_lazy_and_samples_by_timestamp(clip):
    frames = iter_frames(clip, fps=1.0)
    assert isinstance(frames, types.GeneratorType)
    got = list(frames)
    assert [f.index for f in got] == [0, 1, 2]
    assert [f.t for f in got] == pytest.approx([0.0, 1.0, 2.0], abs=0.051)
    assert all(f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8 for f in got)


def test_iter_frames_honours_window_and_max_side(clip):
    got = list(iter_frames(clip, fps=2.0, start_s=1.0, end_s=2.0, max_side=161))
    assert [f.t for f in got] == pytest.approx([1.0, 1.5, 2.0], abs=0.051)
    assert got[0].image.shape == (121, 161, 3)  # odd sizes are fine


def test_iter_frames_handles_variable_frame_rate(tmp_path):
    # frames at irregular times: a burst, a 2.5 s gap, then a burst
    times = [0.0, 0.1, 0.2, 0.9, 1.3, 3.8, 3.9, 4.6]
    imgs = [np.full((64, 96, 3), 30 * i, np.uint8) for i in range(len(times))]
    path = _write(tmp_path / "vfr.mp4", imgs, times)
    got = list(iter_frames(path, fps=1.0))
    # targets 0,1,2,3,4: first frame at/after each -> 0.0, 1.3, 3.8 (covers 2 and 3), 4.6
    assert [f.t for f in got] == pytest.approx([0.0, 1.3, 3.8, 4.6], abs=0.002)
    assert [int(f.image.mean()) for f in got] == pytest.approx([0, 120, 150, 210], abs=4)


def test_rotation_metadata_gives_upright_frames(tmp_path):
    img = np.zeros((64, 128, 3), np.uint8)
    img[:, :64] = 255  # left half white
    path = _write(tmp_path / "rot.mp4", [img] * 4, [0, 0.5, 1.0, 1.5], rotation=90)
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (64, 128, 90)
    frame = next(iter_frames(path, fps=1.0))
    assert frame.image.shape == (128, 64, 3)
    # displayed as ffmpeg does (90 degrees counter-clockwise): the white half is at the bottom
    assert frame.image[100:, :, 0].mean() > 200 and frame.image[:28, :, 0].mean() < 50


def test_load_audio_is_mono_float_at_the_requested_rate(clip_with_audio, clip):
    audio = load_audio(clip_with_audio, sr=16000)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == pytest.approx(3 * 16000, rel=0.1)
    assert np.abs(audio).max() <= 1.0
    assert load_audio(clip).shape == (0,)


def test_audio_chunks_cover_the_track_in_order(clip_with_audio, clip):
    chunks = iter_audio_chunks(clip_with_audio, chunk_s=1.0)
    assert isinstance(chunks, types.GeneratorType)
    chunks = list(chunks)
    assert [s for s, _ in chunks][:3] == [0.0, 1.0, 2.0]
    assert all(len(x) == 16000 for _, x in chunks[:-1])
    assert np.array_equal(np.concatenate([x for _, x in chunks]), load_audio(clip_with_audio))
    assert list(iter_audio_chunks(clip)) == []


def test_iter_frames_reports_where_a_video_is_cut_short(tmp_path):
    path = _truncated_faststart(tmp_path)
    with pytest.raises(InputError, match=r"truncated video: frames stop at \d\.\ds"):
        list(iter_frames(str(path), fps=1.0))


def test_iter_frames_reports_where_decoding_breaks(tmp_path):
    data = bytearray(open(media.make_video(tmp_path / "ok.mp4", seconds_per_scene=3.0), "rb").read())
    n = len(data)
    data[n // 2: n // 2 + n // 20] = bytes(n // 20)  # zero 5 % of the file in the middle
    path = tmp_path / "damaged.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"decoding failed near \d\.\ds"):
        list(iter_frames(str(path), fps=1.0))


def test_a_short_clip_with_a_single_keyframe_is_not_taken_for_truncated(tmp_path):
    """x264's default GOP (250 frames) makes a 3 s clip one GOP: seeking near the end lands on
    the first frame, so probe must decode on to the last frame before judging."""
    from fractions import Fraction

    import av
    import numpy as np

    from ml.decode import probe

    path = str(tmp_path / "one_gop.mp4")
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 8, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    info = probe(path)
    assert abs(info.duration_s - 3.0) < 0.2 and info.width == 64


def test_audio_from_a_start_time_matches_the_same_samples_of_the_whole_track(clip_with_audio):
    whole = load_audio(clip_with_audio)
    part = load_audio(clip_with_audio, start_s=1.0, end_s=2.5)
    assert len(part) == pytest.approx(1.5 * 16000, abs=2)
    # the seek lands on the packet before 1.0 s and the samples before it are dropped: what is
    # left lines up with the whole track's samples from 1.0 s to within a few samples
    ref = whole[16000:16000 + len(part)]
    lag = min(range(-8, 9), key=lambda k: float(np.abs(np.roll(part, k) - ref)[16:-16].mean()))
    assert abs(lag) <= 8
    assert float(np.abs(np.roll(part, lag) - ref)[16:-16].max()) < 0.05


def test_audio_chunks_cut_in_the_quietest_place_and_lose_no_sample(clip_with_audio):
    whole = load_audio(clip_with_audio)
    chunks = list(iter_audio_chunks(clip_with_audio, chunk_s=1.0, quiet_s=0.5))
    assert np.array_equal(np.concatenate([x for _, x in chunks]), whole)
    starts = [s for s, _ in chunks]
    assert starts[0] == 0.0 and all(b > a for a, b in zip(starts, starts[1:]))
    for (s, x), (s2, _) in zip(chunks, chunks[1:]):
        assert s2 == pytest.approx(s + len(x) / 16000)
        assert 0.5 <= len(x) / 16000 <= 1.0
        # the cut ends the quietest 100 ms window of the last half second of the 1 s it could take
        a = int(round(s * 16000))
        nominal_tail = whole[a + 8000:a + 16000]
        windows = [float((nominal_tail[i:i + 1600] ** 2).mean()) for i in range(0, 8000, 1600)]
        assert float((x[-1600:] ** 2).mean()) == pytest.approx(min(windows))


def test_audio_chunks_of_a_span_carry_absolute_start_times(clip_with_audio):
    chunks = list(iter_audio_chunks(clip_with_audio, chunk_s=0.5, start_s=1.0, end_s=2.0))
    assert [round(s, 3) for s, _ in chunks] == [1.0, 1.5]
    assert sum(len(x) for _, x in chunks) == pytest.approx(16000, abs=2)


def _decode_threads():
    import threading

    return [t for t in threading.enumerate() if t.name == "decode"]


def test_prefetched_frames_are_the_same_frames_in_the_same_order(clip):
    direct = list(iter_frames(clip, fps=5.0))
    ahead = list(prefetch(iter_frames(clip, fps=5.0), depth=2))
    assert [f.t for f in ahead] == [f.t for f in direct] and len(direct) >= 10
    for a, b in zip(ahead, direct):
        np.testing.assert_array_equal(a.image, b.image)
    assert not _decode_threads()


def test_a_decoding_error_reaches_the_consumer_after_the_frames_before_it(tmp_path):
    path = _truncated_faststart(tmp_path)
    seen = []
    with pytest.raises(InputError, match=r"truncated video: frames stop at \d\.\ds"):
        for f in prefetch(iter_frames(path, fps=10.0), depth=1):
            seen.append(f.t)
    assert seen == [f.t for f in _frames_until_error(path)]
    assert not _decode_threads()


def _frames_until_error(path):
    out = []
    try:
        for f in iter_frames(path, fps=10.0):
            out.append(f)
    except InputError:
        pass
    return out


def test_closing_early_stops_the_decoder_thread_and_closes_the_file(clip):
    frames = prefetch(iter_frames(clip, fps=10.0), depth=2)
    next(frames)
    assert _decode_threads()
    frames.close()
    assert not _decode_threads()
