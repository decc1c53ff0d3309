"""Frame rendering for synthetic episodes: layers of real photos moved over a background.

Every shot is a static background (H,W,3 uint8 BGR) plus ``Layer``s: an RGBA image and a
function of time giving its affine placement in the frame. A frame is rendered by warping each
layer into the bounding box it covers (``cv2.warpAffine`` on the ROI only) and alpha-blending
it there, so a 1280x720 frame costs a few milliseconds on one core.

- Grocery (``instore`` photos): the real in-store photo as an opaque layer with a slow zoom and
  pan (Ken Burns) over a blurred, darkened copy of itself.
- Packshots: ``make_sprite`` cuts the product off its plain studio background and changes it
  strongly: perspective warp, colour and lighting shift, blur, partial occlusion by a "hand",
  noise and JPEG compression; the sprite then drifts, scales and rotates over a blurred real
  background (in-store photos of other items or retail video frames).
Work is in BGR (OpenCV's order); the encoder is fed ``bgr24``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import cv2
import numpy as np


@lru_cache(maxsize=256)
def load_bgr(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return img


def cover(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Resize to cover (w,h) and centre-crop."""
    ih, iw = img.shape[:2]
    s = max(w / iw, h / ih)
    r = cv2.resize(img, (max(w, int(math.ceil(iw * s))), max(h, int(math.ceil(ih * s)))),
                   interpolation=cv2.INTER_LINEAR)
    y0 = (r.shape[0] - h) // 2
    x0 = (r.shape[1] - w) // 2
    return np.ascontiguousarray(r[y0:y0 + h, x0:x0 + w])


