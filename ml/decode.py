"""Decoding with PyAV: probe a file, sample frames by timestamp, read audio.

Every problem with the file itself raises ``ml.errors.InputError`` with one line naming the
file and what is wrong. Frames come out upright (the container's display matrix is applied)
and RGB; audio comes out float32 mono.

Sampling decodes sequentially and keeps the first frame at or after each target time
(``start_s + k / fps``): on a 60 s 720p clip this is ~2x faster than seeking per sample, and it
is correct for variable frame rate because it only ever looks at presentation times.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

import av
import numpy as np

from .errors import InputError
from .types import Frame, VideoInfo

# ffmpeg's "mp4/mov" family starts with an ISO box; seeing one tells "truncated mp4" apart
# from "not a media file at all" when the demuxer refuses both.
_SKIP_NONREF_CODECS = ("h264", "hevc")
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
T = TypeVar("T")


def _open(path: str):
    if not os.path.exists(path):
        raise InputError("file not found", path=path)
    if not os.path.isfile(path):
        raise InputError("is not a regular file", path=path)
    if os.path.getsize(path) == 0:
        raise InputError("file is empty (0 bytes)", path=path)
    try:
        return av.open(path, metadata_errors="ignore")
    except av.error.FFmpegError as e:
        with open(path, "rb") as f:
            head = f.read(12)
        if head[4:8] in _ISO_BOXES:
            raise InputError(f"MP4/MOV file is truncated or corrupt ({_short(e)})", path=path) from None
        raise InputError(f"not a video file that can be decoded ({_short(e)})", path=path) from None


def _short(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return " ".join(str(msg).split())[:160]


def _video_stream(container, path: str):
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        container.close()
        raise InputError(f"has no video stream (streams: {', '.join(kinds)})", path=path)
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame threads: ~1.6x on 2 cores for H.264
    return stream


def _stream_start(stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000
    return None


def _first_frame(container, stream, path: str, what: str):
    try:
        for frame in container.decode(stream):
            return frame
    except (av.error.FFmpegError, ValueError) as e:
        raise InputError(f"corrupt video: cannot decode {what} ({_short(e)})", path=path) from None
    return None


def _last_frame(container, stream, path: str, what: str, max_frames: int = 3000):
    """The last frame decodable from here (at most ``max_frames``, about one long GOP)."""
    last = None
    try:
        for n, frame in enumerate(container.decode(stream)):
            last = frame
            if n >= max_frames:
                break
    except (av.error.FFmpegError, ValueError) as e:
        if last is None:
            raise InputError(f"corrupt video: cannot decode {what} ({_short(e)})", path=path) from None
    return last


def probe(path: str) -> VideoInfo:
    """Check that ``path`` is a decodable video and describe it.

    Cost: opens the file twice over (first frame, then one seek near the end), ~10-50 ms.
    Raises InputError for a missing, empty, non-media, audio-only, truncated or corrupt file,
    or one whose duration cannot be read.
    """
    path = os.fspath(path)
    container = _open(path)
    try:
        stream = _video_stream(container, path)
        first = _first_frame(container, stream, path, "the first frame")
        if first is None:
            raise InputError("corrupt video: no frame could be decoded", path=path)
        rotation = int(round(first.rotation or 0)) % 360
        duration = _duration(container, stream)
        if duration is None or not np.isfinite(duration):
            raise InputError("cannot read the video's duration", path=path)
        fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        # A file cut short keeps its header's duration but has no packets near the end:
        # seek there and require a frame, cheaply (one GOP at most).
        if duration > 1.0:
            # Decode on to the end from a seek near it. In an MP4 the seek lands on the last
            # keyframe before the target (for a single-GOP clip, the first frame); a stream
            # without an index (MPEG-TS) may land after the last keyframe and decode nothing,
            # so step back further before calling the file truncated.
            last = None
            indexed = "mp4" in (container.format.name or "") or "mov" in (container.format.name or "")
            for back_s in (1.0,) if indexed else (1.0, 5.0, 15.0, 60.0):
                target = _stream_start(stream) + max(0.0, duration - back_s)
                try:
                    container.seek(int(target / stream.time_base), stream=stream, backward=True)
                except av.error.FFmpegError as e:
                    raise InputError(f"truncated video: cannot seek to {target:.1f}s ({_short(e)})",
                                     path=path) from None
                last = _last_frame(container, stream, path, f"frames near the end ({duration:.1f}s)")
                if last is not None or back_s >= duration:
                    break
            if last is None:
                raise InputError(f"truncated video: no frame near the end ({duration:.1f}s)", path=path)
            last_t = float(last.time or 0.0) - _stream_start(stream)
            if last_t < duration * 0.5 - 1.0:
                raise InputError(f"truncated video: header says {duration:.1f}s but frames stop "
                                 f"near {last_t:.1f}s", path=path)
        w, h = first.width, first.height
        if rotation in (90, 270):
            w, h = h, w
        return VideoInfo(path=path, duration_s=duration, fps=fps, width=w, height=h,
                         rotation=rotation, has_audio=bool(container.streams.audio),
                         codec=stream.codec_context.name or "", size_bytes=os.path.getsize(path))
    finally:
        container.close()


def _target_size(w: int, h: int, max_side: int | None) -> tuple[int, int]:
    if not max_side or max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    return max(1, int(round(w * s))), max(1, int(round(h * s)))


def _to_rgb(frame, max_side: int | None) -> np.ndarray:
    rotation = int(round(frame.rotation or 0)) % 360
    w, h = frame.width, frame.height
    uw, uh = (h, w) if rotation in (90, 270) else (w, h)
    tw, th = _target_size(uw, uh, max_side)
    if rotation in (90, 270):
        tw, th = th, tw
    # swscale resizes and converts in one pass, far cheaper than cv2 on the full frame
    img = frame.reformat(width=tw, height=th, format="rgb24").to_ndarray()
    if rotation:
        img = np.rot90(img, k=rotation // 90)  # display matrix angle is counter-clockwise
    return np.ascontiguousarray(img)


def iter_frames(path: str, fps: float = 1.0, start_s: float = 0.0, end_s: float | None = None,
                max_side: int | None = 640) -> Iterator[Frame]:
    """Lazily yield ``Frame``s sampled at ``fps`` between ``start_s`` and ``end_s`` (seconds).

    This is a generator: nothing is decoded until iterated, and memory stays constant (one
    decoded frame at a time). It seeks once to ``start_s`` and then decodes sequentially,
    keeping the first frame whose time is at or after each target ``start_s + k/fps``; with
    variable frame rate or gaps several targets may map to one frame, which is yielded once.
    ``Frame.t`` is the frame's own presentation time, relative to the stream start.
    Images are HxWx3 uint8 RGB, upright, longer side <= ``max_side`` (odd sizes allowed).
    Raises InputError if the file cannot be opened or decoding breaks midway (with the time).
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    path = os.fspath(path)
    container = _open(path)
    try:
        stream = _video_stream(container, path)
        t0 = _stream_start(stream)
        if start_s > 0:
            try:
                container.seek(int((t0 + start_s) / stream.time_base), stream=stream, backward=True)
            except av.error.FFmpegError as e:
                raise InputError(f"cannot seek to {start_s:.1f}s ({_short(e)})", path=path) from None
        step = 1.0 / fps
        rate = float(stream.average_rate or stream.guessed_rate or 0.0)
        if rate >= 4 * fps and stream.codec_context.name in _SKIP_NONREF_CODECS:
            # Sampling a few frames a second: let the decoder drop frames nothing refers to
            # (B-frames). 38 % less CPU on 720p30 x264; a kept frame is then at most a couple
            # of source frames (~0.07 s) after its target instead of one.
            stream.codec_context.skip_frame = "NONREF"
        # tolerate timestamps a hair before the target (29.97 fps rounding)
        eps = min(step * 0.05, 0.01)
        k, index, t = 0, 0, start_s
        try:
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                t = float(frame.time) - t0
                if end_s is not None and t > end_s:
                    break
                target = start_s + k * step
                if t < target - eps:
                    continue
                yield Frame(index=index, t=t, image=_to_rgb(frame, max_side))
                index += 1
                k = int(np.floor((t - start_s + eps) / step)) + 1
        except (av.error.FFmpegError, ValueError) as e:
            raise InputError(f"decoding failed near {t:.1f}s ({_short(e)})", path=path) from None
        # a file cut short decodes without error and just stops: compare with the header
        expected = _duration(container, stream) if stream.duration else None
        if expected is not None and end_s is not None:
            expected = min(expected, end_s)
        if expected is not None and index and t < expected - max(1.0, 1.5 * step):
            raise InputError(f"truncated video: frames stop at {t:.1f}s but it should last "
                             f"{expected:.1f}s", path=path)
    finally:
        container.close()


