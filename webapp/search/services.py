"""The shop's product index: embed the catalog's images (once each), build, publish, query.

- ``schedule_build(shop_id)``: after the transaction commits, one QUEUED ``IndexBuild`` per
  shop (a partial unique constraint), sent to the ``cpu`` queue (``gpu`` with
  SHOPFOCUS_GPU_QUEUE: the embedder is the expensive part). Catalog signals call it.
- ``build(build_id)``: claims QUEUED -> RUNNING with one conditional UPDATE (a second delivery
  stands down), embeds the images that have no stored vector, fits ``ml.index.CatalogIndex``
  on every image vector of the shop and publishes it as version ``build_id`` with
  ``ml.index_store.IndexStore`` (written beside the old one, then one atomic pointer switch).
- ``nearest_products(video, t, box)``: the frame at ``t`` (PyAV), the box's crop through the
  pipeline's image embedder, the shop's current index; products that no longer exist are
  dropped.

Exact (``flat``) up to SHOPFOCUS_INDEX_EXACT_BELOW image vectors, an inverted file with 8-bit
scalar codes above (``ml.index.shop_index_options``; bench/index_bench.py: 1M products)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ml.errors import InputError
from ml.index import CatalogIndex, shop_index_options  # faiss: loaded with the API (one web process keeps indexes)
from ml.index_store import IndexStore

from webapp.videos.lifecycle import job_queue

from .models import ImageEmbedding, IndexBuild

log = logging.getLogger(__name__)

BUILD_TASK = "webapp.search.tasks.build_shop_index"
EMBED_BATCH = 32


class IndexNotReady(Exception):
    """The shop has no index yet (being built, or no product with an image)."""


# --------------------------------------------------------------------------- the embedder
_embedder = None
_embedder_lock = threading.Lock()


def embedder():
    """The pipeline's image embedder (ml.visual.embedder, default options), one per process."""
    global _embedder
    with _embedder_lock:
        if _embedder is None:
            from ml.visual.embedder import EmbedderOptions, ImageEmbedder

            _embedder = ImageEmbedder(EmbedderOptions())
        return _embedder


def model_key() -> str:
    o = embedder().options
    return f"effnet-lite0-{o.pooling}{o.input_size}-{o.resize}-tight-v1"


def _image_view(path: str) -> np.ndarray:
    """What is indexed of a catalog photo: the object-tight crop (the reviewer's box is tight)."""
    from ml.visual.embedder import read_rgb, trim_background

    return trim_background(read_rgb(path))


# --------------------------------------------------------------------------- scheduling
def store_for(shop_id: int) -> IndexStore:
    return IndexStore(os.path.join(settings.MEDIA_ROOT, "search", f"shop_{int(shop_id)}"))


class _Enqueue:
    """The on_commit callback; one per shop per transaction (an import saves many rows)."""

    def __init__(self, shop_id: int):
        self.shop_id = shop_id

    def __call__(self):
        enqueue(self.shop_id)


def schedule_build(shop_id: int) -> None:
    if not settings.SHOPFOCUS_INDEX_AUTOBUILD or shop_id is None:
        return
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(isinstance(f, _Enqueue) and f.shop_id == shop_id
                                    for _, f, *_ in conn.run_on_commit):
        return
    transaction.on_commit(_Enqueue(shop_id))


def enqueue(shop_id: int) -> IndexBuild | None:
    """A QUEUED build of the shop (the waiting one if there is one), sent to the workers."""
    from webapp.accounts.models import Shop

    if not Shop.objects.filter(pk=shop_id).exists():
        return None
    try:
        with transaction.atomic():
            build_row = IndexBuild.objects.create(shop_id=shop_id)
    except IntegrityError:  # one is already waiting: it will read the catalog as it is then
        return IndexBuild.objects.filter(shop_id=shop_id, status=IndexBuild.Status.QUEUED).first()
    send(build_row.pk)
    return build_row


def send(build_id: int) -> None:
    from celery import current_app as app

    try:
        if app.conf.task_always_eager:
            app.tasks[BUILD_TASK].apply(args=[build_id])
        else:
            app.send_task(BUILD_TASK, args=[build_id], queue=job_queue(),
                          retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5})
    except Exception as exc:  # the broker is away: the row stays QUEUED, the next change or a query resends
        log.warning("index build %s: the broker refused the message (%s)", build_id, exc)


