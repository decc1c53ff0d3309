"""The two papers' tables on the benchmark's TEST products (never used for training or tuning).

    python -m ml.seed.evaluate [--asymnet ml/models/seed_asymnet.pt] [--lxmert ml/models/seed_lxmert.pt]
                               [--queries 2] [--out bench/runs/seed_tables.json]

- **Video2Shop layout** (its Table 2/3): top-1/5/10/20 accuracy of retrieving a query
  trajectory's product among the test products OF ITS CATEGORY, per category and overall
  (mean over queries), for AsymNet (fusion nodes) vs the pooling baselines on the same crop
  features (average / max / last crop, cosine to the shop views, best view per product, which
  is what the pipeline's tracklet feature does) and the paper's Avg/Max/Last fusion of the same
  trained similarity networks.
- **Fashion Focus layout** (its ablation): recall@1/5/20 among ALL test products for Vis.Img (one
  crop), Vis.Trk (the trajectory) and Mlt.Trk (trajectory + the text of its time window), the
  multimodal row fused by a fusion-v1-like learned late fusion and by the LXMERT-style model.

Queries are trajectories of 32 crops sampled with a fixed seed from each test product's
video-side photos (``ml.seed.data``): ``--queries`` per product.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from .asymnet import AsymNet, AsymNetScorer, fuse
from .data import SeedData, SeedDataOptions, build_cache, sample_trajectory

KS = (1, 5, 10, 20)


def make_queries(data: SeedData, split: str, per_product: int = 2, seed: int = 123, length: int = 32):
    """-> items (Q,), crop indices (Q, length): fixed, seeded query trajectories."""
    rng = np.random.default_rng([seed, 77])
    photos = data.photo_index()
    views = data.shop_views()
    items, trajs = [], []
    for i in data.products(split):
        if int(i) not in photos or int(i) not in views:
            continue
        for _ in range(per_product):
            items.append(int(i))
            trajs.append(sample_trajectory(photos[int(i)], rng, length))
    return np.asarray(items), np.stack(trajs)


def gallery(data: SeedData, split: str):
    """-> products (P,), view indices (V,), owner (V,) position in products."""
    views = data.shop_views()
    prods = np.asarray([i for i in data.products(split) if int(i) in views])
    vix = np.concatenate([views[int(p)] for p in prods])
    owner = np.concatenate([np.full(len(views[int(p)]), k) for k, p in enumerate(prods)])
    return prods, vix, owner


def _best_view(view_scores: np.ndarray, owner: np.ndarray, n: int, reduce: str = "max") -> np.ndarray:
    """(Q,V) -> (Q,P) per product: max (the pipeline's index) or mean over its views."""
    out = np.full((view_scores.shape[0], n), -np.inf if reduce == "max" else 0.0)
    if reduce == "max":
        np.maximum.at(out.T, owner, view_scores.T)
        return out
    np.add.at(out.T, owner, view_scores.T)
    return out / np.maximum(np.bincount(owner, minlength=n), 1)[None]


def pooling_scores(data: SeedData, q_trajs: np.ndarray, vix: np.ndarray, owner: np.ndarray, n: int) -> dict:
    """Training-free baselines on the level-1 (pipeline) crop features: (Q,P) per pooling."""
    x = data.crops[q_trajs][:, :, 0]  # (Q,T,C)
    s = data.shop[vix][:, 0]
    out = {}
    for name, v in (("Avg pooling", x.mean(1)), ("Max pooling", x.max(1)), ("Last crop", x[:, -1]),
                    ("Single crop (middle)", x[:, x.shape[1] // 2])):
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        out[name] = _best_view(v @ s.T, owner, n)
    return out


@torch.no_grad()
def asymnet_scores(model: AsymNet, data: SeedData, q_items, q_trajs, prods, vix, owner, levels: int = 5,
                   within_category: bool = True, chunk: int = 4) -> dict:
    """(Q,P) P(same) for the fusion tree and the Avg/Max/Last fusion baselines (mean over views).
    Only same-category pairs are scored when ``within_category`` (others left at -inf)."""
    model.eval()
    cats = np.asarray([data.items[int(p)]["category"] for p in prods])
    qcat = np.asarray([data.items[int(i)]["category"] for i in q_items])
    names = {"tree": "AsymNet (fusion nodes)", "avg": "Avg fusion", "max": "Max fusion", "last": "Last fusion"}
    out = {v: np.full((len(q_items), len(prods)), -np.inf) for v in names.values()}
    q_all = torch.from_numpy(data.crops[q_trajs][:, :, :levels])
    v_all = torch.from_numpy(data.shop[vix][:, :levels])
    h_all = model.video(q_all)  # (Q,T,D)
    s_all = model.shop(v_all)  # (V,D)
    pq_all = model.image.prior_vector(q_all)  # (Q,T,c)
    pv_all = model.image.prior_vector(v_all)  # (V,c)
    for c in sorted(set(qcat)):
        qs = np.flatnonzero(qcat == c)
        pcols = np.flatnonzero(cats == c) if within_category else np.arange(len(prods))
        vsel = np.flatnonzero(np.isin(owner, pcols))
        s = s_all[vsel]
        for a in range(0, len(qs), chunk):
            qq = qs[a:a + chunk]
            h = h_all[qq]
            sb = s[None].expand(len(qq), -1, -1)
            prior = torch.einsum("vc,qtc->qvt", pv_all[vsel], pq_all[qq]) if model.cfg.visual_prior else None
            p = torch.sigmoid(model.leaf_logits(h, sb, prior))  # (q,V,T)
            for key, name in names.items():
                P = fuse(model, p, h, sb, key)[0].numpy()  # (q,V)
                res = _best_view(P, owner[vsel], len(prods), "mean")
                out[name][np.ix_(qq, pcols)] = res[:, pcols]
    return out


def topk(scores: np.ndarray, q_items: np.ndarray, prods: np.ndarray, cats_q: np.ndarray | None = None,
         cats_p: np.ndarray | None = None, ks=KS) -> dict:
    """Top-k accuracy (pessimistic on ties) of each query's true product; within category when
    categories are given. -> {"overall": {k: acc}, category: {k: acc}, "n": {...}}."""
    pos = {int(p): k for k, p in enumerate(prods)}
    hits = {k: [] for k in ks}
    for qi, item in enumerate(q_items):
        row = scores[qi].copy()
        if cats_q is not None:
            row[cats_p != cats_q[qi]] = -np.inf
        t = row[pos[int(item)]]
        rank = int((row >= t).sum()) - 1  # other products scoring at least as high
        for k in ks:
            hits[k].append(rank < k)
    hits = {k: np.asarray(v) for k, v in hits.items()}
    res = {"overall": {k: float(hits[k].mean()) for k in ks}, "n": {"overall": int(len(q_items))}}
    if cats_q is not None:
        for c in sorted(set(cats_q)):
            m = cats_q == c
            res[c] = {k: float(hits[k][m].mean()) for k in ks}
            res["n"][c] = int(m.sum())
    return res


def video2shop_table(data: SeedData, model: AsymNet | None, split: str = "test", per_product: int = 2,
                     log=print, levels=(5, 1)) -> dict:
    q_items, q_trajs = make_queries(data, split, per_product)
    prods, vix, owner = gallery(data, split)
    cq = np.asarray([data.items[int(i)]["category"] for i in q_items])
    cp = np.asarray([data.items[int(p)]["category"] for p in prods])
    rows = {}
    for name, sc in pooling_scores(data, q_trajs, vix, owner, len(prods)).items():
        rows[name] = topk(sc, q_items, prods, cq, cp)
    if model is not None:
        for lev in levels:
            tag = " [SPP levels 1+2]" if lev == 5 else " [level-1 input]"
            t0 = time.time()
            for name, sc in asymnet_scores(model, data, q_items, q_trajs, prods, vix, owner, lev).items():
                rows[name + tag] = topk(sc, q_items, prods, cq, cp)
            log(f"[evaluate] AsymNet{tag} scored in {time.time() - t0:.0f}s")
    return {"rows": rows, "gallery_sizes": {c: int((cp == c).sum()) for c in sorted(set(cp))},
            "queries": int(len(q_items)), "split": split}


def evaluate_asymnet_val(model: AsymNet, data: SeedData, levels=(5, 1), categories=None) -> dict:
    """Monitoring numbers on the VAL products (top-k within category): overall, or over the
    queries of ``categories`` only (weighted by their number of queries)."""
    t = video2shop_table(data, model, "val", per_product=2, log=lambda *_: None, levels=levels)
    if not categories:
        return {name: r["overall"] for name, r in t["rows"].items()}
    out = {}
    for name, r in t["rows"].items():
        n = {c: r["n"].get(c, 0) for c in categories}
        total = max(sum(n.values()), 1)
        out[name] = {k: sum(r[c][k] * n[c] for c in categories if n[c]) / total for k in KS}
    return out


def format_video2shop(t: dict) -> str:
    cats = [c for c in t["gallery_sizes"]]
    lines = [f"Video2Shop layout: top-k accuracy within category, {t['split']} products, "
             f"{t['queries']} query trajectories (gallery sizes: "
             + ", ".join(f"{c} {n}" for c, n in t["gallery_sizes"].items()) + ")"]
    for k in KS:
        head = f"| top-{k} | " + " | ".join(cats) + " | overall |"
        lines += ["", head, "|" + "---|" * (len(cats) + 2)]
        for name, r in t["rows"].items():
            lines.append(f"| {name} | " + " | ".join(f"{100 * r[c][k]:.1f}" for c in cats)
                         + f" | {100 * r['overall'][k]:.1f} |")
    return "\n".join(lines)


RKS = (1, 5, 20)


def _recall_rows(scores: np.ndarray, q_items, prods, q_dom) -> dict:
    """recall@k among ALL gallery products, overall and per domain (rows = queries of the domain)."""
    res = {"overall": topk(scores, q_items, prods, ks=RKS)["overall"]}
    for d in sorted(set(q_dom)):
        m = q_dom == d
        res[d] = topk(scores[m], q_items[m], prods, ks=RKS)["overall"]
    return res


def _text_sem(X: np.ndarray, M: np.ndarray, titles: np.ndarray) -> np.ndarray:
    """(Q,L,384) window sentences, (Q,L) mask, (P,384) titles -> (Q,P) best sentence cosine."""
    s = np.einsum("qld,pd->qpl", X, titles)
    s = np.where(M[:, None, :] > 0, s, -1.0)
    return np.maximum(s.max(-1), 0.0)


def _ff_inputs(data: SeedData, bank, split: str, per_product: int, seed: int):
    from .lxmert_fusion import make_windows

    q_items, q_trajs = make_queries(data, split, per_product, seed=seed)
    prods, vix, owner = gallery(data, split)
    rng = np.random.default_rng([seed, 5])
    vis, boxes, X, M, wins = make_windows(data, bank, q_items, rng, prods, trajs=q_trajs)
    pooled = pooling_scores(data, q_trajs, vix, owner, len(prods))
    base = {"visual": pooled["Avg pooling"], "speech_sem": _text_sem(X, M, bank.titles[prods])}
    return dict(q_items=q_items, q_trajs=q_trajs, prods=prods, vis=vis, boxes=boxes, X=X, M=M,
                pooled=pooled, base=base, wins=wins)


def fashion_focus_table(data: SeedData, lxmert_path: str | None, split: str = "test", per_product: int = 2,
                        log=print) -> dict:
    """Vis.Img / Vis.Trk / Mlt.Trk recall@1/5/20 among all ``split`` products."""
    from ..fusion import FusionModel, expand_features
    from .lxmert_fusion import LxmertScorer, TextBank, product_image_matrix

    t0 = time.time()
    bank = TextBank(data.items, seed=2000)  # texts unseen in training (which used seed 1000)
    log(f"[evaluate] text bank embedded in {time.time() - t0:.0f}s")
    te = _ff_inputs(data, bank, split, per_product, seed=321)
    q_dom = np.asarray([data.items[int(i)]["domain"] for i in te["q_items"]])
    rows = {"Vis.Img (one crop, cosine)": te["pooled"]["Single crop (middle)"],
            "Vis.Trk (mean of crops, cosine)": te["pooled"]["Avg pooling"]}
    # fusion v2's identity (ml.fusion.FusionModel: every query shows a product, so presence only
    # scales a row) fitted on TRAIN products' windows
    tr = _ff_inputs(data, bank, "train", 2, seed=654)
    fm = {}
    for key, mods, feats in (("Vis.Trk (fusion v2 visual only)", ("visual",), ["visual"]),
                             ("Mlt.Trk (fusion v2 late fusion)", ("visual", "speech"), ["visual", "speech_sem"])):
        base_tr = {f: tr["base"][f] for f in feats}
        y = np.zeros((len(tr["q_items"]), len(tr["prods"])))
        y[np.arange(len(tr["q_items"])), [list(tr["prods"]).index(i) for i in tr["q_items"]]] = 1
        m = FusionModel(mods).fit_episodes([(base_tr, y)])
        base_te = {f: te["base"][f] for f in feats}
        names_te, X_te = expand_features(base_te)
        rows[key] = m.predict(names_te, X_te, base_te)[0]
        fm[key] = dict(zip(m.names, np.round(m.coef_, 3).tolist()))
    rows["Text only (best sentence vs title)"] = te["base"]["speech_sem"]
    if lxmert_path is not False:
        sc = LxmertScorer.load(lxmert_path)
        tag = " + visual prior" if sc.model.cfg.visual_prior else ""
        mdl = sc.model
        with torch.no_grad():
            img = torch.from_numpy(product_image_matrix(data, te["prods"]))
            titles = torch.from_numpy(bank.titles[te["prods"]])
            for key, mask in ((f"Vis.Trk (LXMERT{tag}, no text)", np.zeros_like(te["M"])),
                              (f"Mlt.Trk (LXMERT fusion{tag})", te["M"])):
                out = []
                for a in range(0, len(te["q_items"]), 128):
                    sl = slice(a, a + 128)
                    out.append(mdl.logits(torch.from_numpy(te["vis"][sl]), torch.from_numpy(te["boxes"][sl]),
                                          torch.from_numpy(te["X"][sl]), torch.from_numpy(mask[sl]), img, titles).numpy())
                rows[key] = np.concatenate(out)
    res = {k: _recall_rows(v, te["q_items"], te["prods"], q_dom) for k, v in rows.items()}
    return {"rows": res, "queries": int(len(te["q_items"])), "gallery": int(len(te["prods"])),
            "split": split, "fusion_v2_identity_coef": fm,
            "domains": {d: int((q_dom == d).sum()) for d in sorted(set(q_dom))}}


def format_fashion_focus(t: dict) -> str:
    doms = list(t["domains"])
    cols = ["overall"] + doms
    lines = [f"Fashion Focus layout: recall@k among all {t['gallery']} {t['split']} products, "
             f"{t['queries']} query tracklets + text windows",
             "", "| method | " + " | ".join(f"{c} R@{k}" for c in cols for k in RKS) + " |",
             "|" + "---|" * (1 + len(cols) * len(RKS))]
    for name, r in t["rows"].items():
        lines.append(f"| {name} | " + " | ".join(f"{100 * r[c][k]:.1f}" for c in cols for k in RKS) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--asymnet", default="")
    ap.add_argument("--lxmert", default="")
    ap.add_argument("--queries", type=int, default=2)
    ap.add_argument("--split", default="test")
    ap.add_argument("--skip", default="", help="comma list: video2shop,fashionfocus")
    ap.add_argument("--levels", default="1,5", help="AsymNet input pyramid levels to score: 1 (the pipeline's "
                    "1280-d crop features), 5 (SPP levels 1+2)")
    ap.add_argument("--out", default="bench/runs/seed_tables.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    data = SeedData.load(build_cache(SeedDataOptions(seed=0)))
    report = {}
    if "video2shop" not in args.skip:
        model = AsymNetScorer.load(args.asymnet or None).model
        t = video2shop_table(data, model, args.split, args.queries, levels=[int(x) for x in args.levels.split(',')])
        report["video2shop"] = t
        print(format_video2shop(t))
    if "fashionfocus" not in args.skip:
        t = fashion_focus_table(data, args.lxmert or None, args.split, args.queries)
        report["fashion_focus"] = t
        print()
        print(format_fashion_focus(t))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
