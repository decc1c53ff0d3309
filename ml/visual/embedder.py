"""Image embeddings from EfficientNet-Lite0 through ONNX Runtime.

``ImageEmbedder(options).embed(images)`` takes RGB uint8 images of any size and returns (n,d)
float32 L2-normalised vectors. The network runs once per image at ``input_size`` (the image is
letterboxed or stretched to a square) and outputs its last conv map (n,1280,h,w); pooling is
done in numpy so every pooling variant shares one exported graph:

- ``gem``: generalised mean, p=3, (n,1280). Between average (p=1) and max pooling; the
  standard for instance retrieval. The default.
- ``spp``: spatial pyramid of max pools, levels 1 and 2 (1x1 + 2x2 bins), each level
  L2-normalised, as Video2Shop's image network does for crops of any shape: (n,6400). Keeps
  coarse layout.
- ``mean``: global average pooling (what the ImageNet head sees), (n,1280).

Measured (GroceryStore, 54 products, 231 in-store test photos against one shop photo each,
recall@1/@5): gem 0.43/0.77, spp 0.44/0.77, mean 0.41/0.76 - equal within noise, so gem wins
on size (spp's 5x wider vectors cost 5x the tracklet memory). Input 224 beats 192 (gem
0.36/0.74) and is the resolution the weights were trained at.

The ONNX graph is exported once (``torch.onnx.export(dynamo=False, opset 17)``) into
``$SHOPFOCUS_CACHE`` (default ``~/.cache/shopfocus``) under a name keyed by a hash of what
shapes the graph, written to a temporary file and renamed so concurrent workers never read a
half-written model. ``backend="torch"`` skips ONNX (slower: ~35 vs ~70 img/s on 2 cores).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..npyfile import atomic_path
from ..types import Catalog
from . import lite0

GRAPH_VERSION = 1  # bump when the exported graph changes


@dataclass
class EmbedderOptions:
    input_size: int = 224
    pooling: str = "gem"  # "gem" | "spp" | "mean"
    gem_p: float = 3.0
    resize: str = "pad"  # "pad" (letterbox, keeps aspect) | "stretch"
    backend: str = "onnx"  # "onnx" | "torch"
    # "fp32": the float graph; "int8": the statically quantized one (``ml.visual.quantize``:
    # ~2.1x faster per crop on CPU, ~1.24x end to end; opt-in, since the shipped fusion was
    # fitted on float features and loses accuracy on int8 ones). ONNX backend only.
    precision: str = "fp32"
    batch_size: int = 16
    threads: int = 2
    cache_dir: str = ""  # "" -> $SHOPFOCUS_CACHE or ~/.cache/shopfocus

    def __post_init__(self):
        if self.pooling not in ("gem", "spp", "mean"):
            raise ValueError(f"unknown pooling {self.pooling!r}")
        if self.backend not in ("onnx", "torch"):
            raise ValueError(f"unknown backend {self.backend!r}")
        if self.resize not in ("pad", "stretch"):
            raise ValueError(f"unknown resize {self.resize!r}")
        if self.precision not in ("int8", "fp32"):
            raise ValueError(f"unknown precision {self.precision!r} (int8 or fp32)")


def cache_dir(options: EmbedderOptions | None = None) -> str:
    d = (options.cache_dir if options else "") or os.environ.get("SHOPFOCUS_CACHE") \
        or os.path.join(os.path.expanduser("~"), ".cache", "shopfocus")
    os.makedirs(d, exist_ok=True)
    return d


def _graph_key(options: EmbedderOptions) -> str:
    w = lite0.weights_path()
    meta = {"v": GRAPH_VERSION, "size": options.input_size, "weights": os.path.basename(w),
            "weights_bytes": os.path.getsize(w), "opset": 17}
    if options.backend == "onnx" and options.precision == "int8":
        from .quantize import calibration_key

        meta["int8"] = calibration_key()
    return hashlib.sha1(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:12]


def _wrapped(model):
    """Module exported to ONNX: normalised image -> (feature map, logits)."""
    import torch

    class Both(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            f = self.m.features(x)
            return f, self.m._fc(f.mean(dim=(2, 3)))

    return Both(model).eval()


def export_onnx(options: EmbedderOptions) -> str:
    """Path of the cached ONNX graph for ``options``, exporting it first if absent (atomic);
    the int8 graph is quantized from the float one (``ml.visual.quantize``)."""
    path = os.path.join(cache_dir(options), f"effnet_lite0_{_graph_key(options)}.onnx")
    if os.path.isfile(path):
        return path
    if options.precision == "int8":
        from .quantize import quantized_graph

        return quantized_graph(export_onnx(replace(options, precision="fp32")), path)
    import torch

    from . import effnet

    model = _wrapped(effnet.load_pretrained())
    s = options.input_size
    # the TorchScript exporter is the one asked for (dynamo=False): silence its deprecation note
    with atomic_path(path, ".effnet_", ".onnx") as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.zeros(1, 3, s, s),), tmp, dynamo=False, opset_version=17,
                          input_names=["image"], output_names=["features", "logits"],
                          dynamic_axes={"image": {0: "n"}, "features": {0: "n"}, "logits": {0: "n"}})
    return path


def _square(img: np.ndarray, size: int, mode: str) -> np.ndarray:
    h, w = img.shape[:2]
    if mode == "stretch" or h == w:
        return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA if max(h, w) > size else cv2.INTER_LINEAR)
    s = size / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    # pad with the mean grey the network was normalised around (127 -> 0 activation input)
    out = np.full((size, size, 3), 127, dtype=np.uint8)
    y, x = (size - nh) // 2, (size - nw) // 2
    out[y:y + nh, x:x + nw] = small
    return out


def _l2(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), 1e-12)


def pool(fmap: np.ndarray, pooling: str, p: float = 3.0) -> np.ndarray:
    """(n,C,h,w) non-negative feature map -> (n,d) L2-normalised descriptor."""
    if pooling == "mean":
        v = fmap.mean(axis=(2, 3))
    elif pooling == "gem":
        v = (np.maximum(fmap, 1e-6) ** p).mean(axis=(2, 3)) ** (1.0 / p)
    elif pooling == "spp":
        n, c, h, w = fmap.shape
        levels = [_l2(fmap.max(axis=(2, 3)))]
        ys, xs = np.array_split(np.arange(h), 2), np.array_split(np.arange(w), 2)
        cells = [fmap[:, :, yy[0]:yy[-1] + 1, xx[0]:xx[-1] + 1].max(axis=(2, 3)) for yy in ys for xx in xs]
        levels.append(_l2(np.concatenate(cells, axis=1)))
        v = np.concatenate(levels, axis=1)
    else:
        raise ValueError(pooling)
    return _l2(np.asarray(v, dtype=np.float32))


_SESSIONS: dict[tuple, object] = {}
_SESSIONS_LOCK = threading.Lock()


def onnx_session(path: str, threads: int):
    """The ONNX Runtime session for a graph file, one per process and thread count.

    Every ``ImageEmbedder`` (a new one per job) shares it, so a worker process builds it once
    (~0.3 s of graph optimisation); ``InferenceSession.run`` may be called from several threads.
    """
    key = (os.path.abspath(path), int(threads))
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            import onnxruntime as ort

            from ..warm import timed_load

            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # Idle pool threads sleep instead of spinning: on 2 cores shared with Whisper's and
            # the decoder's threads, spinning only burnt CPU they needed (60 s of crops under
            # load: 3.4 -> 2.5 CPU s, 7.5 -> 5.8 s wall).
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            with timed_load("image_embedder"):
                _SESSIONS[key] = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        return _SESSIONS[key]


class ImageEmbedder:
    """Images (RGB uint8, any size) -> L2-normalised descriptors; thread-safe ``embed``."""

    def __init__(self, options: EmbedderOptions | None = None):
        self.options = options or EmbedderOptions()
        self._lock = threading.Lock()
        self._session = None
        self._torch = None

    @property
    def dim(self) -> int:
        return lite0.HEAD * (5 if self.options.pooling == "spp" else 1)

    def _load(self):
        o = self.options
        if o.backend == "onnx":
            self._session = onnx_session(export_onnx(o), o.threads)
        else:
            import torch
            from . import effnet

            torch.set_num_threads(o.threads)
            self._torch = _wrapped(effnet.load_pretrained())

    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n,S,S,3) uint8 -> feature map (n,1280,h,w), logits (n,1000)."""
        x = lite0.normalise(batch)
        with self._lock:
            if self._session is None and self._torch is None:
                self._load()
            if self._session is not None:
                f, logits = self._session.run(None, {"image": x})
                return f, logits
            import torch
            with torch.no_grad():
                f, logits = self._torch(torch.from_numpy(x))
            return f.numpy(), logits.numpy()

    def feature_maps(self, images: list[np.ndarray]) -> np.ndarray:
        """(n,1280,h,w) float32 last conv maps, batched by ``options.batch_size``."""
        o = self.options
        out = []
        for i in range(0, len(images), o.batch_size):
            batch = np.stack([_square(_rgb(im), o.input_size, o.resize) for im in images[i:i + o.batch_size]])
            out.append(self._run(batch)[0])
        if not out:
            s = -(-o.input_size // 32)
            return np.zeros((0, lite0.HEAD, s, s), dtype=np.float32)
        return np.concatenate(out)

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        """List of HxWx3 uint8 RGB images (any sizes) -> (n, dim) float32, rows L2-normalised."""
        if not len(images):
            return np.zeros((0, self.dim), dtype=np.float32)
        o = self.options
        # pooled batch by batch: the (n,1280,7,7) maps of a whole catalog are 250 kB per image
        return np.concatenate([pool(self.feature_maps(images[i:i + o.batch_size]), o.pooling, o.gem_p)
                               for i in range(0, len(images), o.batch_size)])

    def classify(self, image: np.ndarray) -> tuple[int, float]:
        """ImageNet top-1 (class index, softmax probability) of a whole image."""
        _, logits = self._run(_square(_rgb(image), self.options.input_size, "stretch")[None])
        z = logits[0].astype(np.float64)
        p = np.exp(z - z.max())
        p /= p.sum()
        k = int(p.argmax())
        return k, float(p[k])


def _rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 1:
        raise ValueError(f"expected HxWx3 uint8 RGB, got {img.shape} {img.dtype}")
    return img


def read_rgb(path: str) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB (grey and alpha images converted; alpha over white)."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"cannot read image {path}")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        a = img[:, :, 3:4].astype(np.float32) / 255.0
        img = (img[:, :, :3] * a + 255 * (1 - a)).astype(np.uint8)
    if img.dtype != np.uint8:
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(1, int(img.max())))
    return np.ascontiguousarray(img[:, :, ::-1])


