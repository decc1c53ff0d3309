"""Learning from corrections: a shop's reviewed intervals -> what its next runs use.

    views = harvest_views(video, result.evidence, catalog, examples)     # crops of reviewed intervals
    result = refit([(curves, examples), ...])                              # per-shop interval scorer
    memory = ShopMemory.from_views(views, scorer=result.scorer if result.improved else None)
    memory.save("shop.npz");  localize(video, catalog, memory=ShopMemory.load("shop.npz"))

An **example** is one reviewed interval: confirmed (accepted, edited, relabelled, merged, added:
``label`` 1) or rejected (``label`` 0, a hard negative of the product it was wrongly given).

**Appearance memory** (``ShopMemory``): crops of confirmed intervals are views of their product,
crops of rejected intervals negative views of the product they were wrongly given; the run's
visual scores (Vis.Img and Vis.Trk) move by how much nearer a crop is to p's views than to the
other views (``ml.visual.analyzer.view_adjustment``: a crop nearer a negative view of p than to
every positive view loses p the difference). Rows of products outside a run's catalog are ignored,
and ``memory=None`` is the packaged behaviour exactly.

**Refit** (``refit``): the calibrated interval scorer (``ml.calibration.IntervalScorer``) is
refitted on the shop's own candidates, labelled by its examples (``candidate_labels`` with the
confirmed examples as truth; candidates matching a rejected example are hard negatives with
weight ``HARD_NEGATIVE_WEIGHT``). With a few dozen examples a fresh 21-feature regression would
overfit, so the refit keeps the packaged scorer as its prior: it learns a scale and offset of
the packaged calibrated logit plus a strongly regularised (``REFIT_C``) correction on the
standardised features; the result folds back into one ``IntervalScorer`` (same dict form).

The rule for ``improved`` (a refit is activated only then): on the held-back share, the refit's
interval F1@0.5 (``ml.eval.operating``, the output at its threshold) beats the current scorer's
by at least ``MIN_F1_GAIN`` and its now-showing accuracy is not lower by more than
``MAX_NOW_SHOWING_LOSS``, with at least ``MIN_HELD_TRUE`` confirmed examples held back.
What is activated is the scorer that was measured (fitted on the training share only).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

from .types import Catalog, Evidence, Interval, ScoreCurves

# The number of examples (confirmed + rejected) below which ``refit`` does not try. Measured on
# the benchmark's shops (bench/adapt_curve.py, bench/results/adapt.md, 2026-12-02): refits from
# 19-23 examples (4 corrected episodes of 60-120 s; tried with the earlier floor of 20) never beat
# the packaged scorer on the held-back episode (F1 0.67 -> 0.67 and 0.57 -> 0.57), and none with
# fewer was tried. So "enough" lies above 23 here; 24 is the smallest count not measured to fail.
# Longer shop series are needed to find where a refit starts to pay.
MIN_EXAMPLES = 24
MIN_F1_GAIN = 0.02
MAX_NOW_SHOWING_LOSS = 0.01
MIN_HELD_TRUE = 3
HARD_NEGATIVE_WEIGHT = 2.0
REFIT_C = 0.05  # L2 strength of the feature correction (the packaged logit's scale is ~free)
_PRIOR_SCALE = 10.0  # the prior logit column is scaled up so its coefficient is barely penalised

DEDUPE_COS = 0.95  # two crops closer than this are one view
SIM_MARGIN = 0.1  # crops within this cosine of an interval's best match to the product are candidates
MAX_FRAMES = 12  # frames decoded per reviewed interval (evenly spread over its sampled frames)
IMPOSTOR_FRAMES = 40  # frames over the whole video whose crops set each view's threshold
MIN_THRESHOLD = 0.8  # a view never counts below this cosine (video crops of one studio reach it)
DEFAULT_THRESHOLD = 1.0  # a view without impostors to measure against: no effect


@dataclass(frozen=True)
class Example:
    """One reviewed interval of a shop: label 1 confirmed (accepted/edited/relabelled/merged/
    added), 0 rejected (a hard negative of ``product_id``); ``source``: provenance JSON
    (video, interval, user, at)."""

    product_id: str
    start_s: float
    end_s: float
    label: int
    source: dict = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self):
        if self.label not in (0, 1):
            raise ValueError(f"label must be 0 or 1, got {self.label!r}")
        if not self.end_s > self.start_s:
            raise ValueError(f"example ends ({self.end_s}) before it starts ({self.start_s})")

    def interval(self) -> Interval:
        return Interval(self.product_id, float(self.start_s), float(self.end_s), 1.0)


@dataclass
class View:
    """One crop from a reviewed interval: ``vector`` (d,) float32 L2-normalised in the catalog's
    space (the packaged image embedder); ``box`` xyxy in pixels of the decoded frame; ``area``
    its share of the frame; ``sharpness`` the variance of the Laplacian of its grey image;
    ``image`` the RGB crop (for storing and the admin), or None; ``source`` the example's
    provenance (which reviewed interval it came from); ``threshold`` the cosine above which a crop
    counts as this view (the most any crop of the video outside the example reaches: the
    studio, captions and other products look alike at the level of raw cosines)."""

    product_id: str
    positive: bool
    t: float
    box: tuple[float, float, float, float]
    vector: np.ndarray
    sharpness: float
    area: float
    image: np.ndarray | None = None
    source: dict = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD


def _sharpness(rgb: np.ndarray) -> float:
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def _inside(t: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    m = np.zeros(len(t), bool)
    for a, b in spans:
        m |= (t >= a) & (t <= b)
    return m


def harvest_views(video: str, evidence: Evidence, catalog: Catalog, examples: list[Example],
                  per_interval: int = 3, embedder=None, fps: float = 1.0, max_side: int = 640) -> list[View]:
    """Crops of the reviewed intervals. For each example, the frames the run sampled inside
    [start, end] (``fps`` and ``max_side`` as the run decoded them: ``PipelineOptions``; at most
    ``MAX_FRAMES``, evenly spread) are decoded again; the candidate boxes are the run's tracked
    boxes there (``evidence.boxes``), or, for an example without any, the centre crop the
    analyzer also scores (``Evidence.boxes`` leaves it out as it carries no location; where boxes
    exist it is mostly the studio around the product, and a view of the studio matches every
    product shown in it). Crops are embedded with the packaged image embedder; those within
    ``SIM_MARGIN`` of the example's best cosine to the product's catalog vectors are candidates.
    (A view shares the studio, the caption band and the lighting with every other crop of the
    shop: ``ml.visual.analyzer.view_adjustment`` therefore compares views with views.) The rest are deduplicated (cosine > ``DEDUPE_COS``) in
    order of sharpness x area, and the first ``per_interval`` returned.

    A rejected example's frames inside a confirmed example of the same product are skipped (a
    rejected interval that overlaps a shown one must not make the product its own negative).
    Examples of products outside ``catalog`` give nothing."""
    import math

    from .decode import iter_frames, probe
    from .structuring.proposals import ProposalOptions
    from .structuring.tracking import crop_box
    from .visual.embedder import ImageEmbedder, embed_catalog

    ids = catalog.ids
    examples = [e for e in examples if e.product_id in ids]
    if not examples or per_interval < 1:
        return []
    embedder = embedder or ImageEmbedder()
    cat_vecs, cat_owner = embed_catalog(catalog, embedder)
    confirmed: dict[str, list[tuple[float, float]]] = {}
    for e in examples:
        if e.label:
            confirmed.setdefault(e.product_id, []).append((e.start_s, e.end_s))
    c = (1.0 - ProposalOptions().centre_frac) / 2
    fixed = np.array([[0.0, 0.0, 1.0, 1.0], [c, c, 1.0 - c, 1.0 - c]])  # the analyzer's frame proposals
    boxes = evidence.boxes
    tol = 0.25 / fps

    def crops_of(start_s: float, end_s: float, max_frames: int, keep=lambda t: True):
        """(crops, [(t, box, area)]) of the run's sampled frames in [start_s, end_s]."""
        a = math.ceil(start_s * fps - 1e-6) / fps  # on the run's sampling grid
        n = int(math.floor((end_s - a) * fps + 1e-6)) + 1
        crops, meta = [], []
        if n < 1:
            return crops, meta
        every = max(1, math.ceil(n / max_frames))
        for k, frame in enumerate(iter_frames(video, fps=fps, start_s=a, end_s=end_s, max_side=max_side)):
            if k % every or not start_s <= frame.t <= end_s or not keep(frame.t):
                continue
            h, w = frame.image.shape[:2]
            near = np.abs(boxes.t - frame.t) <= tol
            for xyxy in np.vstack([boxes.xyxy[near].reshape(-1, 4), fixed]):
                box = tuple(float(v) for v in np.asarray(xyxy, np.float64) * [w, h, w, h])
                crop = crop_box(frame.image, box)
                if crop.shape[0] >= 8 and crop.shape[1] >= 8:
                    crops.append(np.ascontiguousarray(crop))
                    meta.append((float(frame.t), box, (box[2] - box[0]) * (box[3] - box[1]) / float(w * h)))
        return crops, meta

    # impostors: crops spread over the whole video, for each view's threshold
    imp_crops, imp_meta = crops_of(0.0, probe(video).duration_s, IMPOSTOR_FRAMES)
    imp_vecs = embedder.embed(imp_crops) if imp_crops else np.zeros((0, cat_vecs.shape[1]), np.float32)
    imp_t = np.array([m[0] for m in imp_meta])
    views: list[View] = []
    for ex in examples:
        skip = confirmed.get(ex.product_id, []) if not ex.label else []
        crops, meta = crops_of(ex.start_s, ex.end_s, MAX_FRAMES, lambda t: not (skip and _inside(np.array([t]), skip)[0]))
        if not crops:
            continue
        vecs = embedder.embed(crops)
        sim = (vecs @ cat_vecs[cat_owner == ids.index(ex.product_id)].T).max(axis=1)
        idx = np.flatnonzero(sim >= sim.max() - SIM_MARGIN)
        # what the view must not be mistaken for: the video outside this example (and, for a
        # confirmed one, outside every confirmed interval of its product)
        away = ~_inside(imp_t, [(ex.start_s, ex.end_s)] + (confirmed.get(ex.product_id, []) if ex.label else []))
        against = imp_vecs[away]
        sharp = {int(i): _sharpness(crops[i]) for i in idx}
        kept: list[int] = []
        for i in sorted(sharp, key=lambda i: -sharp[i] * meta[i][2]):
            if any(float(vecs[i] @ vecs[k]) > DEDUPE_COS for k in kept):
                continue
            kept.append(i)
            if len(kept) == per_interval:
                break
        for i in kept:
            t, box, area = meta[i]
            thr = float((against @ vecs[i]).max()) if len(against) else DEFAULT_THRESHOLD
            views.append(View(ex.product_id, bool(ex.label), t, box, vecs[i].astype(np.float32), sharp[i],
                              float(area), crops[i].copy(), dict(ex.source), max(thr, MIN_THRESHOLD)))
    return views


