"""FAISS catalog index: best cosine per product, exact and approximate, saved and loaded."""

import numpy as np
import pytest

from ml.index import CatalogIndex, IndexOptions


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def catalog_vectors():
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(30, 16)).astype(np.float32))
    owner = np.repeat(np.arange(10), 3)  # 10 products, 3 photos each
    return vectors, owner


def test_product_score_is_its_best_photo(catalog_vectors):
    vectors, owner = catalog_vectors
    index = CatalogIndex(IndexOptions(kind="flat")).fit(vectors, owner)
    scores = index.scores(vectors[[4, 17]])
    assert scores.shape == (2, 10)
    assert scores[0].argmax() == 1 and scores[1].argmax() == 5
    np.testing.assert_allclose(scores[0, 1], 1.0, atol=1e-5)
    expected = (vectors[[4]] @ vectors.T).reshape(10, 3).max(axis=1)
    np.testing.assert_allclose(scores[0], expected, atol=1e-5)


def test_many_queries_are_scored_in_bounded_chunks_with_the_same_result(catalog_vectors, monkeypatch):
    """A long stream scores tens of thousands of windows at once: the search runs SCORE_ROWS
    queries at a time (its temporaries grow with rows x hits), and the rows still line up."""
    import ml.index

    vectors, owner = catalog_vectors
    index = CatalogIndex(IndexOptions(kind="flat")).fit(vectors, owner)
    queries = _unit(np.random.default_rng(1).normal(size=(23, 16)).astype(np.float32))
    expected = (queries @ vectors.T).reshape(23, 10, 3).max(axis=2)
    monkeypatch.setattr(ml.index, "SCORE_ROWS", 5)  # 5 + 5 + 5 + 5 + 3
    np.testing.assert_allclose(index.scores(queries), expected, atol=1e-5)


def test_hnsw_agrees_with_exact_on_the_top_product(catalog_vectors, tmp_path):
    vectors, owner = catalog_vectors
    exact = CatalogIndex(IndexOptions(kind="flat")).fit(vectors, owner)
    approx = CatalogIndex(IndexOptions(kind="hnsw", k=8)).fit(vectors, owner)
    queries = _unit(vectors + 0.05 * np.random.default_rng(1).normal(size=vectors.shape).astype(np.float32))
    assert (exact.scores(queries).argmax(1) == approx.scores(queries).argmax(1)).all()
    approx.save(str(tmp_path / "idx"))
    loaded = CatalogIndex.load(str(tmp_path / "idx"))
    np.testing.assert_allclose(loaded.scores(queries), approx.scores(queries), atol=1e-6)


def test_misaligned_inputs_are_refused():
    with pytest.raises(ValueError, match="do not align"):
        CatalogIndex().fit(np.zeros((3, 4)), np.zeros(2))


def test_no_queries_give_an_empty_score_matrix(catalog_vectors):
    vectors, owner = catalog_vectors
    index = CatalogIndex().fit(vectors, owner)
    assert index.scores(np.zeros((0, 16))).shape == (0, 10)


