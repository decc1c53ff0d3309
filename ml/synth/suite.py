"""Fixed lists of episodes (a benchmark suite) derived from a seed."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

QUICK_SIZE = (640, 360)
FULL_SIZE = (1280, 720)


@dataclass(frozen=True)
class EpisodeSpec:
    name: str
    seed: int
    split: str
    difficulty: str
    domain: str
    duration_s: float
    size: tuple[int, int]

    def key(self, version: str) -> str:
        """Cache key: changes when the generator version or any setting changes."""
        w, h = self.size
        return (f"v{version}_{self.split}_s{self.seed}_{self.domain}_{self.difficulty}_"
                f"{int(self.duration_s)}s_{w}x{h}")

    def to_dict(self) -> dict:
        return asdict(self)


def suite(count: int = 20, seed: int = 0, split: str = "test", quick: bool = False,
          durations: tuple[float, float] = (120.0, 180.0), size: tuple[int, int] = FULL_SIZE) -> list[EpisodeSpec]:
    """``count`` episodes cycling through every (domain, difficulty) pair, durations drawn in
    ``durations`` and rounded to 10 s. ``quick``: one 30 s episode at 640x360."""
    if quick:
        return [EpisodeSpec(f"{split}_quick_{seed}", seed, split, "easy", "grocery", 30.0, QUICK_SIZE)]
    rng = np.random.default_rng([seed, 7919])
    combos = [(dom, dif) for dif in ("easy", "medium", "hard") for dom in ("grocery", "fashion", "mixed")]
    out = []
    for i in range(count):
        dom, dif = combos[i % len(combos)]
        dur = float(round(rng.uniform(*durations) / 10.0) * 10)
        out.append(EpisodeSpec(f"{split}_{i:02d}_{dom}_{dif}", seed * 1000 + i, split, dif, dom, dur, size))
    return out
