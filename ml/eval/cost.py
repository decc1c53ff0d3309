"""Cost: real-time factor = video seconds processed per wall-clock second (higher is faster)."""

from __future__ import annotations


def realtime_factors(result: dict, wall_s: float | None = None) -> dict:
    """Per stage of ``result["timings_s"]`` and overall. Overall uses ``wall_s`` when given
    (the harness's measured wall time), else a ``total`` timing, else the sum of stages."""
    dur = float(result.get("duration_s") or 0.0)
    timings = {k: float(v) for k, v in (result.get("timings_s") or {}).items()}
    stages = {k: v for k, v in timings.items() if k != "total"}
    per = {k: (dur / v if v > 0 else None) for k, v in stages.items()}
    total = wall_s if wall_s else timings.get("total") or sum(stages.values())
    return {"duration_s": dur, "seconds": total, "rtf": (dur / total if total else None),
            "rtf_per_stage": per, "timings_s": timings}
