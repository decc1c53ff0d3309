"""Fixed lists of episodes (a benchmark suite) derived from a seed, and ``generate`` for one spec."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .longplan import LONG_VERSION

QUICK_SIZE = (640, 360)
FULL_SIZE = (1280, 720)
LONG_CATALOGS = (160, 220)  # product-list sizes of the long streams, cycled
LONG_DIFFICULTIES = ("medium", "hard")


@dataclass(frozen=True)
class EpisodeSpec:
    name: str
    seed: int
    split: str
    difficulty: str
    domain: str
    duration_s: float
    size: tuple[int, int]
    catalog_size: int = 0  # > 0: a long stream (ml.synth.long) with this many products
    shop: int | None = None  # an episode of the shop drawn from this seed (ml.synth.shop)

    @property
    def long(self) -> bool:
        return self.catalog_size > 0

    def key(self, version: str | None = None) -> str:
        """Cache key: changes when the generator version or any setting changes. Short episodes
        key on ``version`` (SYNTH_VERSION), long streams on LONG_VERSION, shop episodes on
        SHOP_VERSION."""
        w, h = self.size
        if self.shop is not None:
            from .shop import SHOP_VERSION

            return (f"shop{SHOP_VERSION}_{self.split}_sh{self.shop}_s{self.seed}_{self.domain}_{self.difficulty}_"
                    f"{int(self.duration_s)}s_{w}x{h}")
        if self.long:
            return (f"long{LONG_VERSION}_{self.split}_s{self.seed}_{self.difficulty}_"
                    f"{int(self.duration_s)}s_{w}x{h}_c{self.catalog_size}")
        if version is None:
            from .episode import SYNTH_VERSION

            version = SYNTH_VERSION
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


def long_suite(count: int = 2, seed: int = 0, split: str = "test", duration_s: float = 3600.0,
               size: tuple[int, int] = FULL_SIZE) -> list[EpisodeSpec]:
    """``count`` long streams of ``duration_s``, difficulties and product-list sizes cycled
    (medium with 160 products, hard with 220, ...)."""
    out = []
    for i in range(count):
        dif = LONG_DIFFICULTIES[i % len(LONG_DIFFICULTIES)]
        cat = LONG_CATALOGS[i % len(LONG_CATALOGS)]
        out.append(EpisodeSpec(f"{split}_long_{i:02d}_{dif}_c{cat}", seed * 1000 + 500 + i, split, dif, "mixed",
                               float(duration_s), size, cat))
    return out


SHOP_LOOKS = (("grocery", "medium"), ("fashion", "hard"), ("mixed", "medium"))  # (domain, difficulty), cycled


def shop_suite(n_shops: int = 3, episodes: int = 6, seed: int = 0, split: str = "test",
               durations: tuple[float, float] = (60.0, 120.0), size: tuple[int, int] = FULL_SIZE) -> list[list[EpisodeSpec]]:
    """``n_shops`` series of ``episodes`` episodes each (issue 15's benchmark): one shop per
    series (its catalog, studio, lighting and voice, ``ml.synth.shop``), (domain, difficulty)
    cycling through ``SHOP_LOOKS``, durations drawn in ``durations`` and rounded to 10 s. The
    series are in broadcast order: a reviewer corrects the first ones, later ones are measured."""
    rng = np.random.default_rng([seed, 104729])
    out = []
    for s in range(n_shops):
        dom, dif = SHOP_LOOKS[s % len(SHOP_LOOKS)]
        shop = seed * 100 + s
        series = []
        for i in range(episodes):
            dur = float(round(rng.uniform(*durations) / 10.0) * 10)
            series.append(EpisodeSpec(f"{split}_shop{s}_{i:02d}_{dom}_{dif}", seed * 1000 + 700 + 10 * s + i, split,
                                      dif, dom, dur, size, shop=shop))
        out.append(series)
    return out


def generate(spec: EpisodeSpec, out_dir: str, data_root: str | None = None, sources=None, preset: str = "veryfast") -> dict:
    """Generate the episode of ``spec`` into ``out_dir``; returns its paths."""
    if spec.long:
        from .long import generate_long_episode

        return generate_long_episode(out_dir, spec.seed, spec.split, spec.difficulty, spec.duration_s, spec.size,
                                     spec.catalog_size, data_root=data_root, sources=sources, preset=preset)
    from .episode import generate_episode

    return generate_episode(out_dir, spec.seed, spec.split, spec.difficulty, spec.domain, spec.duration_s,
                            spec.size, data_root=data_root, sources=sources, preset=preset, shop_seed=spec.shop)
