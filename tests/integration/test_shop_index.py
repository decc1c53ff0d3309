"""The shop's product index: catalog changes build it (one build per change, on commit), each
image is embedded once, a new version replaces the old atomically, and a box on the video
finds the product it shows."""

import numpy as np
import pytest
from django.db import transaction

from tests import media
from webapp.catalog.models import Product, ProductImage
from webapp.search import services
from webapp.search.models import ImageEmbedding, IndexBuild

SIX = media.PRODUCTS + [
    ("GRA", "Granny Smith", "fruit", "produce", "Granny-Smith__iconic.jpg"),
    ("PEP", "Green Bell Pepper", "vegetables", "produce", "Green-Bell-Pepper__iconic.jpg"),
    ("POM", "Pomegranate", "fruit", "produce", "Pomegranate__iconic.jpg"),
]


@pytest.fixture
def eager(settings):
    from webapp.celery import app

    settings.SHOPFOCUS_INDEX_AUTOBUILD = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def six_products(transactional_db, personas, eager, tmp_path):
    from webapp.catalog.services import import_catalog_folder

    import_catalog_folder(personas.shop, media.write_catalog(tmp_path / "six", SIX))
    return personas.shop


def test_importing_a_catalog_builds_one_index_of_every_image(six_products):
    builds = list(IndexBuild.objects.filter(shop=six_products))
    assert len(builds) == 1  # one import, one build, whatever the number of rows it saved
    b = builds[0]
    assert (b.status, b.kind, b.n_products, b.n_vectors, b.n_embedded, b.published) == ("succeeded", "flat", 6, 6, 6, True)
    assert services.store_for(six_products.pk).current_version() == b.pk
    assert ImageEmbedding.objects.filter(image__product__shop=six_products).count() == 6


def test_a_rebuild_embeds_only_new_images_and_replaces_the_version(six_products):
    first = IndexBuild.objects.get(shop=six_products)
    Product.objects.get(shop=six_products, product_id="POM").delete()
    second = IndexBuild.objects.filter(shop=six_products).first()
    assert second.pk > first.pk and second.status == "succeeded"
    assert (second.n_products, second.n_embedded) == (5, 0)  # nothing new to embed
    store = services.store_for(six_products.pk)
    assert store.current_version() == second.pk and store.versions() == [first.pk, second.pk]
    index, version = services.current_index(six_products.pk)
    assert version == second.pk and index.n_products_ == 5


def test_changes_in_one_transaction_schedule_one_build(six_products):
    before = IndexBuild.objects.count()
    with transaction.atomic():
        for p in Product.objects.filter(shop=six_products):
            p.title += " (new)"
            p.save()
    assert IndexBuild.objects.count() == before + 1


def test_a_build_delivered_twice_runs_once(six_products, settings):
    settings.SHOPFOCUS_INDEX_AUTOBUILD = False
    row = IndexBuild.objects.create(shop=six_products)
    assert services.build(row.pk).status == "succeeded"
    assert services.build(row.pk) is None  # claimed already: the second delivery stands down


def test_a_failed_build_keeps_the_previous_index(six_products, settings, monkeypatch):
    settings.SHOPFOCUS_INDEX_AUTOBUILD = False
    current = services.store_for(six_products.pk).current_version()
    row = IndexBuild.objects.create(shop=six_products)
    from webapp.search.tasks import build_shop_index

    def broken(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(services, "shop_vectors", broken)
    build_shop_index.apply(args=[row.pk])
    row.refresh_from_db()
    assert row.status == "failed" and "previous index stays" in row.message
    assert services.store_for(six_products.pk).current_version() == current


@pytest.mark.parametrize("t, shown", [(0.5, "BAN"), (1.5, "OAT"), (2.5, "JUI")])
def test_a_box_around_the_whole_frame_finds_the_product_shown(six_products, personas, t, shown):
    from webapp.videos.ingest import create_video_from_path

    video = create_video_from_path(six_products, personas.seller, media.make_video(
        __import__("tempfile").mkdtemp() + "/shelf.mp4"), "Shelf")
    matches, info = services.nearest_products(video, t, (0.05, 0.05, 0.95, 0.95), k=3)
    assert info["kind"] == "flat" and len(matches) == 3
    assert matches[0][0].product_id == shown
    assert matches[0][1] > matches[1][1]


def test_box_search_starts_a_build_when_the_shop_has_no_index(transactional_db, personas, eager, video_path, settings):
    from webapp.videos.ingest import create_video_from_path

    settings.SHOPFOCUS_INDEX_AUTOBUILD = False
    from webapp.catalog.services import import_catalog_folder

    import_catalog_folder(personas.shop, media.write_catalog(__import__("tempfile").mkdtemp(), media.PRODUCTS))
    video = create_video_from_path(personas.shop, personas.seller, video_path, "Shelf")
    with pytest.raises(services.IndexNotReady):
        services.nearest_products(video, 0.5, (0, 0, 1, 1))
    # the eager worker built it right away: the next query is answered
    matches, _ = services.nearest_products(video, 0.5, (0, 0, 1, 1))
    assert [m[0].product_id for m in matches][0] == "BAN"


@pytest.mark.worker
def test_a_real_worker_on_redis_builds_the_index_after_an_import(redis_broker, start_worker, personas, settings, tmp_path):
    from tests.integration.conftest import wait_for
    from webapp.catalog.services import import_catalog_folder

    worker = start_worker(redis_broker)
    settings.SHOPFOCUS_INDEX_AUTOBUILD = True
    import_catalog_folder(personas.shop, media.write_catalog(tmp_path / "six", SIX))
    row = IndexBuild.objects.get(shop=personas.shop)
    try:
        wait_for(lambda: IndexBuild.objects.get(pk=row.pk).status in ("succeeded", "failed"), timeout=180,
                 what="the index build")
    except TimeoutError:
        raise AssertionError(worker.output()[-4000:]) from None
    row.refresh_from_db()
    assert row.status == "succeeded", (row.message, worker.output()[-3000:])
    assert row.published and row.n_products == 6
    index, version = services.current_index(personas.shop.pk)
    assert version == row.pk and sorted(index.keys_.tolist()) == sorted(
        Product.objects.filter(shop=personas.shop).values_list("pk", flat=True))
