"""Timed text (speech windows, screen text, comments) -> per-time, per-product text scores.

    events = transcript_events(transcript, window_s=6.0, hop_s=2.0)     # TextEvents "speech"
    m = TextMatcher(catalog, TextEncoder(), TextMatchOptions()).fit()
    s = m.score(events, times)        # {"semantic": (T,P), "lexical": (T,P)} float32 in [0,1]

Two complementary scores, returned separately so the learned fusion weighs them (no
hand-tuned mix here):

- **semantic**: cosine between the event's MiniLM embedding and the product's, the max over the
  title alone and title + description (clipped to [0,1]). It catches descriptions ("this
  yellow fruit is sweet") and paraphrases, but blurs brands and model numbers: unrelated
  pairs sit around 0.0-0.25, a named product around 0.5-0.8.
- **lexical**: IDF-weighted recall of the product's title tokens in the event, so rare words
  (brands, model numbers, digits are kept) dominate and shared words ("milk", "juice") count
  little. ASR misspellings: a title token of >= ``fuzzy_min_len`` characters also matches an
  event token (or two adjacent event tokens glued together: "tropic anna") whose normalised
  edit similarity is >= ``fuzzy_min_sim``; such a match counts its similarity instead of 1.
  Adjacent title tokens glued together are fuzzy keys too ("Arlamidium" -> arla + medium).
  Candidates come from a character-bigram inverted index, so the edit distance runs on few pairs.

Pooling over time: step ``times[k]`` takes, per product, the max over events with
``|t_e - times[k]| <= window_s / 2`` of ``w(dt) * score(e, p)``, with ``w`` falling linearly
from 1 at the step to ``edge_weight`` at the window edge. Each distinct event text is scored
once, so the cost is O(distinct texts * P) plus O(events * steps-per-window * P).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..types import Catalog, TextEvents, Transcript
from .encoder import TextEncoder

STOPWORDS = frozenset(
    "a an the and or of for with without in on at to from by is are was be it its this that "
    "these those our your my we you i he she they them his her their me us so very just now "
    "here there what which who how one ones".split())
_TOKEN = re.compile(r"[^\W_]+")


@dataclass
class TextMatchOptions:
    window_s: float = 8.0  # pooling window around each time step (events within +-window_s/2)
    edge_weight: float = 0.5  # weight of an event at the window edge (1 at the step itself)
    use_description: bool = True  # also embed "title. description" for the semantic score
    fuzzy_min_len: int = 5  # shorter title tokens must match exactly ("red" vs "bed")
    fuzzy_min_sim: float = 0.75  # 1 - edits / max(len): 1 edit in 5-7 letters, 2 in 8-11 ("tropical")
    glue_adjacent: bool = True  # also try "tropic"+"anna" -> "tropicanna" against titles


# --------------------------------------------------------------------------- text helpers
def tokenize(text: str) -> list[str]:
    """Lower-case, accents stripped, split on anything not a letter/digit; digits kept."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return _TOKEN.findall(text.lower())


def content_tokens(text: str) -> list[str]:
    """``tokenize`` minus stop words and single letters (digits stay: "1", "2"), in order."""
    return [t for t in tokenize(text) if t not in STOPWORDS and (len(t) > 1 or t.isdigit())]


def edit_similarity(a: str, b: str, max_edits: int | None = None) -> float:
    """1 - Levenshtein(a, b) / max(len); returns 0 early once ``max_edits`` is exceeded."""
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    if max_edits is not None and abs(la - lb) > max_edits:
        return 0.0
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        ca = a[i - 1]
        for j in range(1, lb + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != b[j - 1]))
        if max_edits is not None and min(cur) > max_edits:
            return 0.0
        prev = cur
    return 1.0 - prev[lb] / max(la, lb)


def _bigrams(tok: str) -> set[str]:
    s = f"#{tok}#"
    return {s[i:i + 2] for i in range(len(s) - 1)}


# --------------------------------------------------------------------------- speech windows
def transcript_events(transcript: Transcript, window_s: float = 6.0, hop_s: float = 2.0) -> TextEvents:
    """Sliding windows of words -> TextEvents (source "speech").

    A window holds the words starting in ``[s, s + window_s)``, for ``s`` every ``hop_s``
    seconds; its time is the middle of its first word's start and last word's end, its score
    the mean word probability. Empty windows are skipped. Short windows name a product
    precisely in time; long ones give the embedding enough context for descriptions.
    """
    if window_s <= 0 or hop_s <= 0:
        raise ValueError("window_s and hop_s must be > 0")
    words = sorted(transcript.words, key=lambda w: w.start)
    if not words:
        return TextEvents.empty("speech")
    starts = np.array([w.start for w in words])
    t, text, score = [], [], []
    first = math.floor(starts[0] / hop_s) * hop_s
    last_window = None
    for s in np.arange(first, starts[-1] + hop_s, hop_s):
        lo, hi = np.searchsorted(starts, [s, s + window_s], side="left")
        if hi <= lo or (lo, hi) == last_window:
            continue  # sparse speech: the next window holds the same words, keep one event
        last_window = (lo, hi)
        ws = words[lo:hi]
        t.append(0.5 * (ws[0].start + max(w.end for w in ws)))
        text.append(" ".join(w.text for w in ws))
        score.append(float(np.mean([w.probability for w in ws])))
    return TextEvents(np.asarray(t), text, np.asarray(score), "speech")


