"""Learning from corrections, measured (`make bench-adapt`): the K curve of issue 15.

    python bench/adapt_curve.py                       # 3 shops x 6 episodes, K = 0,1,2,4 -> bench/results/adapt.*
    python bench/adapt_curve.py --shops 1 --ks 0,1    # a smaller run

A shop is a series of episodes with one catalog and one look (``ml.synth.shop``). A simulated
reviewer corrects a shop's first episodes fully from the truth, as the review page would record
it: every true interval becomes a confirmed example (accepted, edited to the true edges,
relabelled or added), every output interval that overlaps no true interval of its product
becomes a rejected example (a hard negative). The shop runs in broadcast order: episode k runs
with what the shop had learned from episodes 0..k-1 (its ``ShopMemory``: views harvested from
their examples, ``ml.adapt.harvest_views``, and a refitted interval scorer when ``ml.adapt.refit``
says it improved on held-back examples), and is then corrected.

Measured on each shop's last ``--eval`` episodes (the same ones for every K, never corrected):
- **without**: the packaged pipeline (``memory=None``);
- **views**: with the memory after K corrected episodes, its views only;
- **views + refit**: the same run's curves decided with the shop's refitted interval scorer
  (when activated; else it is the "views" row).
Interval F1@0.5 of the output, now-showing accuracy and R@1 (``ml.eval``; pooled over shops
by ``bench.report.pooled``). K = 0 is an empty memory.

Every pipeline run is in this process (``ml.pipeline.localize``) and cached in
bench/runs/adapt/<episode>/<tag>/ under a key of the code and the memory it ran with.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.report import machine, pooled  # noqa: E402
from bench.run import BENCH_DIR, RESULTS, ensure_episodes, evaluate_run  # noqa: E402
from ml.adapt import MIN_EXAMPLES, Example, ShopMemory, View, harvest_views, refit  # noqa: E402
from ml.synth import SHOP_VERSION, shop_suite  # noqa: E402

RUNS = os.path.join(BENCH_DIR, "runs", "adapt")
METRICS = (("f1@0.5", "F1@0.5"), ("now_showing_accuracy", "now-showing"), ("R@1", "R@1"))


def code_version() -> str:
    """Hash of what a run depends on: ml/ sources and models, but ml/adapt.py, which a run reads
    only through its memory (whose contents are the other half of a run's key)."""
    h = hashlib.sha1()
    for root, _, files in sorted(os.walk(os.path.join(REPO, "ml"))):
        for f in sorted(files):
            if f.endswith((".py", ".json", ".pt")) and os.path.join(root, f) != os.path.join(REPO, "ml", "adapt.py"):
                with open(os.path.join(root, f), "rb") as fh:
                    h.update(f.encode() + fh.read())
    return h.hexdigest()[:12]


def memory_key(memory: ShopMemory | None) -> str:
    if memory is None:
        return "none"
    h = hashlib.sha1(np.ascontiguousarray(memory.vectors).tobytes())
    h.update(json.dumps([memory.product_ids, memory.positive.tolist(), memory.scorer], sort_keys=True).encode())
    return h.hexdigest()[:12]


# --------------------------------------------------------------------------- runs
def run(ep: dict, tag: str, memory: ShopMemory | None) -> dict:
    """One ``localize`` of ``ep`` with ``memory`` (cached): the run dict ``evaluate_run`` reads,
    plus the result object's evidence (boxes) for harvesting."""
    from ml.pipeline import localize, save_curves
    from ml.types import Evidence

    d = os.path.join(RUNS, os.path.basename(ep["dir"]), tag)
    os.makedirs(d, exist_ok=True)
    out = {"rc": 0, "result": os.path.join(d, "result.json"), "curves": os.path.join(d, "curves.npz"),
           "evidence": os.path.join(d, "evidence.json")}
    stamp = os.path.join(d, "run.json")
    key = {"code": code_version(), "memory": memory_key(memory)}
    if os.path.isfile(stamp):
        with open(stamp) as f:
            done = json.load(f)
        if done.get("key") == key and all(os.path.isfile(out[k]) for k in ("result", "curves", "evidence")):
            out["wall_s"] = done["wall_s"]
            with open(out["evidence"]) as f:
                out["evidence_obj"] = Evidence.from_json(json.load(f))
            return out
    t = time.time()
    res = localize(ep["video"], ep["catalog"], comments=ep["comments"], memory=memory)
    out["wall_s"] = round(time.time() - t, 2)
    res.dump(out["result"])
    save_curves(res.curves, out["curves"])
    with open(out["evidence"], "w") as f:
        json.dump(res.evidence.to_json(), f)
    with open(stamp, "w") as f:
        json.dump({"key": key, "wall_s": out["wall_s"]}, f)
    out["evidence_obj"] = res.evidence
    print(f"  {os.path.basename(ep['dir'])} [{tag}]: {out['wall_s']:.0f} s", file=sys.stderr)
    return out


def redecide(ep: dict, base_run: dict, tag: str, scorer: dict) -> dict:
    """The run's curves decided again with a refitted interval scorer (``Scorer.decide``: what
    ``localize`` does last), written as a result of its own."""
    from ml.calibration import IntervalScorer
    from ml.pipeline import PipelineOptions, load_score_curves
    from ml.scoring import Scorer
    from ml.types import LocalizationResult

    with open(base_run["result"]) as f:
        pred = json.load(f)
    curves = load_score_curves(base_run["curves"])
    decision = Scorer.load(PipelineOptions()).with_intervals(IntervalScorer.from_dict(scorer)).decide(curves)
    d = os.path.join(RUNS, os.path.basename(ep["dir"]), tag)
    os.makedirs(d, exist_ok=True)
    res = LocalizationResult(pred["video"], pred["duration_s"], decision.intervals, threshold=decision.threshold,
                             candidates=decision.candidates)
    out = dict(base_run, result=os.path.join(d, "result.json"))
    res.dump(out["result"])
    return out


# --------------------------------------------------------------------------- the reviewer
def review(ep: dict, run_: dict) -> list[Example]:
    """A reviewer who corrects the episode fully from the truth (module docstring)."""
    with open(ep["truth"]) as f:
        truth = json.load(f)["intervals"]
    with open(run_["result"]) as f:
        output = json.load(f)["intervals"]
    video = os.path.basename(ep["dir"])
    out = [Example(t["product_id"], float(t["start_s"]), float(t["end_s"]), 1, {"video": video, "user": "truth"})
           for t in truth]
    for i, iv in enumerate(output):
        mine = [t for t in truth if t["product_id"] == iv["product_id"]]
        if not any(min(iv["end_s"], t["end_s"]) > max(iv["start_s"], t["start_s"]) for t in mine):
            out.append(Example(iv["product_id"], float(iv["start_s"]), float(iv["end_s"]), 0,
                               {"video": video, "interval": i, "user": "truth"}))
    return out


def learned(views: list[View], runs: list[tuple], version: str) -> tuple[ShopMemory, dict]:
    """The shop's memory after some corrected episodes: all their views, and the refit when it
    improved on the held-back examples."""
    r = refit(runs)
    info = {"n_examples": sum(len(ex) for _, ex in runs), "n_views": len(views),
            "n_positive_views": sum(v.positive for v in views), "refit_tried": bool(r.before),
            "refit_improved": r.improved, "refit_before": r.before, "refit_after": r.after,
            "n_train": r.n_train, "n_held": r.n_held}
    return ShopMemory.from_views(views, r.scorer if r.improved else None, version), info


# --------------------------------------------------------------------------- the curve
def shop_curve(series: list[dict], ks: list[int], n_eval: int, log) -> dict:
    from ml.catalog import load_catalog
    from ml.pipeline import load_score_curves

    reviewed, evals = series[:len(series) - n_eval], series[len(series) - n_eval:]
    k_max = max(ks)
    if k_max > len(reviewed):
        raise ValueError(f"K={k_max} needs {k_max} reviewed episodes, the series has {len(reviewed)}")
    catalog = load_catalog(series[0]["catalog"])
    views: list[View] = []
    refit_runs: list[tuple] = []
    memories: dict[int, tuple[ShopMemory | None, dict]] = {0: (None, {"n_examples": 0, "n_views": 0})}
    memory = None
    for k in range(k_max):
        ep = reviewed[k]
        r = run(ep, "base" if memory is None else f"seq{k}", memory)
        examples = review(ep, r)
        views += harvest_views(ep["video"], r["evidence_obj"], catalog, examples)
        refit_runs.append((load_score_curves(r["curves"]), examples))
        memory, info = learned(views, refit_runs, f"{series[0]['spec']['shop']}:{k + 1}")
        memories[k + 1] = (memory, info)
        log(f"  after {k + 1} corrected: {info['n_examples']} examples, {info['n_views']} views, "
            f"refit {'activated' if info['refit_improved'] else 'not activated'} "
            f"({info.get('refit_before', {}).get('f1')} -> {info.get('refit_after', {}).get('f1')})")
    rows = {}
    for K in ks:
        mem, info = memories[K]
        views_only = ShopMemory(mem.vectors, mem.product_ids, mem.positive, None, mem.version) if mem else None
        per = {"without": [], "views": [], "views+refit": []}
        for ep in evals:
            plain = run(ep, "base", None)
            adapted = run(ep, f"k{K}", views_only) if views_only is not None and len(views_only) else plain
            both = redecide(ep, adapted, f"k{K}_refit", mem.scorer) if mem is not None and mem.scorer else adapted
            for name, rr in (("without", plain), ("views", adapted), ("views+refit", both)):
                per[name].append((ep, rr, evaluate_run(ep, rr)))
        rows[K] = {"memory": info, "per": per}
    return rows


def summarise(by_shop: dict[str, dict], ks: list[int]) -> list[dict]:
    out = []
    for K in ks:
        row = {"K": K, "n_examples": [s[K]["memory"]["n_examples"] for s in by_shop.values()],
               "n_views": [s[K]["memory"]["n_views"] for s in by_shop.values()],
               "refit_activated": [bool(s[K]["memory"].get("refit_improved")) for s in by_shop.values()]}
        for name in ("without", "views", "views+refit"):
            per = [x for s in by_shop.values() for x in s[K]["per"][name]]
            p = pooled(name, name, per)
            row[name] = {k: p.get(k) for k, _ in METRICS}
            row[name]["per_shop"] = {shop: {k: pooled(name, name, s[K]["per"][name]).get(k) for k, _ in METRICS}
                                     for shop, s in by_shop.items()}
        out.append(row)
    return out


def markdown(report: dict) -> str:
    def f(v):
        return "–" if v is None else f"{100 * v:.1f}"

    lines = [f"# Learning from corrections: the K curve ({report['split']} split)", "",
             f"- date: {report['date']}; machine: {report['machine']['cores']} cores, {report['machine']['cpu']}",
             f"- {report['n_shops']} shops x {report['episodes']} episodes ({report['video_min']:.1f} min of video, "
             f"shop episodes v{report['shop_version']}); measured on each shop's last {report['n_eval']} "
             f"episodes (never corrected); K = corrected episodes before them",
             f"- total {report['total_s'] / 60:.1f} min (generation {report['generation_s'] / 60:.1f} min)", "",
             "| K | examples (per shop) | views | refit activated | F1@0.5 without | F1@0.5 views | "
             "F1@0.5 views + refit | now-showing without | now-showing views + refit | R@1 without | R@1 views |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["curve"]:
        lines.append(f"| {r['K']} | {', '.join(map(str, r['n_examples']))} | {', '.join(map(str, r['n_views']))} | "
                     f"{sum(r['refit_activated'])}/{len(r['refit_activated'])} | {f(r['without']['f1@0.5'])} | "
                     f"{f(r['views']['f1@0.5'])} | {f(r['views+refit']['f1@0.5'])} | "
                     f"{f(r['without']['now_showing_accuracy'])} | {f(r['views+refit']['now_showing_accuracy'])} | "
                     f"{f(r['without']['R@1'])} | {f(r['views']['R@1'])} |")
    lines += ["", "Per shop, F1@0.5 without -> views + refit:", ""]
    shops = list(report["curve"][0]["without"]["per_shop"])
    lines += ["| K | " + " | ".join(shops) + " |", "|---|" + "---|" * len(shops)]
    for r in report["curve"]:
        cells = [f"{f(r['without']['per_shop'][s]['f1@0.5'])} -> {f(r['views+refit']['per_shop'][s]['f1@0.5'])}"
                 for s in shops]
        lines.append(f"| {r['K']} | " + " | ".join(cells) + " |")
    lines += ["", f"`ml.adapt.MIN_EXAMPLES` = {report['min_examples']} in this run.", ""]
    return "\n".join(lines)


def plot(report: dict, path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = [r["K"] for r in report["curve"]]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, (key, label) in zip(axes, METRICS):
        for name, style in (("without", "o--"), ("views", "s-"), ("views+refit", "^-")):
            if key == "R@1" and name == "views+refit":
                continue  # the refit changes the decision, not the curves R@1 reads
            ys = [100 * (r[name][key] or 0.0) for r in report["curve"]]
            ax.plot(ks, ys, style, label=name)
        ax.set_xlabel("K (corrected episodes)")
        ax.set_ylabel(f"{label} (%)")
        ax.set_xticks(ks)
        ax.set_ylim(50, 101)  # a full scale: differences of one interval stay one interval
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Learning from corrections: {report['n_shops']} shops, next {report['n_eval']} episodes each", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/adapt_curve.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shops", type=int, default=3)
    p.add_argument("--episodes", type=int, default=6, help="episodes per shop")
    p.add_argument("--eval", type=int, default=2, help="last episodes of each shop that are measured")
    p.add_argument("--ks", default="0,1,2,4")
    p.add_argument("--split", default="test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-s", type=float, default=60.0)
    p.add_argument("--max-s", type=float, default=120.0)
    p.add_argument("--jobs", type=int, default=1, help="episodes generated at once")
    p.add_argument("--data-root", default=None)
    p.add_argument("--name", default="adapt")
    p.add_argument("--generate-only", action="store_true", help="only make sure the episodes are in the cache")
    a = p.parse_args(argv)
    ks = sorted({int(k) for k in a.ks.split(",")})
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    t0 = time.time()
    specs = shop_suite(a.shops, a.episodes, a.seed, a.split, (a.min_s, a.max_s))
    eps, gen_s = ensure_episodes([s for series in specs for s in series], a.jobs, a.data_root)
    if a.generate_only:
        log(f"{len(eps)} shop episodes in the cache ({gen_s:.0f} s of generation)")
        return 0
    by_name = {e["name"]: e for e in eps}
    by_shop = {}
    for series in specs:
        shop = f"shop{series[0].shop}_{series[0].domain}_{series[0].difficulty}"
        log(f"{shop}:")
        by_shop[shop] = shop_curve([by_name[s.name] for s in series], ks, a.eval, log)
    report = {"name": a.name, "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": machine(), "split": a.split, "seed": a.seed, "n_shops": a.shops, "episodes": a.episodes,
              "n_eval": a.eval, "shop_version": SHOP_VERSION,
              "video_min": sum(e["spec"]["duration_s"] for e in eps) / 60, "generation_s": round(gen_s, 1),
              "min_examples": MIN_EXAMPLES, "curve": summarise(by_shop, ks),
              "memories": {shop: {K: v["memory"] for K, v in rows.items()} for shop, rows in by_shop.items()}}
    report["total_s"] = round(time.time() - t0, 1)
    os.makedirs(RESULTS, exist_ok=True)
    report["png"] = os.path.basename(plot(report, os.path.join(RESULTS, f"{a.name}.png")))
    with open(os.path.join(RESULTS, f"{a.name}.json"), "w") as f:
        json.dump(report, f, indent=1, default=float)
    md = markdown(report)
    with open(os.path.join(RESULTS, f"{a.name}.md"), "w") as f:
        f.write(md + f"\n![K curve]({report['png']})\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