# --------------------------------------------------------------------------- building
def claim(build_id: int) -> IndexBuild | None:
    n = IndexBuild.objects.filter(pk=build_id, status=IndexBuild.Status.QUEUED).update(
        status=IndexBuild.Status.RUNNING, started_at=timezone.now())
    return IndexBuild.objects.select_related("shop").get(pk=build_id) if n else None


def requeue(build_id: int) -> None:
    IndexBuild.objects.filter(pk=build_id, status=IndexBuild.Status.RUNNING).update(status=IndexBuild.Status.QUEUED)


def fail(build_id: int, message: str) -> None:
    IndexBuild.objects.filter(pk=build_id).exclude(status=IndexBuild.Status.SUCCEEDED).update(
        status=IndexBuild.Status.FAILED, message=message[:2000], finished_at=timezone.now())


def embed_missing(shop_id: int) -> int:
    """Embed the shop's images without a vector of the current model; returns how many."""
    from webapp.catalog.models import ProductImage

    key = model_key()
    todo = list(ProductImage.objects.filter(product__shop_id=shop_id)
                .exclude(embedding__model=key).order_by("pk"))
    done = 0
    for i in range(0, len(todo), EMBED_BATCH):
        batch, views = [], []
        for img in todo[i:i + EMBED_BATCH]:
            try:
                views.append(_image_view(img.image.path))
                batch.append(img)
            except (ValueError, OSError) as e:  # imported images were checked; a lost file is skipped
                log.warning("product image %s cannot be read (%s): left out of the index", img.pk, e)
        if not batch:
            continue
        vectors = embedder().embed(views).astype(np.float16)
        ImageEmbedding.objects.filter(image__in=batch).delete()
        ImageEmbedding.objects.bulk_create([ImageEmbedding(image=img, model=key, vector=v.tobytes())
                                            for img, v in zip(batch, vectors)])
        done += len(batch)
    return done


def shop_vectors(shop_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vectors (m,d) float32, owner (m,) product position, keys (P,) product pks)."""
    rows = (ImageEmbedding.objects.filter(image__product__shop_id=shop_id, model=model_key())
            .order_by("image__product_id", "image_id").values_list("image__product_id", "vector"))
    pks, vecs = [], []
    for product_pk, blob in rows.iterator(chunk_size=5000):
        pks.append(product_pk)
        vecs.append(np.frombuffer(bytes(blob), dtype=np.float16))
    if not vecs:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys, owner = np.unique(np.asarray(pks, dtype=np.int64), return_inverse=True)
    vectors = np.stack(vecs).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors, owner.astype(np.int64), keys


def build(build_id: int) -> IndexBuild | None:
    """Run one claimed build to the end; None when someone else has it (or it is done)."""
    row = claim(build_id)
    if row is None:
        return None
    timings = {}
    t0 = time.perf_counter()
    n_embedded = embed_missing(row.shop_id)
    timings["embed_s"] = round(time.perf_counter() - t0, 3)
    t1 = time.perf_counter()
    vectors, owner, keys = shop_vectors(row.shop_id)
    timings["load_s"] = round(time.perf_counter() - t1, 3)
    fields = dict(n_embedded=n_embedded, n_vectors=len(vectors), n_products=len(keys), finished_at=timezone.now())
    if not len(vectors):
        IndexBuild.objects.filter(pk=build_id).update(
            status=IndexBuild.Status.SUCCEEDED, message="no product with an image yet: nothing to index",
            timings=timings, **fields)
        return IndexBuild.objects.get(pk=build_id)
    t2 = time.perf_counter()
    index = CatalogIndex(shop_index_options(settings.SHOPFOCUS_INDEX_EXACT_BELOW)).fit(
        vectors, owner, len(keys), keys=keys)
    timings["fit_s"] = round(time.perf_counter() - t2, 3)
    store = store_for(row.shop_id)
    published = store.publish(index, build_id)
    fields.update(kind=index.kind_, index_bytes=store.bytes_of(build_id), published=published,
                  message="" if published else "a newer index was already current")
    timings["total_s"] = round(time.perf_counter() - t0, 3)
    fields["finished_at"] = timezone.now()
    IndexBuild.objects.filter(pk=build_id).update(status=IndexBuild.Status.SUCCEEDED, timings=timings, **fields)
    return IndexBuild.objects.get(pk=build_id)


# --------------------------------------------------------------------------- querying
_loaded: OrderedDict[int, tuple[int, CatalogIndex]] = OrderedDict()
_loaded_lock = threading.Lock()
LOADED_SHOPS = 8  # indexes kept in a web process (the current version of each)


def current_index(shop_id: int) -> tuple[CatalogIndex, int]:
    store = store_for(shop_id)
    version = store.current_version()
    if version is None:
        raise IndexNotReady
    with _loaded_lock:
        hit = _loaded.get(shop_id)
        if hit and hit[0] == version:
            _loaded.move_to_end(shop_id)
            return hit[1], version
    try:
        index = CatalogIndex.load(store.folder(version))
    except FileNotFoundError:  # switched and pruned between the two reads: read again
        version = store.current_version()
        index = CatalogIndex.load(store.folder(version))
    with _loaded_lock:
        _loaded[shop_id] = (version, index)
        _loaded.move_to_end(shop_id)
        while len(_loaded) > LOADED_SHOPS:
            _loaded.popitem(last=False)
    return index, version


def index_state(shop_id: int) -> dict:
    """What the box search says about the shop's index (current version, latest build)."""
    latest = IndexBuild.objects.filter(shop_id=shop_id).first()
    return {"version": store_for(shop_id).current_version(),
            "building": bool(latest and latest.status in (IndexBuild.Status.QUEUED, IndexBuild.Status.RUNNING)),
            "latest_build": latest.status if latest else None}


