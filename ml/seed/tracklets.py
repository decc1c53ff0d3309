"""The seed models in the pipeline: tracklet windows -> per-frame, per-product scores.

    per_frame = seed_scores(evidence, ("asymnet", "lxmert"), text_sources)   # {mode: (F,P)}

Input is the visual stage's ``VisualEvidence`` (tracklets with one 1280-d crop embedding per
box, the indexed catalog views) and, for LXMERT, the run's text events by source. For every
tracked box at time t the query is the tracklet's crops within ``window_s`` of t (the same
window the cosine Vis.Trk feature averages over):

- **asymnet**: the window is the trajectory AsymNet reads (stretched to its 32 steps), scored
  against the catalog by ``AsymNetScorer.score_many`` (shortlist of ``top_k`` products by the
  frozen visual prior, each product the mean of its shop views): P(same product) in [0,1].
- **lxmert**: the window's crops (evenly spaced, with their boxes) are the vision stream and
  the text around t the language stream (speech chunks within ``text_window_s``, comments of
  the last ``comment_lag_s``, screen text): the fused embedding's squashed matching logit
  against every product (mean shop view + MiniLM title).

A frame's score for a product is the best over the boxes at that frame; frames without a
tracked box score 0. The models are loaded once per process (``_scorer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..types import TextEvents


@dataclass
class SeedOptions:
    window_s: float = 3.0  # +- seconds of a tracklet's crops around each box
    top_k: int = 10  # AsymNet re-ranks this many products per window (0: all)
    text_window_s: float = 4.0  # LXMERT: speech/screen text within +- this of the box
    comment_lag_s: float = 10.0  # LXMERT: comments from this long before the box to 2 s after
    asymnet_checkpoint: str = ""  # "" = ml/models/seed_asymnet.pt
    lxmert_checkpoint: str = ""  # "" = ml/models/seed_lxmert.pt


@lru_cache(maxsize=4)
def _scorer(kind: str, path: str):
    if kind == "asymnet":
        from .asymnet import AsymNetScorer

        return AsymNetScorer.load(path or None)
    from .lxmert_fusion import LxmertScorer

    return LxmertScorer.load(path or None)


def preload(modes, options: SeedOptions | None = None) -> None:
    """Load the checkpoints of ``modes`` now: a missing one fails before the expensive stages."""
    o = options or SeedOptions()
    for mode in modes:
        _scorer(mode, o.asymnet_checkpoint if mode == "asymnet" else o.lxmert_checkpoint)


def box_windows(tracklets, frame_times: np.ndarray, window_s: float):
    """-> rows (N,) frame index of each tracked box, and per box (tracklet, lo, hi): the slice of
    the tracklet's crops within +-window_s of the box."""
    rows, spans = [], []
    for tr in tracklets:
        if not len(tr.t) or len(tr.embeddings) != len(tr.t):
            continue
        r = np.clip(np.searchsorted(frame_times, tr.t), 0, max(len(frame_times) - 1, 0))
        ok = np.isclose(frame_times[r], tr.t) if len(frame_times) else np.zeros(len(r), bool)
        lo = np.searchsorted(tr.t, tr.t - window_s, side="left")
        hi = np.searchsorted(tr.t, tr.t + window_s, side="right")
        for i in np.flatnonzero(ok):
            rows.append(int(r[i]))
            spans.append((tr, int(lo[i]), int(hi[i])))
    return np.asarray(rows, dtype=np.int64), spans


def _per_frame(rows: np.ndarray, scores: np.ndarray, n_frames: int, n_products: int) -> np.ndarray:
    out = np.zeros((n_frames, n_products), dtype=np.float32)
    if len(rows):
        np.maximum.at(out, rows, scores.astype(np.float32))
    return out


def _product_views(evidence, n_products: int) -> list[np.ndarray]:
    if evidence.catalog_vectors is None or evidence.catalog_owner is None:
        raise ValueError("the visual evidence carries no catalog vectors (needed by the seed models)")
    return [evidence.catalog_vectors[evidence.catalog_owner == p] for p in range(n_products)]


def _queries(evidence, o: SeedOptions):
    """-> (F, P, rows, spans) of the tracked boxes (``box_windows``)."""
    F, P = evidence.image_scores.shape
    rows, spans = box_windows(evidence.tracklets, evidence.frame_times, o.window_s)
    return F, P, rows, spans


def asymnet_frame_scores(evidence, options: SeedOptions | None = None, scorer=None) -> np.ndarray:
    """(F,P) AsymNet P(same product) of the best tracked box at each frame."""
    o = options or SeedOptions()
    F, P, rows, spans = _queries(evidence, o)
    if not len(rows) or not P:
        return np.zeros((F, P), dtype=np.float32)
    sc = scorer or _scorer("asymnet", o.asymnet_checkpoint)
    sc.fit_catalog(_product_views(evidence, P))
    scores = sc.score_many([tr.embeddings[lo:hi] for tr, lo, hi in spans], top_k=o.top_k)
    return _per_frame(rows, scores, F, P)


def window_texts(text_sources: dict[str, TextEvents], t: float, options: SeedOptions) -> list[str]:
    """The sentences LXMERT reads for a box at time ``t``, oldest first."""
    picked: list[tuple[float, str]] = []
    for name, ev in text_sources.items():
        if not len(ev):
            continue
        if name == "comments":
            m = (ev.t >= t - options.comment_lag_s) & (ev.t <= t + 2.0)
        else:
            m = np.abs(ev.t - t) <= options.text_window_s
        picked += [(float(ev.t[i]), ev.text[i]) for i in np.flatnonzero(m)]
    return [s for _, s in sorted(picked) if s and s.strip()]


def lxmert_frame_scores(evidence, text_sources: dict[str, TextEvents] | None = None,
                        options: SeedOptions | None = None, scorer=None, titles: list[str] | None = None) -> np.ndarray:
    """(F,P) LXMERT-style matching score of the best tracked box (with its window's text)."""
    if titles is None:
        raise ValueError("LXMERT scoring needs the catalog titles")
    o = options or SeedOptions()
    F, P, rows, spans = _queries(evidence, o)
    if not len(rows) or not P:
        return np.zeros((F, P), dtype=np.float32)
    sc = scorer or _scorer("lxmert", o.lxmert_checkpoint)
    w, h = evidence.frame_wh
    scale = np.asarray([w, h, w, h], np.float32) if w and h else None
    visual, boxes, texts = [], [], []
    sources = text_sources or {}
    for (tr, lo, hi), row in zip(spans, rows):
        visual.append(tr.embeddings[lo:hi])
        b = tr.xyxy[lo:hi]
        boxes.append(np.clip(b / scale, 0, 1) if scale is not None else np.zeros_like(b))
        texts.append(window_texts(sources, float(evidence.frame_times[row]), o))
    scores = sc.score_many(visual, boxes, texts, _product_views(evidence, P), titles)
    return _per_frame(rows, scores, F, P)


def seed_scores(evidence, modes, text_sources: dict[str, TextEvents] | None = None,
                options: SeedOptions | None = None, titles: list[str] | None = None) -> dict[str, np.ndarray]:
    """{mode: (F,P)} for each of ``modes`` ("asymnet", "lxmert")."""
    out = {}
    for mode in modes:
        if mode == "asymnet":
            out[mode] = asymnet_frame_scores(evidence, options)
        elif mode == "lxmert":
            out[mode] = lxmert_frame_scores(evidence, text_sources, options, titles=titles)
        else:
            raise ValueError(f"unknown seed model {mode!r}")
    return out
