"""LXMERT-style cross-modal fusion (Fashion Focus, AAAI 2021) of a tracklet and its time window's text.

``transformers.LxmertModel`` with a small config (hidden 128, 4 heads, 2 language, 1 vision,
2 cross layers), randomly initialised (no pretrained LXMERT is reachable here):

- language stream: a learned [CLS] token, then one token per sentence of the window (speech
  lines, screen text, comments), each a MiniLM sentence embedding (384-d) projected to 128 and
  fed as ``inputs_embeds``;
- vision stream: ``n_visual`` crops of the tracklet (evenly spaced), ``visual_feats`` = the
  pipeline's crop features (1280-d GeM), ``visual_pos`` = normalised boxes (x0, y0, x1, y1);
- output: the pooled [CLS] plus the mean vision output -> one L2-normalised 128-d embedding,
  matched by cosine against a product embedding (mean of its shop views' features + its title's
  MiniLM embedding, through a small MLP). Trained with symmetric InfoNCE over in-batch products.

Training windows are made the way ``ml.synth`` narrates: the product's title or description in a
seller's line, item comments with fragments of the title (typos), price captions, off-topic
chatter, sometimes a comment naming another product; ASR-like word noise on speech. Texts of the
train products are drawn with one seed, of test products with another.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..synth import script as S
from .data import CACHE_DIR, SeedData, sample_trajectory

MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
DEFAULT_CHECKPOINT = os.path.join(MODELS_DIR, "seed_lxmert.pt")
TEXT_DIM = 384
MAX_TEXTS = 6
NOISE_WORDS = ("the", "a", "and", "uh", "so", "this", "it", "then", "oh", "yeah")


@dataclass
class LxmertFusionConfig:
    feat_dim: int = 1280
    text_dim: int = TEXT_DIM
    hidden: int = 128
    heads: int = 4
    l_layers: int = 2
    r_layers: int = 1
    x_layers: int = 2
    n_visual: int = 8
    max_texts: int = MAX_TEXTS
    dropout: float = 0.1
    # add beta * cosine(mean crop feature, mean shop view) to the logit: the transformer learns
    # what text and cross-attention add to the pretrained visual similarity (345 training
    # products are too few to relearn the visual metric from scratch)
    visual_prior: bool = True


class LxmertFusion(nn.Module):
    def __init__(self, cfg: LxmertFusionConfig | None = None):
        super().__init__()
        from transformers import LxmertConfig, LxmertModel

        c = self.cfg = cfg or LxmertFusionConfig()
        lc = LxmertConfig(vocab_size=4, hidden_size=c.hidden, num_attention_heads=c.heads,
                          intermediate_size=2 * c.hidden, l_layers=c.l_layers, r_layers=c.r_layers,
                          x_layers=c.x_layers, visual_feat_dim=c.feat_dim, visual_pos_dim=4,
                          max_position_embeddings=c.max_texts + 2, hidden_dropout_prob=c.dropout,
                          attention_probs_dropout_prob=c.dropout)
        self.lxmert = LxmertModel(lc)
        self.cls = nn.Parameter(torch.randn(c.hidden) * 0.02)
        self.text_in = nn.Linear(c.text_dim, c.hidden)
        self.out = nn.Linear(2 * c.hidden, c.hidden)
        self.prod = nn.Sequential(nn.Linear(c.feat_dim + c.text_dim, 2 * c.hidden), nn.GELU(),
                                  nn.Linear(2 * c.hidden, c.hidden))
        self.log_temp = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.prior_w = nn.Parameter(torch.tensor(20.0 if c.visual_prior else 0.0), requires_grad=c.visual_prior)

    def logits(self, visual, boxes, texts, text_mask, image_vec, title_vec) -> torch.Tensor:
        """(B,...) queries x (P,...) products -> (B,P) similarity logits (the InfoNCE logits)."""
        q = self.query(visual, boxes, texts, text_mask)
        p = self.product(image_vec, title_vec)
        out = self.log_temp.exp().clamp(max=100) * q @ p.T
        if self.cfg.visual_prior:
            v = F.normalize(visual.mean(1), dim=-1)
            out = out + self.prior_w * v @ F.normalize(image_vec, dim=-1).T
        return out

    def query(self, visual, boxes, texts, text_mask) -> torch.Tensor:
        """visual (B,N,Cv), boxes (B,N,4), texts (B,L,384), text_mask (B,L) -> (B,H) unit rows."""
        B = visual.shape[0]
        lang = torch.cat([self.cls.expand(B, 1, -1), self.text_in(texts)], dim=1)
        mask = torch.cat([torch.ones(B, 1), text_mask.float()], dim=1)
        o = self.lxmert(inputs_embeds=lang, attention_mask=mask, visual_feats=visual, visual_pos=boxes)
        z = self.out(torch.cat([o.pooled_output, o.vision_output.mean(1)], dim=-1))
        return F.normalize(z, dim=-1)

    def product(self, image_vec, title_vec) -> torch.Tensor:
        """image_vec (P,Cv) mean of the shop views (unit), title_vec (P,384) -> (P,H) unit rows."""
        return F.normalize(self.prod(torch.cat([image_vec, title_vec], dim=-1)), dim=-1)


# --------------------------------------------------------------------------- text windows
def _item(meta: dict):
    return SimpleNamespace(**{k: meta.get(k, "") for k in
                              ("title", "leaf", "colour", "domain", "description", "category")})


def _asr_noise(text: str, rng, p: float = 0.08) -> str:
    out = []
    for w in text.split():
        r = rng.random()
        if r < p / 2:
            continue
        out.append(str(rng.choice(NOISE_WORDS)) if r < p else w)
    return " ".join(out)


def product_lines(meta: dict, rng) -> list[str]:
    """Lines that refer to the product, as ml.synth's script writes them."""
    it = _item(meta)
    lines = [_asr_noise(str(rng.choice(S.NAME_LINES)).format(t=it.title), rng) for _ in range(3)]
    lines += [_asr_noise(str(rng.choice(S.DESC_LINES)).format(d=S.describe(it)), rng) for _ in range(2)]
    for _ in range(3):
        lines.append(str(rng.choice(S.ITEM_COMMENTS)).format(c=it.colour or it.leaf, f=S._fragment(it, rng),
                                                              l=it.leaf or it.category))
    price = f"{rng.integers(5, 99)}.99"
    lines.append(f"{it.title.split(',')[0]} {str(rng.choice(S.CAPTION_PRICES)).replace('{p}', price)}".upper())
    return lines  # [0:3] name, [3:5] description, [5:8] comments, [8] caption


