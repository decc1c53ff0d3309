"""Personas, a catalog, a real video and a processed job for the review page tests.

The job is finished through the platform (``webapp.videos.runner.finish_job``: artefacts +
``store_machine_intervals``) with the result of the real pipeline ``ml.pipeline.localize`` run
once per session on the test video."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import media

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"
_RESULT = {}


def pipeline_result(video_path: str):
    """The real pipeline's result on the test video, once per session."""
    if "result" not in _RESULT:
        from ml.pipeline import localize

        t0 = time.perf_counter()
        real = localize(video_path, str(media.CATALOG_DIR))
        if len(real.intervals) < 2 or len({i.product_id for i in real.intervals}) < 2:
            raise AssertionError(f"the browser tests need intervals of two products; the pipeline found "
                                 f"{[(i.product_id, i.start_s, i.end_s) for i in real.intervals]}")
        _RESULT["result"] = real
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "data-source.txt").write_text(f"ml.pipeline.localize ({time.perf_counter() - t0:.1f} s)\n")
    return _RESULT["result"]


@dataclass
class World:
    """The platform's personas plus the first shop's catalog, video and succeeded job."""

    personas: object
    video: object
    job: object

    @property
    def shop(self):
        return self.personas.shop

    def products(self):
        from webapp.catalog.models import Product

        return {p.product_id: p for p in Product.objects.filter(shop=self.shop)}

    def intervals(self, product_id=None):
        qs = self.video.intervals.select_related("product").order_by("start_s", "pk")
        return list(qs.filter(product__product_id=product_id) if product_id else qs)


    def main(self):
        """The longest interval: the tests edit it, whatever the pipeline found."""
        return max(self.intervals(), key=lambda iv: (iv.duration_s, -iv.pk))

    def free_slot(self, product, length: float = 2.0) -> float:
        """A start time where ``product`` has no interval for ``length`` seconds (plus margins)."""
        taken = [(iv.start_s, iv.end_s) for iv in self.intervals() if iv.product_id == product.pk]
        t = 0.5
        while t + length + 0.5 < self.video.duration_s:
            if all(t + length + 0.3 <= a or t - 0.3 >= b for a, b in taken):
                return t
            t += 0.5
        raise AssertionError(f"no free slot for {product}")


def password(user) -> str:
    return f"{user.username}-pass-123"  # tests/conftest.py personas


def build_world(personas, video_path: str) -> World:
    """The catalog (real grocery photos), the video, and a succeeded job with its intervals."""
    from django.utils import timezone

    from webapp.catalog.services import import_catalog_folder
    from webapp.videos.models import Job
    from webapp.videos.ingest import create_video_from_path
    from webapp.videos.runner import finish_job

    import_catalog_folder(personas.shop, str(media.CATALOG_DIR))
    video = create_video_from_path(personas.shop, personas.seller, str(video_path), "Grocery live stream")
    job = Job.objects.create(video=video, status=Job.Status.RUNNING, started_at=timezone.now(), attempts=1)
    assert finish_job(job.pk, pipeline_result(str(video_path)))
    job.refresh_from_db()
    return World(personas, video, job)


def add_big_catalog(world: World, n_products: int = 300, n_intervals: int = 1000, duration_s: float = 7200.0):
    """A 2-hour video record (same file) with ``n_products`` products and ``n_intervals`` intervals."""
    from webapp.catalog.models import Product
    from webapp.review.models import Interval
    from webapp.videos.models import Video

    big = Video.objects.create(shop=world.shop, title="Two-hour stream", file=world.video.file.name,
                               duration_s=duration_s, fps=25, width=640, height=360, sha256="big" + "0" * 10)
    existing = Product.objects.filter(shop=world.shop).count()
    Product.objects.bulk_create(Product(shop=world.shop, product_id=f"p{i:04d}", title=f"Catalog product {i:04d}")
                                for i in range(max(0, n_products - existing)))
    products = list(Product.objects.filter(shop=world.shop))
    rng = np.random.default_rng(1)
    rows = []
    for i in range(n_intervals):
        start = float(rng.uniform(0, duration_s - 120))
        rows.append(Interval(video=big, product=products[i % len(products)], start_s=start,
                             end_s=start + float(rng.uniform(5, 110)), score=float(rng.uniform(0.05, 0.99)),
                             status=["proposed", "accepted", "edited", "rejected"][i % 4]))
    Interval.objects.bulk_create(rows)
    # score curves at the size the platform stores them (max-pooled to 2,000 steps per product)
    from django.utils import timezone

    from ml.types import LocalizationResult, ScoreCurves
    from webapp.videos.models import Job
    from webapp.videos.artefacts import write_artefacts

    times = np.linspace(0, duration_s, 2000, endpoint=False) + duration_s / 4000
    fused = rng.uniform(0, 0.3, (len(times), len(products))).astype(np.float32)
    for iv in rows:
        fused[(times >= iv.start_s) & (times < iv.end_s), products.index(iv.product)] = iv.score
    curves = ScoreCurves(times, duration_s / 2000, [p.product_id for p in products], {"visual": fused}, fused)
    job = Job.objects.create(video=big, status=Job.Status.SUCCEEDED, progress=1.0, stage="done",
                             finished_at=timezone.now())
    job.artefacts = write_artefacts(job, LocalizationResult("big.mp4", duration_s, [], curves=curves))
    job.save(update_fields=["artefacts"])
    return big
