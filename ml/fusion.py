"""Fusion v2: P(product p is shown at t) = P(something from the list is shown at t) x P(it is p | shown).

v1 gave every (step, product) pair its own logistic score, so nothing competed with "no product
at all": idle talk, off-catalog items and retail footage still had a best product scoring 0.9.
v2 makes "nothing" an explicit hypothesis and splits the question in two:

- **identity** ``q(p | t)``: a conditional logit (softmax over the stream's product list) of
  the expanded per-modality features of each product (raw, centred over products, and margin
  over the best other product). Fitted on the training steps where a product is shown; when two
  are shown at once, either counts as right. Weights are constrained >= 0: every feature is a
  similarity, so more of it never argues against a product (this keeps a look-alike's
  accidental negative weight from being learned on a few episodes).
- **presence** ``P(shown | t)``: a logistic regression on features of the step as a whole: per
  base feature the best product's value, its lead over the runner-up and the mean over products,
  the log of the list size (a longer list makes a high best cosine likelier by chance), and the
  identity's own confidence (top probability, entropy). Idle, distractor and off-catalog time of
  the training episodes are its negatives.

``fused = presence x identity`` and ``background = 1 - presence``: at every step the products
and "nothing" share one probability. Localization (``ml.localize``) decodes that distribution;
``ml.calibration`` turns candidate intervals into calibrated scores.

Evidence per modality is presence x the identity computed from that modality's features alone,
so a reviewer sees which signal named the product. Both fits are L2-regularised, bounded
L-BFGS-B (scipy) with analytic gradients; the weights are saved as JSON (no pickles) in
``ml/models/fusion_v2.json`` with one model per modality subset (``python -m ml train``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from .localize import smooth
from .types import MODALITIES

MODELS_DIR = os.path.join(os.path.dirname(__file__), "models")
DEFAULT_BUNDLE = "v2"

# base feature name -> modality
BASE_FEATURES = {
    "visual": "visual",
    "speech_sem": "speech", "speech_lex": "speech",
    "screen_sem": "screen_text", "screen_lex": "screen_text",
    "comments_sem": "comments", "comments_lex": "comments",
}


SUFFIXES = ("", "_c", "_m", "_h")


def feature_names(base: list[str]) -> list[str]:
    return [f"{b}{suffix}" for b in base for suffix in SUFFIXES]


def column_means(base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per base feature, each product's mean over the whole run (P,): its "hubness"."""
    return {k: np.asarray(v, np.float64).mean(axis=0) if len(v) else np.zeros(np.shape(v)[1])
            for k, v in base.items()}


def expand_features(base: dict[str, np.ndarray], col_mean: dict[str, np.ndarray] | None = None
                    ) -> tuple[list[str], np.ndarray]:
    """{name: (T,P)} -> names, (T,P,F): each base feature raw, centred on the mean over products
    at that time ("_c"), as its margin over the best *other* product ("_m", positive only for the
    leader), and relative to the product's own mean over the run ("_h", ``col_mean``; computed
    from ``base`` when not given): a "hub" product whose photo resembles every frame a little
    has a high raw cosine everywhere, and only a rise above its own level says it is shown. Not
    z-scored per step: with a 3-product catalog the standard deviation over products is itself
    noise, while cosine differences keep one scale whatever the catalog size."""
    col_mean = col_mean if col_mean is not None else column_means(base)
    names, cols = [], []
    for name in sorted(base):
        x = np.asarray(base[name], dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"feature {name} must be (T,P), got {x.shape}")
        centred = x - x.mean(axis=1, keepdims=True)
        if x.shape[1] > 1:
            top2 = -np.sort(-x, axis=1)[:, :2]
            best_other = np.where(x >= top2[:, :1], top2[:, 1:2], top2[:, :1])
            margin = x - best_other
        else:
            margin = np.zeros_like(x)
        own = x - np.asarray(col_mean[name], np.float32)[None, :]
        cols += [x, centred, margin, own]
        names += [name + s for s in SUFFIXES]
    if not cols:
        raise ValueError("no features")
    return names, np.stack(cols, axis=-1)


BACKGROUND_STATS = ("max", "lead", "mean")
CONTEXT_STEPS = 2  # steps each side for the presence model's context features


