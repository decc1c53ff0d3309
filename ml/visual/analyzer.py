"""The visual stage: sampled frames -> per-frame, per-product visual similarity and tracklets.

    analyzer = VisualAnalyzer(catalog)              # embeds the catalog once
    for frame in iter_frames(video, fps=1.0):
        analyzer.update(frame)                      # streaming, constant memory per frame
    evidence = analyzer.finish()                    # VisualEvidence

Per frame: shot detection, class-agnostic proposals (whole frame, centre crop, motion,
saliency, optionally people and catalog keypoint search), then the crops of ``batch_frames``
frames are embedded in one ONNX batch, tracked (KCF + IoU + appearance) into tracklets and
scored against the catalog index. Two score matrices come out, both raw cosines in [-1,1]
(the fusion model calibrates them):

- ``image_scores`` (F,P), Fashion Focus' Vis.Img: best cosine over the frame's boxes.
- ``tracklet_scores`` (F,P), Vis.Trk: best, over tracklets with a box at that frame, of the
  cosine between the product and the tracklet's mean embedding over its boxes within
  +-``track_window_s`` of the frame. Averaging along a track cancels blur, occlusion and pose
  of single crops (Fashion Focus: Vis.Img 12.5 -> Vis.Trk 14.7 % recall); the window keeps a
  long track (the whole-frame one lasts a shot) from smearing one product over its length.
  ``Tracklet.feature()`` (whole-track mean) is what sets the tracklet's category.
  A tracklet is scored when the tracker hands it over as final (``Tracker.pop_final``), and its
  crop embeddings are then dropped (unless ``keep_embeddings``: the seed models read them), so
  memory does not grow with the crops of the stream.

A shop's memory (``ml.adapt.ShopMemory``, crops of its reviewed intervals) adjusts the scores
(``view_adjustment``). Its views are not added to the catalog index as plain extra rows: a crop
of the shop's video is much closer to any other crop of the same studio (same lighting, backdrop,
caption band, compression: cosines 0.8-0.9) than to a catalog photo (0.5-0.7), so a raw view of
one product outscored the catalog of every product shown after it (measured on the benchmark's
shops: one corrected episode took the true product's top-1 share from 0.78 to 0 on the next).
Each view instead carries a threshold (``ml.adapt.View.threshold``: the most any crop of its
video outside the reviewed interval reaches), and p gains how far a crop is past the threshold
of p's nearest positive view, and loses how far past the threshold of its nearest negative
view, both capped at ``VIEW_CAP``.
Without a memory (``memory=None``) nothing here changes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np

from ..index import CatalogIndex
from ..types import Boxes, Catalog, Frame, Proposals, Shots, Tracklet, options_dict
from ..structuring.proposals import ProposalOptions, Proposer
from ..structuring.shots import ShotDetector, ShotOptions
from ..structuring.tracking import Tracker, TrackerOptions, crop_box
from .embedder import EmbedderOptions, ImageEmbedder, embed_catalog, read_rgb, trim_background
from .projection import load_projection, project


# windowed tracklet features searched per call: one search per tracklet would pay FAISS'
# per-call overhead thousands of times; 2048 rows of 1280 floats are 10 MB
SEARCH_ROWS = 2048


@dataclass
class VisualOptions:
    """Defaults chosen on a synthetic 720p benchmark (/tmp/sf_eval/video_bench.py: real in-store
    GroceryStore photos, 250-550 px, pasted over a panning, zooming background; 20 segments,
    54-product catalog): whole frame only gives segment recall@1/@5 0.05/0.20, the default
    proposals 0.25/0.70 (Vis.Img) and 0.25/0.75 (Vis.Trk). Cost per sampled frame, analyzer
    only: ~150 ms CPU (3-4 crops embedded ~120 ms, KCF ~25 ms, proposals ~9 ms)."""

    fps: float = 1.0  # sampling rate the caller uses (recorded; frames come from the caller)
    max_proposals: int = 6
    use_tracking: bool = True
    use_catalog_search: bool = False
    use_person: bool = False
    use_motion: bool = True
    use_saliency: bool = True
    catalog_tta: bool = True
    # the catalog's vectors come from the content-keyed disk cache (ml.visual.catalog_cache)
    # when these images were embedded before with these settings: equal vectors, no network pass
    catalog_cache: bool = True
    batch_frames: int = 4  # frames whose crops are embedded in one ONNX call
    category_top_k: int = 5  # nearest products voting for a tracklet's category
    track_window_s: float = 3.0  # Vis.Trk averages a tracklet's crops within +-this of each frame
    # the evidence's tracklets keep their crop embeddings (the seed models, ml.seed, read them);
    # otherwise they are dropped once a tracklet is scored: (0,d) in the evidence
    keep_embeddings: bool = False
    # a learned (d,d) projection of crop and catalog vectors before the cosine
    # (``ml.visual.projection``; None: the pretrained space)
    projection: str | None = None
    embedder: EmbedderOptions = field(default_factory=EmbedderOptions)
    tracker: TrackerOptions = field(default_factory=TrackerOptions)
    shots: ShotOptions = field(default_factory=ShotOptions)


@dataclass
class VisualEvidence:
    """frame_times (F,); image_scores, tracklet_scores (F,P) float32 raw cosines; tracklets with
    categories; shots; boxes: flat list of {"t", "xyxy", "track_id", "source"} (whole-frame and
    centre boxes left out: they carry no location) for the UI overlay; timings_s per part;
    the catalog's indexed view vectors and their owners, and the frame size, for ``ml.seed``."""

    frame_times: np.ndarray
    image_scores: np.ndarray
    tracklet_scores: np.ndarray
    tracklets: list[Tracklet]
    shots: Shots
    boxes: Boxes
    product_ids: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    # the indexed catalog views (V,d) and the product of each row (V,), for the seed models
    catalog_vectors: np.ndarray | None = None
    catalog_owner: np.ndarray | None = None
    frame_wh: tuple[int, int] = (0, 0)  # size of the frames the boxes are in


