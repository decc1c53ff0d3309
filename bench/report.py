"""Pooling of per-episode evaluations into benchmark rows, and the markdown report.

Pooled over the episodes of a row: recall over all true intervals; mAP over (episode, product)
pairs that have truth; median boundary error over all pairs matched at tIoU 0.3; the
operating-point metrics by summing their counts (F1 over all intervals, false alarms over all
idle instants, now-showing over all shown instants); ECE over all output intervals (bins
added); real-time factor = total video seconds / total wall seconds (and / total CPU seconds);
peak RSS = max over runs.
"""

from __future__ import annotations

import os
import platform

import numpy as np

from ml.eval import calibration as cal
from ml.eval.evaluate import clean
from ml.eval.localization import localization_metrics
from ml.eval.operating import operating_metrics
from ml.eval.operating import pool as pool_operating
from ml.eval.retrieval import KS, curves_recall

OPERATING_KEYS = ("precision@0.5", "recall@0.5", "f1@0.5", "proposals_per_true", "false_alarm_rate",
                  "now_showing_accuracy")


def pooled(name: str, label: str, per_ep: list[tuple[dict, dict, dict | None]], curve_key: str = "fused",
           with_map: bool = True, kind: str = "short") -> dict:
    """Aggregate one row over episodes: [(episode, run, evaluation or None)]. An evaluation has
    ``pred`` (every scored proposal), ``output`` (the intervals as output; ``pred`` when absent),
    ``truth``, ``duration_s`` and ``curves``."""
    ranks, cats, preds, truths, ops, cals, cals_all = [], [], [], [], [], [], []
    video_s = wall_s = cpu_s = 0.0
    rss = 0.0
    failed = 0
    thresholds = set()
    for ep, run, ev in per_ep:
        if ev is None:
            failed += 1
            continue
        if ev["curves"] is not None and curve_key in ev["curves"]:
            ranks += curves_recall(ev["truth"], ev["curves"], curve_key)["ranks"]
            cats += [t.get("category") or "all" for t in ev["truth"]]
        elif curve_key != "fused":
            continue
        tag = ep["name"] + "/"
        preds += [{**p, "product_id": tag + str(p["product_id"])} for p in ev["pred"]]
        truths += [{**t, "product_id": tag + str(t["product_id"])} for t in ev["truth"]]
        output = ev.get("output", ev["pred"])
        ops.append(operating_metrics(output, ev["truth"], float(ev["duration_s"])))
        cals.append(cal.calibration(output, ev["truth"])["raw"])
        cals_all.append(cal.calibration(ev["pred"], ev["truth"])["raw"])
        thresholds.add(ev.get("threshold"))
        video_s += float(ev["duration_s"])
        wall_s += float(run.get("wall_s") or 0)
        cpu_s += float(run.get("cpu_s") or 0)
        rss = max(rss, float(run.get("peak_rss_mb") or 0))
    row = {"row": name, "label": label, "kind": kind, "episodes": len(per_ep) - failed, "failed": failed,
           "intervals": len(ranks)}
    r = np.asarray(ranks)
    for k in KS:
        row[f"R@{k}"] = float(np.mean(r <= k)) if len(r) else None
    row["per_category"] = {c: {"n": int(np.sum(np.asarray(cats) == c)),
                               **{f"R@{k}": float(np.mean(r[np.asarray(cats) == c] <= k)) for k in KS}}
                           for c in sorted(set(cats))}
    if with_map and truths:
        lm = localization_metrics(preds, truths)
        for key in ("mAP@0.3", "mAP@0.5", "mAP@0.7", "mAP_mean", "median_boundary_error_s"):
            row[key] = lm[key]
        op = pool_operating(ops)
        row.update({k: op[k] for k in OPERATING_KEYS})
        row["operating_counts"] = {k: v for k, v in op.items() if k not in OPERATING_KEYS}
        row["calibration"] = cal.pool(cals)
        row["ece"] = row["calibration"]["ece"]
        row["ece_all"] = cal.pool(cals_all)["ece"]
        known = sorted(t for t in thresholds if t is not None)
        row["threshold"] = (known[0] if len(known) == 1 else known) if known else None
    row["rtf"] = video_s / wall_s if wall_s and with_map else None
    row["rtf_cpu"] = video_s / cpu_s if cpu_s and with_map else None
    row["cpu_s"] = cpu_s if with_map else None
    row["peak_rss_mb"] = rss if with_map else None
    row["video_s"] = video_s
    return clean(row)


def fmt(v, pct=False, nd=2):
    if v is None:
        return "–"
    return f"{100 * v:.1f}" if pct else f"{v:.{nd}f}"


def _episodes_cell(r: dict) -> str:
    return f"{r['episodes']}" + (f" ({r['failed']} failed)" if r.get("failed") else "")


