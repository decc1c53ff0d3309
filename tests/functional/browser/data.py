"""Personas, a catalog, a real video and a processed job for the review page tests.

The job is finished through the platform (``webapp.videos.services.finish_job``: artefacts +
``store_machine_intervals``) with the result of the real pipeline ``ml.pipeline.localize`` run
once per session on the test video. While the pipeline cannot run here (no trained fusion model
yet) or finds fewer than two intervals, the result is a LocalizationResult built from what the
video really shows (tests/functional/browser/media.py SCRIPT), with real-shaped curves, transcript,
screen text and tracklet boxes; ``RESULT_SOURCE`` says which one a session used."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import media

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"
_RESULT = {}


def synthetic_result(video_path: str):
    """A LocalizationResult of the shape ``ml.pipeline.localize`` returns, for the test video."""
    from ml.types import Interval, LocalizationResult, ScoreCurves

    ids = ["gs_34", "gs_06", "gs_45"]
    step = 0.5
    times = np.arange(step / 2, media.DURATION_S, step)
    shown = np.zeros((len(times), len(ids)), np.float32)
    for a, b, pid in media.SCRIPT:
        shown[(times >= a) & (times < b), ids.index(pid)] = 1.0
    rng = np.random.default_rng(0)
    visual = np.clip(0.15 + 0.7 * shown + rng.normal(0, 0.05, shown.shape), 0, 1)
    speech = np.zeros_like(visual)
    speech[(times >= 4) & (times < 7), 0] = 0.9
    fused = np.clip(0.6 * visual + 0.4 * speech, 0, 1)
    curves = ScoreCurves(times, step, ids, {"visual": visual, "speech": speech,
                                            "screen_text": np.zeros_like(visual), "comments": np.zeros_like(visual)}, fused)
    intervals = [
        Interval("gs_34", 3.2, 10.8, 0.86, {"visual": 0.8, "speech": 0.9, "screen_text": 0.0, "comments": 0.0}),
        Interval("gs_06", 14.1, 21.7, 0.71, {"visual": 0.7, "speech": 0.0, "screen_text": 0.0, "comments": 0.0}),
        Interval("gs_45", 22.3, 26.0, 0.64, {"visual": 0.66, "speech": 0.0, "screen_text": 0.0, "comments": 0.0}),
        Interval("gs_45", 26.5, 29.8, 0.58, {"visual": 0.6, "speech": 0.0, "screen_text": 0.0, "comments": 0.0}),
        Interval("gs_06", 0.5, 2.0, 0.21, {"visual": 0.2, "speech": 0.0, "screen_text": 0.0, "comments": 0.0}),
    ]
    w, h = media.SIZE
    boxes = []
    for t in np.arange(0, media.DURATION_S, 0.5):
        for n, (a, b, _) in enumerate(media.SCRIPT):
            if a <= t < b:
                boxes.append({"t": float(t), "xyxy": [w * 0.2, h * 0.07, w * 0.8, h * 0.93], "track_id": n + 1})
    extras = {
        "transcript": [[4.0, 4.4, "this"], [4.4, 4.8, "tropicana"], [4.8, 5.2, "apple"], [5.2, 5.8, "juice"],
                       [15.0, 15.5, "fresh"], [15.5, 16.1, "bananas"]],
        "screen_text": [[5.0, "TROPICANA APPLE"], [23.0, "OATLY"]],
        "boxes": boxes, "shots": [0.0, 3.0, 11.0, 14.0, 22.0],
        "tracklets": [{"track_id": n + 1, "start_s": a, "end_s": b, "category": "", "parent_category": ""}
                      for n, (a, b, _) in enumerate(media.SCRIPT)],
    }
    return LocalizationResult(video=os.path.basename(video_path), duration_s=media.DURATION_S, intervals=intervals,
                              timings_s={"decode": 0.1, "total": 0.2}, options={"max_side": 640},
                              curves=curves, extras=extras)


def pipeline_result(video_path: str):
    """The real pipeline's result once per session (falls back to ``synthetic_result``)."""
    if "result" in _RESULT:
        return _RESULT["result"]
    result, source = None, "synthetic (LocalizationResult built from the video's script)"
    if os.environ.get("SHOPFOCUS_TEST_REAL_PIPELINE", "1") != "0":
        try:
            from ml.pipeline import localize

            t0 = time.perf_counter()
            real = localize(video_path, str(media.CATALOG_DIR))
            products = {i.product_id for i in real.intervals}
            if len(real.intervals) >= 2 and len(products) >= 2:
                result, source = real, f"ml.pipeline.localize ({time.perf_counter() - t0:.1f} s)"
            else:
                source += f"; the real pipeline ran but found only {len(real.intervals)} interval(s)"
        except Exception as e:  # noqa: BLE001 - reported in the artefacts, the tests go on
            source += f"; the real pipeline failed: {type(e).__name__}: {str(e)[:200]}"
    _RESULT["result"] = result or synthetic_result(video_path)
    _RESULT["source"] = source
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "data-source.txt").write_text(source + "\n")
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
    from webapp.videos.services import create_video_from_path, finish_job

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
    from webapp.videos.services import write_artefacts

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