VIEW_CAP = 0.2  # most a shop's views move a product's cosine


def view_margins(queries: np.ndarray, vectors: np.ndarray, owner: np.ndarray, thresholds: np.ndarray,
                 n_products: int) -> np.ndarray:
    """(n,P): per product, the best ``cos(query, view) - view threshold`` over its views (-inf
    for products without views). Views are few (a few per reviewed interval): one matmul."""
    out = np.full((len(queries), n_products), -np.inf, np.float32)
    if len(queries) and len(vectors):
        m = np.asarray(queries, np.float32) @ vectors.T - thresholds[None, :]
        for j in np.unique(owner):
            out[:, j] = m[:, owner == j].max(axis=1)
    return out


def view_adjustment(positive: np.ndarray, negative: np.ndarray, cap: float = VIEW_CAP) -> np.ndarray:
    """(n,P) additive change of the catalog cosines: + how far a crop is past the threshold of
    p's nearest positive view, - how far past the threshold of p's nearest negative view, each
    capped at ``cap``. ``positive`` / ``negative`` from ``view_margins``."""
    return (np.clip(np.nan_to_num(positive, neginf=0.0), 0.0, cap)
            - np.clip(np.nan_to_num(negative, neginf=0.0), 0.0, cap)).astype(np.float32)