OFFTOPIC = tuple(S.OFFTOPIC_LINES) + tuple(S.FILLER_LINES) + tuple(S.OFFTOPIC_COMMENTS) + tuple(S.OFFTOPIC_CAPTIONS)


class TextBank:
    """Every window sentence, embedded once with MiniLM: per product its lines, plus off-topic."""

    def __init__(self, items: list[dict], seed: int, encoder=None):
        """``items``: ``SeedData.items``. The MiniLM vectors are cached on disk under
        bench/cache/seed/, keyed by a hash of the texts."""
        rng = np.random.default_rng([seed, 99])
        self.lines = {i: product_lines(m, rng) for i, m in enumerate(items)}
        texts = list(dict.fromkeys(list(OFFTOPIC) + [t for i in sorted(self.lines) for t in self.lines[i]]
                                   + [m["title"] for m in items]))
        key = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:12]
        path = os.path.join(CACHE_DIR, f"texts_{key}.npy")
        if os.path.isfile(path):
            vecs = np.load(path)
        else:
            if encoder is None:
                from ..text.encoder import TextEncoder
                encoder = TextEncoder()
            vecs = encoder.encode(texts)
            os.makedirs(CACHE_DIR, exist_ok=True)
            np.save(path + ".tmp.npy", vecs)
            os.replace(path + ".tmp.npy", path)
        self.vec = dict(zip(texts, vecs))
        self.titles = np.stack([self.vec[m["title"]] for m in items])

    def window(self, item: int, rng, others: np.ndarray) -> list[str]:
        """One time window's sentences for an exhibition of ``item`` (0..MAX_TEXTS)."""
        L = self.lines[item]
        out = []
        r = rng.random()
        if r < 0.55:
            out.append(L[int(rng.integers(0, 3))])
        elif r < 0.8:
            out.append(L[int(rng.integers(3, 5))])
        if rng.random() < 0.35:
            out.append(L[8])
        if rng.random() < 0.5:
            out.append(L[int(rng.integers(5, 8))])
        if rng.random() < 0.1 and len(others):
            out.append(self.lines[int(rng.choice(others))][int(rng.integers(5, 8))])  # wrong comment
        out += [str(x) for x in rng.choice(OFFTOPIC, int(rng.integers(1, 4)))]
        rng.shuffle(out)
        return out[:MAX_TEXTS]

    def embed(self, windows: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        X = np.zeros((len(windows), MAX_TEXTS, TEXT_DIM), np.float32)
        M = np.zeros((len(windows), MAX_TEXTS), np.float32)
        for b, w in enumerate(windows):
            for j, t in enumerate(w[:MAX_TEXTS]):
                X[b, j] = self.vec[t]
                M[b, j] = 1
        return X, M


def random_boxes(rng, n: int) -> np.ndarray:
    """A tracker's boxes over time: a smooth drift of a box around the frame (normalised xyxy)."""
    c0, c1 = rng.uniform(0.3, 0.7, 2), rng.uniform(0.3, 0.7, 2)
    s0, s1 = rng.uniform(0.2, 0.6, 2)
    u = np.linspace(0, 1, n)[:, None]
    c = c0 * (1 - u) + c1 * u
    s = (s0 * (1 - u[:, 0]) + s1 * u[:, 0])[:, None]
    return np.clip(np.concatenate([c - s / 2, c + s / 2], axis=1), 0, 1).astype(np.float32)


def _even(n: int, k: int) -> np.ndarray:
    return np.round(np.linspace(0, n - 1, k)).astype(np.int64)


def product_image_matrix(data: SeedData, items: np.ndarray) -> np.ndarray:
    views = data.shop_views()
    v = np.stack([data.shop[views[int(i)]][:, 0].mean(0) for i in items])
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_windows(data: SeedData, bank: TextBank, items: np.ndarray, rng, others: np.ndarray,
                 trajs: np.ndarray | None = None, photos=None):
    """-> visual (B,N,C), boxes (B,N,4), texts (B,L,384), mask (B,L), raw windows."""
    n = 8
    if trajs is None:
        trajs = np.stack([sample_trajectory(photos[int(i)], rng, 32) for i in items])
    sel = trajs[:, _even(trajs.shape[1], n)]
    vis = data.crops[sel][:, :, 0]
    boxes = np.stack([random_boxes(rng, n) for _ in items])
    wins = [bank.window(int(i), rng, others[others != i]) for i in items]
    X, M = bank.embed(wins)
    return vis, boxes, X, M, wins


def train_lxmert(data: SeedData, out: str, seed: int = 0, steps: int = 300, batch: int = 32,
                 lr: float = 5e-4, weight_decay: float = 0.01, log=print) -> dict:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.time()
    bank = TextBank(data.items, seed=1000 + seed)
    text_s = time.time() - t0
    photos = data.photo_index()
    views = data.shop_views()
    items = np.asarray([i for i in data.products("train") if int(i) in photos and int(i) in views])
    img = product_image_matrix(data, items)
    titles = bank.titles[items]
    model = LxmertFusion()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    hist, run = [], []
    model.train()
    for step in range(steps):
        pick = rng.choice(len(items), batch, replace=False)
        vis, boxes, X, M, _ = make_windows(data, bank, items[pick], rng, items, photos=photos)
        vis = vis + rng.normal(0, 0.005, vis.shape).astype(np.float32)
        logits = model.logits(torch.from_numpy(vis), torch.from_numpy(boxes), torch.from_numpy(X), torch.from_numpy(M),
                              torch.from_numpy(img[pick]), torch.from_numpy(titles[pick]))
        tgt = torch.arange(batch)
        loss = 0.5 * (F.cross_entropy(logits, tgt) + F.cross_entropy(logits.T, tgt))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run.append(loss.item())
        if (step + 1) % 50 == 0:
            hist.append(float(np.mean(run)))
            log(f"[lxmert] step {step + 1}/{steps} infonce {np.mean(run):.4f} {time.time() - t0:.0f}s")
            run = []
    model.eval()
    meta = {"infonce": hist, "train_seconds": round(time.time() - t0, 1), "text_embed_seconds": round(text_s, 1),
            "seed": seed, "steps": steps, "batch": batch, "lr": lr, "train_products": int(len(items))}
    save(model, out, meta)
    return meta


def save(model: LxmertFusion, path: str, meta: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    sd = {k: v.detach().to(torch.float16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({"config": json.dumps(asdict(model.cfg)), "state_dict": sd, "meta": json.dumps(meta)}, path)


class LxmertScorer:
    """``LxmertScorer.load().score(visual_feats, boxes, texts, product_image_vectors,
    product_text_vectors) -> (P,)`` in (0,1): a squashed matching logit (fused embedding cosine,
    plus the visual prior); compare products of one query, not scores across queries."""

    def __init__(self, model: LxmertFusion, meta: dict | None = None, encoder=None):
        self.model = model.eval()
        self.meta = meta or {}
        self._encoder = encoder

    @classmethod
    def load(cls, path: str | None = None, encoder=None) -> "LxmertScorer":
        path = path or DEFAULT_CHECKPOINT
        if not os.path.isfile(path):
            raise FileNotFoundError(f"LXMERT fusion checkpoint {path} not found: run "
                                    "`python -m ml.seed.train --model lxmert`")
        ck = torch.load(path, map_location="cpu", weights_only=True)
        model = LxmertFusion(LxmertFusionConfig(**json.loads(ck["config"])))
        model.load_state_dict(ck["state_dict"])
        return cls(model, json.loads(ck.get("meta", "{}")), encoder)

    def _pack(self, visual, boxes, text_vectors):
        """Queries -> the model's batch tensors: ``n_visual`` evenly spaced crops (m_i,1280) with
        their boxes (m_i,4), and the latest ``max_texts`` sentence vectors (n_i,384), masked."""
        c = self.model.cfg
        n = len(visual)
        V = np.zeros((n, c.n_visual, c.feat_dim), np.float32)
        B = np.zeros((n, c.n_visual, 4), np.float32)
        X = np.zeros((n, c.max_texts, c.text_dim), np.float32)
        M = np.zeros((n, c.max_texts), np.float32)
        for j, (v, b, tv) in enumerate(zip(visual, boxes, text_vectors)):
            v = np.asarray(v, np.float32)
            if v.ndim != 2 or v.shape[1] != c.feat_dim or not len(v):
                raise ValueError(f"visual features must be (m,{c.feat_dim}) with m >= 1, got {v.shape}")
            sel = _even(len(v), c.n_visual)
            V[j], B[j] = v[sel], np.asarray(b, np.float32).reshape(len(v), 4)[sel]
            tv = np.asarray(tv, np.float32).reshape(-1, c.text_dim)[-c.max_texts:]
            X[j, :len(tv)], M[j, :len(tv)] = tv, 1
        return torch.from_numpy(V), torch.from_numpy(B), torch.from_numpy(X), torch.from_numpy(M)

    def _images(self, product_image_vectors) -> torch.Tensor:
        """(P,k,1280) or a list of (k_p,1280) shop views -> (P,1280) unit mean view per product."""
        c = self.model.cfg
        img = np.stack([np.asarray(p, np.float32).reshape(-1, c.feat_dim).mean(0) for p in product_image_vectors])
        return torch.from_numpy(img / np.maximum(np.linalg.norm(img, axis=1, keepdims=True), 1e-12))

    @property
    def encoder(self):
        if self._encoder is None:
            from ..text.encoder import TextEncoder
            self._encoder = TextEncoder()
        return self._encoder

    @torch.no_grad()
    def score(self, visual_feats: np.ndarray, boxes: np.ndarray, texts: list[str], product_image_vectors,
              product_text_vectors: np.ndarray, text_vectors: np.ndarray | None = None) -> np.ndarray:
        """visual_feats (m,1280) crop features in time order, boxes (m,4) normalised xyxy, texts: the
        window's sentences (speech, screen text, comments; at most 6 used, the latest kept),
        product_image_vectors (P,k,1280) or a list of (k_p,1280), product_text_vectors (P,384)
        MiniLM title (+ description) embeddings. ``text_vectors`` (n,384) skips encoding ``texts``.
        -> (P,) in (0, 1), monotone in the model's matching logit."""
        c = self.model.cfg
        texts = [t for t in texts if t and t.strip()][-c.max_texts:]
        tv = np.asarray(text_vectors, np.float32) if text_vectors is not None else \
            (self.encoder.encode(texts) if texts else np.zeros((0, c.text_dim), np.float32))
        z = self.model.logits(*self._pack([visual_feats], [boxes], [tv]), self._images(product_image_vectors),
                              torch.from_numpy(np.asarray(product_text_vectors, np.float32)))
        return torch.sigmoid(z[0] / 10.0).numpy()  # monotone in the logit; only the ranking matters

    @torch.no_grad()
    def score_many(self, visual: list[np.ndarray], boxes: list[np.ndarray], texts: list[list[str]],
                   product_image_vectors, titles: list[str], batch: int = 256) -> np.ndarray:
        """Many queries at once (``ml.seed.tracklets``): visual[i] (m_i,1280) crops in time order,
        boxes[i] (m_i,4) normalised xyxy, texts[i] the window's sentences; products as in
        ``score`` but with their ``titles`` (encoded here, with every distinct sentence, in one
        MiniLM pass). -> (N, P) in (0, 1), monotone in the matching logit."""
        c = self.model.cfg
        N = len(visual)
        if not (N == len(boxes) == len(texts)):
            raise ValueError("visual, boxes and texts must have one entry per query")
        img = self._images(product_image_vectors)
        if not N:
            return np.zeros((0, len(img)), np.float32)
        windows = [[t for t in w if t and t.strip()][-c.max_texts:] for w in texts]
        distinct = list(dict.fromkeys([t for w in windows for t in w] + list(titles)))
        vec = dict(zip(distinct, self.encoder.encode(distinct)))
        title_vec = torch.from_numpy(np.stack([vec[t] for t in titles]).astype(np.float32))
        empty = np.zeros((0, c.text_dim), np.float32)
        out = np.zeros((N, len(img)), np.float32)
        for a in range(0, N, batch):
            sl = slice(a, min(N, a + batch))
            tv = [np.stack([vec[t] for t in w]) if w else empty for w in windows[sl]]
            z = self.model.logits(*self._pack(visual[sl], boxes[sl], tv), img, title_vec)
            out[sl] = torch.sigmoid(z / 10.0).numpy()
        return out
