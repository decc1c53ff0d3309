"""A small real test video made from the MIT-licensed grocery photos in tests/data (see
tests/data/ATTRIBUTION.md): three products shown one after another, with idle grey between."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "data"
CATALOG_DIR = DATA / "catalog"
# (start_s, end_s, product_id) of what the video shows; the rest is an idle grey background.
SCRIPT = [(3.0, 11.0, "gs_34"), (14.0, 22.0, "gs_06"), (22.0, 30.0, "gs_45")]
DURATION_S = 32.0
FPS = 10
SIZE = (640, 360)
GOP = 20  # a keyframe every 2 s: cuts on even seconds can be stream-copied


def _product_image(product_id: str, size) -> np.ndarray:
    from PIL import Image

    img = Image.open(CATALOG_DIR / "images" / f"{product_id}_iconic.jpg").convert("RGB")
    img.thumbnail((int(size[0] * 0.6), int(size[1] * 0.85)))
    canvas = Image.new("RGB", size, (232, 228, 220))
    canvas.paste(img, ((size[0] - img.width) // 2, (size[1] - img.height) // 2))
    return np.asarray(canvas)


def make_video(path: str | Path) -> Path:
    import av

    path = Path(path)
    frames = {pid: _product_image(pid, SIZE) for _, _, pid in SCRIPT}
    idle = np.full((SIZE[1], SIZE[0], 3), 96, dtype=np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.options = {"g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0", "preset": "veryfast", "crf": "28"}
        for i in range(int(DURATION_S * FPS)):
            t = i / FPS
            img = next((frames[pid] for a, b, pid in SCRIPT if a <= t < b), idle)
            # a slow drift so the frames are not all identical (motion for the proposals)
            shift = int(4 * np.sin(t))
            frame = av.VideoFrame.from_ndarray(np.roll(img, shift, axis=1), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
