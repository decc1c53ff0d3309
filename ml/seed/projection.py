"""A projection head for the pipeline's crop and catalog vectors, learned with a triplet loss.

    python -m ml.seed.projection [--out ml/models/projection.npz] [--steps 400] [--decays 1e-2,1e-3,1e-4]
                                 [--report-test] [--report bench/results/projection.json]

Fashion Focus trains its tracklet embedding with tracklet-to-image metric learning under a
triplet constraint. This does the same on top of the frozen, packaged EfficientNet-Lite0: a
residual linear map ``z = normalise(x + x A)`` of the L2-normalised GeM vector ``x``, applied to
every crop and every catalog view before the cosine (``ml.visual.projection``). ``A`` starts at
zero (the identity: the pretrained space) and is pulled back towards it by weight decay, so a
few hundred training products move the space only as far as the validation products say helps.

Data (``ml.seed.data``, benchmark splits by product): each step draws trajectories of 32 crops of
train-split products (the tracker's view of a product), averages them as the pipeline's Vis.Trk
does, and scores them against every train-split shop view (best view per product, as the
catalog index does). The loss is the triplet hinge of the true product against its hardest
negatives: the hardest other product of the whole list, and the hardest of its look-alikes (its
``n_hard`` nearest products by shop photos, mostly its own category: apples against nectarines).

Selection: the step and the decay are chosen by the VAL products' recall@1 among all val
products (the pipeline's question: which product of the list is this), checked every
``eval_every`` steps. The test products are only reported (``--report-test``), before and after,
overall and per category, as the issue asks.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from ..visual.projection import project
from .data import SeedData, build_cache
from .evaluate import _best_view, gallery, make_queries, topk

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "ml", "models", "projection.npz")


def _norm(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def retrieval(data: SeedData, split: str, matrix: np.ndarray | None, per_product: int = 8) -> dict:
    """Vis.Trk recall@1/5 of fixed query trajectories (average-pooled crops, best shop view) among
    all products of ``split`` and within category, overall and per category."""
    q_items, q_trajs = make_queries(data, split, per_product)
    prods, vix, owner = gallery(data, split)
    q = _norm(np.stack([data.crops[t, 0].mean(0) for t in q_trajs]))
    q, s = project(q, matrix), project(data.shop[vix][:, 0], matrix)
    sc = _best_view(q @ s.T, owner, len(prods))
    cq = np.asarray([data.items[int(i)]["category"] for i in q_items])
    cp = np.asarray([data.items[int(p)]["category"] for p in prods])
    return {"all": topk(sc, q_items, prods, ks=(1, 5)),
            "within_category": topk(sc, q_items, prods, cq, cp, ks=(1, 5)),
            "per_category_all": {c: topk(sc[cq == c], q_items[cq == c], prods, None, None, ks=(1,))["overall"][1]
                                 for c in sorted(set(cq))},
            "queries": int(len(q_items)), "products": int(len(prods))}


def train(data: SeedData, steps: int = 400, decay: float = 1e-3, margin: float = 0.1, lr: float = 1e-3,
          batch: int = 128, n_hard: int = 10, eval_every: int = 50, seed: int = 0, log=print):
    """-> (best matrix I + A by val recall@1, history). Torch only here, at training time."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng([seed, 99])
    from .train import PairSampler

    sampler = PairSampler(data, "train", n_hard=n_hard)
    items = sampler.items
    pos_of = {int(i): k for k, i in enumerate(items)}
    vix = np.concatenate([sampler.views[int(i)] for i in items])
    owner = torch.from_numpy(np.concatenate([np.full(len(sampler.views[int(i)]), k) for k, i in enumerate(items)]))
    shop = torch.from_numpy(data.shop[vix][:, 0].copy())
    near = torch.tensor([[pos_of[int(j)] for j in sampler.near[int(i)]] for i in items])  # (n_items, n_hard)
    C = shop.shape[1]
    crops0 = np.ascontiguousarray(data.crops[:, 0])  # level 0 only: a gather of all 5 levels per step is 100 MB
    A = torch.zeros(C, C, requires_grad=True)
    opt = torch.optim.AdamW([A], lr=lr, weight_decay=0.0)
    n_items = len(items)

    def project(x):
        return torch.nn.functional.normalize(x + x @ A, dim=-1)

    def val_r1(M):
        return retrieval(data, "val", M)["all"]["overall"][1]

    best = (val_r1(None), 0, np.eye(C, dtype=np.float32))
    hist = [{"step": 0, "val_r1": best[0]}]
    log(f"[projection] val R@1 (all val products) before: {best[0]:.3f}")
    t0 = time.time()
    for step in range(1, steps + 1):
        it = rng.choice(items, batch)
        traj = np.stack([sampler.trajectory(i, rng) for i in it])
        q = torch.from_numpy(crops0[traj].mean(1))
        q = project(torch.nn.functional.normalize(q, dim=-1))
        s = project(shop)
        vs = q @ s.T  # (B,V)
        per = torch.full((batch, n_items), -2.0).scatter_reduce(1, owner[None].expand(batch, -1), vs,
                                                                 reduce="amax", include_self=True)
        y = torch.tensor([pos_of[int(i)] for i in it])
        sp = per[torch.arange(batch), y]
        other = per.clone()
        other[torch.arange(batch), y] = -2.0
        hard_all = other.max(1).values
        look = per.gather(1, near[y]).max(1).values
        loss = (torch.relu(margin - sp + hard_all) + torch.relu(margin - sp + look)).mean() \
            + decay * (A ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % eval_every == 0 or step == steps:
            M = (np.eye(C, dtype=np.float32) + A.detach().numpy()).astype(np.float32)
            r1 = val_r1(M)
            hist.append({"step": step, "val_r1": r1, "loss": float(loss.detach())})
            log(f"[projection] step {step} loss {float(loss.detach()):.4f} val R@1 {r1:.3f} ({time.time() - t0:.0f}s)")
            if r1 > best[0]:
                best = (r1, step, M)
    return best[2], {"history": hist, "best_step": best[1], "best_val_r1": best[0]}


def save(path: str, matrix: np.ndarray, meta: dict) -> None:
    """Stores ``matrix - I`` in float16 (small entries: 3 MB instead of 6; ``load_projection``
    adds the identity back)."""
    tmp = path + ".tmp.npz"
    delta = (matrix - np.eye(len(matrix), dtype=np.float32)).astype(np.float16)
    np.savez_compressed(tmp, delta=delta, meta=json.dumps(meta))
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--decays", default="1e-2,1e-3,1e-4", help="weight decays tried, chosen on val")
    ap.add_argument("--margin", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--report-test", action="store_true", help="also report the test products (never tunes)")
    ap.add_argument("--report", default=None, help="write the before/after report here (JSON)")
    a = ap.parse_args(argv)
    data = SeedData.load(build_cache())
    best = None
    for d in (float(x) for x in a.decays.split(",")):
        M, h = train(data, steps=a.steps, decay=d, margin=a.margin, lr=a.lr)
        h["decay"] = d
        if best is None or h["best_val_r1"] > best[1]["best_val_r1"]:
            best = (M, h)
    M, h = best
    report = {"chosen": {k: h[k] for k in ("decay", "best_step", "best_val_r1")},
              "val_before": retrieval(data, "val", None), "val_after": retrieval(data, "val", M)}
    if a.report_test:
        report["test_before"] = retrieval(data, "test", None)
        report["test_after"] = retrieval(data, "test", M)
    meta = {"margin": a.margin, "lr": a.lr, "steps": a.steps, **report["chosen"]}
    save(a.out, M, meta)
    print(json.dumps(report, indent=1, default=str))
    if a.report:
        with open(a.report, "w") as f:
            json.dump(report, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
