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
