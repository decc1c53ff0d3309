"""Memory and speed against video length (issue 13): 10, 60 and 240 minute streams.

Each stream is a long test episode looped with ``ffmpeg -f concat ... -c copy`` (no re-encode)
and cut to length (``-t``), its comments and truth repeated with the loop's time offset, and
the source episode's product list as the catalog. Streams are cached under
``bench/cache/loops/``. ``python -m ml localize`` runs on each (one subprocess per length,
peak RSS and CPU time from ``os.wait4``), and the harness writes a table and a plot (peak RSS
and real-time factor against length, with the 1.5 GB and 30x budgets drawn in).
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess

LENGTHS_MIN = (10, 60, 240)
RSS_BUDGET_MB = 1536
RTF_TARGET = 30.0


def _duration(path: str) -> float:
    import av

    with av.open(path) as c:
        return float(c.duration) / 1e6


def build_stream(src: dict, minutes: float, cache: str) -> dict:
    """A ``minutes`` long stream looped from the episode ``src`` (dict with video, catalog,
    comments, truth, dir): returns an episode dict of the same shape (cached)."""
    name = f"{os.path.basename(src['dir'].rstrip('/'))}_{minutes:g}min"
    d = os.path.join(cache, "loops", name)
    ep = {"name": f"loop_{minutes:g}min", "dir": d, "video": os.path.join(d, "video.mp4"), "catalog": src["catalog"],
          "comments": os.path.join(d, "comments.csv"), "truth": os.path.join(d, "truth.json"),
          "spec": {"duration_s": minutes * 60.0, "source": src["name"], "minutes": minutes}}
    if os.path.isfile(os.path.join(d, "DONE")):
        return ep
    os.makedirs(d, exist_ok=True)
    total = minutes * 60.0
    one = _duration(src["video"])
    loops = max(1, math.ceil(total / one - 1e-6))
    lst = os.path.join(d, "loop.txt")
    with open(lst, "w") as f:
        f.writelines(f"file '{os.path.abspath(src['video'])}'\n" for _ in range(loops))
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", lst, "-c", "copy",
           "-t", f"{total:.3f}", "-movflags", "+faststart", ep["video"]]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not loop {src['video']}: {proc.stderr.strip()[-400:]}")
    with open(src["truth"]) as f:
        truth = json.load(f)["intervals"]
    looped = []
    for k in range(loops):
        for iv in truth:
            s, e = iv["start_s"] + k * one, min(iv["end_s"] + k * one, total)
            if s < total and e > s:
                looped.append({**iv, "start_s": round(s, 3), "end_s": round(e, 3)})
    with open(ep["truth"], "w") as f:
        json.dump({"intervals": looped}, f)
    with open(src["comments"], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(ep["comments"], "w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f)
        wr.writerow(["time_s", "user", "text"])
        for k in range(loops):
            for r in rows:
                t = float(r["time_s"]) + k * one
                if t < total:
                    wr.writerow([f"{t:.2f}", r["user"], r["text"]])
    with open(os.path.join(d, "DONE"), "w") as f:
        json.dump({"source": src["video"], "loops": loops, "source_s": one, "minutes": minutes}, f)
    return ep


def point(minutes: float, ep: dict, run: dict, evaluation: dict | None, catalog_size: int) -> dict:
    op = (evaluation or {}).get("metrics", {}).get("operating", {})
    dur = minutes * 60.0
    return {"minutes": minutes, "products": catalog_size, "rc": run.get("rc"), "wall_s": run.get("wall_s"),
            "cpu_s": run.get("cpu_s"), "peak_rss_mb": run.get("peak_rss_mb"),
            "rtf": dur / run["wall_s"] if run.get("wall_s") else None,
            "rtf_cpu": dur / run["cpu_s"] if run.get("cpu_s") else None,
            "f1@0.5": op.get("f1@0.5"), "now_showing_accuracy": op.get("now_showing_accuracy"),
            "false_alarm_rate": op.get("false_alarm_rate"), "reused": bool(run.get("reused"))}


def table(points: list[dict]) -> list[str]:
    def f(v, nd=1):
        return "–" if v is None else f"{v:.{nd}f}"

    lines = ["| length (min) | products | peak RSS (MB) | wall (s) | CPU (s) | RTF (x real time) | RTF per CPU s | "
             "F1@0.5 | now-showing | false alarms |", "|---|---|---|---|---|---|---|---|---|---|"]
    for p in points:
        lines.append(f"| {p['minutes']:g} | {p['products']} | {f(p['peak_rss_mb'], 0)} | {f(p['wall_s'], 0)} | "
                     f"{f(p['cpu_s'], 0)} | {f(p['rtf'])} | {f(p['rtf_cpu'])} | {f(p['f1@0.5'], 2)} | "
                     f"{f(p['now_showing_accuracy'], 2)} | {f(p['false_alarm_rate'], 2)} |"
                     + (" failed" if p.get("rc") else ""))
    return lines


def plot(points: list[dict], path: str, title: str = "") -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [p for p in points if not p.get("rc") and p.get("peak_rss_mb")]
    xs = [p["minutes"] for p in ok]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(xs, [p["peak_rss_mb"] for p in ok], "o-", label="peak RSS of localize")
    a1.axhline(RSS_BUDGET_MB, ls="--", color="red", label=f"budget {RSS_BUDGET_MB} MB")
    a1.set_xlabel("video length (min)")
    a1.set_ylabel("peak RSS (MB)")
    a1.set_ylim(0, max([RSS_BUDGET_MB * 1.2] + [p["peak_rss_mb"] * 1.15 for p in ok]))
    a1.legend(fontsize=8)
    a2.plot(xs, [p["rtf"] for p in ok], "o-", label="wall clock")
    a2.plot(xs, [p["rtf_cpu"] for p in ok], "s--", label="per CPU second (user+sys)")
    a2.axhline(RTF_TARGET, ls="--", color="red", label=f"target {RTF_TARGET:g}x")
    a2.set_xlabel("video length (min)")
    a2.set_ylabel("real-time factor (video s / s)")
    a2.set_ylim(0, max([RTF_TARGET * 1.2] + [(p["rtf_cpu"] or 0) * 1.15 for p in ok]))
    a2.legend(fontsize=8)
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.set_xticks(xs)
        ax.set_xticklabels([f"{x:g}" for x in xs])
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