class VisualAnalyzer:
    def __init__(self, catalog: Catalog, options: VisualOptions | None = None,
                 embedder: ImageEmbedder | None = None, memory=None):
        """``memory``: an ``ml.adapt.ShopMemory`` (rows of products outside ``catalog`` ignored)."""
        self.catalog = catalog
        self.options = o = options or VisualOptions()
        self.embedder = embedder or ImageEmbedder(o.embedder)
        self.timings_s: dict[str, float] = defaultdict(float)
        t0 = time.perf_counter()
        # the catalog always goes through the float graph: it is embedded once and cached, so an
        # int8 crop network (``EmbedderOptions.precision``) saves nothing there and would only
        # add its error to both sides of every cosine
        eo = self.embedder.options
        catalog_embedder = self.embedder if eo.precision == "fp32" or eo.backend != "onnx" \
            else ImageEmbedder(replace(eo, precision="fp32"))
        vectors, owner = embed_catalog(catalog, catalog_embedder, tta=o.catalog_tta,
                                      cache=None if o.catalog_cache else False)
        self.views = None  # ((vectors, owner, thresholds) of positive views, same of negative ones)
        if memory is not None:
            views = memory.views_for(catalog.ids)
            if any(len(v[0]) for v in views):
                self.views = views
        self.projection = load_projection(o.projection)
        self.index = CatalogIndex().fit(project(vectors, self.projection), owner, len(catalog))
        self._vectors = np.asarray(vectors, np.float32)  # the index's rows, for the seed models
        self._frame_wh = (0, 0)
        self.timings_s["catalog"] += time.perf_counter() - t0
        cat_imgs = [trim_background(read_rgb(p.images[0])) for p in catalog.products] \
            if o.use_catalog_search else None
        self.proposer = Proposer(ProposalOptions(max_boxes=o.max_proposals, use_motion=o.use_motion,
                                                 use_saliency=o.use_saliency, use_person=o.use_person,
                                                 use_catalog_search=o.use_catalog_search), cat_imgs)
        self.tracker = Tracker(o.tracker, embed=self.embedder.embed)
        self.shot_detector = ShotDetector(o.shots)
        self._pending: list[tuple[Frame, Proposals, bool]] = []
        self._times: list[float] = []
        self._img_scores: list[np.ndarray] = []
        self._trk = np.full((0, len(catalog)), -np.inf, np.float32)  # (capacity,P) Vis.Trk so far
        self._tracklets: list[Tracklet] = []
        self._queue: list[tuple[np.ndarray, np.ndarray]] = []  # (frame rows, windowed features)
        self._queued_tracklets: list[tuple[Tracklet, np.ndarray]] = []  # (tracklet, feature()): their category
        self._queued_rows = 0
        self._boxes: list[Boxes] = []
        self._first = True

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """(n,d) crop or tracklet vectors -> (n,P) scores: best cosine per product over its
        catalog images, adjusted by the shop's views when it has a memory (``view_adjustment``)."""
        s = self.index.scores(project(queries, self.projection))
        if self.views is None:
            return s
        n = s.shape[1]
        pos, neg = (view_margins(queries, v, o, t, n) for v, o, t in self.views)
        return (s + view_adjustment(pos, neg)).astype(np.float32)

    def update(self, frame: Frame) -> None:
        """Consume the next sampled frame (time order). Work is batched every ``batch_frames``."""
        t0 = time.perf_counter()
        self._frame_wh = (int(frame.image.shape[1]), int(frame.image.shape[0]))
        new_shot = self.shot_detector.update(frame) and not self._first
        self._first = False
        t1 = time.perf_counter()
        props = self.proposer.propose(frame)
        t2 = time.perf_counter()
        self.timings_s["shots"] += t1 - t0
        self.timings_s["proposals"] += t2 - t1
        self._pending.append((frame, props, new_shot))
        if len(self._pending) >= max(1, self.options.batch_frames):
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        t0 = time.perf_counter()
        crops = [crop_box(f.image, b) for f, p, _ in self._pending for b in p.xyxy]
        emb = self.embedder.embed(crops)
        self.timings_s["embed"] += time.perf_counter() - t0
        row, per_frame = 0, []
        t1 = time.perf_counter()
        for frame, props, new_shot in self._pending:
            e = emb[row:row + len(props)]
            row += len(props)
            props = props.with_embeddings(e)
            out = self.tracker.update(frame, props, new_shot=new_shot) if self.options.use_tracking else props
            per_frame.append((frame, out, out.embeddings))
            self._boxes.append(Boxes.from_proposals(out, self._frame_wh))
        t2 = time.perf_counter()
        # one search for the whole batch: per-call overhead (FAISS' OpenMP start-up) dominates
        # a search this small
        sims_all = self.scores(np.concatenate([e for _, _, e in per_frame]))
        row = 0
        for frame, out, e in per_frame:
            sims = sims_all[row:row + len(e)]
            row += len(e)
            self._times.append(frame.t)
            self._img_scores.append(sims.max(axis=0))
        self.timings_s["tracking"] += t2 - t1
        self.timings_s["search"] += time.perf_counter() - t2
        self._pending = []
        if self.options.use_tracking:
            t3 = time.perf_counter()
            self._take(self.tracker.pop_final())
            self.timings_s["tracklets"] += time.perf_counter() - t3

    def _categorise(self, tracklets: list[Tracklet], scores: np.ndarray) -> None:
        """Hierarchical: the parent category the nearest products vote for, then the child
        category among products under that parent (votes weighted by cosine)."""
        products = self.catalog.products
        k = min(self.options.category_top_k, len(products))
        for tr, s in zip(tracklets, scores):
            top = np.argsort(-s)[:k]
            votes: dict[str, float] = defaultdict(float)
            for i in top:
                votes[products[i].parent_category] += max(float(s[i]), 0.0)
            parent = max(votes, key=votes.get) if votes else ""
            votes = defaultdict(float)
            for i in top:
                if products[i].parent_category == parent:
                    votes[products[i].category] += max(float(s[i]), 0.0)
            tr.parent_category = parent
            tr.category = max(votes, key=votes.get) if votes else ""

    def _windowed(self, tr: Tracklet) -> np.ndarray:
        """(m,d): at each of the tracklet's boxes, the mean embedding of its boxes within
        +-``track_window_s``. A whole-shot mean would smear one product over the shot; a
        window keeps the denoising of averaging and the timing of single frames."""
        w = self.options.track_window_s
        c = np.vstack([np.zeros((1, tr.embeddings.shape[1])), np.cumsum(tr.embeddings, axis=0, dtype=np.float64)])
        lo = np.searchsorted(tr.t, tr.t - w, side="left")
        hi = np.searchsorted(tr.t, tr.t + w, side="right")
        v = (c[hi] - c[lo]).astype(np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    def _take(self, tracklets: list[Tracklet], last: bool = False) -> None:
        """Queue final tracklets' windowed features for search (SEARCH_ROWS at a time; all of
        the queue when ``last``) and drop their crop embeddings."""
        times = np.asarray(self._times, dtype=np.float64) if tracklets else None
        for tr in tracklets:
            self._tracklets.append(tr)
            if not (len(tr.t) and len(tr.embeddings) == len(tr.t)):
                continue
            r = np.clip(np.searchsorted(times, tr.t), 0, len(times) - 1)
            ok = np.isclose(times[r], tr.t)
            self._queue.append((r[ok], self._windowed(tr)[ok]))
            self._queued_rows += int(ok.sum())
            self._queued_tracklets.append((tr, tr.feature()))
            if not self.options.keep_embeddings:  # a new empty array: a [:0] view would keep the crops
                tr.embeddings = np.zeros((0, tr.embeddings.shape[1]), np.float32)
            if self._queued_rows >= SEARCH_ROWS:
                self._search()
        if last:
            self._search()

    def _search(self) -> None:
        if self._queued_tracklets:
            tracklets, features = zip(*self._queued_tracklets)
            self._categorise(list(tracklets), self.scores(np.stack(features)))
        if self._queue:
            rows = np.concatenate([r for r, _ in self._queue])
            feats = np.concatenate([f for _, f in self._queue])
            need = int(rows.max()) + 1 if len(rows) else 0
            if need > len(self._trk):  # grow by doubling: amortised, and no list of rows
                grown = np.full((max(need, 2 * len(self._trk), 64), self._trk.shape[1]), -np.inf, np.float32)
                grown[:len(self._trk)] = self._trk
                self._trk = grown
            np.maximum.at(self._trk, rows, self.scores(feats))
        self._queue, self._queued_tracklets, self._queued_rows = [], [], 0

    def finish(self) -> VisualEvidence:
        """Flush pending frames, close tracklets, compute Vis.Trk scores and categories."""
        self._flush()
        t0 = time.perf_counter()
        times = np.asarray(self._times, dtype=np.float64)
        n_p = len(self.catalog)
        img = np.stack(self._img_scores).astype(np.float32) if self._img_scores else np.zeros((0, n_p), np.float32)
        if self.options.use_tracking:
            self._take(self.tracker.finish(), last=True)
        tracklets = sorted(self._tracklets, key=lambda tr: (tr.start_s, tr.track_id))
        self._tracklets = []
        trk = np.full_like(img, -np.inf)
        n = min(len(trk), len(self._trk))
        trk[:n] = self._trk[:n]
        self._trk = self._trk[:0]
        trk = np.where(np.isfinite(trk), trk, img).astype(np.float32)
        self.timings_s["tracklets"] += time.perf_counter() - t0
        return VisualEvidence(times, img, trk, tracklets, self.shot_detector.finish(), Boxes.merge(self._boxes),
                              self.catalog.ids, dict(self.timings_s), options_dict(self.options),
                              self._vectors, self.index.owner_, self._frame_wh)
