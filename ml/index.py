"""Catalog index on FAISS: product image vectors -> per-product similarity for query vectors.

A product has several vectors (several photos, test-time augmentations); its score for a query
is the best inner product over its vectors (vectors are L2-normalised, so this is a cosine).
Small catalogs use an exact ``IndexFlatIP`` and score every product; large ones an HNSW index
searched for the top ``k`` vectors, products not reached getting the floor score.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import faiss
import numpy as np


@dataclass
class IndexOptions:
    kind: str = "auto"  # "flat", "hnsw" or "auto" (flat below `hnsw_above` vectors)
    hnsw_above: int = 20_000
    hnsw_m: int = 32
    ef_search: int = 128
    k: int = 256  # neighbours fetched per query from an approximate index


class CatalogIndex:
    """sklearn-style: ``fit(vectors, owner)`` stores ``index_``, ``owner_``, ``n_products_``."""

    def __init__(self, options: IndexOptions | None = None):
        self.options = options or IndexOptions()

    def fit(self, vectors: np.ndarray, owner: np.ndarray, n_products: int | None = None) -> "CatalogIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        owner = np.asarray(owner, dtype=np.int64)
        if vectors.ndim != 2 or len(vectors) != len(owner):
            raise ValueError(f"vectors {vectors.shape} and owner {owner.shape} do not align")
        d = vectors.shape[1]
        kind = self.options.kind
        if kind == "auto":
            kind = "hnsw" if len(vectors) > self.options.hnsw_above else "flat"
        if kind == "flat":
            index = faiss.IndexFlatIP(d)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, self.options.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = self.options.ef_search
        else:
            raise ValueError(f"unknown index kind {kind!r}")
        index.add(vectors)
        self.kind_ = kind
        self.index_ = index
        self.owner_ = owner
        self.n_products_ = int(n_products if n_products is not None else owner.max() + 1)
        self.dim_ = d
        return self

    def scores(self, queries: np.ndarray, floor: float = -1.0) -> np.ndarray:
        """(n,d) queries -> (n,P) best cosine per product."""
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim_)
        out = np.full((len(q), self.n_products_), floor, dtype=np.float32)
        if not len(q):
            return out
        k = self.index_.ntotal if self.kind_ == "flat" else min(self.options.k, self.index_.ntotal)
        sims, ids = self.index_.search(q, k)
        rows = np.repeat(np.arange(len(q)), k)
        valid = ids.ravel() >= 0
        np.maximum.at(out, (rows[valid], self.owner_[ids.ravel()[valid]]), sims.ravel()[valid])
        return out

    def save(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        faiss.write_index(self.index_, os.path.join(folder, "index.faiss"))
        np.save(os.path.join(folder, "owner.npy"), self.owner_)
        with open(os.path.join(folder, "index.json"), "w") as f:
            json.dump({"kind": self.kind_, "n_products": self.n_products_, "dim": self.dim_,
                       "options": self.options.__dict__}, f)

    @classmethod
    def load(cls, folder: str) -> "CatalogIndex":
        with open(os.path.join(folder, "index.json")) as f:
            meta = json.load(f)
        self = cls(IndexOptions(**meta["options"]))
        self.index_ = faiss.read_index(os.path.join(folder, "index.faiss"))
        if meta["kind"] == "hnsw":
            self.index_.hnsw.efSearch = self.options.ef_search
        self.owner_ = np.load(os.path.join(folder, "owner.npy"))
        self.kind_, self.n_products_, self.dim_ = meta["kind"], meta["n_products"], meta["dim"]
        return self
