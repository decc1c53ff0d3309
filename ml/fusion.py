"""Fusion v1: learned late fusion of per-modality scores.

Each modality contributes a few base features per (time step, product): visual cosine, speech
semantic / lexical match, screen-text semantic / lexical, comment semantic / lexical. Each base
feature also enters relative to the other products at the same time (centred, and as a margin
over the best other product), because raw cosines drift with lighting and scene while the
*ranking* among products is what identifies the item. A logistic regression, fitted on the benchmark's training split, maps the
features to P(product p is exhibited at t). The weights are learned (``python -m ml train``),
one model per modality subset so that ablations ("visual only", "speech only") are each fitted
fairly, and saved as JSON (no pickles) in ``ml/models/``.

Evidence per modality is the probability given that modality's features alone (its part of the
linear score plus the intercept), so a reviewer sees which signal fired.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from .types import MODALITIES

MODELS_DIR = os.path.join(os.path.dirname(__file__), "models")

# base feature name -> modality
BASE_FEATURES = {
    "visual": "visual",
    "speech_sem": "speech", "speech_lex": "speech",
    "screen_sem": "screen_text", "screen_lex": "screen_text",
    "comments_sem": "comments", "comments_lex": "comments",
}


SUFFIXES = ("", "_c", "_m")


def feature_names(base: list[str]) -> list[str]:
    return [f"{b}{suffix}" for b in base for suffix in SUFFIXES]


def expand_features(base: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """{name: (T,P)} -> names, (T,P,F): each base feature raw, centred on the mean over products
    at that time ("_c"), and as its margin over the best *other* product ("_m", positive only
    for the leader). Not z-scored: with a 3-product catalog the standard deviation over products
    is itself noise, while cosine differences keep one scale whatever the catalog size."""
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
        cols += [x, centred, margin]
        names += [name + s for s in SUFFIXES]
    if not cols:
        raise ValueError("no features")
    return names, np.stack(cols, axis=-1)


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


@dataclass
class FusionModel:
    """Logistic regression over expanded features of a modality subset.

    sklearn-style: ``fit(X, y)`` sets ``coef_``, ``intercept_``, ``mean_``, ``scale_``.
    """

    modalities: tuple[str, ...]
    C: float = 1.0
    names: list[str] = field(default_factory=list)

    def fit(self, names: list[str], X: np.ndarray, y: np.ndarray, sample_weight=None) -> "FusionModel":
        from sklearn.linear_model import LogisticRegression

        self.names = list(names)
        X = X.reshape(-1, len(names)).astype(np.float64)
        self.mean_ = X.mean(axis=0)
        self.scale_ = np.maximum(X.std(axis=0), 1e-6)
        lr = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
        lr.fit((X - self.mean_) / self.scale_, y.reshape(-1).astype(int), sample_weight=sample_weight)
        self.coef_ = lr.coef_[0].astype(np.float64)
        self.intercept_ = float(lr.intercept_[0])
        return self

    def _linear_parts(self, names: list[str], X: np.ndarray) -> np.ndarray:
        """(T,P,F) -> (T,P,F) contribution of each feature to the logit."""
        if list(names) != self.names:
            idx = [names.index(n) for n in self.names]  # KeyError-like ValueError if missing
            X = X[..., idx]
        return (X - self.mean_) / self.scale_ * self.coef_

    def predict(self, names: list[str], X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """-> fused probability (T,P), and per-modality evidence probabilities {modality: (T,P)}."""
        parts = self._linear_parts(names, X)
        fused = _sigmoid(parts.sum(axis=-1) + self.intercept_)
        evidence = {}
        for m in MODALITIES:
            sel = [i for i, n in enumerate(self.names) if BASE_FEATURES[_base_of(n)] == m]
            if sel:
                evidence[m] = _sigmoid(parts[..., sel].sum(axis=-1) + self.intercept_)
        return fused.astype(np.float32), {k: v.astype(np.float32) for k, v in evidence.items()}

    def to_dict(self) -> dict:
        return {"modalities": list(self.modalities), "C": self.C, "names": self.names,
                "coef": self.coef_.tolist(), "intercept": self.intercept_,
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "FusionModel":
        m = cls(tuple(d["modalities"]), d.get("C", 1.0), list(d["names"]))
        m.coef_ = np.asarray(d["coef"], dtype=np.float64)
        m.intercept_ = float(d["intercept"])
        m.mean_ = np.asarray(d["mean"], dtype=np.float64)
        m.scale_ = np.asarray(d["scale"], dtype=np.float64)
        return m


def _base_of(name: str) -> str:
    for suffix in SUFFIXES[1:]:
        if name.endswith(suffix) and name.removesuffix(suffix) in BASE_FEATURES:
            return name.removesuffix(suffix)
    return name


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass
class FusionBundle:
    """All subset models plus, per subset, the localizer settings chosen on the validation split
    (``localizer[key]``, with ``localizer["default"]`` for subsets not tuned separately)."""

    models: dict[str, FusionModel]
    localizer: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def localizer_options(self, modalities, visual_mode: str = "tracklet"):
        from .localize import LocalizerOptions

        key = subset_key(modalities, visual_mode)
        return LocalizerOptions(**self.localizer.get(key, self.localizer.get("default", {})))

    def for_modalities(self, modalities, visual_mode: str = "tracklet") -> FusionModel:
        key = subset_key(modalities, visual_mode)
        if key not in self.models:
            raise ValueError(f"no fusion model trained for modalities {key!r}; "
                             f"trained: {sorted(self.models)} (run `make train`)")
        return self.models[key]

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump({"models": {k: m.to_dict() for k, m in self.models.items()},
                       "localizer": self.localizer, "meta": self.meta}, f, indent=1)

    @classmethod
    def load(cls, name_or_path: str = "v1") -> "FusionBundle":
        path = name_or_path if os.path.sep in name_or_path or name_or_path.endswith(".json") \
            else os.path.join(MODELS_DIR, f"fusion_{name_or_path}.json")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"fusion model {path} not found: run `make train`")
        with open(path) as f:
            d = json.load(f)
        return cls({k: FusionModel.from_dict(v) for k, v in d["models"].items()},
                   d.get("localizer", {}), d.get("meta", {}))


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