def ranking_table(rows: list[dict]) -> list[str]:
    lines = ["| row | episodes | R@1 | R@5 | R@20 | mAP@0.3 | mAP@0.5 | mAP@0.7 | mAP avg | median boundary err (s) | "
             "RTF (x real time) | RTF per CPU s | peak RSS (MB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("skipped"):
            lines.append(f"| {r['label']} | skipped: {r['skipped']} |" + " |" * 11)
            continue
        lines.append("| " + " | ".join([
            r["label"], _episodes_cell(r), fmt(r.get("R@1"), True), fmt(r.get("R@5"), True),
            fmt(r.get("R@20"), True), fmt(r.get("mAP@0.3"), True), fmt(r.get("mAP@0.5"), True),
            fmt(r.get("mAP@0.7"), True), fmt(r.get("mAP_mean"), True), fmt(r.get("median_boundary_error_s"), nd=1),
            fmt(r.get("rtf"), nd=1 if (r.get("rtf") or 0) >= 1 else 2),
            fmt(r.get("rtf_cpu"), nd=1 if (r.get("rtf_cpu") or 0) >= 1 else 2),
            fmt(r.get("peak_rss_mb"), nd=0)]) + " |")
    return lines


def operating_table(rows: list[dict]) -> list[str]:
    lines = ["| row | episodes | threshold | precision@0.5 | recall@0.5 | F1@0.5 | proposals per true | "
             "false alarms | now-showing | ECE (output) | ECE (all proposals) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("skipped") or r.get("f1@0.5", "absent") == "absent":
            continue
        thr = r.get("threshold")
        lines.append("| " + " | ".join([
            r["label"], _episodes_cell(r), "–" if thr is None else (fmt(thr) if isinstance(thr, float) else "varies"),
            fmt(r.get("precision@0.5")), fmt(r.get("recall@0.5")), fmt(r.get("f1@0.5")),
            fmt(r.get("proposals_per_true")), fmt(r.get("false_alarm_rate")),
            fmt(r.get("now_showing_accuracy")), fmt(r.get("ece"), nd=3), fmt(r.get("ece_all"), nd=3)]) + " |")
    return lines


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# ShopFocus benchmark ({report['split']} split)", "",
             f"- date: {report['date']}", f"- machine: {m['cores']} cores, {m['cpu']}, {m['python']}",
             f"- suite: {report['n_episodes']} episodes ({report.get('n_long', 0)} long), "
             f"{report['video_min']:.1f} min of video, synth v{report['synth_version']} "
             f"(long streams v{report.get('long_version', '–')}), seed {report['seed']}; generation "
             f"{report['generation_s']:.0f} s (0 when cached); total {report['total_s'] / 60:.1f} min",
             f"- extra localize args: `{report['extra_args'] or '(none)'}`"]
    tm = report.get("timing")
    if tm:
        lines.append("- time spent (min): " + ", ".join(f"{k[:-2].replace('_', ' ')} {v / 60:.1f}" for k, v in tm.items()))
    if report.get("note"):
        lines.append(f"- note: {report['note']}")
    kinds = [k for k in ("short", "long") if any(r.get("kind", "short") == k for r in report["rows"])]
    for kind in kinds:
        rows = [r for r in report["rows"] if r.get("kind", "short") == kind]
        title = {"short": "Short episodes (2-3 min, 20-60 products)",
                 "long": "Long streams (60 min, 150+ products with look-alikes, 30 %+ of the time no product shown)"}[kind]
        lines += ["", f"## {title}", "", "Ranking (Fashion Focus / Video2Shop recall, ActivityNet mAP) and cost:", ""]
        lines += ranking_table(rows)
        op = operating_table(rows)
        if len(op) > 2:
            lines += ["", "At the operating point (the intervals as output, tIoU 0.5; see `bench/README.md`):", ""]
            lines += op
        default = next((r for r in rows if r.get("row") in ("default", "long_default")), None)
        if default and default.get("per_category"):
            lines += ["", f"Default pipeline recall per category (%), {kind} episodes:", "",
                      "| category | intervals | R@1 | R@5 | R@20 |", "|---|---|---|---|---|"]
            for c, v in default["per_category"].items():
                lines.append(f"| {c} | {v['n']} | {fmt(v['R@1'], True)} | {fmt(v['R@5'], True)} | "
                             f"{fmt(v['R@20'], True)} |")
    mem = report.get("memory_curve")
    if mem:
        from bench.memory_curve import table

        lines += ["", "## Memory and speed against video length", "",
                  f"`python -m ml localize` (default settings) on streams looped with `ffmpeg -c copy` from "
                  f"`{mem['source']}`, its {mem['products']}-product list as the catalog; peak RSS and CPU time "
                  "from `os.wait4`. Budgets: 1.5 GB at every length, 30x real time at 60 min.", ""]
        lines += table(mem["points"])
        if mem.get("png"):
            lines += ["", f"![memory and real-time factor against length]({mem['png']})"]
    if report.get("reliability_png"):
        lines += ["", "Reliability diagram of the default rows (interval scores as output against the share that "
                  f"match a true interval at tIoU 0.5): ![reliability diagram]({report['reliability_png']})"]
    lines += ["", "Recall and mAP in %; the operating-point columns are shares (0-1). Ablation rows run on the "
              "subset named in `episodes` (see `bench/README.md`); `curves:` rows rank products by one "
              "modality's own score array of the default run (recall only). RTF per CPU s = video seconds / "
              "(user + sys) seconds of the localize process: less sensitive than wall time to a shared machine. "
              f"Per-episode metrics: `{report['name']}.json`."]
    seed = report.get("seed_tables") or {}
    if seed.get("video2shop"):
        from ml.seed.evaluate import format_fashion_focus, format_video2shop

        lines += ["", "## Seed models on the test products (`python -m ml.seed.evaluate`)", "",
                  format_video2shop(seed["video2shop"]), "", format_fashion_focus(seed["fashion_focus"])]
    elif seed.get("error"):
        lines += ["", f"Seed tables failed: {seed['error']}"]
    return "\n".join(lines) + "\n"


def reliability_png(rows: list[dict], path: str) -> str | None:
    """The default rows' reliability diagrams (one panel per kind) as one PNG."""
    kinds = {"short": "short episodes", "long": "long streams"}
    panels = [(f"default pipeline, {kinds[r.get('kind', 'short')]}", r["calibration"])
              for r in rows if r.get("row") in ("default", "long_default") and r.get("calibration")]
    if not panels:
        return None
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return cal.reliability_diagram(panels, path)


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform()}
