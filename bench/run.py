"""ShopFocus benchmark harness (`make bench`): generate the test suite, localize, evaluate, report.

    python bench/run.py                    # short suite + long streams + memory curve -> bench/results/latest.*
    python bench/run.py --quick            # one 30 s 640x360 episode -> bench/results/quick.*
    python bench/run.py --memory-curve     # peak RSS / RTF at 10, 60, 240 min -> bench/results/memory_curve.*
    python bench/run.py --split train --episodes 40 --long 2 --features-only   # fusion training data

Episodes are cached in bench/cache/<key>/ (key = generator version + settings + seed; shared by
several checkouts, so each is generated under a lock); pipeline outputs go to
bench/runs/<name>/<row>/<episode>/ (both gitignored). Every localize run is a subprocess; its
wall time, CPU time and peak RSS (``os.wait4``) are recorded.

Rows, per kind of episode (``bench/report.py`` pools them and writes the markdown):
- short episodes: ``default`` runs on every episode. The ablation rows (Fashion Focus Table 1 on
  our data, and each modality alone) need their own localize runs for mAP, so they run on an
  evenly spread subset (``--ablation-episodes``, default 6) and stop when the time budget
  (``--budget-min``) is spent; the ``curves:<modality>`` rows are the recall of each modality's
  own score array in the default run's curves, on every episode (no extra run, no mAP).
- long streams (``--long``, 60 min, 150+ products): ``long_default`` pooled, and one row per
  stream (its real-time factor at 60 minutes).
- memory curve (``bench/memory_curve.py``): the first long stream looped to 10/60/240 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import functools
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.memory_curve import LENGTHS_MIN, build_stream, plot, point  # noqa: E402
from bench.report import machine, markdown, pooled, reliability_png  # noqa: E402
from ml.eval import evaluate  # noqa: E402
from ml.eval.evaluate import check_truth, clean, prediction_sets  # noqa: E402
from ml.eval.retrieval import load_curves, modality_keys  # noqa: E402
from ml.synth import LONG_VERSION, SYNTH_VERSION, generate, load_sources, long_suite, suite  # noqa: E402
from ml.synth.suite import EpisodeSpec  # noqa: E402

# SHOPFOCUS_BENCH_DIR moves cache/, runs/ and results/ elsewhere (the test of --quick does).
BENCH_DIR = os.environ.get("SHOPFOCUS_BENCH_DIR") or os.path.join(REPO, "bench")
CACHE = os.path.join(BENCH_DIR, "cache")
RUNS = os.path.join(BENCH_DIR, "runs")
RESULTS = os.path.join(BENCH_DIR, "results")

# (row name, label, localize arguments)
DEFAULT_ROW = ("default", "default pipeline", [])
LONG_ROW = ("long_default", "default pipeline (long streams)", [])
# What the default row runs, spelled out: an ablation row with exactly these arguments reuses it.
DEFAULT_EQUIVALENT = {"--modalities": "visual,speech,comments", "--visual-mode": "tracklet"}
ABLATION_ROWS = [
    ("vis_img", "Vis.Img (visual, image features)", ["--modalities", "visual", "--visual-mode", "image"]),
    ("vis_trk", "Vis.Trk (visual, tracklet features)", ["--modalities", "visual", "--visual-mode", "tracklet"]),
    ("mlt_trk", "Mlt.Trk (cosine tracklets + speech + comments)",
     ["--modalities", "visual,speech,comments", "--visual-mode", "tracklet"]),
    ("mlt_trk_ocr", "Mlt.Trk (cosine tracklets) + screen text",
     ["--modalities", "visual,speech,comments,screen_text", "--visual-mode", "tracklet"]),
    ("speech", "speech alone", ["--modalities", "speech"]),
    ("screen_text", "screen text alone", ["--modalities", "screen_text"]),
    ("comments", "comments alone", ["--modalities", "comments"]),
    # the seed models (ml.seed) in the pipeline, in place of the cosine tracklet feature
    ("vis_asymnet", "Vis.Trk by AsymNet (Video2Shop)", ["--modalities", "visual", "--visual-mode", "asymnet"]),
    ("mlt_asymnet", "Mlt.Trk, AsymNet visual + speech + comments",
     ["--modalities", "visual,speech,comments", "--visual-mode", "asymnet"]),
    ("vis_lxmert", "Vis.Trk by LXMERT-style model (no text)", ["--modalities", "visual", "--visual-mode", "lxmert"]),
    ("mlt_lxmert", "Mlt.Trk, LXMERT-style fusion (+ speech + comments)",
     ["--modalities", "visual,speech,comments", "--visual-mode", "lxmert"]),
]


# --------------------------------------------------------------------------- generation
def _gen(args: tuple[EpisodeSpec, str | None]) -> tuple[str, float]:
    """Generate one episode into the cache under a lock: the cache is shared by several
    checkouts, and two harnesses must not write the same episode at once."""
    spec, data_root = args
    d = os.path.join(CACHE, spec.key())
    os.makedirs(CACHE, exist_ok=True)
    with open(d + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isfile(os.path.join(d, "DONE")):  # another process made it while we waited
            return d, 0.0
        t = time.time()
        generate(spec, d, data_root=data_root)
        with open(os.path.join(d, "DONE"), "w") as f:
            f.write(json.dumps(spec.to_dict()))
        return d, time.time() - t


def ensure_episodes(specs: list[EpisodeSpec], jobs: int, data_root: str | None) -> tuple[list[dict], float]:
    """Generate the episodes missing from the cache; returns their paths and generation time."""
    todo = [s for s in specs if not os.path.isfile(os.path.join(CACHE, s.key(), "DONE"))]
    t0 = time.time()
    if todo:
        load_sources(data_root)  # fail fast with a clear message when the data root is absent
        print(f"generating {len(todo)} episode(s) ({sum(s.duration_s for s in todo) / 60:.1f} min of video)...",
              file=sys.stderr)
        work = [(s, data_root) for s in todo]
        if jobs > 1 and len(work) > 1:
            with ProcessPoolExecutor(jobs) as ex:
                for d, sec in ex.map(_gen, work):
                    print(f"  {os.path.basename(d)}: {sec:.0f} s", file=sys.stderr)
        else:
            for w in work:
                d, sec = _gen(w)
                print(f"  {os.path.basename(d)}: {sec:.0f} s", file=sys.stderr)
    eps = []
    for s in specs:
        d = os.path.join(CACHE, s.key())
        eps.append({"name": s.name, "dir": d, "video": os.path.join(d, "video.mp4"),
                    "catalog": os.path.join(d, "catalog"), "comments": os.path.join(d, "comments.csv"),
                    "truth": os.path.join(d, "truth.json"), "spec": s.to_dict()})
    return eps, time.time() - t0


# --------------------------------------------------------------------------- running
RUN_KEYS = ("rc", "wall_s", "cpu_s", "peak_rss_mb")


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    """Hash of what a localize run depends on (ml/ sources and models): --reuse keys on it."""
    import hashlib

    h = hashlib.sha1()
    for root, _, files in sorted(os.walk(os.path.join(REPO, "ml"))):
        for f in sorted(files):
            if f.endswith((".py", ".json", ".pt")):
                with open(os.path.join(root, f), "rb") as fh:
                    h.update(f.encode() + fh.read())
    return h.hexdigest()[:12]


def run_localize(ep: dict, out_dir: str, args: list[str], extra: list[str], features: bool = False,
                 timeout_s: float = 3600, reuse: bool = False) -> dict:
    """One ``python -m ml localize`` subprocess; wall time and peak RSS via os.wait4. With
    ``reuse``, a finished run of the same command on the same code (``_code_version``) is read
    back instead of run again (its recorded wall time and RSS are kept)."""
    os.makedirs(out_dir, exist_ok=True)
    out = {"result": os.path.join(out_dir, "result.json"), "curves": os.path.join(out_dir, "curves.npz"),
           "log": os.path.join(out_dir, "log.txt")}
    cmd = [sys.executable, "-m", "ml", "localize", "--video", ep["video"], "--catalog", ep["catalog"],
           "--comments", ep["comments"], "--out", out["result"], "--curves", out["curves"], "--quiet"]
    if features:
        out["features"] = os.path.join(out_dir, "features.npz")
        cmd += ["--features", out["features"]]
    cmd += args + extra
    stamp = os.path.join(out_dir, "run.json")
    key = {"cmd": cmd, "code": _code_version()}
    if reuse and os.path.isfile(stamp) and os.path.isfile(out["result"]):
        with open(stamp) as f:
            done = json.load(f)
        if done.get("key") == key and done.get("rc") == 0:
            out.update({k: done.get(k) for k in RUN_KEYS}, reused=True)
            return out
    for p in (out["result"], out["curves"]):
        if os.path.exists(p):
            os.remove(p)
    t = time.time()
    with open(out["log"], "w") as log:
        log.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        deadline = t + timeout_s
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.time() > deadline:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.update(rc=proc.returncode, wall_s=round(time.time() - t, 2), cpu_s=round(ru.ru_utime + ru.ru_stime, 2),
               peak_rss_mb=round(ru.ru_maxrss / 1024, 1))
    with open(stamp, "w") as f:
        json.dump({"key": key, **{k: out[k] for k in RUN_KEYS}}, f)
    if proc.returncode != 0:
        with open(out["log"], errors="replace") as f:
            out["error"] = f.read()[-800:]
    return out


def evaluate_run(ep: dict, run: dict) -> dict | None:
    if run["rc"] != 0 or not os.path.isfile(run["result"]):
        return None
    with open(run["result"]) as f:
        pred = json.load(f)
    with open(ep["truth"]) as f:
        truth = json.load(f)
    curves = load_curves(run["curves"]) if os.path.isfile(run["curves"]) else None
    m = evaluate(pred, truth, curves, wall_s=run["wall_s"])
    output, proposals, threshold = prediction_sets(pred)
    return {"metrics": m, "pred": proposals, "output": output, "threshold": threshold, "truth": check_truth(truth),
            "duration_s": pred.get("duration_s") or ep["spec"]["duration_s"], "curves": curves}


# --------------------------------------------------------------------------- seed tables
def run_seed_tables(data_root: str | None) -> dict | None:
    """Both papers' tables for the seed models on the TEST products (``ml.seed.evaluate``):
    Video2Shop's top-k within category and Fashion Focus' recall@k. Features of the real photos
    are computed once and cached under bench/cache/seed/."""
    import torch

    from ml.seed import evaluate as seed_eval
    from ml.seed.asymnet import AsymNetScorer
    from ml.seed.data import SeedData, SeedDataOptions, build_cache

    print("seed tables (ml.seed.evaluate) on the test products", file=sys.stderr)
    t = time.time()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = SeedData.load(build_cache(SeedDataOptions(seed=0), root=data_root,
                                         log=lambda m: print(m, file=sys.stderr)))
        v2s = seed_eval.video2shop_table(data, AsymNetScorer.load().model, "test", 2, levels=[5, 1],
                                         log=lambda m: print(m, file=sys.stderr))
        ff = seed_eval.fashion_focus_table(data, None, "test", 2, log=lambda m: print(m, file=sys.stderr))
    except Exception as e:  # noqa: BLE001 - the pipeline rows stand without them; say why
        print(f"seed tables failed: {e}", file=sys.stderr)
        return {"error": str(e)}
    finally:
        torch.set_num_threads(threads)
    return {"video2shop": v2s, "fashion_focus": ff, "seconds": round(time.time() - t, 1)}


def spread(n: int, k: int) -> list[int]:
    if k >= n:
        return list(range(n))
    return sorted(set(int(round(x)) for x in np.linspace(0, n - 1, k)))


# --------------------------------------------------------------------------- main
def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one 30 s 640x360 episode, default row only")
    p.add_argument("--episodes", type=int, default=18, help="short episodes (0: none)")
    p.add_argument("--long", type=int, default=None,
                   help="long streams (60 min, 150+ products; default 2 for the test split's full run, else 0)")
    p.add_argument("--long-min", type=float, default=60.0, help="length of each long stream (minutes)")
    p.add_argument("--memory-curve", action="store_true",
                   help="only the memory-versus-length measurement (10/60/240 min loops of the first long stream)")
    p.add_argument("--no-memory-curve", action="store_true", help="leave the memory-versus-length part out")
    p.add_argument("--lengths", default=",".join(str(x) for x in LENGTHS_MIN),
                   help="memory curve lengths in minutes (default 10,60,240)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-s", type=float, default=120.0, help="shortest episode (s)")
    p.add_argument("--max-s", type=float, default=180.0, help="longest episode (s)")
    p.add_argument("--size", default="1280x720")
    p.add_argument("--extra-args", default="", help="appended to every localize command")
    p.add_argument("--ablation-episodes", type=int, default=6)
    p.add_argument("--no-ablation", action="store_true")
    p.add_argument("--reuse", action="store_true",
                   help="read back runs already made by the same command on the same ml/ code instead of running them")
    p.add_argument("--no-seed-tables", action="store_true",
                   help="skip the two papers' tables of the seed models (ml.seed.evaluate)")
    p.add_argument("--budget-min", type=float, default=60.0,
                   help="short rows: stop starting localize runs after this many minutes (0: no limit); "
                        "skipped rows are marked (the long rows and the memory curve always run)")
    p.add_argument("--features-only", action="store_true",
                   help="generate and run localize with --curves/--features (no report): fusion training data")
    p.add_argument("--generate-only", action="store_true")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="parallel generation (short episodes)")
    p.add_argument("--data", default=None, help="data root (default $SHOPFOCUS_DATA or ../shared/data)")
    p.add_argument("--name", default=None, help="results name (default latest, quick for --quick)")
    p.add_argument("--note", default="", help="a line for the report (e.g. which code this is)")
    a = p.parse_args(argv)
    if a.long is None:
        a.long = 2 if a.split == "test" and not a.quick and not a.features_only else 0
    if a.memory_curve:  # the curve loops the first long stream: the second is not needed
        a.episodes, a.long = 0, 1
    if a.quick:
        a.long = 0
    return a


class Bench:
    """One harness invocation: runs rows and records every episode's run and metrics."""

    def __init__(self, a, run_root: str, extra: list[str]):
        self.a, self.run_root, self.extra = a, run_root, extra
        self.episodes_out: dict = {}

    def row(self, row, subset, deadline=None, timeout_s: float = 3600) -> list:
        rname, label, args = row
        per = []
        for ep in subset:
            if deadline is not None and time.time() > deadline:
                print(f"  [{rname}] time budget spent: {len(per)} of {len(subset)} episodes run", file=sys.stderr)
                break
            run = run_localize(ep, os.path.join(self.run_root, rname, ep["name"]), args, self.extra,
                               timeout_s=timeout_s, reuse=self.a.reuse)
            ev = evaluate_run(ep, run)
            per.append((ep, run, ev))
            status = ("ok" if ev else f"FAILED rc {run['rc']}") + (" (reused)" if run.get("reused") else "")
            print(f"  [{rname}] {ep['name']}: {status}, {run['wall_s']:.0f} s, {run['peak_rss_mb']:.0f} MB",
                  file=sys.stderr)
            self.episodes_out.setdefault(ep["name"], {"spec": ep["spec"]})[rname] = {
                "run": {k: run.get(k) for k in RUN_KEYS} | ({"error": run["error"]} if "error" in run else {}),
                "metrics": ev["metrics"] if ev else None}
        return per

    def short_rows(self, eps: list[dict], t_start: float) -> list[dict]:
        a, extra = self.a, self.extra
        rows = []
        budget_s = a.budget_min * 60
        print(f"row default on {len(eps)} short episodes", file=sys.stderr)
        # The default row keeps going until the budget is spent (then the table says how many ran).
        per_default = self.row(DEFAULT_ROW, eps, t_start + budget_s if a.budget_min > 0 else None)
        rows.append(pooled(*DEFAULT_ROW[:2], per_default))
        if len(per_default) < len(eps):
            rows[-1]["label"] += f" [time budget: {len(per_default)} of {len(eps)} episodes]"
        mods = sorted({k for _, _, ev in per_default if ev and ev["curves"] for k in modality_keys(ev["curves"])})
        for k in mods:
            rows.append(pooled(f"curves_{k[2:]}", f"curves: {k[2:]} alone (default run)", per_default, k,
                               with_map=False))
        if a.quick or a.no_ablation:
            return rows
        idx = spread(len(eps), a.ablation_episodes)
        subset = [eps[i] for i in idx]
        sub_names = {e["name"] for e in subset}
        per_sub = [x for x in per_default if x[0]["name"] in sub_names]
        if len(per_sub) < len(subset):  # the budget cut the default row short: run what it covered
            subset = [x[0] for x in per_sub]
        rows.append(pooled("default_subset", "default pipeline (ablation subset)", per_sub))
        # time per ablation run ~ the default run's wall time on the subset (single modalities are faster)
        est = sum(r.get("wall_s", 0) for _, r, _ in per_sub)
        for row in ABLATION_ROWS:
            if dict(zip(row[2][::2], row[2][1::2])) == DEFAULT_EQUIVALENT and not set(extra) & set(DEFAULT_EQUIVALENT):
                rows.append(pooled(row[0], row[1] + " (= default run)", per_sub))  # the same run: reuse it
                continue
            if not subset:
                rows.append({"row": row[0], "label": row[1], "skipped": "no episode"})
                continue
            left = budget_s - (time.time() - t_start) if a.budget_min > 0 else float("inf")
            if est > left:
                rows.append({"row": row[0], "label": row[1], "skipped": f"time budget ({left / 60:.1f} min left)"})
                continue
            print(f"row {row[0]} on {len(subset)} episodes", file=sys.stderr)
            t = time.time()
            rows.append(pooled(row[0], row[1], self.row(row, subset)))
            est = min(est, time.time() - t) if est else time.time() - t
        for r in rows:  # drop the ablation-subset "episodes" ambiguity in the table
            if r.get("row") in {x[0] for x in ABLATION_ROWS} | {"default_subset"} and not r.get("skipped"):
                r["label"] += f" [subset of {r['episodes']}]"
        return rows

    def long_rows(self, eps: list[dict]) -> tuple[list[dict], list]:
        """The default pipeline on every long stream (no ablations: each costs minutes per stream),
        pooled and one row per stream (the 60-minute real-time-factor rows)."""
        print(f"row long_default on {len(eps)} long streams", file=sys.stderr)
        per = self.row(LONG_ROW, eps, timeout_s=4 * 3600)
        rows = [pooled(*LONG_ROW[:2], per, kind="long")]
        for ep, run, ev in per:
            n = ep["spec"]["catalog_size"]
            rows.append(pooled("long_episode", f"{ep['name']} ({ep['spec']['duration_s'] / 60:g} min, {n} products)",
                               [(ep, run, ev)], kind="long"))
        return rows, per

    def memory_curve(self, src: dict, lengths: list[float], known: dict) -> dict:
        """Peak RSS and real-time factor at each length (minutes), streams looped from ``src``."""
        points = []
        n = sum(1 for _ in open(os.path.join(src["catalog"], "products.csv"))) - 1
        for minutes in lengths:
            if minutes * 60 == src["spec"]["duration_s"] and minutes in known:
                ep, run, ev = known[minutes]  # the long row already ran this very stream
            else:
                ep = build_stream(src, minutes, CACHE)
                print(f"  [memory] {minutes:g} min stream", file=sys.stderr)
                run = run_localize(ep, os.path.join(self.run_root, "memory", ep["name"]), [], self.extra,
                                   timeout_s=max(3600, minutes * 60), reuse=self.a.reuse)
                ev = evaluate_run(ep, run)
            points.append(point(minutes, ep, run, ev, n))
            print(f"  [memory] {minutes:g} min: {run['peak_rss_mb']:.0f} MB, {run['wall_s']:.0f} s", file=sys.stderr)
        return {"source": src["name"], "products": n, "points": points}