# ---------------------------------------------------------------- top-k products, IVF-PQ, store
def _clustered(n, d=64, seed=0):
    """Vectors in 50 tight groups: the structure real image embeddings have (an ANN index on
    structureless noise finds nobody's neighbours)."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(50, d)))
    return _unit(centres[rng.integers(0, 50, n)] + 0.3 * rng.normal(size=(n, d)) / np.sqrt(d)).astype(np.float32)


def test_search_gives_distinct_products_best_first_with_their_keys(catalog_vectors):
    vectors, owner = catalog_vectors
    keys = np.arange(10) * 100 + 7
    index = CatalogIndex(IndexOptions(kind="flat")).fit(vectors, owner, keys=keys)
    got, scores = index.search(vectors[[4]], k=10)
    expected = index.scores(vectors[[4]])[0]
    assert sorted(got[0].tolist()) == sorted(keys.tolist())  # every product once
    assert got[0, 0] == keys[1]
    np.testing.assert_allclose(scores[0], np.sort(expected)[::-1], atol=1e-5)


def test_search_pads_when_the_catalog_has_fewer_products_than_k(catalog_vectors):
    vectors, owner = catalog_vectors
    got, scores = CatalogIndex(IndexOptions(kind="flat")).fit(vectors, owner).search(vectors[:2], k=12)
    assert (got[:, 10:] == -1).all() and np.isneginf(scores[:, 10:]).all()


def test_auto_picks_an_inverted_file_above_the_threshold_and_finds_the_exact_neighbours():
    vectors = _clustered(6000)
    owner = np.arange(6000)
    options = IndexOptions(hnsw_above=1000, approximate="ivf", ivf_lists=64, codec="SQ8", nprobe=16)
    approx = CatalogIndex(options).fit(vectors, owner)
    small = CatalogIndex(options).fit(vectors[:500], owner[:500])
    assert approx.kind_ == "ivf" and small.kind_ == "flat"
    exact = CatalogIndex(IndexOptions(kind="flat")).fit(vectors, owner)
    rng = np.random.default_rng(3)
    queries = _unit(vectors[rng.choice(6000, 50, replace=False)] + 0.01 * rng.normal(size=(50, 64))).astype(np.float32)
    a, _ = approx.search(queries, 10)
    e, _ = exact.search(queries, 10)
    recall = np.mean([len(set(a[i]) & set(e[i])) / 10 for i in range(50)])
    assert recall >= 0.8
    assert (a[:, 0] == e[:, 0]).mean() >= 0.9


def test_an_inverted_file_index_round_trips_through_disk(tmp_path):
    vectors = _clustered(3000)
    index = CatalogIndex(IndexOptions(kind="ivf", codec="SQ8", nprobe=8)).fit(vectors, np.arange(3000) // 2,
                                                                             keys=np.arange(1500) + 10)
    index.save(str(tmp_path / "i"))
    loaded = CatalogIndex.load(str(tmp_path / "i"))
    assert loaded.kind_ == "ivf" and loaded.views_ == 2
    for a, b in zip(index.search(vectors[:5], 10), loaded.search(vectors[:5], 10)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("options, message", [
    (dict(kind="ivf", codec="PQ7"), "must divide"),
])
def test_bad_index_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        CatalogIndex(IndexOptions(**options)).fit(_clustered(2000), np.arange(2000))


@pytest.mark.parametrize("options, message", [
    (dict(kind="annoy"), "unknown index kind"), (dict(codec="LSH"), "unknown codec"),
    (dict(approximate="flat"), "unknown approximate"),
])
def test_unknown_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        IndexOptions(**options)


def test_the_store_switches_versions_and_keeps_the_previous_one(tmp_path, catalog_vectors):
    from ml.index_store import IndexStore

    vectors, owner = catalog_vectors
    store = IndexStore(str(tmp_path / "shop"))
    assert store.load_current() == (None, None)
    first = CatalogIndex(IndexOptions(kind="flat")).fit(vectors, owner, keys=np.arange(10))
    second = CatalogIndex(IndexOptions(kind="flat")).fit(vectors[:15], owner[:15], keys=np.arange(5) + 100)
    assert store.publish(first, 1)
    assert store.publish(second, 2)
    loaded, version = store.load_current()
    assert version == 2 and loaded.search(vectors[:1], 1)[0][0, 0] == 100
    assert store.versions() == [1, 2]  # the old one stays until a newer one is current
    assert store.publish(first, 3) and store.versions() == [2, 3]
    # a slow build finishing after a newer one never becomes current
    assert not store.publish(second, 2)
    assert store.current_version() == 3
    assert not [n for n in __import__("os").listdir(store.root) if n.startswith(".")]


def test_product_quantised_codes_still_find_the_product_a_query_was_taken_from():
    vectors = _clustered(4000)
    index = CatalogIndex(IndexOptions(kind="ivf", codec="PQ16", ivf_lists=32, nprobe=8)).fit(vectors, np.arange(4000))
    rng = np.random.default_rng(5)
    picked = rng.choice(4000, 40, replace=False)
    got, _ = index.search(vectors[picked], 10)
    assert np.mean([p in row for p, row in zip(picked, got)]) >= 0.9
