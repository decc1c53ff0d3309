"""Media cut from a video for the review pages: highlight clips (ffmpeg) and the filmstrip.

Clips: each interval is cut with stream copy when it starts on a keyframe (no quality loss,
instant), otherwise re-encoded (H.264/AAC) so it starts exactly where the reviewer said. A
product's highlight is its intervals joined in time order. Everything is cached under the
video's artefacts folder, keyed by the intervals' ids and versions, so an edit makes a new clip
and an unchanged one is never cut twice.

Filmstrip: one JPEG sprite of low-rate thumbnails (PyAV seeks to the keyframe before each time,
which is what a thumbnail needs), cached per video."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass

from django.conf import settings

FILMSTRIP_TILES = 240
FILMSTRIP_TILE_W = 128
KEYFRAME_TOLERANCE_S = 0.04


class ClipError(RuntimeError):
    """ffmpeg could not cut the clip (message readable by a seller)."""


def _abs(rel: str) -> str:
    return os.path.join(settings.MEDIA_ROOT, rel)


def _cache_dir(video, sub: str) -> str:
    path = _abs(f"{video.artefacts_dir()}/{sub}")
    os.makedirs(path, exist_ok=True)
    return path


# --------------------------------------------------------------------------- keyframes
def keyframe_times(video) -> list[float]:
    """Presentation times of the video stream's keyframes (cached as JSON next to the clips)."""
    cache = os.path.join(_cache_dir(video, "clips"), f"keyframes-{video.sha256[:16] or video.pk}.json")
    if os.path.exists(cache):
        with open(cache, encoding="utf-8") as f:
            return json.load(f)
    import av

    times = []
    with av.open(video.file.path) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.is_keyframe and packet.pts is not None:
                times.append(round(float(packet.pts * stream.time_base), 4))
    times.sort()
    with open(cache, "w", encoding="utf-8") as f:
        json.dump(times, f)
    return times


def starts_on_keyframe(keyframes: list[float], t: float) -> bool:
    return any(abs(k - t) <= KEYFRAME_TOLERANCE_S for k in keyframes)


# --------------------------------------------------------------------------- clips
@dataclass(frozen=True)
class Segment:
    interval_id: int
    version: int
    start_s: float
    end_s: float


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        raise ClipError("ffmpeg could not cut the clip: " + " | ".join(tail))


def _has_audio(path: str) -> bool:
    import av

    with av.open(path) as c:
        return bool(c.streams.audio)


def cut_segment(src: str, seg: Segment, out: str, *, copy: bool, audio: bool) -> None:
    """One interval of ``src`` into ``out`` (MP4). ``copy``: stream copy (start is a keyframe)."""
    dur = max(0.05, seg.end_s - seg.start_s)
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{seg.start_s:.3f}",
           "-i", src, "-t", f"{dur:.3f}", "-map", "0:v:0"]
    if audio:
        cmd += ["-map", "0:a:0?"]
    if copy:
        cmd += ["-c", "copy", "-avoid_negative_ts", "make_zero"]
    else:
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-pix_fmt", "yuv420p"]
        if audio:
            cmd += ["-c:a", "aac", "-b:a", "128k"]
    cmd += ["-movflags", "+faststart", out]
    _run(cmd)


def clip_for(video, segments: list[Segment], name: str) -> str:
    """Absolute path of the clip joining ``segments`` (cut and cached on first use)."""
    if not segments:
        raise ClipError("there is no interval to cut")
    segments = sorted(segments, key=lambda s: (s.start_s, s.end_s))
    key = hashlib.sha1(json.dumps([video.sha256, video.file.name,
                                   [(s.interval_id, s.version, s.start_s, s.end_s) for s in segments]]).encode()
                       ).hexdigest()[:16]
    out_dir = _cache_dir(video, "clips")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:80] or "clip"
    out = os.path.join(out_dir, f"{safe}-{key}.mp4")
    if os.path.exists(out):
        return out
    src = video.file.path
    audio = _has_audio(src)
    keyframes = keyframe_times(video)
    # Stream copy only when every piece starts on a keyframe: pieces of one clip must share codec
    # parameters to be joined without re-encoding.
    copy = all(starts_on_keyframe(keyframes, s.start_s) for s in segments)
    with tempfile.TemporaryDirectory(prefix="shopfocus-clip-", dir=out_dir) as tmp:
        parts = []
        for n, seg in enumerate(segments):
            part = os.path.join(tmp, f"part{n:04d}.mp4")
            cut_segment(src, seg, part, copy=copy, audio=audio)
            parts.append(part)
        tmp_out = os.path.join(tmp, "out.mp4")
        if len(parts) == 1:
            shutil.move(parts[0], tmp_out)
        else:
            listing = os.path.join(tmp, "parts.txt")
            with open(listing, "w", encoding="utf-8") as f:
                f.writelines(f"file '{p}'\n" for p in parts)
            _run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
                  "-i", listing, "-c", "copy", "-movflags", "+faststart", tmp_out])
        os.replace(tmp_out, out)
    return out


