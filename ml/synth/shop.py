"""A shop: the same catalog and the same look over a series of episodes (issue 15's benchmark).

Sellers stream again and again from one studio with one product list. ``draw_shop`` is pure
(numpy RNG only, no media I/O), like ``script.plan_episode``; a ``ShopLook`` handed to
``plan_episode`` / ``generate_episode`` (``shop=``) fixes, for every episode of the series:

- **the catalog**: ``catalog_size`` products of the split and domain, of which ``core_size`` are
  the shop's bestsellers: ``p_core`` of an episode's exhibitions show one of them (sellers show
  their bestsellers in most streams), the rest any other product of the list;
- **the studio**: a few backdrops (in-store photos of products outside the list), a studio wall
  colour, and the props (off-list products) that stand in for distractors and corner overlays;
- **the lighting**: a colour cast and brightness over every frame (the studio's lamps and camera
  white balance), so what the camera sees of a product differs from its catalog photo the same
  way in every episode;
- **the presenter's voice** (espeak voice, speed, pitch).

Episodes of a shop differ in which products are shown, their order and the script; each has its
own seed. Their cache keys (``EpisodeSpec.key``) start with ``shop{SHOP_VERSION}``, so ordinary
episodes keep theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .sources import SourceItem, Sources

SHOP_VERSION = "1"  # bump whenever a shop episode for a given seed would change


@dataclass
class ShopLook:
    shop_id: str
    catalog: list[SourceItem]
    core: list[SourceItem]
    props: list[SourceItem]
    backdrops: list[str]  # image paths
    wall: tuple[tuple[float, float, float], tuple[float, float, float]]  # idle wall gradient, BGR
    gain: tuple[float, float, float]  # per-channel (BGR) multiplier of every frame
    brightness: float  # added after the gain, in grey levels
    voice: dict = field(default_factory=dict)
    p_core: float = 0.75

    def light(self, frame: np.ndarray) -> np.ndarray:
        """The studio's lighting over a rendered BGR frame."""
        out = frame.astype(np.float32) * np.float32(self.gain) + np.float32(self.brightness)
        return np.clip(out, 0, 255).astype(np.uint8)


def draw_shop(sources: Sources, rng: np.random.Generator, shop_id: str, split: str, domain: str,
              catalog_size: int = 24, core_size: int = 8, n_props: int = 6, n_backdrops: int = 3) -> ShopLook:
    pool = sources.by_split(split, domain)
    if not pool:
        raise ValueError(f"no {domain} products in split {split!r} under {sources.root}")
    order = [pool[i] for i in rng.permutation(len(pool))]
    catalog = order[:min(catalog_size, len(order))]
    core = catalog[:min(core_size, len(catalog))]
    ids = {it.item_id for it in catalog}
    off = [it for it in sources.in_split(split) if it.item_id not in ids] or \
        [it for it in sources.items if it.item_id not in ids]
    off = [off[i] for i in rng.permutation(len(off))]
    props = off[:n_props]
    scenes = [p for it in off[n_props:] if it.kind == "instore" for p in it.photos_for(split)]
    backdrops = [scenes[i] for i in rng.permutation(len(scenes))[:n_backdrops]] if scenes else []
    c0 = rng.uniform(50, 190, 3)
    c1 = np.clip(c0 + rng.uniform(-50, 50, 3), 0, 255)
    gain = tuple(float(g) for g in np.clip(1.0 + rng.uniform(-0.18, 0.18, 3), 0.75, 1.25))
    voice = {"voice": str(rng.choice(["en-us", "en", "en-us+f3", "en+f2", "en-gb"])),
             "speed": int(rng.integers(145, 176)), "pitch": int(rng.integers(35, 70))}
    return ShopLook(shop_id, catalog, core, props, backdrops, (tuple(c0.tolist()), tuple(c1.tolist())), gain,
                    float(rng.uniform(-20, 20)), voice)


def pick_shows(shop: ShopLook, rng: np.random.Generator, n_exh: int) -> list[SourceItem]:
    """The products an episode exhibits, in order: ``p_core`` of them from the bestsellers, no
    product twice in a row."""
    rest = [it for it in shop.catalog if it not in shop.core] or shop.catalog
    shows: list[SourceItem] = []
    for _ in range(n_exh):
        group = shop.core if rng.random() < shop.p_core else rest
        choices = [it for it in group if not shows or it is not shows[-1]] or group
        shows.append(choices[int(rng.integers(len(choices)))])
    return shows


__all__ = ["SHOP_VERSION", "ShopLook", "draw_shop", "pick_shows"]
