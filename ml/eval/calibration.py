"""Calibration of interval scores read as P(the interval matches a true one at tIoU 0.5).

An interval's outcome is ``operating.match_flags`` (greedy by score within its product, one
match per true interval). Scores are clipped to [0, 1] and put in ``N_BINS`` equal-width bins
([0, .1), [.1, .2), ..., [.9, 1.0]); each bin keeps its count, score sum and match count, so a
suite pools bins by adding them. Expected calibration error:

    ECE = sum over bins of |sum of scores - number of matches| / total count
        = sum_b (n_b / N) * |mean score_b - match rate_b|

``reliability_diagram`` draws the bins (matplotlib, Agg backend) as a PNG: match rate per bin
against its mean score, the diagonal, and how many intervals fall in each bin.
"""

from __future__ import annotations

import numpy as np

from .operating import THETA, match_flags

N_BINS = 10


def bins_of(scores, matched, n_bins: int = N_BINS) -> dict:
    s = np.clip(np.asarray(scores, float), 0.0, 1.0)
    y = np.asarray(matched, bool)
    idx = np.minimum((s * n_bins).astype(int), n_bins - 1)
    return {"n": np.bincount(idx, minlength=n_bins).tolist(),
            "sum_score": np.bincount(idx, weights=s, minlength=n_bins).tolist(),
            "n_match": np.bincount(idx, weights=y.astype(float), minlength=n_bins).astype(int).tolist(),
            "sum_sq_err": float(np.sum((s - y) ** 2))}


def summary(b: dict) -> dict:
    """ECE, Brier score and the per-bin table of (pooled) bins."""
    n = np.asarray(b["n"], float)
    total = float(n.sum())
    ss, nm = np.asarray(b["sum_score"], float), np.asarray(b["n_match"], float)
    k = len(n)
    table = [{"lo": i / k, "hi": (i + 1) / k, "n": int(n[i]),
              "mean_score": float(ss[i] / n[i]) if n[i] else None,
              "match_rate": float(nm[i] / n[i]) if n[i] else None} for i in range(k)]
    return {"n": int(total), "ece": float(np.abs(ss - nm).sum() / total) if total else None,
            "brier": b["sum_sq_err"] / total if total else None,
            "mean_score": float(ss.sum() / total) if total else None,
            "match_rate": float(nm.sum() / total) if total else None,
            "bins": table, "raw": b}


def calibration(intervals: list[dict], truth: list[dict], theta: float = THETA, n_bins: int = N_BINS) -> dict:
    flags = match_flags(intervals, truth, theta)
    return summary(bins_of([float(p.get("score", 1.0)) for p in intervals], flags, n_bins))


def pool(raws: list[dict]) -> dict:
    """Pool the ``raw`` bins of several ``calibration`` results."""
    raws = [r for r in raws if r]
    if not raws:
        return summary(bins_of([], []))
    return summary({"n": np.sum([r["n"] for r in raws], axis=0).tolist(),
                    "sum_score": np.sum([r["sum_score"] for r in raws], axis=0).tolist(),
                    "n_match": np.sum([r["n_match"] for r in raws], axis=0).astype(int).tolist(),
                    "sum_sq_err": float(sum(r["sum_sq_err"] for r in raws))})


def reliability_diagram(panels: list[tuple[str, dict]], path: str) -> str:
    """One panel per (title, ``summary`` result); writes ``path`` (PNG) and returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, max(1, len(panels)), figsize=(4.2 * max(1, len(panels)), 5.6),
                             gridspec_kw={"height_ratios": [3, 1]}, squeeze=False)
    for j, (title, cal) in enumerate(panels):
        ax, axn = axes[0, j], axes[1, j]
        rows = cal["bins"]
        k = len(rows)
        centres = [(r["lo"] + r["hi"]) / 2 for r in rows]
        rate = [r["match_rate"] if r["match_rate"] is not None else 0.0 for r in rows]
        ax.bar(centres, rate, width=1.0 / k, edgecolor="black", color="#4c72b0", label="match rate")
        xs = [r["mean_score"] for r in rows if r["n"]]
        ys = [r["match_rate"] for r in rows if r["n"]]
        ax.plot(xs, ys, "o", color="#dd8452", label="bin at (mean score, match rate)")
        ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
        ece = cal["ece"]
        ax.set_title(f"{title}\nECE {ece:.3f}, {cal['n']} intervals" if ece is not None else f"{title}\nno intervals",
                     fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_ylabel("share matching a true interval (tIoU 0.5)", fontsize=8)
        ax.legend(fontsize=7, loc="upper left")
        axn.bar(centres, [r["n"] for r in rows], width=1.0 / k, edgecolor="black", color="#999999")
        axn.set_xlim(0, 1)
        axn.set_xlabel("interval score", fontsize=8)
        axn.set_ylabel("intervals", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
