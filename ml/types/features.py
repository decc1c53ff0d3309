"""What perception hands to scoring: per time step and product, named feature arrays.

    features = Features(times, 1.0, ids, {FeatureKey.VISUAL: v, FeatureKey.SPEECH_SEM: s})
    whole = Features.concatenate([first_segment, second_segment])
    part = whole.slice(60.0, 120.0)
    whole.save("features.npz"); Features.load("features.npz")

``cuts`` are the times (s) where vision saw a shot change (a hard cut between sampled frames,
placed half-way between them); the localizer may move an interval's edge onto one
(``LocalizerOptions.snap_s``). They travel with the rows: ``slice`` keeps those in its span,
``concatenate`` joins the parts'.

Keys are ``FeatureKey`` members, never strings built on the fly: a misspelt key fails where it
is made, not as a silently missing column in training. ``FeatureKey`` is a ``StrEnum``, so a key
compares and hashes equal to its name ("visual", "speech_sem") and the fusion code's string
tables keep working.

Memory: 4 bytes per (step, product, key); 60 min at 1 s steps, 231 products and 10 keys is
33 MB, 4 h 133 MB. Segments of a long video each hold their own rows until concatenated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class FeatureKey(StrEnum):
    """The base features fusion reads; each belongs to one modality (``modality``)."""

    VISUAL = "visual"  # Vis.Trk: cosine of windowed tracklet means (the default visual feature)
    VISUAL_IMG = "visual_img"  # Vis.Img: best single crop per frame
    VISUAL_ASYMNET = "visual_asymnet"  # Video2Shop's AsymNet over tracklet windows (ml.seed)
    VISUAL_LXMERT = "visual_lxmert"  # LXMERT-style tracklet + window text (ml.seed)
    SPEECH_SEM = "speech_sem"  # MiniLM cosine of speech windows and product texts
    SPEECH_LEX = "speech_lex"  # IDF-weighted title-token recall in speech windows
    SCREEN_SEM = "screen_sem"
    SCREEN_LEX = "screen_lex"
    COMMENTS_SEM = "comments_sem"
    COMMENTS_LEX = "comments_lex"

    @property
    def modality(self) -> str:
        """"visual", "speech", "screen_text" or "comments" (``ml.types.MODALITIES``)."""
        head = self.value.split("_")[0]
        return "screen_text" if head == "screen" else head

    @classmethod
    def visual(cls, mode: str) -> "FeatureKey":
        """The feature a visual mode produces: "tracklet", "image", "asymnet" or "lxmert"."""
        keys = {"tracklet": cls.VISUAL, "image": cls.VISUAL_IMG, "asymnet": cls.VISUAL_ASYMNET,
                "lxmert": cls.VISUAL_LXMERT}
        if mode not in keys:
            raise ValueError(f"visual mode must be one of {', '.join(keys)}, got {mode!r}")
        return keys[mode]

    @classmethod
    def text(cls, source: str, score: str) -> "FeatureKey":
        """The feature of a text source ("speech", "screen", "comments") and score
        ("semantic", "lexical"): ``ml.text.matching.TextMatcher.score``'s two outputs."""
        keys = {("speech", "semantic"): cls.SPEECH_SEM, ("speech", "lexical"): cls.SPEECH_LEX,
                ("screen", "semantic"): cls.SCREEN_SEM, ("screen", "lexical"): cls.SCREEN_LEX,
                ("comments", "semantic"): cls.COMMENTS_SEM, ("comments", "lexical"): cls.COMMENTS_LEX}
        if (source, score) not in keys:
            raise ValueError(f"no text feature for source {source!r} and score {score!r}")
        return keys[(source, score)]

    @classmethod
    def parse(cls, name: str) -> "FeatureKey":
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"unknown feature {name!r}; known: {', '.join(k.value for k in cls)}") from None


