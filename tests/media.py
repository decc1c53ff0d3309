"""Small real media built on the fly from the MIT grocery photos in tests/data (never /work/shared)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

DATA = Path(__file__).parent / "data" / "grocery"
PRODUCTS = [  # product_id, title, category, parent_category, photo
    ("BAN", "Banana", "fruit", "produce", "Banana__iconic.jpg"),
    ("OAT", "Oatly Oat Milk", "milk", "dairy", "Oatly-Oat-Milk__iconic.jpg"),
    ("JUI", "Bravo Apple Juice", "juice", "drinks", "Bravo-Apple-Juice__iconic.jpg"),
]
SCENES = ["Banana__test_Banana_017.jpg", "Oatly-Oat-Milk__test_Oatly-Oat-Milk_001.jpg",
          "Bravo-Apple-Juice__test_Bravo-Apple-Juice_001.jpg"]


def _frame(name: str, size=(320, 240)) -> np.ndarray:
    with Image.open(DATA / name) as im:
        return np.asarray(im.convert("RGB").resize(size))


def _video_stream(out, fps: int):
    """A 320x240 H.264 stream with a keyframe a second (probe seeks near the end)."""
    stream = out.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
    stream.options = {"preset": "ultrafast"}
    stream.codec_context.gop_size = fps
    return stream


def _encode(out, stream, images, fps: int) -> int:
    """Encode and mux RGB ``images`` at ``fps``, then flush; returns the frame count."""
    n = 0
    for img in images:
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = n
        frame.time_base = Fraction(1, fps)
        n += 1
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    return n


def make_video(path, seconds_per_scene: float = 1.0, fps: int = 10, audio: bool = False) -> str:
    """An H.264 MP4 showing each scene photo in turn (3 s by default)."""
    with av.open(str(path), "w") as out:
        stream = _video_stream(out, fps)
        a_stream = out.add_stream("aac", rate=16000) if audio else None
        n = _encode(out, stream, (img for scene in SCENES for img in [_frame(scene)] * int(seconds_per_scene * fps)),
                    fps)
        if a_stream is not None:
            _write_silence(out, a_stream, n / fps)
    return str(path)


def make_tabletop_video(path, seconds_per_scene: float = 4.0, fps: int = 10) -> str:
    """Each scene photo in turn, smaller than the frame and swaying on a plain table, so the
    proposer finds located boxes (a photo that fills the frame gives only whole-frame ones):
    what learning from reviews cuts its crops from. 12 s by default: BAN, OAT, JUI, 4 s each."""
    table = np.full((240, 320, 3), (200, 190, 200), np.uint8)

    def frames():
        for scene in SCENES:
            obj = _frame(scene, (140, 110))
            for k in range(int(seconds_per_scene * fps)):
                img = table.copy()
                x, y = 70 + int(20 * np.sin(k / 6.0)), 60 + int(10 * np.cos(k / 5.0))
                img[y:y + 110, x:x + 140] = obj
                yield img

    with av.open(str(path), "w") as out:
        _encode(out, _video_stream(out, fps), frames(), fps)
    return str(path)


def _write_silence(out, stream, seconds: float):
    rate, samples = 16000, 1024
    pts = 0
    while pts < seconds * rate:
        frame = av.AudioFrame.from_ndarray(np.zeros((1, samples), dtype=np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, pts
        pts += samples
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def make_audio_only(path, seconds: float = 2.0) -> str:
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000)
        _write_silence(out, stream, seconds)
    return str(path)


def write_catalog(folder, products=PRODUCTS) -> str:
    """The contract folder: products.csv + images/ (copied photos)."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for pid, title, cat, parent, photo in products:
        shutil.copy(DATA / photo, folder / "images" / photo)
        rows.append([pid, title, cat, f"images/{photo}", f"{title} from the grocery store", parent])
    with open(folder / "products.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["product_id", "title", "category", "images", "description", "parent_category"])
        w.writerows(rows)
    return str(folder)


def zip_folder(folder) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, _, files in os.walk(folder):
            for name in files:
                full = os.path.join(root, name)
                zf.write(full, os.path.relpath(full, folder))
    return buf.getvalue()


def zip_entries(entries: dict[str, bytes], symlinks=()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = (0o120777 << 16)
            zf.writestr(info, data)
    return buf.getvalue()


def photo_bytes(name: str = "Banana__iconic.jpg") -> bytes:
    return (DATA / name).read_bytes()


def fusion_with_threshold(folder, threshold: float) -> str:
    """A copy of the shipped fusion bundle whose output threshold is ``threshold``: for tests
    of the streaming mechanics on the 12 s clip, whose 4 s segments give weaker evidence than a
    real stream's (its intervals score below the calibrated 0.5 there)."""
    import json
    import os

    from ml.fusion import DEFAULT_BUNDLE, MODELS_DIR

    with open(os.path.join(MODELS_DIR, f"fusion_{DEFAULT_BUNDLE}.json")) as f:
        bundle = json.load(f)
    for scorer in bundle["intervals"].values():
        scorer["threshold"] = threshold
    path = os.path.join(str(folder), f"fusion_threshold_{threshold:g}.json")
    with open(path, "w") as f:
        json.dump(bundle, f)
    return path