def background_features(base: dict[str, np.ndarray], identity: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Features of each step as a whole (T,F) for the presence model: per raw base feature its
    max over products, the leader's lead over the runner-up and the mean; ``log_products``; and
    the identity distribution's top probability and normalised entropy."""
    names, cols = [], []
    for name in sorted(base):
        x = np.asarray(base[name], dtype=np.float32)
        T, P = x.shape
        top2 = -np.sort(-x, axis=1)[:, :2] if P > 1 else np.concatenate([x, x], axis=1)
        cols += [top2[:, 0], top2[:, 0] - top2[:, 1], x.mean(axis=1)]
        names += [f"{name}_{s}" for s in BACKGROUND_STATS]
    T, P = identity.shape
    cols.append(np.full(T, np.log(max(P, 1)), np.float32))
    names.append("log_products")
    q = np.clip(identity, 1e-12, 1.0)
    cols.append(identity.max(axis=1) if P else np.zeros(T, np.float32))
    names.append("identity_top")
    ent = -(q * np.log(q)).sum(axis=1) / np.log(P) if P > 1 else np.zeros(T, np.float32)
    cols.append(ent)
    names.append("identity_entropy")
    # context: a shown product keeps the lead for seconds, an idle frame's best match flickers
    top = identity.argmax(axis=1) if P else np.zeros(T, int)
    same = np.zeros(T)
    for d in range(1, CONTEXT_STEPS + 1):
        same[d:] += top[d:] == top[:-d]
        same[:-d] += top[:-d] == top[d:]
    edge = np.minimum(np.arange(T), CONTEXT_STEPS) + np.minimum(np.arange(T)[::-1], CONTEXT_STEPS)
    cols.append(same / np.maximum(edge, 1))
    names.append("stability")
    cols.append(smooth(cols[names.index("identity_top")].astype(np.float32), 2 * CONTEXT_STEPS + 1))
    names.append("identity_top_context")
    return names, np.stack(cols, axis=-1).astype(np.float64)


def _presence_bounds(names: list[str]) -> list[tuple[float | None, float | None]]:
    """Sign constraints: a better best match, a clearer lead and a more confident identity
    never lower presence; more entropy never raises it; the rest is free."""
    out = []
    for n in names:
        if n.endswith("_max") or n.endswith("_lead") or n in ("identity_top", "stability", "identity_top_context"):
            out.append((0.0, None))
        elif n == "identity_entropy":
            out.append((None, 0.0))
        else:
            out.append((None, None))
    return out


def _softmax(s: np.ndarray) -> np.ndarray:
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _minimize(fun, x0, bounds):
    from scipy.optimize import minimize

    res = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 500})
    return res.x


def modality_of(name: str) -> str:
    """The modality of an expanded feature name ("speech_sem_m" -> "speech")."""
    base = name
    for suffix in SUFFIXES[1:]:
        if name.endswith(suffix) and name.removesuffix(suffix) in BASE_FEATURES:
            base = name.removesuffix(suffix)
    return BASE_FEATURES[base]