def background(img: np.ndarray, w: int, h: int, blur: float, dim: float = 0.75) -> np.ndarray:
    """A real photo as an out-of-focus backdrop (blurred at low resolution: cheap)."""
    small = cover(img, max(16, w // 4), max(9, h // 4))
    small = cv2.GaussianBlur(small, (0, 0), max(0.5, blur / 4))
    out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.convertScaleAbs(out, alpha=dim, beta=0)


def idle_background(rng: np.random.Generator, w: int, h: int, colours=None) -> np.ndarray:
    """A plain 'studio wall': vertical colour gradient with mild noise; ``colours`` (top,
    bottom) BGR fixes the gradient (a shop's own wall), else it is drawn."""
    if colours is None:
        c0 = rng.uniform(40, 200, 3)
        c1 = np.clip(c0 + rng.uniform(-60, 60, 3), 0, 255)
    else:
        c0, c1 = (np.asarray(c, np.float64) for c in colours)
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = (c0 * (1 - ramp) + c1 * ramp).astype(np.float32)
    img = np.broadcast_to(img, (h, w, 3)).copy()
    img += rng.normal(0, 4, (h, w, 1)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- layers
@dataclass
class Layer:
    """RGBA image (h,w,4 uint8) and ``place(t) -> (cx, cy, scale, angle_deg)`` in frame px:
    the layer's centre, its scale factor and rotation at local time t (seconds)."""

    rgba: np.ndarray
    place: Callable[[float], tuple[float, float, float, float]]
    t0: float = 0.0  # visible in [t0, t1) local time
    t1: float = float("inf")


def ken_burns(cx0, cy0, s0, a0, cx1, cy1, s1, a1, dur: float):
    """Linear move from one placement to another over ``dur`` seconds, eased."""
    def place(t: float):
        u = min(max(t / max(dur, 1e-6), 0.0), 1.0)
        u = u * u * (3 - 2 * u)
        return (cx0 + (cx1 - cx0) * u, cy0 + (cy1 - cy0) * u, s0 + (s1 - s0) * u, a0 + (a1 - a0) * u)
    return place


def static(cx, cy, s, a=0.0):
    return lambda t: (cx, cy, s, a)


def draw_layer(frame: np.ndarray, layer: Layer, t: float) -> None:
    """Warp ``layer`` into ``frame`` (in place: frame is the renderer's own buffer)."""
    if not (layer.t0 <= t < layer.t1):
        return
    cx, cy, s, a = layer.place(t)
    h, w = layer.rgba.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), a, s)
    m[0, 2] += cx - w / 2
    m[1, 2] += cy - h / 2
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T
    fh, fw = frame.shape[:2]
    x0 = max(int(math.floor(corners[:, 0].min())), 0)
    y0 = max(int(math.floor(corners[:, 1].min())), 0)
    x1 = min(int(math.ceil(corners[:, 0].max())), fw)
    y1 = min(int(math.ceil(corners[:, 1].max())), fh)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    m[0, 2] -= x0
    m[1, 2] -= y0
    warped = cv2.warpAffine(layer.rgba, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    roi = frame[y0:y1, x0:x1]
    alpha = warped[:, :, 3].astype(np.float32) * (1.0 / 255.0)
    out = cv2.blendLinear(warped[:, :, :3], roi, alpha, 1.0 - alpha)
    roi[...] = out


def render_frame(bg: np.ndarray, layers: list[Layer], t: float) -> np.ndarray:
    frame = bg.copy()
    for layer in layers:
        draw_layer(frame, layer, t)
    return frame


# --------------------------------------------------------------------------- layer makers
def opaque(img: np.ndarray, feather: int = 3) -> np.ndarray:
    """BGR -> BGRA with a soft edge, so a photo's border is not a hard line."""
    h, w = img.shape[:2]
    a = np.zeros((h, w), np.uint8)
    cv2.rectangle(a, (feather, feather), (w - 1 - feather, h - 1 - feather), 255, -1)
    a = cv2.GaussianBlur(a, (0, 0), max(feather / 2, 0.5))
    return np.dstack([img, a])


def cutout_mask(img: np.ndarray) -> np.ndarray:
    """Foreground mask of a packshot on a plain studio background (uint8 0..255)."""
    h, w = img.shape[:2]
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).astype(np.float32)
    bgc = np.median(border, axis=0)
    dist = np.linalg.norm(img.astype(np.float32) - bgc, axis=2)
    m = (dist > 18).astype(np.uint8) * 255
    k = max(3, (min(h, w) // 60) | 1)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m)
    if n > 1:
        keep = 1 + np.argsort(stats[1:, cv2.CC_STAT_AREA])[::-1]
        total = stats[1:, cv2.CC_STAT_AREA].sum()
        big = [i for i in keep if stats[i, cv2.CC_STAT_AREA] >= 0.02 * total]
        m = np.isin(lab, big).astype(np.uint8) * 255
        # fill holes: anything not reachable from the border is inside the product
        flood = m.copy()
        ff = np.zeros((h + 2, w + 2), np.uint8)
        cv2.floodFill(flood, ff, (0, 0), 255)
        m = m | cv2.bitwise_not(flood)
    frac = m.mean() / 255
    if frac < 0.05 or frac > 0.97:  # not a studio shot: keep the whole photo
        m = np.full((h, w), 255, np.uint8)
    return cv2.GaussianBlur(m, (0, 0), 1.2)


def photometric(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Lighting and colour shift, blur, sensor noise, JPEG compression."""
    out = img.astype(np.float32)
    gain = 1.0 + rng.uniform(-0.25, 0.25, 3) * strength
    bright = rng.uniform(-40, 30) * strength
    out = out * gain + bright
    gamma = math.exp(rng.uniform(-0.4, 0.4) * strength)
    out = 255.0 * np.power(np.clip(out, 0, 255) / 255.0, gamma)
    h, w = out.shape[:2]
    # directional lighting: a linear ramp across the object
    ang = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = ((xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang))
    out = out * (1.0 + 0.5 * strength * ramp)[:, :, None]
    sig = rng.uniform(0, 2.0) * strength
    if sig > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sig)
    out += rng.normal(0, 6 * strength, out.shape).astype(np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    q = int(rng.uniform(90 - 65 * strength, 95 - 40 * strength))
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, max(q, 10)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else out


def occlude(rgba: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Cover part of the item with an opaque skin-toned 'hand' (fingers = ellipses)."""
    out = rgba.copy()
    h, w = out.shape[:2]
    tone = np.array([rng.uniform(60, 140), rng.uniform(100, 170), rng.uniform(150, 225)])
    side = rng.integers(4)
    n = int(rng.integers(2, 5))
    reach = rng.uniform(0.15, 0.15 + 0.3 * strength)
    for i in range(n):
        u = (i + 1) / (n + 1) * rng.uniform(0.6, 1.0)
        if side in (0, 1):  # from left or right
            cy, ax = int(h * u), int(w * reach)
            cx = 0 if side == 0 else w
            axes = (ax, max(3, int(h * 0.06)))
        else:
            cx, ax = int(w * u), int(h * reach)
            cy = 0 if side == 2 else h
            axes = (max(3, int(w * 0.06)), ax)
        col = tuple(float(c) for c in np.clip(tone + rng.normal(0, 8, 3), 0, 255)) + (255.0,)
        cv2.ellipse(out, (cx, cy), axes, 0, 0, 360, col, -1, lineType=cv2.LINE_AA)
    return out


def perspective(rgba: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    h, w = rgba.shape[:2]
    pad = int(0.2 * max(h, w))
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jit = rng.uniform(-1, 1, (4, 2)) * np.float32([w, h]) * 0.18 * strength
    dst = src + jit.astype(np.float32) + pad
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    return cv2.warpPerspective(rgba, m, (w + 2 * pad, h + 2 * pad), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))


def crop_to_alpha(rgba: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(rgba[:, :, 3] > 8)
    if not len(ys):
        return rgba
    return np.ascontiguousarray(rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1])


def make_sprite(img: np.ndarray, rng: np.random.Generator, strength: float,
                max_side: int = 480) -> np.ndarray:
    """A packshot turned into what a phone camera would see of it (BGRA, cropped)."""
    h, w = img.shape[:2]
    s = min(1.0, max_side / max(h, w))
    if s < 1.0:
        img = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
    rgba = np.dstack([photometric(img, rng, strength), cutout_mask(img)])
    if rng.random() < 0.3 + 0.5 * strength:
        rgba = occlude(rgba, rng, strength)
    return crop_to_alpha(perspective(rgba, rng, strength))


def instore_layer(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Real in-store photo: only mild camera changes (it already is a real photo)."""
    return opaque(photometric(img, rng, 0.35 * strength))


def caption_layer(text: str, width: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Burned-in caption / price tag (white text on a translucent dark band), as BGRA."""
    text = text.encode("ascii", "ignore").decode() or "LIVE"
    font = cv2.FONT_HERSHEY_DUPLEX
    fs = 1.1 * scale
    th = max(1, int(round(2 * scale)))
    (tw, tht), base = cv2.getTextSize(text, font, fs, th)
    while tw > width * 0.9 and fs > 0.4:
        fs *= 0.85
        (tw, tht), base = cv2.getTextSize(text, font, fs, th)
    pad = int(12 * scale)
    img = np.zeros((tht + base + 2 * pad, tw + 2 * pad, 4), np.uint8)
    img[:, :, 3] = int(rng.uniform(150, 210))
    col = (255, 255, 255, 255) if rng.random() < 0.7 else (60, 220, 255, 255)
    cv2.putText(img, text, (pad, pad + tht), font, fs, col, th, cv2.LINE_AA)
    return img
