"""python -m ml.synth --out DIR --split test --count 20 --seed 0 [--quick] [--jobs 2] [--long N --long-min 60]"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from .episode import SYNTH_VERSION
from .longplan import LONG_VERSION
from .sources import DataRootError, load_sources
from .suite import EpisodeSpec, generate, long_suite, suite


def _one(args: tuple[EpisodeSpec, str, str | None, str]) -> dict:
    spec, out, root, preset = args
    t = time.time()
    paths = generate(spec, os.path.join(out, spec.name), data_root=root, preset=preset)
    return {"name": spec.name, "seconds": round(time.time() - t, 1), **paths}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ml.synth", description=__doc__)
    p.add_argument("--out", required=True, help="folder; one sub-folder per episode")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="one 30 s episode at 640x360")
    p.add_argument("--min-s", type=float, default=120.0)
    p.add_argument("--max-s", type=float, default=180.0)
    p.add_argument("--size", default="1280x720")
    p.add_argument("--data", default=None, help="data root (default: $SHOPFOCUS_DATA or ../shared/data)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--preset", default="veryfast", help="x264 preset")
    p.add_argument("--long", type=int, default=0, help="also this many long streams (150+ products, 30 %%+ idle)")
    p.add_argument("--long-min", type=float, default=60.0, help="length of each long stream in minutes")
    a = p.parse_args(argv)
    try:
        load_sources(a.data)
    except DataRootError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    w, h = (int(x) for x in a.size.lower().split("x"))
    specs = suite(a.count, a.seed, a.split, a.quick, (a.min_s, a.max_s), (w, h)) if a.count else []
    specs += long_suite(a.long, a.seed, a.split, a.long_min * 60, (w, h))
    jobs = [(s, a.out, a.data, a.preset) for s in specs]
    t = time.time()
    try:
        if a.jobs > 1 and len(jobs) > 1:
            with ProcessPoolExecutor(a.jobs) as ex:
                done = list(ex.map(_one, jobs))
        else:
            done = [_one(j) for j in jobs]
    except ValueError as e:  # e.g. a product list longer than the split has products
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"synth_version": SYNTH_VERSION, "long_version": LONG_VERSION, "episodes": done,
                      "seconds": round(time.time() - t, 1)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