@dataclass
class ShopMemory:
    """What a shop has learned, handed to one pipeline run (``localize(..., memory=)``):
    ``vectors`` (V,d) float32 views, ``product_ids`` (V,) their products, ``positive`` (V,) bool
    (False: a negative view), ``scorer`` the active refit (``IntervalScorer.to_dict()``; None:
    the packaged one) and ``version`` (free text: which learned state this is)."""

    vectors: np.ndarray
    product_ids: list[str]
    positive: np.ndarray
    scorer: dict | None = None
    version: str = ""
    thresholds: np.ndarray | None = None  # (V,) each view's ``View.threshold``; None: DEFAULT_THRESHOLD

    def __post_init__(self):
        self.vectors = np.asarray(self.vectors, np.float32)
        if self.vectors.ndim != 2:
            self.vectors = self.vectors.reshape(len(self.product_ids), -1) if self.vectors.size \
                else np.zeros((len(self.product_ids), 0), np.float32)
        self.product_ids = [str(p) for p in self.product_ids]
        self.positive = np.asarray(self.positive, bool).reshape(-1)
        self.thresholds = (np.full(len(self.product_ids), DEFAULT_THRESHOLD, np.float32) if self.thresholds is None
                           else np.asarray(self.thresholds, np.float32).reshape(-1))
        if not (len(self.vectors) == len(self.product_ids) == len(self.positive) == len(self.thresholds)):
            raise ValueError(f"vectors {self.vectors.shape}, product_ids ({len(self.product_ids)}) and "
                             f"positive {self.positive.shape} do not align")

    def __len__(self) -> int:
        return len(self.product_ids)

    @classmethod
    def from_views(cls, views: list[View], scorer: dict | None = None, version: str = "") -> "ShopMemory":
        if not views:
            return cls(np.zeros((0, 0), np.float32), [], np.zeros(0, bool), scorer, version)
        return cls(np.stack([np.asarray(v.vector, np.float32) for v in views]), [v.product_id for v in views],
                   np.array([bool(v.positive) for v in views]), scorer, version,
                   np.array([float(v.threshold) for v in views], np.float32))

    def views_for(self, product_ids: list[str]) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
        """((vectors, product positions in ``product_ids``, thresholds) of the positive views,
        the same of the negative views); rows of other products are left out."""
        pos = {p: i for i, p in enumerate(product_ids)}
        owner = np.array([pos.get(p, -1) for p in self.product_ids], np.int64)
        known = owner >= 0
        return tuple((self.vectors[keep], owner[keep], self.thresholds[keep])
                     for keep in (known & self.positive, known & ~self.positive))

    def interval_scorer(self):
        from .calibration import IntervalScorer

        return IntervalScorer.from_dict(self.scorer) if self.scorer else None

    def apply(self, scorer):
        """``scorer`` (``ml.scoring.Scorer``) with the shop's refitted interval scorer, if any."""
        mine = self.interval_scorer()
        return scorer if mine is None else scorer.with_intervals(mine)

    def save(self, path: str) -> None:
        """One .npz at ``path`` (the name is kept as given): the arrays and a JSON header."""
        meta = json.dumps({"scorer": self.scorer, "version": self.version})
        buf = io.BytesIO()
        np.savez_compressed(buf, vectors=self.vectors, product_ids=np.asarray(self.product_ids, dtype=str),
                            positive=self.positive, thresholds=self.thresholds, meta=np.asarray(meta))
        with open(path, "wb") as f:
            f.write(buf.getvalue())

    @classmethod
    def load(cls, path: str) -> "ShopMemory":
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return cls(z["vectors"], [str(p) for p in z["product_ids"]], z["positive"], meta.get("scorer"),
                       str(meta.get("version", "")), z["thresholds"] if "thresholds" in z.files else None)


