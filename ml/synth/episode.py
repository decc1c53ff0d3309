"""Render a planned episode: catalog folder, video (H.264 + AAC), comments, truth.

    paths = generate_episode("out/ep0", seed=0, split="test", difficulty="medium",
                             domain="grocery", duration_s=120)

Frames are drawn at ``render_fps`` (10 by default) and ffmpeg repeats them to the output 25
fps: the pipeline samples a few frames a second, and drawing every 25 fps frame would double
the generation time for nothing it can see. Truth boundaries lie on the render grid.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

import cv2
import numpy as np

from . import audio, render
from .script import DIFFICULTIES, LEVELS, Plan, Segment, plan_episode
from .sources import DOMAINS, SPLITS, SourceItem, Sources, load_sources, product_id_of

SYNTH_VERSION = "1"  # bump whenever an episode for a given seed would change


@dataclass
class Shot:
    start_s: float
    end_s: float
    bg: np.ndarray
    layers: list
    clip_frames: list | None = None
    clip_fps: float = 25.0


def _seed_int(*parts) -> int:
    return int(hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:15], 16)


class _Media:
    """Per-episode image lookups: backgrounds of other items, clip frames (cached); a shop's
    backdrops, wall and lighting when the episode belongs to one."""

    def __init__(self, sources: Sources, plan: Plan, split: str, w: int, h: int, shop=None):
        self.w, self.h = w, h
        self.shop = shop
        cat = {it.item_id for it in plan.catalog}
        groc = [it for it in sources.items if it.kind == "instore"]
        self.bg_by_item = {it.item_id: [p for ps in it.video_images.values() for p in ps] for it in groc}
        self.bg_items = [i for i in self.bg_by_item if i not in cat] or list(self.bg_by_item)
        self.split = split
        self.clips: dict[str, tuple[list, float]] = {}
        self.clip_paths = sources.distractor_videos

    def clip(self, path: str, max_h: int) -> tuple[list, float]:
        if path not in self.clips:
            cap = cv2.VideoCapture(path)
            fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
            frames = []
            step = max(1, int(round(fps / 10)))  # keep ~10 fps of it
            i = 0
            while True:
                ok, fr = cap.read()
                if not ok or len(frames) >= 80:
                    break
                if i % step == 0:
                    s = max_h / fr.shape[0]
                    frames.append(cv2.resize(fr, (int(fr.shape[1] * s), max_h), interpolation=cv2.INTER_AREA))
                i += 1
            cap.release()
            self.clips[path] = (frames, fps / step)
        return self.clips[path]

    def idle(self, rng) -> np.ndarray:
        """The studio wall (the shop's own colours when there is a shop)."""
        return render.idle_background(rng, self.w, self.h, self.shop.wall if self.shop else None)

    def light(self, frame: np.ndarray) -> np.ndarray:
        return self.shop.light(frame) if self.shop else frame

    def backdrop(self, rng, exclude: str = "") -> np.ndarray:
        """Blurred real scene: an in-store photo of another item, or a retail clip frame; in a
        shop, one of the studio's few backdrops."""
        if self.shop is not None and self.shop.backdrops:
            path = self.shop.backdrops[int(rng.integers(len(self.shop.backdrops)))]
            return render.background(render.load_bgr(path), self.w, self.h, blur=rng.uniform(6, 10), dim=0.8)
        if self.clip_paths and rng.random() < 0.3:
            frames, _ = self.clip(self.clip_paths[int(rng.integers(len(self.clip_paths)))], self.h)
            if frames:
                return render.background(frames[int(rng.integers(len(frames)))], self.w, self.h,
                                         blur=rng.uniform(6, 14), dim=rng.uniform(0.6, 0.95))
        items = [i for i in self.bg_items if i != exclude] or self.bg_items
        if not items:
            return self.idle(rng)
        paths = self.bg_by_item[items[int(rng.integers(len(items)))]]
        img = render.load_bgr(paths[int(rng.integers(len(paths)))])
        return render.background(img, self.w, self.h, blur=rng.uniform(6, 14), dim=rng.uniform(0.6, 0.95))


def _item_layer(item: SourceItem, split: str, rng, aug: float, target_h: float,
                photo_idx: int = 0) -> tuple[np.ndarray, float]:
    """The item as it appears on camera (BGRA) and the scale that makes it target_h tall."""
    photos = item.photos_for(split)
    if item.kind == "instore":
        img = render.load_bgr(photos[photo_idx % len(photos)])
        rgba = render.instore_layer(img, rng, aug)
    else:
        img = render.load_bgr(photos[int(rng.integers(len(photos)))])
        rgba = render.make_sprite(img, rng, aug)
    return rgba, target_h / rgba.shape[0]


def _moving(rng, cx, cy, scale, dur, aug, rot: bool):
    """A slow Ken Burns style move around (cx, cy, scale)."""
    w_amp = 0.06 + 0.06 * aug
    a0 = float(rng.uniform(-20, 20) * aug) if rot else 0.0
    a1 = a0 + (float(rng.uniform(-8, 8) * aug) if rot else 0.0)
    z = float(rng.uniform(1.05, 1.3))
    s0, s1 = (scale, scale * z) if rng.random() < 0.6 else (scale * z, scale)
    d = max(cx, cy)
    return render.ken_burns(cx + rng.uniform(-1, 1) * w_amp * d, cy + rng.uniform(-1, 1) * w_amp * d * 0.5,
                            s0, a0, cx + rng.uniform(-1, 1) * w_amp * d, cy + rng.uniform(-1, 1) * w_amp * d * 0.5,
                            s1, a1, dur)


def _shots_for(seg: Segment, seg_idx: int, base: int, media: _Media, split: str, aug: float,
               shot_s: tuple[float, float]) -> list[Shot]:
    rng = np.random.default_rng([base, seg_idx])
    w, h = media.w, media.h
    out: list[Shot] = []
    t = seg.start_s
    k = int(rng.integers(0, 1000))
    while t < seg.end_s - 1e-6:
        e = min(seg.end_s, t + rng.uniform(*shot_s))
        if seg.end_s - e < 1.0:
            e = seg.end_s
        dur = e - t
        layers: list[render.Layer] = []
        clip_frames, clip_fps = None, 25.0
        if seg.kind in ("exhibit", "distractor"):
            item = seg.item
            two = seg.second is not None
            if item.kind == "instore":
                bg = (render.background(render.load_bgr(item.photos_for(split)[k % len(item.photos_for(split))]),
                                        w, h, blur=rng.uniform(8, 16), dim=rng.uniform(0.5, 0.8))
                      if rng.random() < 0.6 else media.backdrop(rng, exclude=item.item_id))
                th = h * (rng.uniform(0.55, 0.75) if two else rng.uniform(0.8, 1.0))
            else:
                bg = media.backdrop(rng, exclude=item.item_id)
                th = h * (rng.uniform(0.4, 0.6) if two else rng.uniform(0.45, 0.8))
            rgba, s = _item_layer(item, split, rng, aug, th, k)
            cx = w * (0.3 if two else 0.5)
            layers.append(render.Layer(rgba, _moving(rng, cx, h / 2, s, dur, aug, item.kind != "instore")))
            if two:
                a, b = seg.second_span
                rgba2, s2 = _item_layer(seg.second, split, rng, aug, h * rng.uniform(0.45, 0.65), k + 1)
                layers.append(render.Layer(rgba2, _moving(rng, w * 0.72, h / 2, s2, dur, aug,
                                                          seg.second.kind != "instore"),
                                           t0=a - t, t1=b - t))
            if seg.overlay is not None:
                rgba3, s3 = _item_layer(seg.overlay, split, rng, aug, h * rng.uniform(0.2, 0.3), k)
                corner = (w * rng.choice([0.12, 0.88]), h * rng.choice([0.2, 0.8]))
                layers.append(render.Layer(rgba3, render.static(*corner, s3, float(rng.uniform(-15, 15)))))
        elif seg.kind == "clip":
            frames, clip_fps = media.clip(seg.clip, h)
            clip_frames = frames
            bg = render.background(frames[0], w, h, blur=12, dim=0.6) if frames else media.idle(rng)
        elif seg.kind == "blank":  # long streams only: a black or plain transition frame
            bg = np.full((h, w, 3), int(rng.integers(0, 40)) if rng.random() < 0.7 else int(rng.integers(60, 200)),
                         np.uint8)
        else:
            bg = media.idle(rng) if rng.random() < 0.5 else media.backdrop(rng)
        if seg.caption:
            cap = render.caption_layer(seg.caption, w, rng, scale=h / 720)
            layers.append(render.Layer(cap, render.static(w / 2, h * rng.choice([0.86, 0.12]), 1.0)))
        out.append(Shot(t, e, bg, layers, clip_frames, clip_fps))
        t = e
        k += 1
    return out


def _draw(shot: Shot, t: float) -> np.ndarray:
    local = t - shot.start_s
    if shot.clip_frames:
        frame = shot.bg.copy()
        n = len(shot.clip_frames)
        i = int(local * shot.clip_fps) % (2 * n - 1 if n > 1 else 1)
        clip = shot.clip_frames[i if i < n else 2 * n - 2 - i]
        ch, cw = clip.shape[:2]
        x0 = max(0, (frame.shape[1] - cw) // 2)
        frame[:ch, x0:x0 + min(cw, frame.shape[1])] = clip[:frame.shape[0], :frame.shape[1]]
        for layer in shot.layers:
            render.draw_layer(frame, layer, local)
        return frame
    return render.render_frame(shot.bg, shot.layers, local)


def _narration(plan: Plan, duration_s: float, snr_db: float, rng) -> tuple[np.ndarray, list[dict]]:
    n = int(round(duration_s * audio.SAMPLE_RATE))
    speech = np.zeros(n, np.float32)
    done: list[dict] = []
    free_at = 0.0
    cache: dict[str, np.ndarray] = {}
    for line in plan.lines:
        if line.text not in cache:
            cache[line.text] = audio.say(line.text, **plan.voice)
        x = cache[line.text]
        start = max(line.start_s, free_at + 0.3)
        if start - line.start_s > 4.0 and line.kind in ("filler", "offtopic"):
            continue
        end = start + len(x) / audio.SAMPLE_RATE
        if end > duration_s - 0.2:
            continue
        i = int(start * audio.SAMPLE_RATE)
        speech[i:i + len(x)] += x[: n - i]
        free_at = end
        done.append({"start_s": round(start, 2), "end_s": round(end, 2), "text": line.text,
                     "kind": line.kind, "product_id": line.product_id})
    noise = audio.background_sound(rng, n, music=rng.random() < 0.7)
    return audio.mix(speech, noise, snr_db), done


def _write_catalog(plan: Plan, folder: str, rng) -> list[dict]:
    img_dir = os.path.join(folder, "images")
    os.makedirs(img_dir, exist_ok=True)
    rows = []
    items = [plan.catalog[i] for i in rng.permutation(len(plan.catalog))]
    for it in items:
        pid = product_id_of(it.item_id)
        rels = []
        for j, src in enumerate(it.catalog_images):
            rel = f"images/{pid}_{j}{os.path.splitext(src)[1].lower() or '.jpg'}"
            shutil.copyfile(src, os.path.join(folder, rel))
            rels.append(rel)
        rows.append({"product_id": pid, "title": it.title, "category": it.category,
                     "images": ";".join(rels), "description": it.description,
                     "parent_category": it.parent_category})
    with open(os.path.join(folder, "products.csv"), "w", newline="", encoding="utf-8") as f:
        wr = csv.DictWriter(f, fieldnames=["product_id", "title", "category", "images", "description",
                                           "parent_category"])
        wr.writeheader()
        wr.writerows(rows)
    return [{"product_id": product_id_of(it.item_id), "item_id": it.item_id} for it in items]


def write_texts(plan: Plan, out_dir: str, base: int) -> list[dict]:
    """catalog/ (fresh), comments.csv and truth.json; returns the product id -> item id map."""
    os.makedirs(out_dir, exist_ok=True)
    cat_dir = os.path.join(out_dir, "catalog")
    if os.path.isdir(cat_dir):
        shutil.rmtree(cat_dir)
    id_map = _write_catalog(plan, cat_dir, np.random.default_rng([base, 1]))
    with open(os.path.join(out_dir, "comments.csv"), "w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f)
        wr.writerow(["time_s", "user", "text"])
        for t, u, text in plan.comments:
            wr.writerow([f"{t:.2f}", u, text])
    with open(os.path.join(out_dir, "truth.json"), "w", encoding="utf-8") as f:
        json.dump({"intervals": plan.truth}, f, indent=1)
    return id_map


def _encode(out_path: str, wav_path: str, frames, size: tuple[int, int], render_fps: float,
            fps: int, preset: str) -> None:
    w, h = size
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
           "-s", f"{w}x{h}", "-framerate", str(render_fps), "-i", "-", "-i", wav_path,
           "-map", "0:v", "-map", "1:a", "-vf", f"fps={fps}", "-c:v", "libx264", "-preset", preset,
           "-crf", "23", "-pix_fmt", "yuv420p", "-g", str(2 * fps), "-c:a", "aac", "-b:a", "96k",
           "-shortest", "-movflags", "+faststart", out_path]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for fr in frames:
            proc.stdin.write(fr.tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode(errors="replace")
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed writing {out_path}: {err.strip()[-500:]}")


def generate_episode(out_dir: str, seed: int, split: str = "test", difficulty: str = "medium",
                     domain: str = "mixed", duration_s: float = 120.0, size: tuple[int, int] = (1280, 720),
                     *, data_root: str | None = None, sources: Sources | None = None,
                     fps: int = 25, render_fps: float = 10.0, preset: str = "veryfast",
                     shop_seed: int | None = None) -> dict:
    """Write one episode into ``out_dir`` and return its paths.

    ``shop_seed``: the episode is one of a shop's series (``ml.synth.shop``: the shop drawn from
    this seed, the split and the domain gives the catalog, studio, lighting and voice; ``seed``
    the episode's script). None: an ordinary episode, exactly as before shops existed.

    Returns {"dir", "video", "catalog", "comments", "truth", "meta"}; ``meta`` (episode.json)
    records the settings, the source item of every product id, the narration actually placed
    and the timeline, so a result can be debugged against what was drawn and said.
    Deterministic in (seed, split, difficulty, domain, duration_s, size, SYNTH_VERSION).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty!r}")
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")
    if duration_s < 5:
        raise ValueError("duration_s must be at least 5 seconds")
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is not installed: it encodes the benchmark videos")
    t_start = time.time()
    sources = sources or load_sources(data_root)
    w, h = int(size[0]) // 2 * 2, int(size[1]) // 2 * 2
    shop = None
    if shop_seed is None:
        base = _seed_int(SYNTH_VERSION, seed, split, difficulty, domain, duration_s, w, h)
    else:
        from .shop import SHOP_VERSION, draw_shop

        shop = draw_shop(sources, np.random.default_rng(_seed_int("shop", SHOP_VERSION, shop_seed, split, domain)),
                         f"shop{shop_seed}", split, domain)
        base = _seed_int("shop", SHOP_VERSION, shop_seed, seed, split, difficulty, domain, duration_s, w, h)
    rng = np.random.default_rng(base)
    lv = LEVELS[difficulty]
    plan = plan_episode(sources, rng, split, difficulty, domain, float(duration_s), render_fps, shop=shop)

    id_map = write_texts(plan, out_dir, base)

    wav, spoken = _narration(plan, float(duration_s), lv.snr_db, np.random.default_rng([base, 2]))
    media = _Media(sources, plan, split, w, h, shop)
    frames = _frames(plan, base, media, split, lv, int(round(duration_s * render_fps)), render_fps)

    video = os.path.join(out_dir, "video.mp4")
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = os.path.join(tmp, "audio.wav")
        audio.write_wav(wav_path, wav)
        _encode(video, wav_path, frames, (w, h), render_fps, fps, preset)

    meta = {"synth_version": SYNTH_VERSION, "seed": seed, "split": split, "difficulty": difficulty,
            "domain": domain, "duration_s": float(duration_s), "size": [w, h], "fps": fps,
            "render_fps": render_fps, "data_root": sources.root, "catalog_size": len(plan.catalog),
            "products": id_map, "speech": spoken, "voice": plan.voice, "segments": segments_meta(plan),
            **({"shop": {"seed": shop_seed, "id": shop.shop_id, "version": SHOP_VERSION,
                         "core": [product_id_of(it.item_id) for it in shop.core],
                         "gain": shop.gain, "brightness": shop.brightness}} if shop else {}),
            "generation_s": round(time.time() - t_start, 2)}
    return write_meta(out_dir, meta)


def _frames(plan: Plan, base: int, media: _Media, split: str, lv, n_frames: int, render_fps: float):
    """The episode's frames, one at a time (only the current segment's shots are held)."""
    seg_i, shots, si = -1, [], 0
    for i in range(n_frames):
        t = i / render_fps
        while not shots or t >= shots[-1].end_s - 1e-9:
            seg_i += 1
            if seg_i >= len(plan.segments):
                break
            shots, si = _shots_for(plan.segments[seg_i], seg_i, base, media, split, lv.aug, lv.shot_s), 0
        while si < len(shots) - 1 and t >= shots[si].end_s - 1e-9:
            si += 1
        yield media.light(_draw(shots[si], t))


def segments_meta(plan: Plan) -> list[dict]:
    return [{"kind": s.kind, "start_s": s.start_s, "end_s": s.end_s,
             "product_id": product_id_of(s.item.item_id) if s.item and s.kind == "exhibit" else "",
             "item_id": s.item.item_id if s.item else "", "caption": s.caption,
             "second": product_id_of(s.second.item_id) if s.second else "",
             "overlay": s.overlay.item_id if s.overlay else "",
             "clip": os.path.basename(s.clip)} for s in plan.segments]


def write_meta(out_dir: str, meta: dict) -> dict:
    """Write episode.json; returns the episode's paths."""
    with open(os.path.join(out_dir, "episode.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    return {"dir": out_dir, "video": os.path.join(out_dir, "video.mp4"), "catalog": os.path.join(out_dir, "catalog"),
            "comments": os.path.join(out_dir, "comments.csv"),
            "truth": os.path.join(out_dir, "truth.json"), "meta": os.path.join(out_dir, "episode.json")}
