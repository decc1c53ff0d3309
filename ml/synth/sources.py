"""The real media the benchmark is built from, and the train/val/test split by product.

``load_sources(root)`` reads the ``catalog.csv`` of every dataset folder under the data root
(``../shared/data`` next to the repository, or ``$SHOPFOCUS_DATA``) into ``SourceItem``s: one
per physical product, with its shop-side photos (catalog images) and its video-side photos.

Splits are BY PRODUCT: ``split_of(item_id)`` hashes the item id, so a product is in exactly one
of train/val/test in every episode and every run. Grocery video-side photos are also taken from
the photo ``split`` column of the same name when the product has any (test episodes never show
a ``train`` photo), so a visual model trained on the grocery ``train`` photos never sees a test
frame.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field

SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.5, 0.1, 0.4)  # train, val, test
DOMAINS = ("grocery", "fashion", "mixed")
SINGLE_PHOTO_FOLDERS = ("fashion_product_images", "fashion_product_images_cosmetics", "abo_samples")
GROCERY_FOLDER = "grocery_store"
VIDEOS_FOLDER = "fashion_videos"


class DataRootError(RuntimeError):
    """The benchmark's real media cannot be found or read."""


@dataclass
class SourceItem:
    """One physical product of the source datasets.

    ``catalog_images``: absolute paths of shop photos (go into the episode's catalog folder);
    ``video_images``: split name -> absolute paths of photos that may appear on screen
    (grocery: in-store photos by their photo split; single-photo items: the packshot itself,
    which is always heavily augmented before it is shown, under key ``"any"``).
    """

    item_id: str
    title: str
    category: str
    parent_category: str
    description: str
    domain: str  # "grocery" or "fashion"
    kind: str  # "instore" (real photos of the item) or "packshot" (composited)
    catalog_images: list[str]
    video_images: dict[str, list[str]] = field(default_factory=dict)
    colour: str = ""
    leaf: str = ""  # finest category name, singular-ish ("backpack", "juice")

    @property
    def split(self) -> str:
        return split_of(self.item_id)

    def photos_for(self, split: str) -> list[str]:
        """Video-side photos usable in an episode of ``split`` (never another split's photos
        when the product has photos of its own split; grocery val/test never use train)."""
        if self.kind == "packshot":
            return list(self.video_images.get("any", []))
        order = {"test": ("test", "val"), "val": ("val", "test"), "train": ("train", "val")}[split]
        for s in order:
            if self.video_images.get(s):
                return list(self.video_images[s])
        return [p for ps in self.video_images.values() for p in ps]


def split_of(item_id: str) -> str:
    """Deterministic product split from a hash of the item id (50/10/40 train/val/test)."""
    h = int(hashlib.sha1(item_id.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    acc = 0.0
    for name, frac in zip(SPLITS, SPLIT_FRACTIONS):
        acc += frac
        if h < acc:
            return name
    return SPLITS[-1]


def product_id_of(item_id: str) -> str:
    """Stable anonymous catalog id: ids must not leak titles to the pipeline."""
    return "p" + hashlib.sha1(item_id.encode("utf-8")).hexdigest()[:8]


def default_data_root() -> str:
    env = os.environ.get("SHOPFOCUS_DATA")
    if env:
        return os.path.abspath(env)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.abspath(os.path.join(repo, "..", "shared", "data"))


def _rows(path: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def _leaf(fine: str) -> str:
    part = [p for p in fine.replace(" - ", "/").split("/") if p.strip()]
    word = (part[-1] if part else "").strip().lower()
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


@dataclass
class Sources:
    root: str
    items: list[SourceItem]
    distractor_videos: list[str]

    def by_split(self, split: str, domain: str) -> list[SourceItem]:
        want = {"grocery": ("grocery",), "fashion": ("fashion",), "mixed": ("grocery", "fashion")}[domain]
        return [it for it in self.items if it.split == split and it.domain in want]

    def in_split(self, split: str) -> list[SourceItem]:
        return [it for it in self.items if it.split == split]


def _load_grocery(folder: str) -> list[SourceItem]:
    rows = _rows(os.path.join(folder, "catalog.csv"))
    items: dict[str, SourceItem] = {}
    for r in rows:
        iid = r["item_id"]
        it = items.get(iid)
        if it is None:
            fine = r.get("fine_category", "")
            it = items[iid] = SourceItem(
                iid, r["title"], r["category"], fine.split("/")[0] if fine else "",
                r.get("description", ""), "grocery", "instore", [], {},
                leaf=_leaf(fine.split("/")[1] if fine.count("/") >= 1 else fine))
        path = os.path.join(folder, r["file"])
        if r["view"].startswith("shop"):
            it.catalog_images.append(path)
        else:
            it.video_images.setdefault(r.get("split", "test") or "test", []).append(path)
    return [it for it in items.values() if it.catalog_images and it.video_images]


def _load_single_photo(folder: str) -> list[SourceItem]:
    rows = _rows(os.path.join(folder, "catalog.csv"))
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["item_id"], []).append(r)
    items = []
    for iid, rs in groups.items():
        r = rs[0]
        paths = [os.path.join(folder, x["file"]) for x in rs]
        # Multi-view items (ABO): hold the last view out for the video side.
        cat_imgs, vid_imgs = (paths[:-1], paths[-1:]) if len(paths) >= 3 else (paths, paths)
        fine = r.get("fine_category", "")
        colour = (r.get("colour") or "").strip()
        leaf = _leaf(fine) or r["category"]
        parts = [x.strip() for x in fine.split(" - ")]
        if len(parts) >= 4:  # cosmetics: "Personal Care - Fragrance - Perfume - White - Casual"
            leaf, colour = _leaf(parts[2]), colour or parts[3]
        parent = fine.replace(" - ", "/").split("/")[0].strip() if fine else ""
        desc_bits = [b for b in (colour.lower(), leaf) if b]
        desc = " ".join(desc_bits)
        if r.get("gender"):
            desc += f" for {r['gender'].lower()}"
        if r.get("usage"):
            desc += f", {r['usage'].lower()} wear"
        items.append(SourceItem(iid, r["title"], r["category"], parent, desc, "fashion", "packshot",
                                cat_imgs, {"any": vid_imgs}, colour=colour.lower(), leaf=leaf))
    return items


def load_sources(root: str | None = None) -> Sources:
    """Read every dataset folder present under ``root``; at least one must exist."""
    root = os.path.abspath(root or default_data_root())
    if not os.path.isdir(root):
        raise DataRootError(
            f"benchmark data root not found: {root}. Put the shared data there or set "
            "SHOPFOCUS_DATA to a folder holding grocery_store/, fashion_product_images/, ...")
    items: list[SourceItem] = []
    g = os.path.join(root, GROCERY_FOLDER)
    if os.path.isfile(os.path.join(g, "catalog.csv")):
        items += _load_grocery(g)
    for name in SINGLE_PHOTO_FOLDERS:
        d = os.path.join(root, name)
        if os.path.isfile(os.path.join(d, "catalog.csv")):
            items += _load_single_photo(d)
    if not items:
        raise DataRootError(f"no dataset folder with a catalog.csv under {root}")
    vids = []
    vd = os.path.join(root, VIDEOS_FOLDER)
    if os.path.isfile(os.path.join(vd, "videos.csv")):
        vids = [os.path.join(vd, r["file"]) for r in _rows(os.path.join(vd, "videos.csv"))]
        vids = [v for v in vids if os.path.isfile(v)]
    items.sort(key=lambda it: it.item_id)
    return Sources(root, items, vids)
