"""The episode script: who is shown when, what is said, what viewers type, what is on screen.

``plan_episode`` is pure (numpy RNG only, no media I/O): from the split's products and a
difficulty it draws the catalog, the timeline of segments (exhibitions, distractors, idle),
narration lines, comments and captions. ``ml.synth.episode`` then renders it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .sources import SourceItem, Sources, product_id_of

DIFFICULTIES = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Difficulty:
    p_name: float  # an exhibition's lead line says the product's title
    p_desc: float  # ... or only describes it (else: off-topic)
    speech_offset: tuple[float, float]  # lead line start relative to exhibition start (s)
    gap_s: tuple[float, float]  # distractor/idle time between exhibitions
    exh_s: tuple[float, float]  # exhibition length range (log-uniform), within 3..60
    shot_s: tuple[float, float]  # cut every ... seconds
    p_two: float  # a second product joins for part of an exhibition
    p_overlay: float  # a non-catalog item sits in a corner during an exhibition
    p_clip: float  # a gap shows retail video footage (else a non-catalog product or idle)
    aug: float  # augmentation strength 0..1
    snr_db: float  # speech over background sound
    p_caption: float  # an exhibition has a burned-in caption naming it
    comments_per_exh: float
    offtopic_comments_per_min: float
    p_wrong_comment: float  # a comment names another catalog product


LEVELS = {
    "easy": Difficulty(0.85, 0.10, (-0.5, 1.5), (1.0, 5.0), (10.0, 45.0), (4.0, 9.0), 0.0, 0.0,
                       0.3, 0.35, 22.0, 0.6, 2.0, 2.0, 0.0),
    "medium": Difficulty(0.6, 0.25, (-2.0, 3.0), (2.0, 8.0), (6.0, 40.0), (3.0, 7.0), 0.15, 0.2,
                         0.5, 0.6, 12.0, 0.35, 1.5, 3.0, 0.1),
    "hard": Difficulty(0.35, 0.35, (-4.0, 6.0), (2.0, 12.0), (3.0, 30.0), (2.0, 5.0), 0.3, 0.45,
                       0.6, 0.9, 5.0, 0.15, 1.0, 5.0, 0.25),
}

NAME_LINES = ("Now let me show you the {t}.", "This is the {t}, one of my favourites.",
              "Next up, the {t}.", "Here we have the {t}, really popular this week.",
              "Take a look at the {t}.", "Everyone is asking about the {t}.")
DESC_LINES = ("Look at this one. {d}.", "Check this out, {d}.", "This one is lovely. {d}.",
              "{d}. I really like it.")
FILLER_LINES = ("You can see the details here.", "The quality is really good.",
                "Let me turn it around for you.", "It is a great price today.",
                "Many of you bought this last time.", "Let me show you from this side.")
OFFTOPIC_LINES = ("Hello everyone, welcome back to the stream.", "Don't forget to follow the shop.",
                  "Thanks for all the comments, I see you.", "Shipping is free this week.",
                  "Let me check the comments quickly.", "We have a lot more coming today.",
                  "If you have questions just type them below.", "The weather is lovely today.",
                  "My cat was sitting here a minute ago.", "Give me one second, I need some water.")
OFFTOPIC_COMMENTS = ("hi from brazil", "love this stream", "first!", "lol", "nice",
                     "can you show the first one again", "where do you ship?", "hello!!",
                     "is there a discount code", "your voice is so calming", "what time tomorrow?",
                     "great show", "??", "love it", "hi everyone")
ITEM_COMMENTS = ("how much is the {c} one?", "{f}?", "is the {l} still available", "price of {f} pls",
                 "i want the {l}", "{f} looks great", "does the {l} come in other colours",
                 "how much for {f}", "link for the {l}?", "add {f} to cart pls")
USERS = ("mia_k", "shopper22", "lee.b", "ana_ro", "tom", "dealhunter", "kiki", "jj_99", "sam",
         "nora.v", "max_p", "li_wei", "rosa", "ben123", "zoe")
CAPTION_PRICES = ("ONLY ${p}", "TODAY ${p}", "${p} - LIMITED", "NEW! ${p}")
OFFTOPIC_CAPTIONS = ("LIVE", "FOLLOW FOR MORE DEALS", "FREE SHIPPING THIS WEEK", "SALE",
                     "WELCOME TO MY SHOP", "BACK IN 1 MIN")


@dataclass
class Segment:
    """One stretch of the timeline. kind: "exhibit", "clip", "distractor", "idle" or (long
    streams only) "blank" (a black or plain transition frame)."""

    kind: str
    start_s: float
    end_s: float
    item: SourceItem | None = None
    second: SourceItem | None = None  # two products on screen
    second_span: tuple[float, float] | None = None
    overlay: SourceItem | None = None  # non-catalog item in a corner
    caption: str = ""
    clip: str = ""


@dataclass
class Line:
    start_s: float
    text: str
    kind: str  # "name", "desc", "filler", "offtopic"
    product_id: str = ""


@dataclass
class Plan:
    catalog: list[SourceItem]
    segments: list[Segment]
    lines: list[Line]
    comments: list[tuple[float, str, str]]
    truth: list[dict]
    voice: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)  # long streams: exhibited ids, look-alikes, padding


def _log_uniform(rng, lo, hi):
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _q(t: float, fps: float) -> float:
    """Snap a time to the render frame grid so truth matches what was drawn."""
    return round(round(t * fps) / fps, 4)


def _fragment(item: SourceItem, rng) -> str:
    words = [w for w in item.title.replace(",", " ").split() if w.isascii()]
    if not words:
        return item.leaf or "this"
    n = int(rng.integers(1, min(3, len(words)) + 1))
    i = int(rng.integers(0, len(words) - n + 1))
    frag = " ".join(words[i:i + n]).lower()
    if rng.random() < 0.2 and len(frag) > 4:  # typo
        j = int(rng.integers(1, len(frag) - 1))
        frag = frag[:j] + frag[j + 1:]
    return frag


def describe(item: SourceItem) -> str:
    """What a seller says instead of the name: the grocery description's first sentence, or
    colour + kind of item for fashion (never the brand)."""
    if item.domain == "grocery" and item.description:
        first = item.description.split(".")[0].strip()
        return " ".join(first.split()[:22])
    colour = item.colour or "lovely"
    return f"this {colour} {item.leaf or item.category}"


def _price(rng) -> str:
    return f"{int(rng.integers(3, 90))}.{int(rng.choice([0, 49, 90, 99])):02d}"


def plan_episode(sources: Sources, rng: np.random.Generator, split: str, difficulty: str,
                 domain: str, duration_s: float, fps: float, shop=None) -> Plan:
    """``shop``: an ``ml.synth.shop.ShopLook``: the episode is one of that shop's series (its
    catalog, bestsellers, props and voice); None: an episode with a catalog of its own."""
    lv = LEVELS[difficulty]
    if shop is None:
        pool = sources.by_split(split, domain)
        if not pool:
            raise ValueError(f"no {domain} products in split {split!r} under {sources.root}")
        others_same_split = [it for it in sources.in_split(split) if it not in pool]

    # ---- timeline of exhibitions and gaps
    segs: list[tuple[str, float, float]] = []
    t = _q(rng.uniform(1.0, 4.0), fps)
    segs.append(("gap", 0.0, t))
    while duration_s - t >= 3.5:
        dur = min(_log_uniform(rng, *lv.exh_s), 60.0, duration_s - t)
        if dur < 3.0:
            break
        e = _q(t + dur, fps)
        segs.append(("exhibit", t, e))
        t = e
        g = _q(min(t + rng.uniform(*lv.gap_s), duration_s), fps)
        if g > t:
            segs.append(("gap", t, g))
        t = g
    if t < duration_s:
        segs.append(("gap", t, _q(duration_s, fps)))
    n_exh = sum(1 for s in segs if s[0] == "exhibit")

    # ---- products: exhibited, then the rest of the catalog from the same split
    if shop is not None:
        from .shop import pick_shows

        catalog, non_catalog = list(shop.catalog), list(shop.props)
        shows = pick_shows(shop, rng, n_exh)
    else:
        catalog, non_catalog, shows = _own_catalog(sources, rng, split, difficulty, pool, others_same_split, n_exh)

    segments: list[Segment] = []
    truth: list[dict] = []
    k = 0
    for kind, s, e in segs:
        if e - s <= 0:
            continue
        if kind == "exhibit":
            item = shows[k]
            k += 1
            segments.append(exhibit_segment(item, s, e, catalog, non_catalog, rng, lv, fps, truth))
        else:
            r = rng.random()
            if sources.distractor_videos and r < lv.p_clip:
                clip = sources.distractor_videos[int(rng.integers(len(sources.distractor_videos)))]
                segments.append(Segment("clip", s, e, clip=clip))
            elif non_catalog and r < lv.p_clip + (1 - lv.p_clip) * 0.6:
                segments.append(Segment("distractor", s, e, non_catalog[int(rng.integers(len(non_catalog)))]))
            else:
                segments.append(Segment("idle", s, e))
            if rng.random() < 0.3:
                segments[-1].caption = str(rng.choice(OFFTOPIC_CAPTIONS))
    truth = merge_truth(truth)

    # ---- narration (desired start times; the renderer resolves overlaps)
    lines: list[Line] = []
    for seg in segments:
        if seg.kind != "exhibit":
            if rng.random() < 0.35 and seg.end_s - seg.start_s > 2:
                lines.append(Line(seg.start_s + rng.uniform(0, 1), str(rng.choice(OFFTOPIC_LINES)), "offtopic"))
            continue
        lines += exhibit_lines(seg, rng, lv)
    lines.sort(key=lambda x: x.start_s)

    # ---- viewers' comments: lagging, fragmentary, noisy
    comments: list[tuple[float, str, str]] = []
    head = {"grocery": "Fresh groceries live!", "fashion": "New fashion and beauty picks",
            "mixed": "Big live sale: food, fashion, beauty"}[domain]
    comments.append((0.0, "headline", head))
    for seg in segments:
        if seg.kind != "exhibit":
            continue
        comments += exhibit_comments(seg, catalog, rng, lv, duration_s)
    comments += offtopic_comments(rng, lv, duration_s)
    comments.sort(key=lambda c: c[0])

    if shop is not None:
        voice = dict(shop.voice)
    else:
        voice = {"voice": str(rng.choice(["en-us", "en", "en-us+f3", "en+f2", "en-gb"])),
                 "speed": int(rng.integers(145, 176)), "pitch": int(rng.integers(35, 70))}
    return Plan(catalog, segments, lines, comments, truth, voice)


def _own_catalog(sources: Sources, rng: np.random.Generator, split: str, difficulty: str, pool: list[SourceItem],
                 others_same_split: list[SourceItem], n_exh: int):
    """An episode's own catalog: (catalog, non-catalog items, the exhibited products in order)."""
    order = [pool[i] for i in rng.permutation(len(pool))]
    n_distinct = min(len(order), n_exh if difficulty == "easy" else max(1, n_exh - int(n_exh * 0.15)))
    exhibited = order[:n_distinct]
    n_cat = int(rng.integers(20, 61))
    rest = order[n_distinct:] + [others_same_split[i] for i in rng.permutation(len(others_same_split))]
    catalog = exhibited + rest[:max(0, n_cat - n_distinct)]
    cat_ids = {it.item_id for it in catalog}
    non_catalog = [it for it in sources.in_split(split) if it.item_id not in cat_ids]
    if not non_catalog:
        non_catalog = [it for it in sources.items if it.item_id not in cat_ids]
    shows = exhibited + [exhibited[i] for i in rng.integers(0, len(exhibited), max(0, n_exh - n_distinct))]
    shows = [shows[i] for i in rng.permutation(len(shows))] if n_exh else []
    # no immediate repeats: a product shown twice in a row would be one exhibition
    for i in range(1, len(shows)):
        if shows[i] is shows[i - 1]:
            j = next((k for k in range(i + 1, len(shows)) if shows[k] is not shows[i - 1]), None)
            if j is not None:
                shows[i], shows[j] = shows[j], shows[i]
    return catalog, non_catalog, shows