@dataclass
class FusionModel:
    """Presence x identity for one modality subset (see the module docstring).

    ``fit_episodes([(base, y), ...])``: per episode the base features {name: (T,P)} and the
    (T,P) 0/1 labels; episodes may have product lists of different sizes.
    """

    modalities: tuple[str, ...]
    C: float = 1.0
    names: list[str] = field(default_factory=list)
    bg_names: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ fitting
    def fit_episodes(self, episodes: list[tuple[dict[str, np.ndarray], np.ndarray]]) -> "FusionModel":
        """episodes: [(base features {name: (T,P)}, labels (T,P))], product lists may differ."""
        expanded = [(expand_features(base), y) for base, y in episodes]
        self.names = expanded[0][0][0]
        flat = np.concatenate([X.reshape(-1, X.shape[-1]) for (_, X), _ in expanded]).astype(np.float64)
        self.mean_ = flat.mean(axis=0)
        self.scale_ = np.maximum(flat.std(axis=0), 1e-6)
        del flat
        # identity: steps with something shown, each a softmax over its episode's products
        Zs, Qs = [], []
        for (_, X), y in expanded:
            shown = y.any(axis=1)
            if shown.any() and X.shape[1] > 1:
                Zs.append(((X[shown] - self.mean_) / self.scale_).astype(np.float64))
                Qs.append(y[shown].astype(np.float64))
        F = len(self.names)
        lam = 1.0 / (self.C * max(1, sum(len(z) for z in Zs)))

        def identity_loss(w):
            loss, grad, n = 0.0, np.zeros(F), 0
            for Z, Y in zip(Zs, Qs):
                s = Z @ w
                pi = _softmax(s)
                q = Y * pi
                mass = q.sum(axis=1, keepdims=True)
                loss -= np.log(np.maximum(mass[:, 0], 1e-300)).sum()
                target = q / np.maximum(mass, 1e-300)
                grad += np.einsum("tp,tpf->f", pi - target, Z)
                n += len(Z)
            n = max(n, 1)
            return loss / n + 0.5 * lam * w @ w, grad / n + lam * w

        self.coef_ = _minimize(identity_loss, np.full(F, 0.1), [(0.0, None)] * F) if Zs else np.zeros(F)
        # presence: every step, is anything from the list shown?
        Bs, ys = [], []
        for (base, y), ((_, X), _) in zip(episodes, expanded):
            q = self._identity(X)
            names, B = background_features(base, q)
            Bs.append(B)
            ys.append(y.any(axis=1).astype(np.float64))
        self.bg_names = names
        B, yb = np.concatenate(Bs), np.concatenate(ys)
        self.bg_mean_ = B.mean(axis=0)
        self.bg_scale_ = np.maximum(B.std(axis=0), 1e-6)
        Zb = (B - self.bg_mean_) / self.bg_scale_
        lam_b = 1.0 / (self.C * len(Zb))

        def presence_loss(v):
            w, b = v[:-1], v[-1]
            p = _sigmoid(Zb @ w + b)
            eps = 1e-12
            loss = -np.mean(yb * np.log(p + eps) + (1 - yb) * np.log(1 - p + eps)) + 0.5 * lam_b * w @ w
            g = (p - yb) / len(yb)
            return loss, np.concatenate([Zb.T @ g + lam_b * w, [g.sum()]])

        v = _minimize(presence_loss, np.zeros(len(self.bg_names) + 1), _presence_bounds(self.bg_names) + [(None, None)])
        self.bg_coef_, self.bg_intercept_ = v[:-1], float(v[-1])
        return self

    # ------------------------------------------------------------------ prediction
    def _z(self, names: list[str], X: np.ndarray) -> np.ndarray:
        if list(names) != self.names:
            X = X[..., [names.index(n) for n in self.names]]
        return (X - self.mean_) / self.scale_

    def _identity(self, X: np.ndarray, names: list[str] | None = None, mask: np.ndarray | None = None) -> np.ndarray:
        Z = self._z(names or self.names, X)
        w = self.coef_ if mask is None else self.coef_ * mask
        return _softmax(Z @ w)

    def identity(self, names: list[str], X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """-> q (T,P) = P(p | something shown) and per modality the identity from that
        modality's features alone. Each step on its own: callers may go block by block."""
        q = self._identity(X, names)
        per = {}
        for m in MODALITIES:
            mask = np.array([modality_of(n) == m for n in self.names], float)
            if mask.any():
                per[m] = self._identity(X, names, mask).astype(np.float32)
        return q.astype(np.float32), per

    def presence(self, base: dict[str, np.ndarray], q: np.ndarray) -> np.ndarray:
        """P(something from the list is shown) (T,), from the whole run (it reads +-CONTEXT_STEPS)."""
        bn, B = background_features(base, q)
        if bn != self.bg_names:
            B = B[:, [bn.index(n) for n in self.bg_names]]
        return _sigmoid(((B - self.bg_mean_) / self.bg_scale_) @ self.bg_coef_ + self.bg_intercept_)

    def predict(self, names: list[str], X: np.ndarray, base: dict[str, np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """-> fused (T,P) = P(p shown), background (T,) = P(nothing from the list), evidence
        {modality: (T,P)} (presence x that modality's identity), for one whole run."""
        q, per = self.identity(names, X)
        presence = self.presence(base, q)
        evidence = {m: (presence[:, None] * v).astype(np.float32) for m, v in per.items()}
        return (presence[:, None] * q).astype(np.float32), (1.0 - presence).astype(np.float32), evidence

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        return {"kind": "presence_identity", "modalities": list(self.modalities), "C": self.C,
                "names": self.names, "coef": self.coef_.tolist(), "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist(), "bg_names": self.bg_names, "bg_coef": self.bg_coef_.tolist(),
                "bg_intercept": self.bg_intercept_, "bg_mean": self.bg_mean_.tolist(),
                "bg_scale": self.bg_scale_.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "FusionModel":
        if d.get("kind") != "presence_identity":
            raise ValueError("not a fusion v2 model (presence x identity): retrain with `make train`")
        m = cls(tuple(d["modalities"]), d.get("C", 1.0), list(d["names"]), list(d["bg_names"]))
        m.coef_ = np.asarray(d["coef"], np.float64)
        m.mean_ = np.asarray(d["mean"], np.float64)
        m.scale_ = np.asarray(d["scale"], np.float64)
        m.bg_coef_ = np.asarray(d["bg_coef"], np.float64)
        m.bg_intercept_ = float(d["bg_intercept"])
        m.bg_mean_ = np.asarray(d["bg_mean"], np.float64)
        m.bg_scale_ = np.asarray(d["bg_scale"], np.float64)
        return m


@dataclass
class FusionBundle:
    """All subset models; per subset the localizer settings chosen on the validation split
    (``localizer[key]``, ``localizer["default"]`` for subsets not tuned separately) and the
    interval scorer calibrated there (``intervals[key]``, ``ml.calibration.IntervalScorer``)."""

    models: dict[str, FusionModel]
    localizer: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    intervals: dict = field(default_factory=dict)

    def localizer_options(self, modalities, visual_mode: str = "tracklet"):
        from .localize import LocalizerOptions

        key = subset_key(modalities, visual_mode)
        return LocalizerOptions(**self.localizer.get(key, self.localizer.get("default", {})))

    def interval_scorer(self, modalities, visual_mode: str = "tracklet"):
        from .calibration import IntervalScorer

        key = subset_key(modalities, visual_mode)
        d = self.intervals.get(key)
        if d is None:
            raise ValueError(f"no calibrated interval scorer for modalities {key!r} (run `make train`)")
        return IntervalScorer.from_dict(d)

    def for_modalities(self, modalities, visual_mode: str = "tracklet") -> FusionModel:
        key = subset_key(modalities, visual_mode)
        if key not in self.models:
            raise ValueError(f"no fusion model trained for modalities {key!r}; "
                             f"trained: {sorted(self.models)} (run `make train`)")
        return self.models[key]

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump({"models": {k: m.to_dict() for k, m in self.models.items()},
                       "localizer": self.localizer, "intervals": self.intervals, "meta": self.meta}, f, indent=1)

    @classmethod
    def load(cls, name_or_path: str = DEFAULT_BUNDLE) -> "FusionBundle":
        path = name_or_path if os.path.sep in name_or_path or name_or_path.endswith(".json") \
            else os.path.join(MODELS_DIR, f"fusion_{name_or_path}.json")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"fusion model {path} not found: run `make train`")
        with open(path) as f:
            d = json.load(f)
        return cls({k: FusionModel.from_dict(v) for k, v in d["models"].items()},
                   d.get("localizer", {}), d.get("meta", {}), d.get("intervals", {}))


# visual_mode -> the base feature that enters the fusion as "visual"
VISUAL_FEATURES = {
    "tracklet": "visual",  # Vis.Trk: windowed tracklet mean, cosine (the default)
    "image": "visual_img",  # Vis.Img: best single crop per frame
    "asymnet": "visual_asymnet",  # Video2Shop's AsymNet over tracklet windows (ml.seed)
    "lxmert": "visual_lxmert",  # LXMERT-style tracklet + window text embedding (ml.seed)
}


def subset_key(modalities, visual_mode: str = "tracklet") -> str:
    """Key of the model for a modality subset; every visual feature but the default tracklet
    one gets its own ("visual@image", "comments,speech,visual@asymnet")."""
    key = ",".join(sorted(set(modalities)))
    return key + f"@{visual_mode}" if "visual" in modalities and visual_mode != "tracklet" else key


def select_features(base: dict[str, np.ndarray], modalities, visual_mode: str = "tracklet") -> dict[str, np.ndarray]:
    """The base features a subset's model uses. ``base`` may hold several visual features
    (``VISUAL_FEATURES``: "visual" for Vis.Trk, "visual_img" for Vis.Img, "visual_asymnet",
    "visual_lxmert"); the one ``visual_mode`` names is passed on as "visual"."""
    mods = set(modalities)
    out = {k: v for k, v in base.items() if k in BASE_FEATURES and BASE_FEATURES[k] in mods and k != "visual"}
    if "visual" in mods:
        if visual_mode not in VISUAL_FEATURES:
            raise ValueError(f"visual_mode must be one of {sorted(VISUAL_FEATURES)}, got {visual_mode!r}")
        key = VISUAL_FEATURES[visual_mode]
        if key not in base:
            raise ValueError(f"visual features {key!r} missing")
        out["visual"] = base[key]
    return out
