"""Benchmark episodes built from real product photos: a seller's video, its catalog folder,
viewers' comments and the true exhibition intervals.

    from ml.synth import generate_episode, suite
    paths = generate_episode("out/ep", seed=3, split="test", difficulty="hard", domain="fashion",
                             duration_s=180)

    paths = generate_long_episode("out/long", seed=0, split="test", difficulty="medium",
                                  duration_s=3600, catalog_size=160)   # a long stream

Command line: ``python -m ml.synth --out DIR --split test --count 20 --seed 0 [--quick]``
(``--long N`` adds N long streams of ``--long-min`` minutes).
The data root is ``../shared/data`` next to the repository or ``$SHOPFOCUS_DATA``.
"""

from .episode import SYNTH_VERSION, generate_episode
from .long import generate_long_episode
from .longplan import LONG_VERSION, LongSettings, plan_long_episode
from .sources import DataRootError, default_data_root, load_sources, product_id_of, split_of
from .shop import SHOP_VERSION, ShopLook, draw_shop
from .suite import EpisodeSpec, generate, long_suite, shop_suite, suite

__all__ = ["SYNTH_VERSION", "LONG_VERSION", "generate_episode", "generate_long_episode", "generate",
           "plan_long_episode", "LongSettings", "DataRootError", "default_data_root", "load_sources",
           "product_id_of", "split_of", "EpisodeSpec", "suite", "long_suite", "shop_suite", "SHOP_VERSION",
           "ShopLook", "draw_shop"]