# --------------------------------------------------------------------------- pieces shared with
# the long-stream planner (ml.synth.longplan); each draws from ``rng`` in a fixed order


def exhibit_segment(item: SourceItem, s: float, e: float, catalog: list[SourceItem], non_catalog: list[SourceItem],
                    rng: np.random.Generator, lv: Difficulty, fps: float, truth: list[dict],
                    pick_second=None) -> Segment:
    """One exhibition of ``item`` in [s, e]: caption, maybe a second catalog product for part of
    it (``pick_second(candidates, rng)``, uniform by default) and a non-catalog corner overlay.
    Appends its true intervals to ``truth``."""
    seg = Segment("exhibit", s, e, item)
    if rng.random() < lv.p_caption:
        seg.caption = (item.title if rng.random() < 0.7
                       else f"{item.title.split(',')[0]} {rng.choice(CAPTION_PRICES).replace('{p}', _price(rng))}")
    elif rng.random() < 0.3:
        seg.caption = str(rng.choice(CAPTION_PRICES)).replace("{p}", _price(rng))
    if e - s >= 8 and len(catalog) > 1 and rng.random() < lv.p_two:
        cands = [c for c in catalog if c is not item]
        seg.second = pick_second(item, cands, rng) if pick_second else cands[int(rng.integers(len(cands)))]
        a = _q(s + rng.uniform(0, (e - s) * 0.4), fps)
        b = _q(min(e, a + max(3.0, rng.uniform(0.3, 0.7) * (e - s))), fps)
        seg.second_span = (a, b)
        truth.append({"product_id": product_id_of(seg.second.item_id), "start_s": a, "end_s": b,
                      "category": seg.second.category})
    if non_catalog and rng.random() < lv.p_overlay:
        seg.overlay = non_catalog[int(rng.integers(len(non_catalog)))]
    truth.append({"product_id": product_id_of(item.item_id), "start_s": s, "end_s": e,
                  "category": item.category})
    return seg


