"""EfficientNet-Lite0 weights, the ONNX embedder and catalog embedding, on real grocery photos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.catalog import load_catalog
from ml.index import CatalogIndex
from ml.visual import effnet
from ml.visual.embedder import EmbedderOptions, ImageEmbedder, embed_catalog, read_rgb, trim_background
from tests import media

GROCERY = Path(__file__).parents[2] / "data" / "grocery"


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    cache = tmp_path_factory.mktemp("onnx-cache")
    e = ImageEmbedder(EmbedderOptions(cache_dir=str(cache)))
    e.cache = cache
    return e


def test_packaged_weights_load_strictly_into_the_project_network():
    model = effnet.load_pretrained()
    assert len(model.state_dict()) == 296
    x = torch.from_numpy(effnet.normalise(np.zeros((1, 224, 224, 3), np.uint8)))
    with torch.no_grad():
        assert tuple(model.features(x).shape) == (1, 1280, 7, 7)
        assert tuple(model(x).shape) == (1, 1000)


@pytest.mark.parametrize("photo, imagenet_class", [
    ("Banana__iconic.jpg", 954),  # banana
    ("Banana__test_Banana_017.jpg", 954),  # in-store, held in a hand
    ("Granny-Smith__iconic.jpg", 948),  # Granny Smith
    ("Pomegranate__iconic.jpg", 957),  # pomegranate
    ("Green-Bell-Pepper__iconic.jpg", 945),  # bell pepper
])
def test_real_photos_classify_as_their_imagenet_class(embedder, photo, imagenet_class):
    k, p = embedder.classify(read_rgb(str(GROCERY / photo)))
    assert k == imagenet_class and p > 0.3


def test_the_onnx_graph_is_cached_once_under_the_cache_dir(embedder):
    embedder.embed([read_rgb(str(GROCERY / "Banana__iconic.jpg"))])
    files = [f for f in os.listdir(embedder.cache) if f.endswith(".onnx")]
    assert len(files) == 1 and not [f for f in os.listdir(embedder.cache) if f.startswith(".")]


def test_the_int8_graph_keeps_the_float_graphs_vectors_and_matches(embedder):
    names = sorted(p.name for p in GROCERY.glob("*.jpg"))
    imgs = [read_rgb(str(GROCERY / n)) for n in names]
    int8 = ImageEmbedder(EmbedderOptions(precision="int8", cache_dir=str(embedder.cache)))
    q = int8.embed(imgs)
    # quantized once from the float graph, next to it, with no temporary file left behind
    assert len([f for f in os.listdir(embedder.cache) if f.endswith(".onnx")]) == 2
    assert not [f for f in os.listdir(embedder.cache) if f.startswith(".")]
    f = embedder.embed(imgs)
    assert np.all(np.sum(q * f, axis=1) > 0.97)
    assert np.abs(q @ q.T - f @ f.T).max() < 0.05
    shop = [i for i, n in enumerate(names) if "__iconic" in n]
    for i, n in enumerate(names):  # each in-store photo's nearest shop photo is the same in both
        if "__test_" in n:
            assert int(np.argmax(q[shop] @ q[i])) == int(np.argmax(f[shop] @ f[i]))


def test_int8_and_float_vectors_are_cached_apart():
    from ml.visual.catalog_cache import settings_key

    assert settings_key(EmbedderOptions(precision="int8"), True) != settings_key(EmbedderOptions(), True)
    with pytest.raises(ValueError, match="int8 or fp32"):
        EmbedderOptions(precision="fp16")


def test_a_missing_calibration_says_how_to_run_without_it(tmp_path):
    from ml.visual.quantize import quantized_graph

    with pytest.raises(FileNotFoundError, match="image-precision fp32"):
        quantized_graph(str(tmp_path / "float.onnx"), str(tmp_path / "int8.onnx"), cache=str(tmp_path / "none.json"))


def test_calibration_on_a_video_writes_ranges_that_build_a_working_graph(embedder, tmp_path):
    from ml.visual.embedder import export_onnx
    from ml.visual.quantize import calibrate, calibration_images, quantized_graph

    clip = str(Path(__file__).parents[2] / "data" / "clip" / "clip.mp4")
    squares = calibration_images([clip], per_video=4, max_crops=8)
    assert squares.shape[1:] == (224, 224, 3) and 1 <= len(squares) <= 8 and squares.dtype == np.uint8
    out = calibrate([clip], str(tmp_path / "ranges.json"), log=lambda *_: None, per_video=4, max_crops=8)
    graph = quantized_graph(export_onnx(EmbedderOptions(precision="fp32", cache_dir=str(embedder.cache))),
                            str(tmp_path / "int8.onnx"), cache=out)
    from ml.visual.embedder import onnx_session

    f, logits = onnx_session(graph, 1).run(None, {"image": np.zeros((2, 3, 224, 224), np.float32)})
    assert f.shape == (2, 1280, 7, 7) and logits.shape == (2, 1000) and np.isfinite(f).all()


def test_embeddings_are_unit_vectors_for_images_of_any_size(embedder):
    rng = np.random.default_rng(0)
    imgs = [read_rgb(str(GROCERY / "Banana__iconic.jpg")), rng.integers(0, 255, (31, 517, 3), np.uint8),
            rng.integers(0, 255, (400, 9, 3), np.uint8)]
    v = embedder.embed(imgs)
    assert v.shape == (3, 1280) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 1280)


@pytest.mark.parametrize("pooling, dim", [("gem", 1280), ("spp", 6400), ("mean", 1280)])
def test_onnx_and_torch_backends_agree(embedder, pooling, dim):
    imgs = [read_rgb(str(GROCERY / n)) for n in ("Banana__iconic.jpg", "Oatly-Oat-Milk__iconic.jpg")]
    a = ImageEmbedder(EmbedderOptions(pooling=pooling, cache_dir=str(embedder.cache))).embed(imgs)
    b = ImageEmbedder(EmbedderOptions(pooling=pooling, backend="torch")).embed(imgs)
    assert a.shape == b.shape == (2, dim)
    assert np.all(np.sum(a * b, axis=1) > 0.9999)


def test_trim_background_crops_a_packshot_to_its_object():
    img = np.full((100, 100, 3), 255, np.uint8)
    img[30:60, 40:90] = (200, 30, 30)
    out = trim_background(img)
    assert out.shape[0] < 40 and out.shape[1] < 60


def test_catalog_embedding_finds_the_product_of_an_in_store_photo(embedder, tmp_path):
    catalog = load_catalog(media.write_catalog(tmp_path / "cat"))
    vectors, owner = embed_catalog(catalog, embedder, tta=True)
    assert len(vectors) == len(owner) == 5 * len(catalog)  # 5 test-time views per photo
    assert sorted(set(owner.tolist())) == list(range(len(catalog)))
    index = CatalogIndex().fit(vectors, owner, len(catalog))
    for photo, pid in (("Banana__test_Banana_017.jpg", "BAN"),
                       ("Bravo-Apple-Juice__test_Bravo-Apple-Juice_001.jpg", "JUI")):
        scores = index.scores(embedder.embed([read_rgb(str(GROCERY / photo))]))[0]
        assert catalog.ids[int(scores.argmax())] == pid
    plain, _ = embed_catalog(catalog, embedder, tta=False)
    assert len(plain) == len(catalog)
