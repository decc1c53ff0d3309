"""Class-agnostic region proposals for sampled frames (no pretrained product detector exists).

Sources and their CPU cost per 640x360 frame (measured on the 2-core dev machine; motion +
saliency + frame boxes together ~9 ms):
- ``frame``: the whole frame and a centre crop. Always kept: products held up to the camera
  usually fill the middle of the picture, and the whole frame is the Vis.Img baseline.
- ``motion``: difference with the previous sampled frame (after a global-shift check, so a
  camera pan does not light up everything); blobs of moderate size are things being moved or
  held up. ~2 ms.
- ``saliency``: spectral residual (Hou & Zhang 2007) on a 64 px thumbnail; bright blobs are
  objects that stand out from a shelf or a plain background. ~2 ms.
- ``person``: OpenCV's HOG people detector every ``person_every`` frames (~60 ms each): the
  upper body of a presenter is where garments and held items are.
- ``catalog``: ORB keypoints of the catalog's images matched into the frame, RANSAC
  homography -> box. Finds textured packaging (juice, milk cartons) even when small; useless
  for untextured produce. ~85 ms CPU a frame with 54 products: off by default.

Boxes are merged with class-agnostic NMS and capped at ``max_boxes`` (the embedder cost grows
linearly with it: each box is one 224 px network pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..types import Frame, Proposals


@dataclass
class ProposalOptions:
    max_boxes: int = 6
    nms_iou: float = 0.6
    centre_frac: float = 0.6  # side of the centre crop, as a fraction of the frame's sides
    use_motion: bool = True
    use_saliency: bool = True
    use_person: bool = False
    person_every: int = 5
    use_catalog_search: bool = False
    min_area_frac: float = 0.02  # boxes smaller than this fraction of the frame are dropped
    max_area_frac: float = 0.7  # blobs larger than this are the whole frame in disguise
    pad_frac: float = 0.1  # blobs are padded by this fraction of their size (context helps)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n,4) x (m,4) xyxy -> (n,m) IoU."""
    a = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def nms(xyxy: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    ious = box_iou(xyxy, xyxy)
    for i in order:
        if all(ious[i, j] < iou for j in keep):
            keep.append(int(i))
    return np.asarray(keep, dtype=np.int64)


def spectral_residual(gray: np.ndarray, size: int = 64) -> np.ndarray:
    """Saliency map in [0,1] at the input's size (Hou & Zhang, CVPR 2007), numpy only."""
    small = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    spec = np.fft.fft2(small)
    log_amp = np.log(np.abs(spec) + 1e-6)
    residual = log_amp - cv2.blur(log_amp, (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spec)))) ** 2
    sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), 2.5)
    sal = cv2.resize(sal, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return sal / max(float(sal.max()), 1e-9)


def _blobs(mask: np.ndarray, min_area: float, max_area: float, pad: float, w: int, h: int):
    """Bounding boxes (with padding) of connected components whose box area is in range."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    out = []
    for x, y, bw, bh, area in stats[1:]:
        box_area = bw * bh / float(w * h)
        # box area in range, and the blob fills at least 15 % of its box (not a thin scribble)
        if not (min_area <= box_area <= max_area) or area < 0.15 * bw * bh:
            continue
        px, py = pad * bw, pad * bh
        out.append(([max(0, x - px), max(0, y - py), min(w, x + bw + px), min(h, y + bh + py)],
                    box_area))
    return out


class Proposer:
    """Stateful (motion needs the previous frame): call ``propose`` on frames in time order.

    ``catalog_images``: RGB images used by catalog-guided search (only read when
    ``options.use_catalog_search``).
    """

    def __init__(self, options: ProposalOptions | None = None, catalog_images: list[np.ndarray] | None = None):
        self.options = options or ProposalOptions()
        self._history: list[np.ndarray] = []  # last two blurred 160 px grey frames
        self._n = 0
        self._hog = None
        self._orb = None
        self._catalog = catalog_images or []
        self._cat_desc = None

    # ------------------------------------------------------------------ sources
    def _frame_boxes(self, w: int, h: int):
        c = self.options.centre_frac
        x0, y0 = w * (1 - c) / 2, h * (1 - c) / 2
        return [([0, 0, w, h], 0.5, "frame"), ([x0, y0, w - x0, h - y0], 0.55, "frame")]

    def _aligned_change(self, prev: np.ndarray, cur: np.ndarray) -> np.ndarray | None:
        """Pixels of ``cur`` that changed since ``prev`` once the camera's shift is undone.

        A pixel counts as changed only if it lies outside the min..max of its 3x3
        neighbourhood in the aligned previous frame, so sub-pixel alignment error on textured
        backgrounds does not light up. None when most of the picture changed (cut, zoom)."""
        (dx, dy), _ = cv2.phaseCorrelate(prev.astype(np.float32), cur.astype(np.float32))
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        warped = cv2.warpAffine(prev, m, (cur.shape[1], cur.shape[0]), borderMode=cv2.BORDER_REPLICATE)
        k = np.ones((3, 3), np.uint8)
        diff = np.maximum(cv2.subtract(cur, cv2.dilate(warped, k)), cv2.subtract(cv2.erode(warped, k), cur))
        if (diff > 25).mean() > 0.4:
            return None
        return diff > max(25, float(np.percentile(diff, 90)))

    def _motion_boxes(self, gray: np.ndarray, w: int, h: int):
        o = self.options
        small = cv2.resize(gray, (160, max(1, round(160 * h / w))), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (5, 5), 0)
        history = [p for p in self._history if p.shape == small.shape]
        self._history = (history + [small])[-2:]
        if not history:
            return []
        mask = self._aligned_change(history[-1], small)
        if mask is None:
            return []
        if len(history) == 2:
            # three-frame difference: where the object is *now* differs from both earlier
            # frames, where it *was* differs from one only
            older = self._aligned_change(history[0], small)
            if older is not None:
                mask &= cv2.dilate(older.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
        sx, sy = w / small.shape[1], h / small.shape[0]
        out = []
        for (x0, y0, x1, y1), area in _blobs(mask, o.min_area_frac, o.max_area_frac, o.pad_frac,
                                             small.shape[1], small.shape[0]):
            out.append(([x0 * sx, y0 * sy, x1 * sx, y1 * sy], 0.6 + 0.3 * min(1.0, area * 4), "motion"))
        return out

    def _saliency_boxes(self, gray: np.ndarray, w: int, h: int):
        o = self.options
        sal = spectral_residual(gray)
        mask = sal > max(0.25, 3.0 * float(sal.mean()))
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
        out = []
        for box, area in _blobs(mask, o.min_area_frac, o.max_area_frac, o.pad_frac, w, h):
            x0, y0, x1, y1 = (int(v) for v in box)
            strength = float(sal[y0:y1, x0:x1].mean()) if x1 > x0 and y1 > y0 else 0.0
            out.append((box, 0.4 + 0.4 * min(1.0, strength * 2), "saliency"))
        return out

    def _person_boxes(self, image: np.ndarray, w: int, h: int):
        if self._n % max(1, self.options.person_every):
            return []
        if self._hog is None:
            self._hog = cv2.HOGDescriptor()
            self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        rects, weights = self._hog.detectMultiScale(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY),
                                                    winStride=(8, 8), padding=(8, 8), scale=1.1)
        out = []
        for (x, y, bw, bh), wt in zip(rects, np.ravel(weights)):
            # the torso (held items, garments) rather than the legs
            out.append(([x, y + 0.15 * bh, x + bw, y + 0.65 * bh], float(min(0.9, 0.4 + 0.2 * wt)), "person"))
        return out

    def _catalog_boxes(self, gray: np.ndarray, w: int, h: int):
        if not self._catalog:
            return []
        if self._orb is None:
            self._orb = cv2.ORB_create(nfeatures=500)
            descs, pts, owner = [], [], []
            for i, img in enumerate(self._catalog):
                g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
                if max(g.shape) < 320:  # shop photos are often tiny: upsample for keypoints
                    g = cv2.resize(g, None, fx=320 / max(g.shape), fy=320 / max(g.shape))
                kp, d = self._orb.detectAndCompute(g, None)
                if d is None:
                    continue
                descs.append(d)
                pts.append(np.float32([k.pt for k in kp]))
                owner.append(np.full(len(kp), i))
                self._catalog[i] = g  # keep only what the homography needs
            self._cat_desc = (np.concatenate(descs), np.concatenate(pts), np.concatenate(owner)) if descs else None
            self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        if self._cat_desc is None:
            return []
        kp, d = self._orb.detectAndCompute(gray, None)
        if d is None or len(kp) < 8:
            return []
        cat_d, cat_pts, cat_owner = self._cat_desc
        matches = self._matcher.knnMatch(d, cat_d, k=2)
        good = [m[0] for m in matches if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
        by_product: dict[int, list] = {}
        for m in good:
            by_product.setdefault(int(cat_owner[m.trainIdx]), []).append(m)
        out = []
        for p, ms in by_product.items():
            if len(ms) < 10:
                continue
            src = np.float32([cat_pts[m.trainIdx] for m in ms])
            dst = np.float32([kp[m.queryIdx].pt for m in ms])
            hmat, inl = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
            if hmat is None or inl.sum() < 8:
                continue
            ch, cw = self._catalog[p].shape[:2]
            corners = cv2.perspectiveTransform(np.float32([[[0, 0]], [[cw, 0]], [[cw, ch]], [[0, ch]]]), hmat)
            x0, y0 = corners.min(axis=(0, 1))
            x1, y1 = corners.max(axis=(0, 1))
            box = [max(0, x0), max(0, y0), min(w, x1), min(h, y1)]
            if (box[2] - box[0]) * (box[3] - box[1]) < self.options.min_area_frac * w * h:
                continue
            out.append((box, float(min(0.99, 0.7 + inl.sum() / 100)), "catalog"))
        return out

    # ------------------------------------------------------------------ public
    def propose(self, frame: Frame) -> Proposals:
        """Up to ``max_boxes`` boxes for ``frame``, whole frame and centre crop always first."""
        o = self.options
        h, w = frame.image.shape[:2]
        gray = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        fixed = self._frame_boxes(w, h)
        found = []
        if o.use_motion:
            found += self._motion_boxes(gray, w, h)
        if o.use_saliency:
            found += self._saliency_boxes(gray, w, h)
        if o.use_person:
            found += self._person_boxes(frame.image, w, h)
        if o.use_catalog_search:
            found += self._catalog_boxes(gray, w, h)
        self._n += 1
        kept = fixed[: max(0, o.max_boxes)]
        if found and len(kept) < o.max_boxes:
            xyxy = np.float32([b for b, _, _ in fixed + found])
            conf = np.float32([2.0] * len(fixed) + [c for _, c, _ in found])  # fixed boxes win NMS
            keep = [i for i in nms(xyxy, conf, o.nms_iou) if i >= len(fixed)]
            kept += [found[i - len(fixed)] for i in keep[: o.max_boxes - len(kept)]]
        n = len(kept)
        return Proposals(np.float32([b for b, _, _ in kept]).reshape(n, 4), [c for _, c, _ in kept],
                         np.full(n, frame.index), np.full(n, frame.t), np.array([s for _, _, s in kept], dtype=object))
