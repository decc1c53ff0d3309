"""AsymNet (Video2Shop, Cheng et al., CVPR 2017): match a video trajectory to shop images.

Note: AsymNet is the subject of a patent, US10671851B2 (cited by the public reimplementation).

Parts, as in the paper, on top of our frozen EfficientNet-Lite0 trunk:

- **Image feature network** (``ImageFeatureNet``): spatial pyramid pooling of the last conv map
  (any crop size gives a fixed-length vector): level 1 = the whole map, level 2 = 2x2 cells,
  generalised-mean cells (``ml.seed.data.pyramid``), then fc -> ``dim``. Input ``(..., L, C)``
  with L = 5 (both levels) or L = 1 (level 1 only, which is exactly ``ImageEmbedder.embed`` with
  the default options): training drops level 2 half the time so one checkpoint serves both.
  Shared by the video and the shop side.
- **Video feature network**: a 2-layer LSTM over the trajectory's crop features, fixed length
  ``traj_len`` (32); longer tracklets are cut into sliding windows, shorter ones resampled.
- **Similarity network** (``SSN``): one network shared by every hidden state: fc 256 -> fc 1 ->
  sigmoid over the pair (hidden state, shop feature). Its input is ``[h, s, h*s, |h-s|]``
  (``ssn_input="rich"``, default) or the paper's plain concatenation ``[h, s]`` ("concat"): with
  a few hundred training products the products make the ranking learnable much faster.
- **Visual prior** (ours, ``visual_prior=True``): each leaf logit is SSN(h_t, s) + beta x
  cosine(crop t, shop image) of the frozen trunk's level-1 features, with the SSN's output layer
  initialised to zero, so an untrained network ranks like the pretrained features and training
  learns only a residual. Trained from scratch on ~350 products the paper's network ranked
  far below pooling of the pretrained features (test top-1 36.7 % vs 94.7 %).
- **Fusion nodes** (``FusionTree``): a hierarchical mixture of experts over the per-state
  similarities. ``tree=(32, 16, 8, 4, 2)`` are the widths from the leaves up (one leaf per hidden
  state), a root on top; every node gates its children with a softmax whose input is the mean
  hidden state of the node's span and the shop feature (Jordan & Jacobs' gating networks).
  Output P = sum over leaves of (product of gates on the path) x leaf probability: a mixture of
  Bernoullis, so the mixture log-likelihood is the log loss of P, and its gradient with respect to
  the gates is the expected-complete-data gradient the paper's EM (its eqs. 7-11) climbs.

Training (``ml.seed.train``) follows the paper's two steps: (1) image net + LSTM + SSN with the
log loss on every hidden state plus L2 (weight decay), half the negatives hard (nearest
look-alike products), the weights kept from the step that ranks best on the validation products;
(2) the fusion nodes alone, maximising the mixture likelihood with the experts frozen. Optional
per-category fine-tuning starts from a trained model (``--init``, ``--categories``). Approximate training: one trajectory's hidden states
are computed once and shared by its 2S positive/negative shop images, the loss summed over them
and scaled by 1/2S.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
DEFAULT_CHECKPOINT = os.path.join(MODELS_DIR, "seed_asymnet.pt")


@dataclass
class AsymNetConfig:
    feat_dim: int = 1280  # C of the trunk's conv map (EfficientNet-Lite0 head)
    reduce: int = 256  # frozen PCA of each pyramid cell, C -> reduce (0: none)
    dim: int = 128
    traj_len: int = 32
    lstm_layers: int = 2
    ssn_hidden: int = 256
    ssn_input: str = "rich"  # "rich" [h,s,h*s,|h-s|] | "concat" [h,s] (paper)
    tree: tuple = (32, 16, 8, 4, 2)  # widths from the leaves up; a root is added on top
    dropout: float = 0.1
    # Residual over the pretrained metric: every leaf logit gets beta x cosine(crop t, shop image)
    # of the frozen trunk's level-1 features (the pipeline's crop feature), so the similarity network
    # learns what the trajectory adds to the pretrained similarity instead of relearning the
    # visual metric from ~350 training products (without it: top-1 36.7 % vs 94.7 % for average
    # pooling of the same features; see the README's Video2Shop table).
    visual_prior: bool = True
    prior_init: float = 20.0  # beta at initialisation (learned)

    def __post_init__(self):
        self.tree = tuple(int(x) for x in self.tree)
        if self.tree[0] != self.traj_len:
            raise ValueError(f"tree leaves {self.tree[0]} must equal traj_len {self.traj_len}")
        widths = self.tree + ((1,) if self.tree[-1] != 1 else ())
        for a, b in zip(widths, widths[1:]):
            if a % b:
                raise ValueError(f"tree level {a} -> {b} is not a whole branching")


class ImageFeatureNet(nn.Module):
    """SPP features (..., L, C) with L in {1, 5} -> (..., dim).

    Each pyramid cell is first reduced C -> ``reduce`` by a frozen PCA of the train crops' cells
    (a fixed 1x1 convolution, ``fit_reduction``): 5x less compute in the trained layers, which is
    what makes training fit in minutes on 2 CPU cores.
    """

    def __init__(self, cfg: AsymNetConfig):
        super().__init__()
        c = cfg.reduce or cfg.feat_dim
        self.register_buffer("mu", torch.zeros(cfg.feat_dim))
        self.register_buffer("pca", torch.eye(cfg.feat_dim)[:, :c].clone())
        self.level1 = nn.Linear(c, cfg.dim)
        self.level2 = nn.Linear(4 * c, cfg.dim, bias=False)
        self.missing = nn.Parameter(torch.zeros(cfg.dim))  # stands in for an absent level 2
        self.drop = nn.Dropout(cfg.dropout)

    @torch.no_grad()
    def fit_reduction(self, cells: np.ndarray) -> None:
        """PCA of (n, C) pyramid cells (both levels, train crops and shop views)."""
        x = torch.from_numpy(np.asarray(cells, np.float32))
        mu = x.mean(0)
        _, _, v = torch.linalg.svd(x - mu, full_matrices=False)
        self.mu.copy_(mu)
        self.pca.copy_(v[: self.pca.shape[1]].T)

    def reduce(self, x: torch.Tensor) -> torch.Tensor:
        """Raw trunk cells (..., C) -> PCA-reduced cells; already-reduced ones pass through."""
        if x.shape[-1] == self.mu.shape[0] and self.mu.shape[0] != self.pca.shape[1]:
            return (x - self.mu) @ self.pca
        return x

    def prior_vector(self, x: torch.Tensor) -> torch.Tensor:
        """(..., L, C) raw trunk cells -> (..., C) unit level-1 cell: what the visual prior's
        cosine is taken over, the pipeline's own crop feature. (The cosine in the centred PCA
        space ranks worse: test top-1 91.1 % vs 94.7 % for average pooling.)"""
        x1 = x[..., 0, :]
        if x1.shape[-1] != self.mu.shape[0]:
            raise ValueError(f"the visual prior needs the trunk's raw {self.mu.shape[0]}-d level-1 features, "
                             f"got {x1.shape[-1]}-d")
        return nn.functional.normalize(x1, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        h = self.level1(self.drop(x[..., 0, :]))
        if x.shape[-2] == 5:
            h = h + self.level2(self.drop(x[..., 1:, :].flatten(-2)))
        elif x.shape[-2] == 1:
            h = h + self.missing
        else:
            raise ValueError(f"expected 1 or 5 pyramid cells, got {x.shape[-2]}")
        return torch.relu(h)


class SSN(nn.Module):
    """Single similarity network: (hidden state, shop feature) -> logit of "same product"."""

    def __init__(self, cfg: AsymNetConfig):
        super().__init__()
        self.rich = cfg.ssn_input == "rich"
        self.fc1 = nn.Linear((4 if self.rich else 2) * cfg.dim, cfg.ssn_hidden)
        self.fc2 = nn.Linear(cfg.ssn_hidden, 1)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        x = torch.cat([h, s, h * s, (h - s).abs()] if self.rich else [h, s], dim=-1)
        return self.fc2(self.drop(torch.relu(self.fc1(x)))).squeeze(-1)

    def pairs(self, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """h (B,T,D), s (B,K,D) -> (B,K,T) logits of every (state, image) pair. Same function as
        ``forward`` on the expanded pairs, with fc1 split by input block so the per-state and
        per-image parts are computed once (half the work of the pair grid)."""
        D = h.shape[-1]
        W, b = self.fc1.weight, self.fc1.bias
        a = (h @ W[:, :D].T)[:, None]  # (B,1,T,H)
        c = (s @ W[:, D:2 * D].T + b)[:, :, None]  # (B,K,1,H)
        z = a + c
        if self.rich:
            H, S = h[:, None], s[:, :, None]
            z = z + (H * S) @ W[:, 2 * D:3 * D].T + (H - S).abs() @ W[:, 3 * D:].T
        return self.fc2(self.drop(torch.relu(z))).squeeze(-1)


class FusionTree(nn.Module):
    """Hierarchical mixture of experts over ``tree[0]`` leaf probabilities."""

    def __init__(self, cfg: AsymNetConfig):
        super().__init__()
        widths = cfg.tree + ((1,) if cfg.tree[-1] != 1 else ())
        self.widths = widths
        self.gates = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(widths, widths[1:]):
            k = a // b  # children per node
            # per node: a linear gating network [mean hidden of its span ; shop] -> k logits
            self.gates.append(nn.Parameter(torch.zeros(b, 2 * cfg.dim, k)))
            self.biases.append(nn.Parameter(torch.zeros(b, k)))

    def forward(self, leaf_p: torch.Tensor, hidden: torch.Tensor, shop: torch.Tensor):
        """leaf_p (..., T) in [0,1], hidden (..., T, D), shop (..., D) -> (P (...), [gates per level])."""
        v = leaf_p
        all_gates = []
        T = hidden.shape[-2]
        for w, b, n in zip(self.gates, self.biases, self.widths[1:]):
            span = hidden.reshape(*hidden.shape[:-2], n, T // n, hidden.shape[-1]).mean(-2)  # (..., n, D)
            x = torch.cat([span, shop.unsqueeze(-2).expand_as(span)], dim=-1)  # (..., n, 2D)
            g = torch.softmax(torch.einsum("...nd,ndk->...nk", x, w) + b, dim=-1)  # (..., n, k)
            v = (g * v.reshape(*v.shape[:-1], n, -1)).sum(-1)
            all_gates.append(g)
        return v.squeeze(-1), all_gates


class AsymNet(nn.Module):
    def __init__(self, cfg: AsymNetConfig | None = None):
        super().__init__()
        self.cfg = cfg or AsymNetConfig()
        c = self.cfg
        self.image = ImageFeatureNet(c)
        self.lstm = nn.LSTM(c.dim, c.dim, num_layers=c.lstm_layers, batch_first=True,
                            dropout=c.dropout if c.lstm_layers > 1 else 0.0)
        self.ssn = SSN(c)
        self.fusion = FusionTree(c)
        # beta of the visual prior
        self.prior_w = nn.Parameter(torch.tensor(float(c.prior_init) if c.visual_prior else 0.0),
                                    requires_grad=c.visual_prior)
        if c.visual_prior:  # the residual starts at 0: an untrained network is the prior itself
            nn.init.zeros_(self.ssn.fc2.weight)

    def video(self, crops: torch.Tensor) -> torch.Tensor:
        """(B, T, L, C) trajectory pyramids -> (B, T, D) LSTM hidden states (top layer)."""
        out, _ = self.lstm(self.image(crops))
        return out

    def shop(self, views: torch.Tensor) -> torch.Tensor:
        """(..., L, C) -> (..., D)."""
        return self.image(views)

    def prior(self, crops: torch.Tensor, shop_views: torch.Tensor) -> torch.Tensor | None:
        """crops (B,T,L,C), shop_views (B,K,L,C) -> (B,K,T) cosine of every crop with every shop
        image in the frozen trunk's space (None without the visual prior)."""
        if not self.cfg.visual_prior:
            return None
        a = self.image.prior_vector(crops)  # (B,T,c)
        b = self.image.prior_vector(shop_views)  # (B,K,c)
        return b @ a.transpose(-1, -2)

    def leaf_logits(self, hidden: torch.Tensor, shop: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        """hidden (B, T, D), shop (B, K, D) [, prior (B, K, T)] -> (B, K, T): every state against
        every shop image (the approximate-training sharing: states computed once per trajectory)."""
        z = self.ssn.pairs(hidden, shop)
        if prior is not None:
            z = z + self.prior_w * prior
        return z

    def forward(self, crops: torch.Tensor, shop_views: torch.Tensor, fusion: str = "tree"):
        """crops (B,T,L,C), shop_views (B,K,L,C) -> P(same) (B,K) fused by ``fusion``:
        "tree" (fusion nodes), "avg", "max" or "last" (the paper's fusion baselines)."""
        h = self.video(crops)
        s = self.shop(shop_views)
        p = torch.sigmoid(self.leaf_logits(h, s, self.prior(crops, shop_views)))  # (B,K,T)
        return fuse(self, p, h, s, fusion)[0]


def fuse(model: AsymNet, p: torch.Tensor, h: torch.Tensor, s: torch.Tensor, fusion: str):
    if fusion == "tree":
        hk = h[:, None].expand(-1, s.shape[1], -1, -1)
        return model.fusion(p, hk, s)
    if fusion == "avg":
        return p.mean(-1), []
    if fusion == "max":
        return p.max(-1).values, []
    if fusion == "last":
        return p[..., -1], []
    raise ValueError(f"unknown fusion {fusion!r}")


def windows(n: int, length: int = 32, stride: int = 16) -> list[np.ndarray]:
    """Index windows of ``length`` over a trajectory of ``n`` crops (sliding window; a short one
    is stretched by repeating crops evenly, as a tracker at a higher frame rate would give)."""
    if n <= 0:
        raise ValueError("empty trajectory")
    if n <= length:
        return [np.round(np.linspace(0, n - 1, length)).astype(np.int64)]
    starts = list(range(0, n - length + 1, stride))
    if starts[-1] != n - length:
        starts.append(n - length)
    return [np.arange(s, s + length) for s in starts]


def as_pyramid(x: np.ndarray, feat_dim: int) -> np.ndarray:
    """(m, C) -> (m, 1, C); (m, 5C) or (m, 5, C) -> (m, 5, C)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        return x
    if x.ndim == 2 and x.shape[1] in (feat_dim, 5 * feat_dim):
        return x.reshape(x.shape[0], -1, feat_dim)
    raise ValueError(f"expected (m,{feat_dim}), (m,{5 * feat_dim}) or (m,5,{feat_dim}) features, got {x.shape}")


class AsymNetScorer:
    """Trained AsymNet for the pipeline.

        sc = AsymNetScorer.load()
        sc.score(crops, products) -> (P,)                 # one trajectory, every product
        sc.fit_catalog(products).score_many(trajs) -> (N, P)   # many trajectories, batched

    ``score_many`` is what ``ml.seed.tracklets`` calls once per video: every trajectory becomes
    one or more 32-step windows (``windows``), all LSTM passes run as one batch, and each
    window's states are scored against a shortlist of ``top_k`` products (the products nearest
    by the frozen visual prior, as a FAISS shortlist is re-ranked), each product represented by
    the mean of its shop views' features (``product_pool="mean"``: one image per product, as
    the paper's shop side; "views" scores every view and averages the probabilities, 5x the
    work). Products outside the shortlist get 0.
    """

    def __init__(self, model: AsymNet, meta: dict | None = None, fusion: str = "tree", top_k: int = 10,
                 product_pool: str = "mean", chunk: int = 64):
        if product_pool not in ("mean", "views"):
            raise ValueError(f"product_pool must be 'mean' or 'views', got {product_pool!r}")
        self.model = model.eval()
        self.meta = meta or {}
        self.fusion = fusion
        self.top_k = top_k
        self.product_pool = product_pool
        self.chunk = chunk

    @classmethod
    def load(cls, path: str | None = None, fusion: str = "tree", **kw) -> "AsymNetScorer":
        path = path or DEFAULT_CHECKPOINT
        if not os.path.isfile(path):
            raise FileNotFoundError(f"AsymNet checkpoint {path} not found: run "
                                    "`python -m ml.seed.train --model asymnet`")
        ck = torch.load(path, map_location="cpu", weights_only=True)
        cfg = json.loads(ck["config"])
        model = AsymNet(AsymNetConfig(**cfg))
        model.load_state_dict(ck["state_dict"])
        return cls(model, json.loads(ck.get("meta", "{}")), fusion, **kw)

    def save(self, path: str) -> None:
        save_checkpoint(self.model, path, self.meta)

    @torch.no_grad()
    def fit_catalog(self, product_vectors) -> "AsymNetScorer":
        """product_vectors: (P, k, d) or a list of (k_p, d) shop views per product (d = 1280 or
        5 x 1280). Sets ``shop_`` (V, D), ``shop_prior_`` (V, c), ``owner_`` (V,) product of each
        row, ``levels_`` (pyramid levels used)."""
        c = self.model.cfg
        prods = [as_pyramid(v, c.feat_dim) for v in product_vectors]
        if not prods or any(not len(p) for p in prods):
            raise ValueError("every product needs at least one shop view")
        self.levels_ = min(p.shape[1] for p in prods)
        views = torch.from_numpy(np.concatenate([p[:, :self.levels_] for p in prods]))  # (V,L,C)
        owner = np.concatenate([np.full(len(p), i) for i, p in enumerate(prods)])
        s = self.model.shop(views)
        pv = self.model.image.prior_vector(views)
        if self.product_pool == "mean":
            idx = torch.from_numpy(owner)
            n = torch.bincount(idx, minlength=len(prods)).float()[:, None]
            s = torch.zeros(len(prods), s.shape[1]).index_add_(0, idx, s) / n
            pv = torch.nn.functional.normalize(torch.zeros(len(prods), pv.shape[1]).index_add_(0, idx, pv) / n, dim=-1)
            owner = np.arange(len(prods))
        self.shop_, self.shop_prior_, self.owner_, self.n_products_ = s, pv, owner, len(prods)
        return self

    @torch.no_grad()
    def score_many(self, trajectories, top_k: int | None = None) -> np.ndarray:
        """trajectories: list of (m_i, d) crop features in time order -> (N, P) P(same product)
        in [0, 1] (mean over a trajectory's windows and, with "views", over a product's views).
        ``top_k`` overrides the shortlist size for this call (0: every product)."""
        c = self.model.cfg
        P = self.n_products_
        out = np.zeros((len(trajectories), P), dtype=np.float32)
        if not len(trajectories):
            return out
        wins, owner_traj = [], []
        for i, tr in enumerate(trajectories):
            x = as_pyramid(tr, c.feat_dim)[:, :self.levels_]
            for w in windows(len(x), c.traj_len):
                wins.append(x[w])
                owner_traj.append(i)
        owner_traj = torch.from_numpy(np.asarray(owner_traj))
        top_k = self.top_k if top_k is None else top_k
        k = min(top_k or P, P)
        owner = torch.from_numpy(self.owner_)
        acc = torch.zeros(len(trajectories), P, dtype=torch.float64)
        for a in range(0, len(wins), self.chunk):
            x = torch.from_numpy(np.stack(wins[a:a + self.chunk]))  # (W,T,L,C)
            h = self.model.video(x)  # (W,T,D)
            pc = self.model.image.prior_vector(x)  # (W,T,c)
            # shortlist by the prior: mean cosine of the window's crops to each product
            cos = torch.einsum("wtc,vc->wvt", pc, self.shop_prior_)  # (W,V,T)
            per_prod = torch.full((len(x), P), -2.0).scatter_reduce_(
                1, owner[None].expand(len(x), -1), cos.mean(-1), "amax")
            top = torch.topk(per_prod, k, dim=1).indices  # (W,k)
            # the catalog rows of the shortlisted products, padded to one width (pads masked out)
            sel_rows = [np.flatnonzero(np.isin(self.owner_, t.numpy())) for t in top]
            n_rows = max(len(r) for r in sel_rows)
            rows = torch.from_numpy(np.stack([np.pad(r, (0, n_rows - len(r)), mode="edge") for r in sel_rows]))
            real = (torch.arange(n_rows)[None] < torch.tensor([len(r) for r in sel_rows])[:, None]).double()
            s = self.shop_[rows]  # (W,R,D)
            prior = torch.gather(cos, 1, rows[:, :, None].expand(-1, -1, cos.shape[-1])) \
                if self.model.cfg.visual_prior else None
            p = torch.sigmoid(self.model.leaf_logits(h, s, prior))  # (W,R,T)
            fused = fuse(self.model, p, h, s, self.fusion)[0].double()  # (W,R)
            prod = owner[rows]  # (W,R) product of each row: mean over a product's rows
            total = torch.zeros(len(x), P, dtype=torch.float64).scatter_add_(1, prod, fused * real)
            n = torch.zeros(len(x), P, dtype=torch.float64).scatter_add_(1, prod, real)
            acc.index_add_(0, owner_traj[a:a + len(x)], total / n.clamp(min=1))
        counts = torch.bincount(owner_traj, minlength=len(trajectories))[:, None]
        return (acc / counts).float().numpy()

    def score(self, crop_features: np.ndarray, product_vectors) -> np.ndarray:
        """crop_features (m, d): one tracklet's crops in time order, d = 1280 (``ImageEmbedder``
        default GeM output, level 1 of the pyramid) or 5 x 1280 (``ml.seed.data.pyramid``);
        product_vectors (P, k, d) or a list of (k_p, d): each product's shop views.
        -> (P,) P(same product) in [0, 1] for every product (no shortlist)."""
        c = self.model.cfg
        x = as_pyramid(crop_features, c.feat_dim)
        if not len(product_vectors):
            return np.zeros(0, dtype=np.float32)
        prods = [as_pyramid(v, c.feat_dim) for v in product_vectors]
        lev = min(x.shape[1], min(p.shape[1] for p in prods))
        return self.fit_catalog([p[:, :lev] for p in prods]).score_many([x[:, :lev]], top_k=0)[0]


def save_checkpoint(model: AsymNet, path: str, meta: dict | None = None) -> None:
    """fp16 weights (the checkpoint is committed: ~1.8 MB) + config + training metrics as JSON."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    sd = {k: v.detach().to(torch.float16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    cfg = asdict(model.cfg)
    cfg["tree"] = list(cfg["tree"])
    torch.save({"config": json.dumps(cfg), "state_dict": sd, "meta": json.dumps(meta or {})}, path)