def _audio_frames(path: str, sr: int, start_s: float = 0.0, end_s: float | None = None):
    """Yield float32 mono chunks at ``sr`` (resampled by libswresample); nothing if no audio.

    ``start_s`` > 0 seeks there (to the packet before it) and drops the samples before it;
    ``end_s`` stops there. The whole track (``start_s`` 0, no ``end_s``) is decoded untrimmed."""
    container = _open(path)
    try:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        produced = False
        pos = 0.0 if start_s <= 0 else None  # seconds of the next output sample
        if start_s > 0:
            container.seek(int(start_s * av.time_base), backward=True, any_frame=False)

        def trim(a):
            nonlocal pos
            lo = 0 if pos >= start_s else min(len(a), int(round((start_s - pos) * sr)))
            hi = len(a) if end_s is None else max(lo, min(len(a), int(round((end_s - pos) * sr))))
            pos += len(a) / sr
            return a[lo:hi]

        try:
            for frame in container.decode(stream):
                if pos is None:
                    pos = float(frame.time) if frame.time is not None else 0.0
                for out in resampler.resample(frame):
                    produced = True
                    a = trim(out.to_ndarray().reshape(-1))
                    if len(a):
                        yield a
                if end_s is not None and pos >= end_s:
                    return
            for out in resampler.resample(None):
                a = trim(out.to_ndarray().reshape(-1)) if pos is not None else out.to_ndarray().reshape(-1)
                if len(a):
                    yield a
        except (av.error.FFmpegError, ValueError) as e:
            # A damaged tail (a recording still being written, a cut-off upload) ends the
            # audio there; a track that cannot be decoded at all is the user's problem.
            if not produced:
                raise InputError(f"audio decoding failed ({_short(e)})", path=path) from None
    finally:
        container.close()