def trim_background(img: np.ndarray, tol: int = 12) -> np.ndarray:
    """Crop a packshot to its object: drop border rows/cols close to the corner colour.

    Shop photos are mostly objects on white; the video shows the object filling a proposal
    box, so matching tight crops to tight crops narrows the domain gap.
    """
    corners = np.stack([img[0, 0], img[0, -1], img[-1, 0], img[-1, -1]]).astype(np.int16)
    bg = np.median(corners, axis=0)
    fg = np.abs(img.astype(np.int16) - bg).max(axis=2) > tol
    ys, xs = np.nonzero(fg)
    if len(ys) < 0.02 * fg.size:
        return img
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    m = int(0.03 * max(img.shape[:2]))  # keep a thin margin as context
    return img[max(0, y0 - m):y1 + m, max(0, x0 - m):x1 + m]


def augment(img: np.ndarray) -> list[np.ndarray]:
    """Test-time views of one catalog image: as is, mirrored, object-tight, centre 80 %, zoomed out."""
    h, w = img.shape[:2]
    tight = trim_background(img)
    cy, cx, ch, cw = h // 2, w // 2, int(h * 0.4), int(w * 0.4)
    centre = img[cy - ch:cy + ch, cx - cw:cx + cw]
    pad = int(0.2 * max(h, w))
    zoom_out = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return [img, img[:, ::-1], tight, centre, zoom_out]


