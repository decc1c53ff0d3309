"""How demo/ was made (run once from the repo root; the outputs are committed):

    .venv/bin/python demo/make_demo.py [--data ../shared/data]

A 60 s 640x360 grocery episode from the benchmark generator (``ml.synth``), using only the
MIT-licensed GroceryStoreDataset photos: no fashion photos and no distractor clips, whose
licences do not allow shipping them. Training-split products, so the demo is never a test case.
"""

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ml.synth.episode import generate_episode  # noqa: E402
from ml.synth.sources import Sources, load_sources  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=60.0)
    a = ap.parse_args()
    src = load_sources(a.data)
    grocery = Sources(src.root, [it for it in src.items if it.domain == "grocery"], [])
    with tempfile.TemporaryDirectory() as tmp:
        ep = generate_episode(tmp, seed=a.seed, split="train", difficulty="medium", domain="grocery",
                              duration_s=a.duration, size=(640, 360), sources=grocery)
        for name in ("catalog", "video.mp4", "comments.csv", "truth.json"):
            dest = os.path.join(HERE, name)
            if os.path.isdir(dest):
                shutil.rmtree(dest)
            src_path = os.path.join(tmp, name)
            (shutil.copytree if os.path.isdir(src_path) else shutil.copy)(src_path, dest)
    print("demo written to", HERE, "from", ep["video"])


if __name__ == "__main__":
    main()
