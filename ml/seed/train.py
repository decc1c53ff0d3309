"""Train the seed models on the benchmark's TRAIN products (val products only for monitoring).

    python -m ml.seed.train --model asymnet --out ml/models/seed_asymnet.pt
    python -m ml.seed.train --model lxmert  --out ml/models/seed_lxmert.pt
    python -m ml.seed.train --model asymnet --init ml/models/seed_asymnet.pt --categories shoes \
        --steps 300 --lr 3e-4 --out bench/runs/seed_asymnet_shoes.pt     # per-category fine-tuning

Seeded (numpy + torch), one torch thread (on a busy 2-core box more threads are many times
slower); features come from the cache built by ``ml.seed.data.build_cache`` (computed on the
first run: 11,402 video-side crops + 3,385 shop views, 42 min on a heavily shared 2-core box,
a few minutes on an idle one). Measured training: AsymNet 1500+200 steps 476 s, LXMERT 300
steps 216-248 s. Each checkpoint is written with its training metrics inside and beside it as
``<out>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from torch.nn import functional as F

from .asymnet import DEFAULT_CHECKPOINT, AsymNet, AsymNetConfig, fuse, save_checkpoint
from .data import SeedData, SeedDataOptions, build_cache, sample_trajectory


def seed_everything(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)


class PairSampler:
    """Batches for approximate training: B trajectories, each with S positive shop views (its own
    product) and S negatives (other products): with probability ``hard`` one of the product's
    ``n_hard`` nearest look-alikes, else alternately one of its category and any product."""

    def __init__(self, data: SeedData, split: str, traj_len: int = 32, n_hard: int = 10,
                 categories: tuple[str, ...] | None = None):
        self.data = data
        self.items = data.products(split)
        self.photos = data.photo_index()
        self.views = data.shop_views()
        self.items = np.asarray([i for i in self.items if i in self.photos and i in self.views
                                 and (not categories or data.items[i]["category"] in categories)])
        if len(self.items) < 2:
            raise ValueError(f"fewer than 2 {split} products with photos in categories {categories}")
        self.cat = np.asarray([data.items[i]["category"] for i in self.items])
        self.by_cat = {c: self.items[self.cat == c] for c in set(self.cat)}
        self.traj_len = traj_len
        # hard negatives: each product's nearest other products by mean shop-view feature
        # (level 1): the look-alikes a ranking must separate, rarely drawn at random
        m = np.stack([data.shop[self.views[int(i)]][:, 0].mean(0) for i in self.items])
        m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
        sim = m @ m.T
        np.fill_diagonal(sim, -np.inf)
        self.near = {int(i): self.items[np.argsort(-sim[k])[:n_hard]] for k, i in enumerate(self.items)}

    def trajectory(self, item: int, rng) -> np.ndarray:
        return sample_trajectory(self.photos[int(item)], rng, self.traj_len)

    def batch(self, rng, B: int = 32, S: int = 2, hard: float = 0.0):
        items = rng.choice(self.items, B)
        traj, shop, y = [], [], []
        for it in items:
            traj.append(self.trajectory(it, rng))
            v = self.views[int(it)]
            pos = list(rng.choice(v, S))
            neg = []
            cat = self.data.items[int(it)]["category"]
            for k in range(S):
                if hard and rng.random() < hard:
                    pool = self.near[int(it)]
                else:
                    pool = self.by_cat[cat] if (k % 2 == 0 and len(self.by_cat[cat]) > 1) else self.items
                o = it
                while o == it:
                    o = rng.choice(pool)
                neg.append(rng.choice(self.views[int(o)]))
            shop.append(pos + neg)
            y.append([1.0] * S + [0.0] * S)
        crops = torch.from_numpy(self.data.crops[np.stack(traj)])  # (B,T,5,C)
        shopv = torch.from_numpy(self.data.shop[np.asarray(shop)])  # (B,2S,5,C)
        return crops, shopv, torch.tensor(y), items


def train_asymnet(data: SeedData, seed: int = 0, steps1: int = 1500, steps2: int = 200, batch: int = 16,
                  S: int = 2, lr: float = 1e-3, weight_decay: float = 1e-4, p_drop_level2: float = 0.5,
                  hard: float = 0.5, eval_every: int = 250,
                  cfg: AsymNetConfig | None = None, init: AsymNet | None = None,
                  categories: tuple[str, ...] | None = None, log=print) -> tuple[AsymNet, dict]:
    """The paper's two steps. With ``eval_every`` > 0, step 1 keeps the weights that score best on
    the VALIDATION products (top-1 + 0.1 x top-5 within category, level-1 input as the pipeline
    gives): early stopping, which with the visual prior's zero-initialised residual includes
    step 0, the prior alone, so the learned part is kept only where it generalises.

    Per-category fine-tuning (the paper's last stage): ``init`` a trained model and
    ``categories`` to draw trajectories and negatives from those categories' training products
    only; selection then reads those categories' validation rows."""
    import copy

    seed_everything(seed)
    rng = np.random.default_rng(seed)
    model = copy.deepcopy(init) if init is not None else AsymNet(cfg or AsymNetConfig())
    sampler = PairSampler(data, "train", model.cfg.traj_len, categories=categories)
    if model.cfg.reduce and init is None:
        tr = np.isin(data.crop_item, sampler.items)
        cells = np.concatenate([data.crops[tr][::4].reshape(-1, data.crops.shape[-1]),
                                data.shop[np.isin(data.shop_item, sampler.items)].reshape(-1, data.crops.shape[-1])])
        model.image.fit_reduction(cells[rng.permutation(len(cells))[:20000]])
    hist = {"step1_loss": [], "step2_loss": []}
    t0 = time.time()

    def level(crops, shopv):
        if rng.random() < p_drop_level2:  # one checkpoint for level-1-only inputs too
            return crops[:, :, :1], shopv[:, :, :1]
        return crops, shopv

    # Step 1: experts (image net, LSTM, SSN): log loss on every hidden state + L2.
    decay = [p for n, p in model.named_parameters() if not n.startswith("fusion.") and n != "prior_w"]
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if model.cfg.visual_prior:  # the prior's scale is not shrunk towards 0
        groups.append({"params": [model.prior_w], "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps1, pct_start=0.1)
    best = {"score": -1.0, "step": 0, "state": None}

    def checkpoint_on_val(step: int) -> None:
        if eval_every <= 0:
            return
        from .evaluate import evaluate_asymnet_val

        model.eval()
        r = evaluate_asymnet_val(model, data, levels=(1,), categories=categories)["AsymNet (fusion nodes) [level-1 input]"]
        score = r[1] + 0.1 * r[5]
        hist["val_curve"].append({"step": step, "top1": round(r[1], 4), "top5": round(r[5], 4)})
        log(f"[asymnet] step1 {step}: val top-1 {r[1]:.3f} top-5 {r[5]:.3f}")
        if score > best["score"]:
            best.update(score=score, step=step, state={k: v.clone() for k, v in model.state_dict().items()})
        model.train()

    hist["val_curve"] = []
    checkpoint_on_val(0)
    model.train()
    run = []
    for step in range(steps1):
        crops, shopv, y, _ = sampler.batch(rng, batch, S, hard)
        crops, shopv = level(crops, shopv)
        h = model.video(crops)  # computed once, shared by the 2S shop images
        logit = model.leaf_logits(h, model.shop(shopv), model.prior(crops, shopv))  # (B,2S,T)
        # mean over the 2S images = the paper's 1/2S gradient scaling
        loss = F.binary_cross_entropy_with_logits(logit, y[:, :, None].expand_as(logit))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run.append(loss.item())
        if (step + 1) % 50 == 0:
            hist["step1_loss"].append(float(np.mean(run)))
            log(f"[asymnet] step1 {step + 1}/{steps1} loss {np.mean(run):.4f} {time.time() - t0:.0f}s")
            run = []
        if eval_every > 0 and ((step + 1) % eval_every == 0 or step + 1 == steps1):
            checkpoint_on_val(step + 1)
    if best["state"] is not None:
        model.load_state_dict(best["state"])
        hist["step1_selected"] = best["step"]
        log(f"[asymnet] step 1 keeps the weights of step {best['step']} (best on validation products)")
    # Step 2: fusion nodes only, maximising the mixture likelihood (EM's gradient), experts frozen.
    for n, p in model.named_parameters():
        p.requires_grad_(n.startswith("fusion."))
    model.eval()  # experts frozen, no dropout: the gates learn on the experts' test-time outputs
    opt = torch.optim.Adam(model.fusion.parameters(), lr=3e-3)
    run = []
    for step in range(steps2):
        crops, shopv, y, _ = sampler.batch(rng, batch, S, hard)
        crops, shopv = level(crops, shopv)
        with torch.no_grad():
            h = model.video(crops)
            s = model.shop(shopv)
            p = torch.sigmoid(model.leaf_logits(h, s, model.prior(crops, shopv)))
        P, _ = fuse(model, p, h, s, "tree")
        loss = F.binary_cross_entropy(P.clamp(1e-6, 1 - 1e-6), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.append(loss.item())
        if (step + 1) % 50 == 0:
            hist["step2_loss"].append(float(np.mean(run)))
            log(f"[asymnet] step2 {step + 1}/{steps2} mixture nll {np.mean(run):.4f} {time.time() - t0:.0f}s")
            run = []
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    hist.update(train_seconds=round(time.time() - t0, 1), seed=seed, steps1=steps1, steps2=steps2,
                batch=batch, S=S, hard=hard, lr=lr, weight_decay=weight_decay, eval_every=eval_every,
                categories=list(categories or []), fine_tuned=init is not None,
                prior_w=round(float(model.prior_w.detach()), 3), visual_prior=model.cfg.visual_prior,
                train_products=int(len(sampler.items)))
    return model, hist


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=("asymnet", "lxmert"), required=True)
    ap.add_argument("--out", default="")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0, help="override the number of (step-1) training steps")
    ap.add_argument("--threads", type=int, default=1, help="1 is fastest on a busy 2-core box")
    ap.add_argument("--config", default="", help='AsymNetConfig overrides as JSON, e.g. \'{"prior_init": 20}\'')
    ap.add_argument("--init", default="", help="AsymNet: start from this checkpoint (fine-tuning)")
    ap.add_argument("--categories", default="", help="AsymNet: comma list; train (fine-tune) on these categories only")
    ap.add_argument("--lr", type=float, default=0.0, help="override the (step-1) learning rate")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    path = build_cache(SeedDataOptions(seed=0))
    data = SeedData.load(path)
    cache_s = time.time() - t0
    if args.model == "asymnet":
        from .evaluate import evaluate_asymnet_val

        out = args.out or DEFAULT_CHECKPOINT
        from .asymnet import AsymNetScorer

        cfg = AsymNetConfig(**json.loads(args.config)) if args.config else None
        init = AsymNetScorer.load(args.init).model if args.init else None
        cats = tuple(c.strip() for c in args.categories.split(",") if c.strip()) or None
        kw = {**({"steps1": args.steps} if args.steps else {}), **({"lr": args.lr} if args.lr else {})}
        model, hist = train_asymnet(data, seed=args.seed, cfg=cfg, init=init, categories=cats, **kw)
        hist["val"] = evaluate_asymnet_val(model, data, categories=cats)
        hist["cache_seconds"] = round(cache_s, 1)
        hist["features"] = os.path.basename(path)
        save_checkpoint(model, out, hist)
    else:
        from .lxmert_fusion import DEFAULT_CHECKPOINT as LX, train_lxmert

        out = args.out or LX
        hist = train_lxmert(data, out, seed=args.seed, **({"steps": args.steps} if args.steps else {}))
        hist["cache_seconds"] = round(cache_s, 1)
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(hist, f, indent=1)
    print(json.dumps({k: v for k, v in hist.items() if not isinstance(v, list)}, indent=1))


if __name__ == "__main__":
    main()