CATALOG_CHUNK = 16  # catalog images read, augmented and embedded at a time


def embed_catalog(catalog: Catalog, embedder: ImageEmbedder, tta: bool = True,
                  cache: "str | bool | None" = None) -> tuple[np.ndarray, np.ndarray]:
    """Every product image (and its test-time augmentations) -> (vectors (m,d), owner (m,)).

    ``owner[i]`` is the product's position in ``catalog.products``; feed both to
    ``CatalogIndex.fit(vectors, owner, len(catalog))``. An unreadable image is an InputError.

    ``cache``: None or True, the content-keyed disk cache under the embedder's cache dir
    (``ml.visual.catalog_cache``: only images never seen with these settings go through the
    network, in one batched call); a folder path, that cache under the folder; False, no cache.
    """
    from ..errors import InputError
    from .catalog_cache import ViewCache, file_digest

    store = None
    if cache is not False:
        store = ViewCache.for_embedder(embedder.options, tta, root=cache if isinstance(cache, str) else None)
    per_image: list[np.ndarray | None] = []
    owner: list[int] = []
    todo: list[tuple[int, str | None, list[np.ndarray]]] = []  # (slot, digest, views)

    def embed_todo():
        # CATALOG_CHUNK images at a time: a new catalog of hundreds of photos, read whole and
        # augmented five ways, held 1.6 GB before its vectors came out
        fresh = embedder.embed([v for _, _, vs in todo for v in vs])
        row = 0
        for slot, digest, vs in todo:
            per_image[slot] = fresh[row:row + len(vs)]
            row += len(vs)
            if store is not None:
                store.put(digest, per_image[slot])
        todo.clear()

    for p_i, product in enumerate(catalog.products):
        for path in product.images:
            digest = None
            if store is not None:
                try:
                    digest = file_digest(path)
                except OSError as e:
                    raise InputError(f"cannot read image {path} ({e.strerror})", path=path) from None
                hit = store.get(digest, embedder.dim)
                if hit is not None:
                    per_image.append(hit)
                    owner.extend([p_i] * len(hit))
                    continue
            try:
                img = read_rgb(path)
            except ValueError as e:
                raise InputError(str(e), path=path) from None
            vs = augment(img) if tta else [img]
            todo.append((len(per_image), digest, vs))
            per_image.append(None)
            owner.extend([p_i] * len(vs))
            if len(todo) >= CATALOG_CHUNK:
                embed_todo()
    if todo:
        embed_todo()
    vectors = np.concatenate(per_image) if per_image else np.zeros((0, embedder.dim), np.float32)
    return vectors, np.asarray(owner, dtype=np.int64)