def segments(intervals) -> list[Segment]:
    """The pieces of a highlight clip, in time order."""
    return sorted((Segment(iv.pk, iv.version, iv.start_s, iv.end_s) for iv in intervals),
                  key=lambda s: (s.start_s, s.end_s))


def zip_clips(video, items: list[tuple[str, str]]) -> str:
    """A ZIP (stored, MP4 does not compress) of ``(arcname, path)`` pairs; cached by content key."""
    key = hashlib.sha1(json.dumps(sorted(items)).encode()).hexdigest()[:16]
    out = os.path.join(_cache_dir(video, "clips"), f"all-{key}.zip")
    if not os.path.exists(out):
        tmp = out + ".part"
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            for arcname, path in items:
                z.write(path, arcname)
        os.replace(tmp, out)
    return out


# --------------------------------------------------------------------------- poster
def poster_time(video) -> float:
    """When a product is shown: the middle of the best published interval (confirmed first, then
    by score), else the middle of the video."""
    from .models import Interval

    best = max(Interval.objects.published(video), default=None,
               key=lambda iv: (iv.is_confirmed, iv.score, -iv.start_s))
    if best is not None:
        return round((best.start_s + best.end_s) / 2, 2)
    return round(max(0.0, float(video.duration_s or 0)) / 2, 2)


def poster(video, t: float) -> str:
    """Absolute path of a JPEG of the frame at ``t`` (cached per video and time)."""
    out = os.path.join(_cache_dir(video, "poster"), f"poster-{video.sha256[:16] or video.pk}-{t:.2f}.jpg")
    if os.path.exists(out):
        return out
    import av

    img = None
    with av.open(video.file.path) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        container.seek(int(t / tb), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            img = frame
            if frame.pts is None or float(frame.pts * tb) + 1e-3 >= t:
                break
    if img is None:
        raise ClipError("the video has no frame to show as a poster")
    tmp = out + ".part.jpg"
    img.to_image().save(tmp, "JPEG", quality=85)
    os.replace(tmp, out)
    return out


# --------------------------------------------------------------------------- filmstrip
def filmstrip_layout(video) -> dict:
    """How many tiles, every how many seconds, tile size and columns of the sprite."""
    duration = max(0.1, float(video.duration_s or 0.1))
    step = max(0.5, duration / FILMSTRIP_TILES)
    count = max(1, min(FILMSTRIP_TILES, int(duration // step) + (1 if duration % step > 1e-6 else 0)))
    w = FILMSTRIP_TILE_W
    h = int(round(w * (video.height or 9) / max(1, video.width or 16) / 2)) * 2 or 72
    cols = min(count, 20)
    return {"count": count, "step_s": step, "tile_w": w, "tile_h": h, "columns": cols,
            "rows": (count + cols - 1) // cols}


def filmstrip(video) -> tuple[str, dict]:
    """(absolute path of the sprite JPEG, its layout); tile i shows time ``(i + 0.5) * step_s``."""
    layout = filmstrip_layout(video)
    out = os.path.join(_cache_dir(video, "filmstrip"),
                       f"strip-{video.sha256[:16] or video.pk}-{layout['count']}x{layout['tile_w']}.jpg")
    if os.path.exists(out):
        return out, layout
    import av
    from PIL import Image

    w, h, cols = layout["tile_w"], layout["tile_h"], layout["columns"]
    sheet = Image.new("RGB", (w * cols, h * layout["rows"]), (20, 22, 26))
    with av.open(video.file.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base)
        last = None
        for i in range(layout["count"]):
            t = min((i + 0.5) * layout["step_s"], max(0.0, (video.duration_s or 0) - 0.05))
            img = None
            try:
                container.seek(int(t / tb), stream=stream, backward=True, any_frame=False)
                for frame in container.decode(stream):
                    ft = float(frame.pts * tb) if frame.pts is not None else t
                    img = frame
                    if ft + 1e-3 >= t - layout["step_s"] / 2:
                        break
            except Exception:  # noqa: BLE001 - a broken tail frame must not lose the whole strip
                img = None
            pil = img.to_image().resize((w, h)) if img is not None else last
            if pil is not None:
                sheet.paste(pil, ((i % cols) * w, (i // cols) * h))
                last = pil
    tmp = out + ".part.jpg"
    sheet.save(tmp, "JPEG", quality=72)
    os.replace(tmp, out)
    return out, layout
