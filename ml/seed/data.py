"""Training and evaluation data for the seed models, built from the REAL photos.

Video side (what a tracker would hand over): for every product, a pool of crops ordered along a
smooth camera path, computed once through the frozen EfficientNet-Lite0 trunk and cached:

- grocery (``instore`` photos of the identical product, many held in a hand): per photo a slow
  zoom/pan ("Ken Burns") path of ``crops_instore`` crops with mild photometric change, as the
  benchmark renders them (``ml.synth.render.instore_layer``);
- single-photo items (fashion, cosmetics, ABO): per packshot ``sprites`` sprites made by the
  benchmark's own ``make_sprite`` (perspective, lighting, blur, a "hand", JPEG) composited over a
  blurred real background, each followed along a path of ``crops_per_sprite`` crops.

Shop side: every ``shop_*`` catalog photo in the five test-time views of ``embed_catalog``
(``ml.visual.embedder.augment``), i.e. exactly the product vectors the pipeline indexes.

Per crop the cache keeps the spatial pyramid of the last conv map (1280 x 7 x 7) with
generalised-mean cells: level 1 (the whole map, identical to ``ImageEmbedder.embed`` with the
default options) and level 2 (2x2 cells), each level L2-normalised. The cache file name is keyed
by a hash of the embedder options and of these data options, so a change of either rebuilds it.

Trajectories of fixed length (32, as Video2Shop) are sampled from the pools: a sliding window
over the path, optionally switching to a second photo of the same product midway (a product
turned in the hand). Splits are the benchmark's, by product (``ml.synth.sources.split_of``), so
no test product is used to train or tune.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from ..synth import render
from ..synth.sources import load_sources
from ..visual.embedder import EmbedderOptions, ImageEmbedder, augment, pool, read_rgb

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE_DIR = os.path.join(REPO, "bench", "cache", "seed")
DATA_VERSION = 1


@dataclass
class SeedDataOptions:
    crops_instore: int = 8  # crops along one in-store photo's camera path
    sprites: int = 2  # augmented sprites per packshot
    crops_per_sprite: int = 5
    strength: float = 0.6  # augmentation strength (benchmark "medium")
    traj_len: int = 32
    seed: int = 0


def _key(emb: EmbedderOptions, opt: SeedDataOptions) -> str:
    e = {k: v for k, v in asdict(emb).items() if k not in ("batch_size", "threads", "cache_dir", "backend")}
    o = {k: v for k, v in asdict(opt).items() if k != "traj_len"}
    meta = {"v": DATA_VERSION, "emb": e, "data": o}
    return hashlib.sha1(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:12]


def pyramid(fmap: np.ndarray, p: float = 3.0) -> np.ndarray:
    """(n,C,h,w) conv maps -> (n,5,C) GeM spatial pyramid: [whole map, 4 quadrant cells].

    Row 0 equals ``pool(fmap, "gem")`` (the pipeline's crop feature); rows 1..4 are the 2x2
    level, L2-normalised as one level (concatenated), as SPP-net/Video2Shop pool any crop size
    into a fixed-length vector.
    """
    n, c, h, w = fmap.shape
    g = pool(fmap, "gem", p)
    ys, xs = np.array_split(np.arange(h), 2), np.array_split(np.arange(w), 2)
    cells = np.stack([(np.maximum(fmap[:, :, yy[0]:yy[-1] + 1, xx[0]:xx[-1] + 1], 1e-6) ** p)
                      .mean(axis=(2, 3)) ** (1.0 / p) for yy in ys for xx in xs], axis=1)  # (n,4,C)
    cells = cells / np.maximum(np.linalg.norm(cells.reshape(n, -1), axis=1), 1e-12)[:, None, None]
    return np.concatenate([g[:, None, :], cells.astype(np.float32)], axis=1)


def _path(rng, n: int, zoom: tuple[float, float], pan: float) -> list[tuple[float, float, float]]:
    """n (cx, cy, scale) points on a smooth line between two random camera poses."""
    a = (0.5 + rng.uniform(-pan, pan), 0.5 + rng.uniform(-pan, pan), rng.uniform(*zoom))
    b = (0.5 + rng.uniform(-pan, pan), 0.5 + rng.uniform(-pan, pan), rng.uniform(*zoom))
    out = []
    for i in range(n):
        u = i / max(1, n - 1)
        u = 0.5 - 0.5 * math.cos(math.pi * u)  # ease in/out like a hand-held pan
        jit = rng.normal(0, 0.01, 3)  # tracker box jitter
        out.append(tuple(a[k] * (1 - u) + b[k] * u + jit[k] for k in range(3)))
    return out


def _crop(img: np.ndarray, cx: float, cy: float, s: float) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = max(8, int(h * s)), max(8, int(w * s))
    y0 = int(np.clip(cy * h - ch / 2, 0, h - ch))
    x0 = int(np.clip(cx * w - cw / 2, 0, w - cw))
    return np.ascontiguousarray(img[y0:y0 + ch, x0:x0 + cw])


def _instore_crops(path: str, rng, opt: SeedDataOptions) -> list[np.ndarray]:
    bgr = render.load_bgr(path)
    s = 480 / max(bgr.shape[:2])
    if s < 1:
        bgr = cv2.resize(bgr, (int(bgr.shape[1] * s), int(bgr.shape[0] * s)), interpolation=cv2.INTER_AREA)
    img = render.photometric(bgr, rng, 0.35 * opt.strength)[:, :, ::-1]
    return [_crop(img, *p) for p in _path(rng, opt.crops_instore, (0.55, 0.95), 0.12)]


def _packshot_crops(path: str, rng, opt: SeedDataOptions, backdrops: list[str]) -> list[list[np.ndarray]]:
    bgr = render.load_bgr(path)
    out = []
    for _ in range(opt.sprites):
        spr = render.make_sprite(bgr, rng, opt.strength, max_side=320)
        h, w = spr.shape[:2]
        W, H = int(w * rng.uniform(1.3, 1.8)), int(h * rng.uniform(1.3, 1.8))
        if backdrops and rng.random() < 0.7:
            bg = render.background(render.load_bgr(backdrops[int(rng.integers(len(backdrops)))]), W, H, blur=8)
        else:
            bg = render.idle_background(rng, W, H)
        frame = bg.astype(np.float32)
        y0, x0 = (H - h) // 2 + int(rng.integers(-(H - h) // 4, (H - h) // 4 + 1)), \
            (W - w) // 2 + int(rng.integers(-(W - w) // 4, (W - w) // 4 + 1))
        a = spr[:, :, 3:4].astype(np.float32) / 255
        frame[y0:y0 + h, x0:x0 + w] = spr[:, :, :3] * a + frame[y0:y0 + h, x0:x0 + w] * (1 - a)
        # a tracker box hugs the object: crop around it with some slack, moving over time
        fx, fy = (x0 + w / 2) / W, (y0 + h / 2) / H
        img = frame.astype(np.uint8)[:, :, ::-1]
        crops = []
        for cx, cy, sc in _path(rng, opt.crops_per_sprite, (0.7, 1.0), 0.05):
            crops.append(_crop(img, fx + cx - 0.5, fy + cy - 0.5, sc * max(w / W, h / H) * 1.15))
        out.append(crops)
    return out


def build_cache(options: SeedDataOptions | None = None, emb_options: EmbedderOptions | None = None,
                root: str | None = None, log=print) -> str:
    """Compute (once) the pyramid features of every video-side crop and shop view -> .npz path."""
    opt = options or SeedDataOptions()
    emb_opt = emb_options or EmbedderOptions()
    os.makedirs(CACHE_DIR, exist_ok=True)
    path = os.path.join(CACHE_DIR, f"features_{_key(emb_opt, opt)}.npz")
    if os.path.isfile(path):
        return path
    src = load_sources(root)
    items = src.items
    emb = ImageEmbedder(emb_opt)
    rng = np.random.default_rng([opt.seed, 4242])
    backdrops = [p for it in items if it.domain == "grocery" for p in it.photos_for("train")][::7]
    feats, item_ix, photo_ix, step_ix = [], [], [], []
    shop, shop_item = [], []
    t0 = time.time()
    photo = 0
    batch, meta = [], []

    def flush():
        if batch:
            feats.append(pyramid(emb.feature_maps(batch)).astype(np.float16))
            for i, ph, st in meta:
                item_ix.append(i)
                photo_ix.append(ph)
                step_ix.append(st)
            batch.clear()
            meta.clear()

    for i, it in enumerate(items):
        if it.kind == "instore":
            paths = it.photos_for(it.split)
            seqs = [_instore_crops(p, rng, opt) for p in paths]
        else:
            seqs = [s for p in it.photos_for(it.split) for s in _packshot_crops(p, rng, opt, backdrops)]
        for seq in seqs:
            for st, c in enumerate(seq):
                batch.append(c)
                meta.append((i, photo, st))
            photo += 1
        if len(batch) >= 64:
            flush()
        views = [v for p in it.catalog_images for v in augment(read_rgb(p))]
        shop.append(pyramid(emb.feature_maps(views)).astype(np.float16))
        shop_item += [i] * len(views)
        if i % 50 == 0:
            log(f"[seed.data] {i}/{len(items)} products, {sum(len(f) for f in feats)} crops, {time.time() - t0:.0f}s")
    flush()
    meta_items = items_meta(items)
    tmp = path + ".tmp.npz"
    np.savez(tmp, crops=np.concatenate(feats), crop_item=np.asarray(item_ix, np.int32),
             crop_photo=np.asarray(photo_ix, np.int32), crop_step=np.asarray(step_ix, np.int16),
             shop=np.concatenate(shop), shop_item=np.asarray(shop_item, np.int32),
             items=json.dumps(meta_items), options=json.dumps({"embedder": asdict(emb_opt), "data": asdict(opt)}))
    os.replace(tmp, path)
    log(f"[seed.data] cached {path} in {time.time() - t0:.0f}s")
    return path


def items_meta(items) -> list[dict]:
    """What the seed models need to know of each SourceItem (JSON-able, stored in the cache)."""
    return [{"item_id": it.item_id, "title": it.title, "category": it.category, "split": it.split,
             "domain": it.domain, "kind": it.kind, "description": it.description, "leaf": it.leaf,
             "colour": it.colour, "parent_category": it.parent_category} for it in items]


@dataclass
class SeedData:
    """The cached features, in memory. ``crops (N,5,C)``, ``shop (M,5,C)`` float32 pyramids."""

    crops: np.ndarray
    crop_item: np.ndarray
    crop_photo: np.ndarray
    crop_step: np.ndarray
    shop: np.ndarray
    shop_item: np.ndarray
    items: list[dict]

    @classmethod
    def load(cls, path: str) -> "SeedData":
        z = np.load(path)
        return cls(z["crops"].astype(np.float32), z["crop_item"], z["crop_photo"], z["crop_step"],
                   z["shop"].astype(np.float32), z["shop_item"], json.loads(str(z["items"])))

    def products(self, split: str) -> np.ndarray:
        return np.asarray([i for i, m in enumerate(self.items) if m["split"] == split], dtype=np.int64)

    def photo_index(self) -> dict[int, list[np.ndarray]]:
        """item -> list of crop-index arrays, one per photo/sprite, in path order."""
        out: dict[int, list[np.ndarray]] = {}
        order = np.lexsort((self.crop_step, self.crop_photo))
        photos = self.crop_photo[order]
        cut = np.flatnonzero(np.diff(photos)) + 1
        for seg in np.split(order, cut):
            out.setdefault(int(self.crop_item[seg[0]]), []).append(seg)
        return out

    def shop_views(self) -> dict[int, np.ndarray]:
        out: dict[int, list[int]] = {}
        for j, i in enumerate(self.shop_item):
            out.setdefault(int(i), []).append(j)
        return {k: np.asarray(v) for k, v in out.items()}


def sample_trajectory(paths: list[np.ndarray], rng, length: int = 32, p_switch: float = 0.3) -> np.ndarray:
    """Crop indices (length,) of one trajectory: a photo's path resampled to ``length`` steps
    (a tracker sees each camera pose for a few frames), sometimes switching to a second photo."""
    a = paths[int(rng.integers(len(paths)))]
    if len(paths) > 1 and rng.random() < p_switch:
        b = paths[int(rng.integers(len(paths)))]
        cut = int(rng.integers(length // 4, 3 * length // 4))
        return np.concatenate([_resample(a, cut, rng), _resample(b, length - cut, rng)])
    return _resample(a, length, rng)


def _resample(path: np.ndarray, n: int, rng) -> np.ndarray:
    pos = np.linspace(0, len(path) - 1, n) + rng.normal(0, 0.3, n)
    pos = np.clip(np.round(np.maximum.accumulate(pos)), 0, len(path) - 1).astype(int)
    if rng.random() < 0.5:
        pos = pos[::-1]
    return path[pos]
