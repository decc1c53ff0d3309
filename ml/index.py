"""Catalog index on FAISS: product image vectors -> per-product similarity for query vectors.

A product has several vectors (several photos, test-time augmentations); its score for a query
is the best inner product over its vectors (vectors are L2-normalised, so this is a cosine).

Three engines, chosen by ``IndexOptions.kind`` (``auto``: exact below ``hnsw_above`` vectors,
``options.approximate`` above it):

- ``flat``: ``IndexFlatIP``, exact, 4*d bytes a vector, a query costs n*d multiply-adds
  (100k x 1280: ~25 ms). What a stream's list of a few hundred products uses.
- ``hnsw``: ``IndexHNSWFlat``, full vectors plus a graph (4*d + 8*M bytes a vector): fast and
  accurate, but 1M x 1280-d is 5.4 GB and the build takes tens of minutes on two cores.
- ``ivf``: an inverted file: vectors are assigned to one of ``ivf_lists`` k-means cells and a
  query scans only the ``nprobe`` nearest cells, each vector stored compressed by ``codec``:
  ``SQ8`` (one byte a dimension, d + 8 bytes a vector: 1M x 1280-d is 1.3 GB; near-exact
  scores) or ``PQ<m>`` (product quantisation, m one-byte codes: m + 8 bytes, 1M products in
  ~100 MB, but coarser scores that reorder close neighbours; ``opq`` learns a rotation first).
  What a shop's whole catalog uses (``webapp.search``); bench/index_bench.py measures both at 1M.

``scores()`` gives every product's best cosine (the pipeline's (n,P) matrix, products not
reached by an approximate search get ``floor``); ``search()`` gives the top ``k`` distinct
products per query, with their keys when ``fit`` was given ``keys``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, fields

import faiss
import numpy as np

KINDS = ("flat", "hnsw", "ivf")
SCORE_ROWS = 1024  # queries per search in CatalogIndex.scores (bounds its temporary arrays)


@dataclass
class IndexOptions:
    kind: str = "auto"  # "flat", "hnsw", "ivf" or "auto" (flat up to `hnsw_above` vectors)
    hnsw_above: int = 20_000
    approximate: str = "hnsw"  # what "auto" builds above `hnsw_above`: "hnsw" or "ivf"
    hnsw_m: int = 32
    ef_search: int = 128
    k: int = 256  # neighbours fetched per query from an approximate index (scores())
    ivf_lists: int = 0  # coarse cells; 0: about 4*sqrt(n), at most n/39 (k-means needs 39 a cell)
    codec: str = "SQ8"  # how "ivf" stores a vector: "SQ8" (d bytes) or "PQ<m>" (m bytes, m divides d)
    opq: bool = False  # PQ only: learn a rotation first (better codes, slower build)
    nprobe: int = 32  # cells scanned per query
    train_size: int = 100_000  # vectors k-means and PQ are trained on (a random sample)
    seed: int = 0

    def __post_init__(self):
        if self.kind not in KINDS + ("auto",):
            raise ValueError(f"unknown index kind {self.kind!r}")
        if self.approximate not in ("hnsw", "ivf"):
            raise ValueError(f"unknown approximate index {self.approximate!r}")
        if not re.fullmatch(r"SQ8|PQ[1-9][0-9]*", self.codec):
            raise ValueError(f"unknown codec {self.codec!r}: SQ8 or PQ<m>")

    @classmethod
    def from_dict(cls, d: dict) -> "IndexOptions":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _lists_for(n: int, asked: int) -> int:
    if asked:
        return max(1, min(asked, n // 39 or 1))
    return int(max(1, min(int(4 * np.sqrt(n)), n // 39 or 1)))


class CatalogIndex:
    """sklearn-style: ``fit(vectors, owner)`` stores ``index_``, ``owner_``, ``n_products_``,
    ``kind_``, ``dim_``, ``keys_`` (one key per product, default its position) and
    ``views_`` (the most vectors any product has)."""

    def __init__(self, options: IndexOptions | None = None):
        self.options = options or IndexOptions()

    def fit(self, vectors: np.ndarray, owner: np.ndarray, n_products: int | None = None,
            keys: np.ndarray | None = None) -> "CatalogIndex":
        """vectors (m,d) float32 L2-normalised; owner (m,) product position of each row in
        0..n_products-1; keys (n_products,) int64 product keys that ``search`` returns."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        owner = np.asarray(owner, dtype=np.int64)
        if vectors.ndim != 2 or len(vectors) != len(owner):
            raise ValueError(f"vectors {vectors.shape} and owner {owner.shape} do not align")
        if not len(vectors):
            raise ValueError("no vectors to index")
        n_products = int(n_products if n_products is not None else owner.max() + 1)
        if owner.min() < 0 or owner.max() >= n_products:
            raise ValueError(f"owner must lie in 0..{n_products - 1}")
        if keys is not None:
            keys = np.asarray(keys, dtype=np.int64)
            if keys.shape != (n_products,):
                raise ValueError(f"keys {keys.shape} must have one key per product ({n_products})")
        d = vectors.shape[1]
        o = self.options
        kind = o.kind if o.kind != "auto" else (o.approximate if len(vectors) > o.hnsw_above else "flat")
        self.kind_ = kind
        self.index_ = self._build(kind, vectors)
        self.owner_ = owner
        self.n_products_ = n_products
        self.dim_ = d
        self.keys_ = keys if keys is not None else np.arange(n_products, dtype=np.int64)
        self.views_ = int(np.bincount(owner, minlength=1).max())
        self._tune()
        return self

    def _build(self, kind: str, vectors: np.ndarray):
        o, d = self.options, vectors.shape[1]
        if kind == "flat":
            index = faiss.IndexFlatIP(d)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, o.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        else:
            if o.codec.startswith("PQ") and d % int(o.codec[2:]):
                raise ValueError(f"{o.codec}: the number of codes must divide the dimension {d}")
            lists = _lists_for(len(vectors), o.ivf_lists)
            rotate = f"OPQ{o.codec[2:]}," if o.opq and o.codec.startswith("PQ") else ""
            spec = f"{rotate}IVF{lists},{o.codec}"
            index = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(o.seed)
            n_train = min(len(vectors), max(o.train_size, 39 * lists))
            sample = vectors if n_train == len(vectors) else vectors[np.sort(rng.choice(len(vectors), n_train, replace=False))]
            index.train(sample)
        index.add(vectors)
        return index

    def _tune(self) -> None:
        if self.kind_ == "hnsw":
            self.index_.hnsw.efSearch = self.options.ef_search
        elif self.kind_ == "ivf":
            faiss.extract_index_ivf(self.index_).nprobe = self.options.nprobe

    @property
    def n_vectors(self) -> int:
        return int(self.index_.ntotal)

    def _query(self, queries: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim_)

    def scores(self, queries: np.ndarray, floor: float = -1.0) -> np.ndarray:
        """(n,d) queries -> (n,P) best cosine per product."""
        q = self._query(queries)
        out = np.full((len(q), self.n_products_), floor, dtype=np.float32)
        if not len(q):
            return out
        k = self.index_.ntotal if self.kind_ == "flat" else min(self.options.k, self.index_.ntotal)
        # SCORE_ROWS queries at a time: a search returns k scores and ids per query, and the
        # scatter below needs about 33 bytes per (query, hit): 8192 tracklet windows against a
        # 160-product catalog's 800 views were a 216 MB spike at the end of a 60-minute stream
        for a in range(0, len(q), SCORE_ROWS):
            sims, ids = self.index_.search(q[a:a + SCORE_ROWS], k)
            rows = np.repeat(np.arange(a, a + len(sims)), k)
            valid = ids.ravel() >= 0
            np.maximum.at(out, (rows[valid], self.owner_[ids.ravel()[valid]]), sims.ravel()[valid])
        return out

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(n,d) queries -> (keys (n,k) int64, scores (n,k) float32): the ``k`` best distinct
        products per query, best first, each at its best vector's score; -1 / -inf pad a row
        when fewer products are reached. On ``flat`` this is exact: the k best products' best
        vectors are all among the top k*views vectors."""
        if k < 1:
            raise ValueError("k must be at least 1")
        q = self._query(queries)
        keys = np.full((len(q), k), -1, dtype=np.int64)
        best = np.full((len(q), k), -np.inf, dtype=np.float32)
        if not len(q):
            return keys, best
        fetch = min(self.index_.ntotal, k * self.views_)
        sims, ids = self.index_.search(q, fetch)
        for r in range(len(q)):
            seen: set[int] = set()
            j = 0
            for s, i in zip(sims[r], ids[r]):
                if i < 0:
                    continue
                p = int(self.owner_[i])
                if p in seen:
                    continue
                seen.add(p)
                keys[r, j], best[r, j] = self.keys_[p], s
                j += 1
                if j == k:
                    break
        return keys, best

    def save(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        faiss.write_index(self.index_, os.path.join(folder, "index.faiss"))
        np.save(os.path.join(folder, "owner.npy"), self.owner_)
        np.save(os.path.join(folder, "keys.npy"), self.keys_)
        with open(os.path.join(folder, "index.json"), "w") as f:
            json.dump({"kind": self.kind_, "n_products": self.n_products_, "dim": self.dim_,
                       "views": self.views_, "n_vectors": self.n_vectors, "options": asdict(self.options)}, f)

    @classmethod
    def load(cls, folder: str) -> "CatalogIndex":
        with open(os.path.join(folder, "index.json")) as f:
            meta = json.load(f)
        self = cls(IndexOptions.from_dict(meta["options"]))
        self.index_ = faiss.read_index(os.path.join(folder, "index.faiss"))
        self.owner_ = np.load(os.path.join(folder, "owner.npy"))
        self.kind_, self.n_products_, self.dim_ = meta["kind"], meta["n_products"], meta["dim"]
        keys_path = os.path.join(folder, "keys.npy")
        self.keys_ = np.load(keys_path) if os.path.exists(keys_path) else np.arange(self.n_products_, dtype=np.int64)
        self.views_ = int(meta.get("views") or np.bincount(self.owner_, minlength=1).max())
        self._tune()
        return self


def shop_index_options(exact_below: int = 50_000) -> IndexOptions:
    """A shop's whole catalog (webapp.search): exact up to ``exact_below`` vectors, then an
    inverted file of 8-bit scalar codes (d + 8 bytes a vector; bench/index_bench.py at 1M)."""
    return IndexOptions(kind="auto", hnsw_above=exact_below, approximate="ivf", codec="SQ8", nprobe=32)