def load_audio(path: str, sr: int = 16000, start_s: float = 0.0, end_s: float | None = None) -> np.ndarray:
    """The audio track (or ``[start_s, end_s)`` of it) as float32 mono in [-1,1] at ``sr`` Hz;
    empty array if no audio track."""
    parts = list(_audio_frames(os.fspath(path), sr, start_s, end_s))
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return np.clip(np.concatenate(parts).astype(np.float32, copy=False), -1.0, 1.0)


def iter_audio_chunks(path: str, chunk_s: float = 30.0, sr: int = 16000, *, start_s: float = 0.0,
                      end_s: float | None = None, quiet_s: float = 0.0) -> Iterator[tuple[float, np.ndarray]]:
    """Lazily yield ``(start_s, samples)`` chunks of ``chunk_s`` seconds (the last may be shorter)
    of the track, or of ``[start_s, end_s)`` of it.

    ``quiet_s`` > 0: each chunk ends instead at the quietest 100 ms of its last ``quiet_s``
    seconds (so a chunk boundary falls between words, not inside one); chunks then vary in length.

    A generator holding at most one chunk plus one decoded frame; yields nothing when the file
    has no audio track. Samples are float32 mono in [-1,1] at ``sr``.
    """
    n = max(1, int(round(chunk_s * sr)))
    buf: list[np.ndarray] = []
    have, start = 0, 0
    for part in _audio_frames(os.fspath(path), sr, start_s, end_s):
        buf.append(part)
        have += len(part)
        while have >= n:
            joined = np.concatenate(buf)
            cut = _quiet_cut(joined[:n], quiet_s, sr) if quiet_s > 0 else n
            yield start_s + start / sr, np.clip(joined[:cut], -1.0, 1.0)
            start += cut
            rest = joined[cut:]
            buf, have = ([rest] if len(rest) else []), len(rest)
    if have:
        yield start_s + start / sr, np.clip(np.concatenate(buf), -1.0, 1.0)


def _quiet_cut(samples: np.ndarray, quiet_s: float, sr: int) -> int:
    """Index just after the quietest 100 ms window within the last ``quiet_s`` s of ``samples``."""
    win = max(1, sr // 10)
    lo = max(0, len(samples) - int(quiet_s * sr))
    tail = samples[lo:]
    k = len(tail) // win
    if k < 2:
        return len(samples)
    energy = (tail[:k * win].reshape(k, win).astype(np.float64) ** 2).mean(axis=1)
    return lo + (int(np.argmin(energy)) + 1) * win


_END = object()


def prefetch(items: Iterator[T], depth: int = 8, name: str = "decode") -> Iterator[T]:
    """``items`` produced by a background thread, at most ``depth`` ahead of the consumer.

    Decoding (PyAV, in C, without the GIL) then runs while the consumer computes (ONNX Runtime,
    also without the GIL): on two cores the decode of a 60-minute stream hides behind vision
    instead of adding to it. Items come in the same order; an exception raised by ``items``
    is raised here, where its item would have been. Closing this generator, or an exception in
    the consumer, stops the thread and closes ``items`` (in that thread: a running generator
    cannot be closed from another one), so a cancelled job leaves no decoder behind.
    """
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_END, None))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            put((_END, e))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = q.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        thread.join()