# --------------------------------------------------------------------------- refit
@dataclass
class RefitResult:
    """``scorer``: the refitted ``IntervalScorer.to_dict()`` (None: not enough examples);
    ``before`` / ``after``: pooled operating metrics on the held-back examples with the current
    scorer and with the refit (``f1``, ``precision``, ``recall``, ``now_showing``, ``n_examples``,
    ``n_true``, ``n_output``); ``improved`` by the rule in the module docstring."""

    scorer: dict | None
    before: dict
    after: dict
    improved: bool
    n_train: int
    n_held: int


@dataclass
class _Part:
    """One run's share of the refit: its curves, examples and the time window it counts in."""

    curves: ScoreCurves
    examples: list[Example]
    lo: float = -np.inf
    hi: float = np.inf

    def holds(self, start_s: float, end_s: float) -> bool:
        mid = 0.5 * (start_s + end_s)
        return self.lo <= mid < self.hi

    def mine(self) -> list[Example]:
        return [e for e in self.examples if self.holds(e.start_s, e.end_s)]


def _split(runs, held_share: float, seed: int) -> tuple[list[_Part], list[_Part]]:
    """Whole runs are held back when there are two or more (at least one each side); a single
    run is split in time (its last ``held_share`` is held back)."""
    parts = [(c, list(ex)) for c, ex in runs if len(c.times)]
    if len(parts) >= 2:
        n_held = min(len(parts) - 1, max(1, int(round(held_share * len(parts)))))
        held = set(np.random.default_rng(seed).permutation(len(parts))[:n_held].tolist())
        return ([_Part(c, ex) for i, (c, ex) in enumerate(parts) if i not in held],
                [_Part(c, ex) for i, (c, ex) in enumerate(parts) if i in held])
    if not parts:
        return [], []
    c, ex = parts[0]
    cut = float(c.times[0] + (1.0 - held_share) * (c.times[-1] - c.times[0]))
    return [_Part(c, ex, hi=cut)], [_Part(c, ex, lo=cut)]


