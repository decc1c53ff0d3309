"""The script of a long stream: an hour or more, a product list of 150+, look-alikes on purpose,
and a third or more of the time with no catalog product exhibited.

``plan_long_episode`` is pure (numpy RNG only, no media I/O), like ``script.plan_episode``, and
returns the same ``Plan`` (rendered by ``ml.synth.long``):

- **Product list**: ``catalog_size`` products. The exhibited ones (about 70 % of the
  exhibitions are first showings, the rest return to a product already shown, as real streams
  do) are drawn in look-alike pairs: after a product, one of its look-alikes is exhibited too
  with probability ``p_lookalike_shown``. Each exhibited product then brings ``lookalikes``
  never-shown look-alikes into the list, and the rest is filled with random products. A
  look-alike is a product of the same category, preferably of the same leaf kind ("t-shirt",
  "apple") and colour family (``similarity``). Everything comes from the episode's split;
  ``pad_split`` (the validation split, which has too few products) pads the list with products
  of that split as never-shown distractors (they are never exhibited and never in the truth).
- **No product shown** (``idle_share`` of the time, at least 30 %): the host talking over a studio
  backdrop (off-topic narration), off-catalog products held up and described (half of them
  look-alikes of listed products), retail video footage, and blank or plain transition frames.
  The timeline keeps the share on target by choosing a long gap whenever it is below target.
- **Exhibitions**: 8-90 s (log-uniform); captions, a second product (a look-alike half of the
  time), corner overlays, narration and comments as in short episodes, by ``difficulty``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .script import (LEVELS, OFFTOPIC_CAPTIONS, OFFTOPIC_LINES, USERS, Line, Plan, Segment, _log_uniform, _q,
                     describe, exhibit_comments, exhibit_lines, exhibit_segment, merge_truth, offtopic_comments)
from .sources import SourceItem, Sources

LONG_VERSION = "1"  # bump whenever a long stream for a given seed would change (short ones keep SYNTH_VERSION)
EXH_S = (8.0, 90.0)
GAP_KINDS = (("idle", 0.4, (15.0, 90.0)), ("distractor", 0.25, (8.0, 30.0)), ("clip", 0.2, (5.0, 20.0)),
             ("blank", 0.15, (1.0, 4.0)))
HOST_LINES = ("Okay, give me a second to get the next things ready.", "So many of you joined, hello!",
              "I will answer the questions at the end.", "Let me tell you what is coming up later today.",
              "Tomorrow we go live again at the same time.", "Thank you so much for watching.",
              "Remember, the offers end tonight.", "Let me read a few comments first.")
OFFCAT_LINES = ("This one is not in the shop yet, {d}.", "My own {d}, sadly not for sale.",
                "Next week we will have {d}.", "Someone asked about {d}, we do not sell it.")
OFFCAT_COMMENTS = ("is the {l} for sale?", "link for that {l}?", "i want that one", "how much is this {l}")
BLANK_CAPTIONS = ("BE RIGHT BACK", "STARTING SOON", "")
COLOUR_FAMILIES = {
    "dark": ("black", "navy blue", "charcoal", "grey", "steel", "grey melange"),
    "light": ("white", "off white", "cream", "beige", "silver", "skin", "nude"),
    "red": ("red", "maroon", "pink", "magenta", "rust", "burgundy", "peach"),
    "blue": ("blue", "navy blue", "turquoise blue", "teal", "sea green"),
    "green": ("green", "olive", "lime green", "sea green"),
    "brown": ("brown", "tan", "coffee brown", "khaki", "mushroom brown", "bronze", "copper"),
    "yellow": ("yellow", "orange", "gold", "mustard"),
    "purple": ("purple", "lavender", "mauve"),
}


@dataclass(frozen=True)
class LongSettings:
    catalog_size: int = 160
    idle_share: float = 0.36  # target share of time with no catalog product shown
    revisit: float = 0.3  # share of exhibitions that show a product again
    p_lookalike_shown: float = 0.5
    lookalikes: int = 2  # never-shown look-alikes listed per exhibited product
    pad_split: str = ""  # split that pads the list with never-shown products ("" = none)


def colour_family(colour: str) -> str:
    c = (colour or "").strip().lower()
    for fam, names in COLOUR_FAMILIES.items():
        if c in names:
            return fam
    return c


def similarity(a: SourceItem, b: SourceItem) -> float:
    """How alike two products look (-1: other category, never a look-alike; >= 2: same leaf)."""
    if a.item_id == b.item_id or a.category != b.category:
        return -1.0
    score = 0.0
    if a.leaf and a.leaf == b.leaf:
        score += 2.0
    if a.colour and colour_family(a.colour) == colour_family(b.colour):
        score += 1.0
    if a.parent_category and a.parent_category == b.parent_category:
        score += 0.5
    return score


def lookalikes(item: SourceItem, pool: list[SourceItem], k: int, rng: np.random.Generator) -> list[SourceItem]:
    """Up to ``k`` products of ``pool`` most like ``item`` (same category at least); random among equals."""
    cands = [(similarity(item, p), float(rng.random()), p) for p in pool]
    cands = [c for c in cands if c[0] >= 0]
    cands.sort(key=lambda c: (-c[0], c[1]))
    return [c[2] for c in cands[:k]]


def _timeline(rng, duration_s: float, fps: float, target: float) -> list[tuple[str, float, float]]:
    """[(kind, start, end)]: exhibitions and gaps; a long gap whenever the idle share is below target."""
    segs: list[tuple[str, float, float]] = []
    t = _q(rng.uniform(20.0, 60.0), fps)
    segs.append(("idle", 0.0, t))  # the host says hello
    idle = t
    kinds = [k for k, _, _ in GAP_KINDS]
    probs = np.array([p for _, p, _ in GAP_KINDS])
    while duration_s - t >= 8.0:
        e = _q(min(t + _log_uniform(rng, *EXH_S), duration_s), fps)
        segs.append(("exhibit", t, e))
        t = e
        if idle / max(t, 1e-9) < target:
            kind = kinds[int(rng.choice(len(kinds), p=probs))]
            lo, hi = dict((k, r) for k, _, r in GAP_KINDS)[kind]
            g = _q(min(t + _log_uniform(rng, lo, hi), duration_s), fps)
        else:  # a short transition: a blank frame or a moment of the host
            kind = "blank" if rng.random() < 0.5 else "idle"
            g = _q(min(t + rng.uniform(0.5, 3.0), duration_s), fps)
        if g > t:
            segs.append((kind, t, g))
            idle += g - t
            t = g
    if t < duration_s:
        segs.append(("idle", t, _q(duration_s, fps)))
    return segs


def _choose_products(rng, own: list[SourceItem], pad: list[SourceItem], n_distinct: int, st: LongSettings):
    """(exhibited, catalog, look-alike map) with the catalog exactly ``st.catalog_size`` long."""
    if len(own) + len(pad) < st.catalog_size:
        raise ValueError(f"a {st.catalog_size}-product list needs more products than the split has "
                         f"({len(own)} + {len(pad)} padding)")
    order = [own[i] for i in rng.permutation(len(own))]
    exhibited: list[SourceItem] = []
    chosen: set[str] = set()
    for it in order:
        if len(exhibited) >= n_distinct:
            break
        if it.item_id in chosen:
            continue
        exhibited.append(it)
        chosen.add(it.item_id)
        if len(exhibited) < n_distinct and rng.random() < st.p_lookalike_shown:
            mate = lookalikes(it, [o for o in own if o.item_id not in chosen], 1, rng)
            if mate and similarity(it, mate[0]) >= 2.0:
                exhibited.append(mate[0])
                chosen.add(mate[0].item_id)
    catalog = list(exhibited)
    in_cat = set(chosen)
    mates: dict[str, list[str]] = {}
    budget = st.catalog_size - len(catalog)
    for it in exhibited:
        if budget <= 0:
            break
        free_own = [o for o in own if o.item_id not in in_cat]
        free_pad = [o for o in pad if o.item_id not in in_cat]
        got = lookalikes(it, free_own, st.lookalikes, rng)
        if len(got) < st.lookalikes:
            got += lookalikes(it, free_pad, st.lookalikes - len(got), rng)
        for g in got[:budget]:
            catalog.append(g)
            in_cat.add(g.item_id)
            budget -= 1
        mates[it.item_id] = [g.item_id for g in got]
    rest = [o for o in own if o.item_id not in in_cat]
    rest = [rest[i] for i in rng.permutation(len(rest))]
    rest_pad = [o for o in pad if o.item_id not in in_cat]
    rest += [rest_pad[i] for i in rng.permutation(len(rest_pad))]
    catalog += rest[:budget]
    return exhibited, catalog, mates


def plan_long_episode(sources: Sources, rng: np.random.Generator, split: str, difficulty: str,
                      duration_s: float, fps: float, settings: LongSettings = LongSettings()) -> Plan:
    lv = LEVELS[difficulty]
    st = settings
    own = sources.in_split(split)
    if not own:
        raise ValueError(f"no products in split {split!r} under {sources.root}")
    pad = [it for it in sources.in_split(st.pad_split)] if st.pad_split and st.pad_split != split else []
    segs = _timeline(rng, float(duration_s), fps, st.idle_share)
    n_exh = sum(1 for s in segs if s[0] == "exhibit")
    n_distinct = max(1, min(len(own), int(math.ceil(n_exh * (1 - st.revisit))), st.catalog_size // 2))
    exhibited, catalog, mates = _choose_products(rng, own, pad, n_distinct, st)
    cat_ids = {it.item_id for it in catalog}
    # off-catalog products held up, and corner overlays: the split's own (and the padding split's)
    non_catalog = [it for it in own + pad if it.item_id not in cat_ids]
    shows = exhibited + [exhibited[i] for i in rng.integers(0, len(exhibited), max(0, n_exh - len(exhibited)))]
    shows = [shows[i] for i in rng.permutation(len(shows))][:n_exh]
    for i in range(1, len(shows)):  # no immediate repeats
        if shows[i] is shows[i - 1]:
            j = next((k for k in range(i + 1, len(shows)) if shows[k] is not shows[i - 1]), None)
            if j is not None:
                shows[i], shows[j] = shows[j], shows[i]

    def pick_second(item, cands, r):
        like = [c for c in cands if similarity(item, c) >= 2.0]
        pool = like if like and r.random() < 0.5 else cands
        return pool[int(r.integers(len(pool)))]

    def off_catalog_item(r) -> SourceItem:
        if r.random() < 0.5:  # a look-alike of something listed: the hard case
            target = catalog[int(r.integers(len(catalog)))]
            like = lookalikes(target, non_catalog, 1, r)
            if like:
                return like[0]
        return non_catalog[int(r.integers(len(non_catalog)))]

    showable = [c for c in catalog if c.split == split]  # padding products are never shown
    segments: list[Segment] = []
    truth: list[dict] = []
    lines: list[Line] = []
    comments: list[tuple[float, str, str]] = [(0.0, "headline", "Big live sale: food, fashion, beauty")]
    k = 0
    for kind, s, e in segs:
        if e - s <= 0:
            continue
        if kind == "exhibit":
            seg = exhibit_segment(shows[k], s, e, showable, non_catalog, rng, lv, fps, truth, pick_second)
            k += 1
            segments.append(seg)
            lines += exhibit_lines(seg, rng, lv)
            comments += exhibit_comments(seg, catalog, rng, lv, float(duration_s))
            continue
        seg = Segment(kind, s, e)
        if kind == "clip" and sources.distractor_videos:
            seg.clip = sources.distractor_videos[int(rng.integers(len(sources.distractor_videos)))]
        elif kind == "clip":
            seg.kind = "idle"
        if kind == "distractor" and non_catalog:
            seg.item = off_catalog_item(rng)
            lines.append(Line(s + rng.uniform(0.5, 2.0), str(rng.choice(OFFCAT_LINES)).format(d=describe(seg.item)),
                              "offcatalog"))
            for _ in range(int(rng.poisson(1.0))):
                tc = s + rng.uniform(2.0, 12.0)
                if tc < duration_s:
                    comments.append((round(tc, 2), str(rng.choice(USERS)),
                                     str(rng.choice(OFFCAT_COMMENTS)).format(l=seg.item.leaf or "item")))
        elif kind == "distractor":
            seg.kind = "idle"
        if seg.kind == "blank":
            seg.caption = str(rng.choice(BLANK_CAPTIONS)) if e - s >= 2 else ""
        elif rng.random() < 0.3:
            seg.caption = str(rng.choice(OFFTOPIC_CAPTIONS))
        if seg.kind == "idle" and e - s > 2:  # the host talks on and on
            t = s + rng.uniform(0.3, 1.5)
            while t < e - 2.0:
                pool = HOST_LINES if rng.random() < 0.4 else OFFTOPIC_LINES
                lines.append(Line(t, str(rng.choice(pool)), "offtopic"))
                t += rng.uniform(4.0, 9.0)
        segments.append(seg)
    lines.sort(key=lambda x: x.start_s)
    comments += offtopic_comments(rng, lv, float(duration_s))
    comments.sort(key=lambda c: c[0])
    voice = {"voice": str(rng.choice(["en-us", "en", "en-us+f3", "en+f2", "en-gb"])),
             "speed": int(rng.integers(145, 176)), "pitch": int(rng.integers(35, 70))}
    notes = {"exhibited": [it.item_id for it in exhibited], "lookalikes": mates,
             "padded_from": st.pad_split if pad else "",
             "padded": [it.item_id for it in catalog if it.split != split]}
    return Plan(catalog, segments, lines, merge_truth(truth), comments, voice, notes) if False else \
        Plan(catalog, segments, lines, comments, merge_truth(truth), voice, notes)
