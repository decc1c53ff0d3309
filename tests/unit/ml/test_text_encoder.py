"""MiniLM text encoder: shapes, normalisation, meaning, and its cache."""

import numpy as np
import pytest

from ml.text import TextEncoder, TextEncoderOptions


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder()


def test_it_encodes_texts_to_unit_384_d_rows(encoder):
    v = encoder.encode(["Tropicana Apple Juice", "Arla Medium Fat Milk"])
    assert v.shape == (2, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_related_texts_are_closer_than_unrelated_ones(encoder):
    juice, apple_drink, jersey = encoder.encode(["apple juice", "a drink pressed from apples", "cricket jersey"])
    assert juice @ apple_drink > juice @ jersey + 0.2


def test_repeated_and_cached_texts_give_identical_vectors(encoder):
    a = encoder.encode(["oat milk", "oat milk", "  oat   milk "])
    np.testing.assert_array_equal(a[0], a[1])
    np.testing.assert_array_equal(a[0], a[2])  # whitespace is normalised before caching
    np.testing.assert_array_equal(encoder.encode(["oat milk"])[0], a[0])


def test_empty_input_and_empty_strings(encoder):
    assert encoder.encode([]).shape == (0, 384)
    v = encoder.encode(["", "milk"])
    assert not v[0].any() and np.linalg.norm(v[1]) == pytest.approx(1.0, abs=1e-5)


def test_the_cache_keeps_at_most_cache_size_texts():
    enc = TextEncoder(TextEncoderOptions(cache_size=3))
    first = enc.encode(["a", "b", "c", "d", "e"])
    assert len(enc._cache) == 3
    np.testing.assert_allclose(enc.encode(["a"])[0], first[0], atol=1e-5)  # evicted, recomputed


def test_the_onnx_backend_gives_sentence_transformers_vectors(encoder):
    texts = ["Tropicana Apple Juice", "", "a drink pressed from apples", "cricket jersey " * 300,
             "Arla Medium Fat Milk", "ÄÖ café crème brûlée", "this yellow fruit is sweet"]
    assert encoder.options.backend == "onnx"
    reference = TextEncoder(TextEncoderOptions(backend="torch")).encode(texts)
    np.testing.assert_allclose(encoder.encode(texts), reference, atol=1e-5)  # long text cut at 256 tokens too


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        TextEncoderOptions(backend="tensorflow")


class _NoNetwork(TextEncoder):
    @property
    def model(self):
        raise AssertionError("the network ran")


def test_persisted_texts_come_back_from_disk_equal_without_the_network(tmp_path):
    texts = ["Tropicana Apple Juice", "Arla Medium Fat Milk", ""]
    options = TextEncoderOptions(cache_dir=str(tmp_path))
    first = TextEncoder(options).encode(texts, persist=True)

    again = _NoNetwork(options).encode(texts, persist=True)  # another encoder: an empty memory cache

    np.testing.assert_array_equal(again, first)
    assert len(list(tmp_path.glob("*.npy"))) == 1 and not list(tmp_path.glob(".text_*"))


def test_a_changed_text_is_encoded_again_under_another_name(tmp_path):
    options = TextEncoderOptions(cache_dir=str(tmp_path))
    TextEncoder(options).encode(["Tropicana Apple Juice", "Oat milk"], persist=True)

    changed = TextEncoder(options).encode(["Tropicana Orange Juice", "Oat milk"], persist=True)

    assert len(list(tmp_path.glob("*.npy"))) == 2
    np.testing.assert_allclose(changed, TextEncoder().encode(["Tropicana Orange Juice", "Oat milk"]), atol=1e-6)
    with pytest.raises(AssertionError, match="the network ran"):
        _NoNetwork(options).encode(["Tropicana Apple Juice", "Oat milk "], persist=False)


def test_long_texts_go_in_smaller_batches_and_batching_does_not_change_a_vector():
    """Catalog descriptions run to hundreds of word pieces: a batch holds at most
    MAX_BATCH_TOKENS padded pieces (ONNX Runtime's buffers grow with batch x length^2), while
    short texts still go batch_size at a time."""
    from ml.text.encoder import MAX_BATCH_TOKENS, load_onnx_sentence_model

    model = load_onnx_sentence_model()
    long_text = " ".join(["a creamy organic oat drink pressed from Swedish oats, barista edition"] * 12)
    texts = [f"{long_text} number {i}" for i in range(40)] + [f"apple juice {i}" for i in range(100)]
    shapes, run = [], model.session.run

    def recording(outputs, feeds):  # the real session, its batch shapes noted
        shapes.append(feeds["input_ids"].shape)
        return run(outputs, feeds)

    model.session.run = recording
    try:
        together = model.encode(texts, batch_size=64)
    finally:
        del model.session.run
    assert all(n * length <= MAX_BATCH_TOKENS for n, length in shapes)
    assert max(length for _, length in shapes) > 128 and max(n for n, _ in shapes) == 64
    alone = np.concatenate([model.encode([t]) for t in texts[::10]])
    np.testing.assert_allclose(together[::10], alone, atol=1e-5)
