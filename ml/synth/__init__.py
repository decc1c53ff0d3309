"""Benchmark episodes built from real product photos: a seller's video, its catalog folder,
viewers' comments and the true exhibition intervals.

    from ml.synth import generate_episode, suite
    paths = generate_episode("out/ep", seed=3, split="test", difficulty="hard", domain="fashion",
                             duration_s=180)

Command line: ``python -m ml.synth --out DIR --split test --count 20 --seed 0 [--quick]``.
The data root is ``../shared/data`` next to the repository or ``$SHOPFOCUS_DATA``.
"""

from .episode import SYNTH_VERSION, generate_episode
from .sources import DataRootError, default_data_root, load_sources, product_id_of, split_of
from .suite import EpisodeSpec, suite

__all__ = ["SYNTH_VERSION", "generate_episode", "DataRootError", "default_data_root", "load_sources",
           "product_id_of", "split_of", "EpisodeSpec", "suite"]