def _features_only(eps: list[dict], run_root: str, extra: list[str], split: str) -> int:
    manifest = []
    for ep in eps:
        run = run_localize(ep, os.path.join(run_root, ep["name"]), [], extra, features=True, timeout_s=4 * 3600)
        print(f"  {ep['name']}: rc {run['rc']} in {run['wall_s']:.0f} s", file=sys.stderr)
        manifest.append({**{k: ep[k] for k in ("name", "video", "catalog", "comments", "truth")},
                         **{k: run.get(k) for k in ("result", "curves", "features", "rc", "wall_s")},
                         "long": bool(ep["spec"].get("catalog_size"))})
    os.makedirs(run_root, exist_ok=True)
    with open(os.path.join(run_root, "manifest.json"), "w") as f:
        json.dump({"split": split, "synth_version": SYNTH_VERSION, "long_version": LONG_VERSION,
                   "episodes": manifest}, f, indent=1)
    print(os.path.join(run_root, "manifest.json"))
    return 0 if all(m["rc"] == 0 for m in manifest) else 1


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    t_start = time.time()
    w, h = (int(x) for x in a.size.lower().split("x"))
    short_specs = suite(a.episodes, a.seed, a.split, a.quick, (a.min_s, a.max_s), (w, h)) if a.episodes or a.quick else []
    long_specs = long_suite(a.long, a.seed, a.split, a.long_min * 60, (w, h))
    name = a.name or ("quick" if a.quick else ("features_" + a.split if a.features_only else
                                              ("memory_curve" if a.memory_curve else "latest")))
    try:
        eps, gen_s = ensure_episodes(short_specs, a.jobs, a.data)
        long_eps, gen_long_s = ensure_episodes(long_specs, 1, a.data)  # one at a time: minutes each
    except Exception as e:  # noqa: BLE001 - a person must read this
        print(f"error: episode generation failed: {e}", file=sys.stderr)
        return 2
    print(f"{len(eps)} short and {len(long_eps)} long episodes ready ({gen_s + gen_long_s:.0f} s generating)",
          file=sys.stderr)
    if a.generate_only:
        return 0
    extra = shlex.split(a.extra_args)
    run_root = os.path.join(RUNS, name)
    if a.features_only:
        return _features_only(eps + long_eps, run_root, extra, a.split)

    bench = Bench(a, run_root, extra)
    timing = {"generation_s": round(gen_s + gen_long_s, 1)}
    rows: list[dict] = []
    t = time.time()
    if eps:
        rows += bench.short_rows(eps, t_start)
    timing["short_rows_s"] = round(time.time() - t, 1)
    t = time.time()
    long_per = []
    if long_eps and not a.memory_curve:
        long_rows, long_per = bench.long_rows(long_eps)
        rows += long_rows
    timing["long_rows_s"] = round(time.time() - t, 1)
    t = time.time()
    memory = None
    if long_eps and (a.memory_curve or not a.no_memory_curve) and not a.quick:
        known = {long_eps[0]["spec"]["duration_s"] / 60: long_per[0]} if long_per else {}
        memory = bench.memory_curve(long_eps[0], [float(x) for x in a.lengths.split(",") if x.strip()], known)
    timing["memory_curve_s"] = round(time.time() - t, 1)
    t = time.time()
    seed_tables = None
    if eps and not a.quick and not a.no_seed_tables:
        seed_tables = run_seed_tables(a.data)
    timing["seed_tables_s"] = round(time.time() - t, 1)
    all_eps = eps + long_eps
    report = {"name": name, "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "split": a.split, "seed": a.seed, "synth_version": SYNTH_VERSION, "long_version": LONG_VERSION,
              "n_episodes": len(all_eps), "n_long": len(long_eps),
              "video_min": sum(e["spec"]["duration_s"] for e in all_eps) / 60, "generation_s": gen_s + gen_long_s,
              "extra_args": a.extra_args, "note": a.note, "total_s": time.time() - t_start, "timing": timing,
              "rows": rows, "episodes": bench.episodes_out, "seed_tables": seed_tables, "memory_curve": memory}
    os.makedirs(RESULTS, exist_ok=True)
    png = reliability_png(rows, os.path.join(RESULTS, f"{name}_reliability.png"))
    report["reliability_png"] = os.path.basename(png) if png else None  # next to the markdown
    if memory:
        mpng = plot(memory["points"], os.path.join(RESULTS, f"{name}_memory.png"),
                    f"python -m ml localize on {memory['source']} looped ({memory['products']} products)")
        memory["png"] = os.path.basename(mpng)
    with open(os.path.join(RESULTS, f"{name}.json"), "w") as f:
        json.dump(clean(report), f, indent=1)
    md = markdown(report)
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as f:
        f.write(md)
    print(md)
    ok = all(not r.get("failed") for r in rows if not r.get("skipped"))
    ok = ok and not (memory and any(p.get("rc") for p in memory["points"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