def _training_set(parts: list[_Part], base) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from .calibration import candidate_labels, interval_features
    from .localize import Localizer

    Xs, ys, ws = [], [], []
    for part in parts:
        cands = [c for c in Localizer(base.localizer).candidates(part.curves)
                 if part.holds(*_span(part.curves, c))]
        if not cands:
            continue
        ex = part.mine()
        Xs.append(interval_features(part.curves, cands))
        ys.append(candidate_labels(part.curves, cands, [e.interval() for e in ex if e.label], options=base.localizer))
        hard = candidate_labels(part.curves, cands, [e.interval() for e in ex if not e.label], options=base.localizer)
        ws.append(np.where(hard.astype(bool), HARD_NEGATIVE_WEIGHT, 1.0))
    if not Xs:
        return np.zeros((0, 0)), np.zeros(0, np.int8), np.zeros(0)
    return np.concatenate(Xs), np.concatenate(ys), np.concatenate(ws)


def _span(curves: ScoreCurves, c) -> tuple[float, float]:
    from .calibration import to_interval

    iv = to_interval(curves, c, 0.0)
    return iv.start_s, iv.end_s


def _fit_on_prior(base_iv, X: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict | None:
    """The packaged calibrated logit z as a prior: logit = a*z + b + w.x (x standardised as the
    packaged scorer does it), folded back into one ``IntervalScorer``. None with one class."""
    from sklearn.linear_model import LogisticRegression

    from .calibration import IntervalScorer

    if len(set(np.asarray(y).astype(int).tolist())) < 2:
        return None
    pa, pb = base_iv.platt_
    z = pa * base_iv.raw_logit(X) + pb
    xs = (X - base_iv.mean_) / base_iv.scale_
    lr = LogisticRegression(C=REFIT_C, max_iter=5000).fit(np.column_stack([z * _PRIOR_SCALE, xs]), y,
                                                          sample_weight=w)
    a, corr, b = float(lr.coef_[0, 0]) * _PRIOR_SCALE, lr.coef_[0, 1:], float(lr.intercept_[0])
    out = IntervalScorer(base_iv.C, base_iv.threshold, list(base_iv.names))
    out.mean_, out.scale_ = base_iv.mean_.copy(), base_iv.scale_.copy()
    out.coef_ = a * pa * base_iv.coef_ + corr
    out.intercept_ = float(a * (pa * base_iv.intercept_ + pb) + b)
    out.platt_ = (1.0, 0.0)
    return out.to_dict()


def _held_metrics(parts: list[_Part], scorer) -> dict:
    """Pooled operating metrics (``ml.eval.operating``) of ``scorer``'s output on the held-back
    parts, the confirmed examples there being the truth."""
    from .eval.operating import operating_metrics, pool

    per, n_ex = [], 0
    for part in parts:
        ex = part.mine()
        n_ex += len(ex)
        out = [iv.to_dict() for iv in scorer.decide(part.curves).intervals if part.holds(iv.start_s, iv.end_s)]
        truth = [e.interval().to_dict() for e in ex if e.label]
        lo = max(0.0, part.lo if np.isfinite(part.lo) else 0.0)
        hi = part.hi if np.isfinite(part.hi) else float(part.curves.times[-1] + part.curves.step_s / 2)
        shift = [dict(d, start_s=d["start_s"] - lo, end_s=d["end_s"] - lo) for d in out]
        tshift = [dict(d, start_s=d["start_s"] - lo, end_s=d["end_s"] - lo) for d in truth]
        per.append(operating_metrics(shift, tshift, hi - lo))
    m = pool(per)
    return {"f1": m["f1@0.5"] or 0.0, "precision": m["precision@0.5"], "recall": m["recall@0.5"],
            "now_showing": m["now_showing_accuracy"], "false_alarm_rate": m["false_alarm_rate"],
            "n_examples": n_ex, "n_true": m["n_true"], "n_output": m["n_output"]}


def is_improvement(before: dict, after: dict) -> bool:
    """The activation rule (module docstring)."""
    if (after.get("n_true") or 0) < MIN_HELD_TRUE:
        return False
    ns_b, ns_a = before.get("now_showing") or 0.0, after.get("now_showing") or 0.0
    return after["f1"] >= before["f1"] + MIN_F1_GAIN and ns_a >= ns_b - MAX_NOW_SHOWING_LOSS


def refit(runs: list[tuple[ScoreCurves, list[Example]]], base: dict | None = None,
          held_share: float = 0.3, seed: int = 0, options=None) -> RefitResult:
    """Refit the interval scorer on a shop's reviewed runs: ``runs`` = (full-resolution score
    curves of a job, that video's examples); ``base``: the shop's active refit
    (``IntervalScorer.to_dict()``), None for the packaged scorer of ``options``
    (``ml.pipeline.PipelineOptions``, default options when None).

    A reviewed video is taken as reviewed in full: its candidates that match no confirmed
    example are negatives. Fewer than ``MIN_EXAMPLES`` examples, or a training share with one
    class only: ``scorer`` None, ``improved`` False."""
    from .calibration import IntervalScorer
    from .pipeline import PipelineOptions
    from .scoring import Scorer

    current = Scorer.load(options or PipelineOptions())
    if base:
        current = current.with_intervals(IntervalScorer.from_dict(base))
    train, held = _split(runs, held_share, seed)
    n_train = sum(len(p.mine()) for p in train)
    n_held = sum(len(p.mine()) for p in held)
    n_all = sum(len(ex) for _, ex in runs)
    if n_all < MIN_EXAMPLES or not train or not held:
        return RefitResult(None, {}, {}, False, n_train, n_held)
    X, y, w = _training_set(train, current)
    scorer = _fit_on_prior(current.intervals, X, y, w) if len(y) else None
    before = _held_metrics(held, current)
    if scorer is None:
        return RefitResult(None, before, {}, False, n_train, n_held)
    after = _held_metrics(held, current.with_intervals(IntervalScorer.from_dict(scorer)))
    return RefitResult(scorer, before, after, is_improvement(before, after), n_train, n_held)


__all__ = ["Example", "View", "harvest_views", "ShopMemory", "RefitResult", "refit", "MIN_EXAMPLES"]