def exhibit_lines(seg: Segment, rng: np.random.Generator, lv: Difficulty) -> list[Line]:
    """What the seller says during an exhibition: a lead line (the name, a description or
    off-topic), then fillers, descriptions and repeats every 6-12 s, and the second product."""
    lines: list[Line] = []
    it = seg.item
    pid = product_id_of(it.item_id)
    r = rng.random()
    t0 = max(0.0, seg.start_s + rng.uniform(*lv.speech_offset))
    if r < lv.p_name:
        lines.append(Line(t0, str(rng.choice(NAME_LINES)).format(t=it.title), "name", pid))
    elif r < lv.p_name + lv.p_desc:
        lines.append(Line(t0, str(rng.choice(DESC_LINES)).format(d=describe(it)), "desc", pid))
    else:
        lines.append(Line(t0, str(rng.choice(OFFTOPIC_LINES)), "offtopic"))
    t = t0 + 6.0
    while t < seg.end_s - 3.0:
        r = rng.random()
        if r < 0.35:
            lines.append(Line(t, str(rng.choice(FILLER_LINES)), "filler", pid))
        elif r < 0.55:
            lines.append(Line(t, str(rng.choice(DESC_LINES)).format(d=describe(it)), "desc", pid))
        elif r < 0.55 + 0.25 * lv.p_name:
            lines.append(Line(t, f"Again, this is the {it.title}.", "name", pid))
        elif r < 0.8:
            lines.append(Line(t, str(rng.choice(OFFTOPIC_LINES)), "offtopic"))
        t += rng.uniform(6.0, 12.0)
    if seg.second is not None and rng.random() < lv.p_name:
        a, _ = seg.second_span
        lines.append(Line(a + rng.uniform(0, 2), f"And next to it, the {seg.second.title}.", "name",
                          product_id_of(seg.second.item_id)))
    return lines