# --------------------------------------------------------------------------- matcher
class TextMatcher:
    """Scores text events against a catalog (sklearn-style: ``fit()`` builds the indexes).

    Fitted attributes: ``title_emb_`` / ``text_emb_`` (P,384); ``vocab_`` (list of V title
    tokens), ``idf_`` (V,), ``weights_`` (V,P) sparse, each product column summing to 1.
    ``encoder=None`` skips the semantic score (it is then all zeros).

    Memory: ``score`` holds two dense (distinct texts x P) float32 tables; fine for the P <= ~1000
    of one seller's video (3,000 texts x 300 products = 3.6 MB), not for 100k-product catalogs:
    shortlist products first (e.g. the FAISS index) and build a matcher on the shortlist.
    """

    def __init__(self, catalog: Catalog, encoder: TextEncoder | None = None,
                 options: TextMatchOptions | None = None):
        self.catalog = catalog
        self.encoder = encoder
        self.options = options or TextMatchOptions()

    # ----------------------------------------------------------------- fit
    def fit(self) -> "TextMatcher":
        products = self.catalog.products
        n = len(products)
        if self.encoder is not None:
            # the catalog's texts are the same for every video of a shop: kept on disk
            kw = {"persist": True} if isinstance(self.encoder, TextEncoder) else {}
            titles = [p.title for p in products]
            self.title_emb_ = self.encoder.encode(titles, **kw)
            texts = [p.text if self.options.use_description else p.title for p in products]
            self.text_emb_ = self.encoder.encode(texts, **kw) if texts != titles else self.title_emb_
        title_tokens = []
        for p in products:
            toks = list(dict.fromkeys(content_tokens(p.title))) or list(dict.fromkeys(tokenize(p.title)))
            title_tokens.append(toks)
        df = Counter(t for toks in title_tokens for t in toks)
        self.vocab_ = sorted(df)
        self.token_id_ = {t: i for i, t in enumerate(self.vocab_)}
        self.idf_ = np.array([math.log(1.0 + n / df[t]) for t in self.vocab_], dtype=np.float32)
        rows, cols, vals = [], [], []
        for j, toks in enumerate(title_tokens):
            ids = [self.token_id_[t] for t in toks]
            total = float(sum(self.idf_[i] for i in ids)) or 1.0
            for i in ids:
                rows.append(i)
                cols.append(j)
                vals.append(self.idf_[i] / total)
        self.weights_ = sparse.csr_matrix((vals, (rows, cols)), shape=(len(self.vocab_), n), dtype=np.float32)
        # Fuzzy keys: title tokens long enough, and adjacent title tokens glued together (ASR
        # writes "Arla Medium" as "Arlamidium"); a key credits every title token it stands for.
        o = self.options
        keys: dict[str, tuple[int, ...]] = {}
        for toks in title_tokens:
            for t in toks:
                if len(t) >= o.fuzzy_min_len and not t.isdigit():
                    keys[t] = (self.token_id_[t],)
            if o.glue_adjacent:
                for a, b in zip(toks, toks[1:]):
                    if len(a + b) >= o.fuzzy_min_len and not (a + b).isdigit():
                        keys.setdefault(a + b, (self.token_id_[a], self.token_id_[b]))
        self._keys = list(keys.items())
        self._n_bigrams = [len(_bigrams(k)) for k, _ in self._keys]
        self._max_len = max((len(k) for k, _ in self._keys), default=0)
        self._max_token_len = max((len(t) for t in self.vocab_), default=0)
        self._postings: dict[str, list[int]] = {}
        for n_key, (k, _) in enumerate(self._keys):
            for g in _bigrams(k):
                self._postings.setdefault(g, []).append(n_key)
        self._token_cache: dict[str, tuple[tuple[int, float], ...]] = {}
        return self

    # ----------------------------------------------------------------- lexical
    def token_matches(self, tok: str) -> tuple[tuple[int, float], ...]:
        """Title-vocabulary entries an event token matches: ((vocab index, similarity), ...)."""
        hit = self._token_cache.get(tok)
        if hit is not None:
            return hit
        out: dict[int, float] = {}
        i = self.token_id_.get(tok)
        if i is not None:
            out[i] = 1.0
        o = self.options
        if o.fuzzy_min_len - 1 <= len(tok) <= self._max_len + 3 and not tok.isdigit():
            counts: dict[int, int] = {}
            for g in _bigrams(tok):
                for k in self._postings.get(g, ()):
                    counts[k] = counts.get(k, 0) + 1
            for k, shared in counts.items():
                key, ids = self._keys[k]
                max_edits = int(math.floor((1.0 - o.fuzzy_min_sim) * max(len(key), len(tok)) + 1e-9))
                # one edit removes at most two bigrams from either side
                if max_edits < 1 or shared < self._n_bigrams[k] - 2 * max_edits:
                    continue
                if all(out.get(i, 0.0) >= 1.0 for i in ids):
                    continue
                sim = edit_similarity(tok, key, max_edits)
                if sim >= o.fuzzy_min_sim:
                    for i in ids:
                        out[i] = max(out.get(i, 0.0), sim)
        hit = tuple(out.items())
        self._token_cache[tok] = hit
        return hit

    def event_vector(self, text: str) -> dict[int, float]:
        """Best similarity per title-vocabulary entry over the event's tokens (and glued pairs)."""
        toks = content_tokens(text)
        cands = list(toks)
        if self.options.glue_adjacent:
            # only pairs with a part that is not a title word already (else nothing to repair)
            raw = tokenize(text)
            lo, hi = self.options.fuzzy_min_len, self._max_token_len + 2
            cands += [a + b for a, b in zip(raw, raw[1:])
                      if lo <= len(a) + len(b) <= hi and (a not in self.token_id_ or b not in self.token_id_)]
        best: dict[int, float] = {}
        for tok in dict.fromkeys(cands):
            for i, sim in self.token_matches(tok):
                if sim > best.get(i, 0.0):
                    best[i] = sim
        return best

    def lexical_scores(self, texts: list[str]) -> np.ndarray:
        """(n,) texts -> (n,P) IDF-weighted title-token recall in [0,1]."""
        rows, cols, vals = [], [], []
        for r, text in enumerate(texts):
            for i, sim in self.event_vector(text).items():
                rows.append(r)
                cols.append(i)
                vals.append(sim)
        m = sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.vocab_)), dtype=np.float32)
        return np.clip(np.asarray((m @ self.weights_).todense(), dtype=np.float32), 0.0, 1.0)

    # ----------------------------------------------------------------- semantic
    def semantic_scores(self, texts: list[str]) -> np.ndarray:
        """(n,) texts -> (n,P) max cosine to title / title+description, clipped to [0,1]."""
        n, p = len(texts), len(self.catalog)
        if self.encoder is None or not n:
            return np.zeros((n, p), dtype=np.float32)
        e = self.encoder.encode(texts)
        s = e @ self.title_emb_.T
        if self.text_emb_ is not self.title_emb_:
            s = np.maximum(s, e @ self.text_emb_.T)
        return np.clip(s, 0.0, 1.0).astype(np.float32)

    # ----------------------------------------------------------------- scoring over time
    def score(self, events: TextEvents, times: np.ndarray, window_s: float | None = None) -> dict[str, np.ndarray]:
        """Events -> {"semantic": (T,P), "lexical": (T,P)} float32 per time step (see module doc)."""
        if not hasattr(self, "vocab_"):
            raise RuntimeError("TextMatcher.score() called before fit()")
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        half = 0.5 * (self.options.window_s if window_s is None else window_s)
        if half <= 0:
            raise ValueError("window_s must be > 0")
        shape = (len(times), len(self.catalog))
        out = {"semantic": np.zeros(shape, np.float32), "lexical": np.zeros(shape, np.float32)}
        if not len(events) or not len(times):
            return out
        uniq = list(dict.fromkeys(events.text))
        per_text = {"semantic": self.semantic_scores(uniq), "lexical": self.lexical_scores(uniq)}
        row_of = {t: i for i, t in enumerate(uniq)}
        order = np.argsort(times, kind="stable")
        sorted_t = times[order]
        lo = np.searchsorted(sorted_t, events.t - half, side="left")
        hi = np.searchsorted(sorted_t, events.t + half, side="right")
        edge = self.options.edge_weight
        for e in range(len(events)):
            if hi[e] <= lo[e]:
                continue
            idx = order[lo[e]:hi[e]]
            w = (1.0 - (1.0 - edge) * np.abs(times[idx] - events.t[e]) / half).astype(np.float32)
            r = row_of[events.text[e]]
            for name, s in per_text.items():
                cur = out[name]
                cur[idx] = np.maximum(cur[idx], w[:, None] * s[r][None, :])
        return out
