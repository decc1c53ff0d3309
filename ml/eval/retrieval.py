"""Retrieval recall as Fashion Focus / Video2Shop count it.

For each true exhibition interval, every catalog product gets the mean of a (T,P) score array
over the steps whose centre lies in the interval (the nearest step when none does); the true
product's rank is 1 + the number of OTHER products scoring at least as high (ties count
against us, so a flat all-zero curve gets no credit). recall@k = share of intervals whose true
product ranks <= k. A true product missing from the curves' product ids ranks last.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

KS = (1, 5, 20)


def load_curves(path: str) -> dict[str, np.ndarray]:
    """The pipeline's ``--curves`` npz: times (T,), product_ids (P,), fused (T,P),
    m_<modality> (T,P). Returns a plain dict of arrays."""
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    for key in ("times", "product_ids", "fused"):
        if key not in d:
            raise ValueError(f"{path}: curves file has no {key!r} array (has {sorted(d)})")
    d["product_ids"] = np.asarray([str(x) for x in d["product_ids"]])
    return d


def interval_scores(times: np.ndarray, scores: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    """(P,) mean score over the steps inside [start_s, end_s]."""
    times = np.asarray(times, float)
    scores = np.asarray(scores, float)
    if not len(times):
        return np.zeros(scores.shape[1] if scores.ndim == 2 else 0)
    m = (times >= start_s) & (times <= end_s)
    if not m.any():
        m = np.zeros(len(times), bool)
        m[int(np.argmin(np.abs(times - 0.5 * (start_s + end_s))))] = True
    return scores[m].mean(axis=0)


def rank_of(scores: np.ndarray, idx: int) -> int:
    """Number of products scoring at least as high as ``idx`` (itself included); NaN = lowest."""
    scores = np.nan_to_num(np.asarray(scores, float), nan=-np.inf)
    return int(np.sum(scores >= scores[idx]))


def retrieval_metrics(truth: list[dict], times: np.ndarray, product_ids, scores: np.ndarray,
                      categories: dict[str, str] | None = None, ks=KS) -> dict:
    """recall@k overall and per category (category from ``categories`` [catalog], else the
    truth interval's own ``category`` field, else "all")."""
    ids = [str(p) for p in product_ids]
    pos = {p: i for i, p in enumerate(ids)}
    ranks, cats = [], []
    for iv in truth:
        pid = str(iv["product_id"])
        sc = interval_scores(times, scores, float(iv["start_s"]), float(iv["end_s"]))
        r = rank_of(sc, pos[pid]) if pid in pos and len(sc) else len(ids) + 1
        ranks.append(r)
        cats.append((categories or {}).get(pid) or iv.get("category") or "all")
    ranks_a = np.asarray(ranks)
    out: dict = {"n_intervals": len(ranks), "n_products": len(ids)}
    for k in ks:
        out[f"R@{k}"] = float(np.mean(ranks_a <= k)) if len(ranks) else float("nan")
    out["median_rank"] = float(np.median(ranks_a)) if len(ranks) else None
    by: dict[str, list[int]] = defaultdict(list)
    for r, c in zip(ranks, cats):
        by[c].append(r)
    out["per_category"] = {c: {"n": len(rs), **{f"R@{k}": float(np.mean(np.asarray(rs) <= k)) for k in ks}}
                           for c, rs in sorted(by.items())}
    out["ranks"] = ranks
    return out


def curves_recall(truth: list[dict], curves: dict[str, np.ndarray], key: str = "fused",
                  categories: dict[str, str] | None = None) -> dict:
    """Recall from one array of a curves file: ``fused`` or ``m_<modality>``."""
    if key not in curves:
        raise KeyError(f"curves have no {key!r} (have {sorted(k for k in curves if k not in ('times', 'product_ids'))})")
    return retrieval_metrics(truth, curves["times"], curves["product_ids"], curves[key], categories)


def modality_keys(curves: dict) -> list[str]:
    return sorted(k for k in curves if k.startswith("m_"))
