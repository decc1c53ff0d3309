"""How tests/data/clip/ was made (run once; the outputs are committed).

A 12 s 640x360 H.264 + AAC clip: 0-5 s a real in-store photo of a banana with a slow zoom,
5-10 s a real in-store photo of Oatly oat milk panning, 10-12 s an idle grey frame; espeak-ng
narration names both products. Photos: GroceryStoreDataset (MIT), see ATTRIBUTION.md.

    .venv/bin/python tests/data/make_clip.py
"""

import json
import os
import subprocess
import tempfile

import av
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "clip")
W, H, FPS, SR = 640, 360, 25, 16000
SHOTS = [("Banana__test_Banana_017.jpg", 0.0, 5.0, "zoom"), ("Oatly-Oat-Milk__test_Oatly-Oat-Milk_001.jpg", 5.0, 10.0, "pan")]
SPEECH = [(0.8, "Look at this ecological banana, great as a snack."),
          (5.6, "And here is the Oatly oat milk, a natural oat drink.")]


def frame_at(t: float, photos: dict) -> np.ndarray:
    for name, start, end, motion in SHOTS:
        if start <= t < end:
            img = photos[name]
            u = (t - start) / (end - start)
            ih, iw = img.shape[:2]
            scale = 1.0 - 0.25 * u if motion == "zoom" else 0.8
            cw, ch = int(iw * scale), int(iw * scale * H / W)
            ch = min(ch, ih)
            x0 = int((iw - cw) * (0.5 if motion == "zoom" else u))
            y0 = (ih - ch) // 2
            crop = Image.fromarray(img[y0:y0 + ch, x0:x0 + cw]).resize((W, H), Image.BILINEAR)
            return np.asarray(crop)
    return np.full((H, W, 3), 118, np.uint8)


def speech() -> np.ndarray:
    audio = np.zeros(int(12 * SR), np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for i, (t, text) in enumerate(SPEECH):
            wav = os.path.join(tmp, f"{i}.wav")
            subprocess.run(["espeak-ng", "-s", "150", "-w", wav, text], check=True)
            raw = os.path.join(tmp, f"{i}.raw")
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", wav, "-f", "f32le", "-ac", "1",
                            "-ar", str(SR), raw], check=True)
            s = np.fromfile(raw, np.float32)
            a = int(t * SR)
            audio[a:a + len(s)] += s[:len(audio) - a]
    return np.clip(audio * 0.8, -1, 1)


def main():
    os.makedirs(OUT, exist_ok=True)
    photos = {n: np.asarray(Image.open(os.path.join(HERE, "grocery", n)).convert("RGB")) for n, *_ in SHOTS}
    audio = speech()
    with av.open(os.path.join(OUT, "clip.mp4"), "w") as c:
        vs = c.add_stream("libx264", rate=FPS, options={"crf": "30", "preset": "veryfast", "g": "50"})
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        aus = c.add_stream("aac", rate=SR, layout="mono")
        for i in range(12 * FPS):
            for p in vs.encode(av.VideoFrame.from_ndarray(frame_at(i / FPS, photos), format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        for k in range(0, len(audio), 1024):
            chunk = audio[k:k + 1024].reshape(1, -1)
            fr = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            fr.sample_rate, fr.pts = SR, k
            for p in aus.encode(fr):
                c.mux(p)
        for p in aus.encode():
            c.mux(p)
    with open(os.path.join(OUT, "truth.json"), "w") as f:
        json.dump({"intervals": [{"product_id": "gs_06", "start_s": 0.0, "end_s": 5.0},
                                 {"product_id": "gs_45", "start_s": 5.0, "end_s": 10.0}]}, f, indent=1)
    with open(os.path.join(OUT, "comments.csv"), "w") as f:
        f.write("time_s,user,text\n2.0,ann,love bananas\n7.5,bob,is the oat milk vegan?\n11.0,eve,hello from Oslo\n")


if __name__ == "__main__":
    main()
