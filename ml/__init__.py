"""ShopFocus ML pipeline: from a shopping video and a catalog to product intervals.

Framework-free: nothing in this package imports Django. Each stage passes one dataclass
(see ``ml.types``) to the next; ``ml.pipeline.localize`` runs them all.
"""

__version__ = "0.1.0"