def exhibit_comments(seg: Segment, catalog: list[SourceItem], rng: np.random.Generator, lv: Difficulty,
                     duration_s: float) -> list[tuple[float, str, str]]:
    """Viewers' comments about an exhibition: lagging 2-15 s, fragments with typos, sometimes
    naming another catalog product."""
    out = []
    n = int(rng.poisson(lv.comments_per_exh))
    for _ in range(n):
        it = seg.item if seg.second is None or rng.random() < 0.7 else seg.second
        if rng.random() < lv.p_wrong_comment:
            it = catalog[int(rng.integers(len(catalog)))]
        tmpl = str(rng.choice(ITEM_COMMENTS))
        text = tmpl.format(c=it.colour or "big", f=_fragment(it, rng), l=it.leaf or "item")
        tc = seg.start_s + rng.uniform(2.0, 15.0)
        if tc < duration_s:
            out.append((round(tc, 2), str(rng.choice(USERS)), text))
    return out


def offtopic_comments(rng: np.random.Generator, lv: Difficulty, duration_s: float) -> list[tuple[float, str, str]]:
    n_off = int(rng.poisson(lv.offtopic_comments_per_min * duration_s / 60))
    return [(round(float(rng.uniform(0, duration_s)), 2), str(rng.choice(USERS)), str(rng.choice(OFFTOPIC_COMMENTS)))
            for _ in range(n_off)]


def merge_truth(truth: list[dict]) -> list[dict]:
    """One interval per exhibition; overlapping/touching ones of one product are merged."""
    by: dict[str, list[dict]] = {}
    for iv in truth:
        by.setdefault(iv["product_id"], []).append(dict(iv))
    out = []
    for pid, ivs in by.items():
        ivs.sort(key=lambda x: x["start_s"])
        cur = ivs[0]
        for iv in ivs[1:]:
            if iv["start_s"] <= cur["end_s"] + 1e-6:
                cur["end_s"] = max(cur["end_s"], iv["end_s"])
            else:
                out.append(cur)
                cur = iv
        out.append(cur)
    out.sort(key=lambda x: (x["start_s"], x["product_id"]))
    return out