def frame_crop(video, t: float, box: tuple[float, float, float, float]) -> np.ndarray:
    """The video's frame at ``t`` s cropped to ``box`` (x0, y0, x1, y1 in 0..1 of the frame)."""
    from ml.decode import iter_frames

    frames = iter_frames(video.file.path, fps=1.0, start_s=t, end_s=t + 2.0, max_side=1280)
    try:
        frame = next(frames, None)
    finally:
        frames.close()
    if frame is None:
        raise InputError(f"no frame at {t:.2f}s: the video ends earlier")
    h, w = frame.image.shape[:2]
    x0, y0, x1, y1 = box
    px = (int(np.floor(x0 * w)), int(np.floor(y0 * h)), int(np.ceil(x1 * w)), int(np.ceil(y1 * h)))
    if px[2] - px[0] < 8 or px[3] - px[1] < 8:
        raise InputError(f"the box is {px[2] - px[0]}x{px[3] - px[1]} pixels of a {w}x{h} frame: draw one "
                         "at least 8x8 pixels")
    return np.ascontiguousarray(frame.image[px[1]:px[3], px[0]:px[2]])


def nearest_products(video, t: float, box, k: int = 10) -> tuple[list[tuple[object, float]], dict]:
    """The shop's ``k`` products nearest to what the box shows at ``t``: [(Product, cosine)]."""
    from webapp.catalog.models import Product

    try:
        index, version = current_index(video.shop_id)
    except IndexNotReady:
        if not IndexBuild.objects.filter(shop_id=video.shop_id, status__in=("queued", "running")).exists():
            enqueue(video.shop_id)  # nothing on the way (a first query, a lost message): start one
        raise
    timings = {}
    t0 = time.perf_counter()
    crop = frame_crop(video, t, box)
    t1 = time.perf_counter()
    query = embedder().embed([crop])
    t2 = time.perf_counter()
    keys, scores = index.search(query, k + 10)  # a few spare: products deleted since the build
    t3 = time.perf_counter()
    timings = {"decode_ms": round((t1 - t0) * 1000, 1), "embed_ms": round((t2 - t1) * 1000, 1),
               "search_ms": round((t3 - t2) * 1000, 2)}
    found = {p.pk: p for p in Product.objects.filter(shop_id=video.shop_id, pk__in=[int(x) for x in keys[0] if x >= 0])
             .select_related("category").prefetch_related("images")}
    out = [(found[int(key)], float(s)) for key, s in zip(keys[0], scores[0]) if int(key) in found][:k]
    return out, {"version": version, "kind": index.kind_, "n_products": index.n_products_, "timings": timings}
