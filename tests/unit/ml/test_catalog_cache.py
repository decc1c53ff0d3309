"""The content-keyed disk cache of catalog image vectors (ml.visual.catalog_cache)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from ml.catalog import load_catalog
from ml.visual.catalog_cache import ViewCache, file_digest
from ml.visual.embedder import ImageEmbedder, embed_catalog

CATALOG = Path(__file__).parents[2] / "data" / "catalog"


class CountingEmbedder:
    """The real embedder, counting the images it is asked to embed."""

    def __init__(self, real: ImageEmbedder):
        self.real, self.options, self.dim = real, real.options, real.dim
        self.embedded = 0

    def embed(self, images):
        self.embedded += len(images)
        return self.real.embed(images)


@pytest.fixture(scope="module")
def real_embedder():
    return ImageEmbedder()  # the graph cached under $SHOPFOCUS_CACHE, as every run uses


@pytest.fixture
def embedder(real_embedder):
    return CountingEmbedder(real_embedder)


@pytest.fixture
def catalog_copy(tmp_path):
    shutil.copytree(CATALOG, tmp_path / "catalog")
    return tmp_path / "catalog"


def test_a_second_run_reads_equal_vectors_from_the_cache_without_running_the_network(embedder, tmp_path):
    catalog = load_catalog(str(CATALOG))
    cache = str(tmp_path / "views")

    first, owner1 = embed_catalog(catalog, embedder, tta=True, cache=cache)
    embedded_first = embedder.embedded
    second, owner2 = embed_catalog(catalog, embedder, tta=True, cache=cache)

    assert embedded_first == 5 * len(catalog)  # each image and its four test-time views
    assert embedder.embedded == embedded_first  # nothing went through the network again
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(owner1, owner2)
    uncached, _ = embed_catalog(catalog, embedder, tta=True, cache=False)
    np.testing.assert_allclose(second, uncached, atol=1e-5)


def test_the_cache_is_keyed_by_image_bytes_not_by_folder_or_title(embedder, tmp_path, catalog_copy):
    cache = str(tmp_path / "views")
    embed_catalog(load_catalog(str(CATALOG)), embedder, cache=cache)
    csv = catalog_copy / "products.csv"
    csv.write_text(csv.read_text().replace("Tropicana Apple Juice", "Renamed Juice"))
    before = embedder.embedded

    embed_catalog(load_catalog(str(catalog_copy)), embedder, cache=cache)  # another folder, a new title

    assert embedder.embedded == before


def test_changing_one_image_re_embeds_that_image_only(embedder, tmp_path, catalog_copy):
    cache = str(tmp_path / "views")
    catalog = load_catalog(str(catalog_copy))
    old, owner = embed_catalog(catalog, embedder, cache=cache)
    path = catalog.products[1].images[0]
    old_digest = file_digest(path)
    img = cv2.imread(path)
    cv2.imwrite(path, cv2.flip(img, 0))  # upside down: new bytes, new vectors
    before = embedder.embedded

    new, _ = embed_catalog(load_catalog(str(catalog_copy)), embedder, cache=cache)

    assert file_digest(path) != old_digest
    assert embedder.embedded - before == 5
    changed = owner == 1
    np.testing.assert_array_equal(new[~changed], old[~changed])
    assert np.abs(new[changed] - old[changed]).max() > 0.01


def test_other_settings_use_another_key(embedder, tmp_path):
    catalog = load_catalog(str(CATALOG))
    cache = str(tmp_path / "views")
    with_views, _ = embed_catalog(catalog, embedder, tta=True, cache=cache)
    before = embedder.embedded

    plain, owner = embed_catalog(catalog, embedder, tta=False, cache=cache)

    assert embedder.embedded - before == len(catalog)
    assert plain.shape == (len(catalog), embedder.dim) and list(owner) == list(range(len(catalog)))
    assert ViewCache.for_embedder(embedder.options, True, cache).folder != \
        ViewCache.for_embedder(embedder.options, False, cache).folder


def test_a_damaged_cache_file_is_a_miss_and_is_rewritten(embedder, tmp_path):
    catalog = load_catalog(str(CATALOG))
    cache = str(tmp_path / "views")
    good, _ = embed_catalog(catalog, embedder, cache=cache)
    store = ViewCache.for_embedder(embedder.options, True, cache)
    digest = file_digest(catalog.products[0].images[0])
    Path(store._path(digest)).write_bytes(b"not a numpy file")
    before = embedder.embedded

    again, _ = embed_catalog(catalog, embedder, cache=cache)

    assert embedder.embedded - before == 5
    np.testing.assert_allclose(again, good, atol=1e-5)
    assert store.get(digest, embedder.dim) is not None
    assert not [p for p in Path(store.folder).rglob(".views_*")]  # no temporary file left behind
