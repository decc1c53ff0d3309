"""EfficientNet-Lite0 in 8-bit integers for the crops: ``--image-precision int8`` (opt-in).

The crop network is the visual stage's largest cost (issue "Hours-long streams"). Lite0 was
designed to quantize (ReLU6, no squeeze-excitation), and the CPUs we run on have 8-bit dot
products (AVX-512 VNNI, AVX2), so ONNX Runtime's static quantization (``quantize_static``, QDQ
format, per-channel int8 weights, uint8 activations) runs it about 2.1x faster per crop at one
thread. Only the crops go through it: the catalog is embedded once and cached, so it keeps the
float graph (``ml.visual.analyzer``), and the int8 error sits on one side of each cosine only.

Static quantization needs each activation's range, measured once on images like the ones the
network will see: ``python -m ml.visual.quantize`` samples frames of the **training split's**
episodes (``bench/cache/v1_train_*``), crops them with the pipeline's own proposer, adds shop
photos of their catalogs, runs ONNX Runtime's MinMax calibrator over the 512 images and writes
the ranges as ONNX Runtime's calibration cache (``CALIBRATION``, JSON, committed). Every machine
then builds the same int8 graph from the packaged float weights and that file
(``quantized_graph``), without the benchmark's data; the embedder caches it next to the float one.

Measured (README, "Speed"): GroceryStore's 661 in-store test photos against the 54 shop photos,
recall@1 50.7 (float) and 50.4 (int8 photos, float shop photos); the default pipeline 1.24x
faster end to end. It stays opt-in because fusion was fitted on float features: video crops move
more than photos (their cosines rise by about 0.01, idle frames' most), and on the validation
episodes the shipped fusion loses F1 (0.771 -> 0.762 pooled) and raises false alarms on the
15-minute stream (0.003 -> 0.117). Making it the default needs fusion refitted on int8 features.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import sys
import tempfile

import numpy as np

from ..fusion import MODELS_DIR
from ..npyfile import atomic_path
from . import lite0

CALIBRATION = os.path.join(MODELS_DIR, "lite0_int8_calibration.json")


def _require(cache: str) -> None:
    if not os.path.isfile(cache):
        raise FileNotFoundError(f"no int8 calibration at {cache}: run `python -m ml.visual.quantize`, "
                                "or use the float graph (--image-precision fp32)")


def calibration_key(path: str = CALIBRATION) -> str:
    """Short hash of the calibration file: a new calibration is a new graph."""
    _require(path)
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def _quantize(float_graph: str, out: str, reader=None, cache: str = CALIBRATION) -> None:
    """``quantize_static`` of ``float_graph`` into ``out``: from ``reader``'s images, writing the
    ranges to ``cache``, or (no reader) from the ranges already in ``cache``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="shopfocus_q_") as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        quant_pre_process(float_graph, pre)  # shape inference and folding, as ONNX Runtime advises
        quantize_static(pre, out, reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, calibration_cache_path=cache)


def quantized_graph(float_graph: str, out: str, cache: str = CALIBRATION) -> str:
    """Build the int8 graph at ``out`` from ``float_graph`` and the committed ranges (atomic:
    concurrent workers never read a half-written file)."""
    _require(cache)
    with atomic_path(out, ".effnet_q_", ".onnx") as tmp:
        _quantize(float_graph, tmp, None, cache)
    return out


class _Crops:
    """ONNX Runtime calibration reader over square crops (n,S,S,3) uint8, a batch at a time."""

    def __init__(self, squares: np.ndarray, batch: int = 16):
        self.squares, self.batch, self.i = squares, batch, 0

    def get_next(self):
        if self.i >= len(self.squares):
            return None
        x = lite0.normalise(self.squares[self.i:self.i + self.batch])
        self.i += self.batch
        return {"image": x}


def calibration_images(videos: list[str], per_video: int = 24, max_crops: int = 384, max_photos: int = 128,
                       seed: int = 0) -> np.ndarray:
    """Square 224 px images as the network meets them: crops of frames sampled evenly over each
    video, boxed by the pipeline's proposer (at most ``max_crops``), and shop photos of the
    catalogs next to the videos (``catalog/images``, at most ``max_photos``), drawn at random."""
    from PIL import Image

    from ..decode import iter_frames, probe
    from ..structuring.proposals import Proposer
    from ..structuring.tracking import crop_box
    from .embedder import EmbedderOptions, _rgb, _square

    size = EmbedderOptions().input_size
    crops, photos = [], set()
    for v in videos:
        duration = probe(v).duration_s
        proposer = Proposer()
        for frame in iter_frames(v, fps=per_video / max(duration, 1.0)):
            props = proposer.propose(frame)
            crops += [_square(_rgb(crop_box(frame.image, b)), size, "pad") for b in props.xyxy]
        photos.update(glob.glob(os.path.join(os.path.dirname(v), "catalog", "images", "*")))
    rng = np.random.default_rng(seed)
    out = [crops[i] for i in sorted(rng.permutation(len(crops))[:max_crops])]
    for f in sorted(rng.permutation(sorted(photos))[:max_photos]):
        with Image.open(f) as im:
            out.append(_square(np.asarray(im.convert("RGB")), size, "pad"))
    return np.stack(out)


def calibrate(videos: list[str], out: str = CALIBRATION, log=print, **sample) -> str:
    """Measure the activation ranges on training-split crops and shop photos (``sample``: the
    arguments of ``calibration_images``) and write them to ``out``."""
    from .embedder import EmbedderOptions, export_onnx

    squares = calibration_images(videos, **sample)
    log(f"{len(squares)} crops and shop photos from {len(videos)} videos")
    float_graph = export_onnx(EmbedderOptions(precision="fp32"))
    # the ranges replace ``out`` only once measured: a failed calibration keeps the old file
    with atomic_path(out, ".calibration_", ".json") as ranges, \
            tempfile.TemporaryDirectory(prefix="shopfocus_q_") as tmp:
        os.unlink(ranges)  # the calibrator measures only when its cache file does not exist yet
        _quantize(float_graph, os.path.join(tmp, "int8.onnx"), _Crops(squares), ranges)
    log(f"wrote {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ml.visual.quantize", description=__doc__.split("\n\n")[0])
    p.add_argument("--videos", nargs="+", default=sorted(glob.glob("bench/cache/v1_train_*/video.mp4")),
                   help="training-split videos to calibrate on (default: the benchmark's cached training episodes)")
    p.add_argument("--out", default=CALIBRATION)
    a = p.parse_args(argv)
    if not a.videos:
        print("no videos: generate the training episodes first (make train), or pass --videos", file=sys.stderr)
        return 2
    calibrate(a.videos, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