@dataclass
class Features:
    """times (T,) float64 step centres; step_s; product_ids (P,); arrays {FeatureKey: (T,P) float32};
    cuts (k,) float64 shot-change times in seconds (may be empty).

    Steps are centred at ``(k + 1/2) * step_s`` from 0 (``grid``), so the rows of consecutive
    segments of one video line up and ``concatenate`` is exact. Instances are not changed by any
    method: ``with_arrays``, ``slice`` and ``concatenate`` return new ones.
    """

    times: np.ndarray
    step_s: float
    product_ids: list[str]
    arrays: dict[FeatureKey, np.ndarray]
    cuts: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self):
        self.times = np.asarray(self.times, dtype=np.float64).reshape(-1)
        self.cuts = np.unique(np.asarray(self.cuts, dtype=np.float64).reshape(-1))
        self.step_s = float(self.step_s)
        self.product_ids = [str(p) for p in self.product_ids]
        if self.step_s <= 0:
            raise ValueError(f"Features.step_s must be positive, got {self.step_s}")
        shape = (len(self.times), len(self.product_ids))
        arrays = {}
        for key, value in self.arrays.items():
            key = FeatureKey.parse(key)
            value = np.asarray(value, dtype=np.float32)
            if value.shape != shape:
                raise ValueError(f"feature {key} is {value.shape}, expected (T,P) = {shape}")
            arrays[key] = value
        self.arrays = arrays

    @staticmethod
    def grid(start_s: float, end_s: float, step_s: float) -> np.ndarray:
        """Centres of the steps covering [start_s, end_s): ``start_s + step/2, ...`` (at least one)."""
        return np.arange(start_s + step_s / 2, max(end_s, start_s + step_s / 2 + 1e-6), step_s)

    def __len__(self) -> int:
        return len(self.times)

    def __contains__(self, key) -> bool:
        return key in self.arrays

    def __getitem__(self, key) -> np.ndarray:
        return self.arrays[FeatureKey.parse(key)]

    def keys(self) -> list[FeatureKey]:
        return list(self.arrays)

    def with_arrays(self, arrays: dict) -> "Features":
        """A copy with ``arrays`` added (or replacing the same keys)."""
        return Features(self.times, self.step_s, self.product_ids, {**self.arrays, **arrays}, self.cuts)

    def take(self, mask) -> "Features":
        """The steps selected by a boolean mask or index array (T,), with the cuts within their
        span (first step's start to last step's end)."""
        times = self.times[mask]
        if not len(times):
            return self._rows(mask, 0.0, 0.0)
        return self._rows(mask, times.min() - self.step_s / 2, times.max() + self.step_s / 2)

    def slice(self, start_s: float, end_s: float) -> "Features":
        """The steps whose centre lies in [start_s, end_s), and the cuts in that span."""
        return self._rows((self.times >= start_s) & (self.times < end_s), start_s, end_s)

    def _rows(self, mask, lo: float, hi: float) -> "Features":
        """The steps ``mask`` selects and the cuts in [lo, hi)."""
        return Features(self.times[mask], self.step_s, self.product_ids,
                        {k: v[mask] for k, v in self.arrays.items()},
                        self.cuts[(self.cuts >= lo) & (self.cuts < hi)])

    @classmethod
    def concatenate(cls, parts: list["Features"]) -> "Features":
        """Rows of consecutive parts (same products, step and keys; times increasing)."""
        if not parts:
            raise ValueError("Features.concatenate needs at least one part")
        first = parts[0]
        for p in parts[1:]:
            if p.product_ids != first.product_ids:
                raise ValueError("Features.concatenate: parts have different product ids")
            if abs(p.step_s - first.step_s) > 1e-9:
                raise ValueError(f"Features.concatenate: steps differ ({first.step_s} vs {p.step_s})")
            if set(p.arrays) != set(first.arrays):
                raise ValueError(f"Features.concatenate: keys differ ({sorted(first.arrays)} vs {sorted(p.arrays)})")
        times = np.concatenate([p.times for p in parts])
        if len(times) > 1 and np.any(np.diff(times) <= 0):
            raise ValueError("Features.concatenate: parts overlap or are out of order")
        return cls(times, first.step_s, first.product_ids,
                   {k: np.concatenate([p.arrays[k] for p in parts]) for k in first.arrays},
                   np.concatenate([p.cuts for p in parts]))

    # ------------------------------------------------------------------ files
    def save(self, path: str) -> None:
        """.npz with ``times``, ``step_s``, ``product_ids``, ``cuts`` and one ``f_<key>`` (T,P) per feature."""
        np.savez_compressed(path, times=self.times, step_s=np.float64(self.step_s),
                            product_ids=np.asarray(self.product_ids), cuts=self.cuts,
                            **{f"f_{k.value}": v for k, v in self.arrays.items()})

    @classmethod
    def load(cls, path: str) -> "Features":
        """What ``save`` wrote (files without ``step_s`` take it from the times, else 1 s; files
        without ``cuts`` have none)."""
        if not os.path.isfile(path):
            raise FileNotFoundError(f"features file not found: {path}")
        with np.load(path, allow_pickle=False) as z:
            times = z["times"]
            if "step_s" in z.files:
                step = float(z["step_s"])
            else:
                step = float(times[1] - times[0]) if len(times) > 1 else 1.0
            try:
                arrays = {FeatureKey.parse(k[2:]): z[k] for k in z.files if k.startswith("f_")}
            except ValueError as e:
                raise ValueError(f"{path}: {e}") from None
            cuts = z["cuts"] if "cuts" in z.files else np.zeros(0)
            return cls(times, step, [str(x) for x in z["product_ids"]], arrays, cuts)
