"""The learned projection of crop and catalog vectors (ml.visual.projection, ml.seed.projection)."""

from __future__ import annotations

import numpy as np
import pytest

from ml.catalog import load_catalog
from ml.decode import iter_frames
from ml.pipeline import PipelineOptions
from ml.seed.projection import save
from ml.visual.analyzer import VisualAnalyzer, VisualOptions
from ml.visual.projection import PACKAGED, load_projection, project, projection_meta
from tests import media


def test_none_is_the_pretrained_space_and_a_matrix_gives_unit_rows():
    x = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    assert load_projection("none") is None and load_projection(None) is None
    assert project(x, None) is x
    m = np.diag(np.arange(1, 9)).astype(np.float32)
    z = project(x, m)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(z, (x @ m) / np.linalg.norm(x @ m, axis=1, keepdims=True), rtol=1e-5)


def test_saved_as_a_float16_delta_and_loaded_back_as_identity_plus_delta(tmp_path):
    m = np.eye(6, dtype=np.float32)
    m[0, 1], m[2, 2] = 0.01, 1.02
    save(str(tmp_path / "p.npz"), m, {"decay": 0.01})
    back = load_projection(str(tmp_path / "p.npz"))
    np.testing.assert_allclose(back, m, atol=1e-4)
    assert projection_meta(str(tmp_path / "p.npz")) == {"decay": 0.01}


def test_the_packaged_head_is_a_small_move_from_the_identity():
    m = load_projection("packaged")
    assert m.shape == (1280, 1280)
    assert 0 < np.abs(m - np.eye(1280)).max() < 0.1  # weight decay keeps it near the pretrained space
    assert projection_meta(PACKAGED)["best_val_r1"] > 0


def test_a_file_that_is_not_a_projection_is_refused(tmp_path):
    np.savez(tmp_path / "x.npz", other=np.zeros(3))
    with pytest.raises(ValueError, match="delta"):
        load_projection(str(tmp_path / "x.npz"))
    with pytest.raises(ValueError, match="projection must be"):
        PipelineOptions(projection=str(tmp_path / "missing.npz"))
    assert PipelineOptions().visual_options().projection == "none"


def test_an_identity_projection_scores_as_no_projection(tmp_path):
    catalog = load_catalog(media.write_catalog(tmp_path / "catalog"))
    video = media.make_video(tmp_path / "v.mp4", seconds_per_scene=2.0)
    save(str(tmp_path / "eye.npz"), np.eye(1280, dtype=np.float32), {})
    out = {}
    for name in ("none", str(tmp_path / "eye.npz"), "packaged"):
        a = VisualAnalyzer(catalog, VisualOptions(projection=name))
        for frame in iter_frames(video, fps=1.0):
            a.update(frame)
        out[name] = a.finish()
    eye = out[str(tmp_path / "eye.npz")]
    np.testing.assert_allclose(eye.tracklet_scores, out["none"].tracklet_scores, atol=1e-5)
    np.testing.assert_allclose(eye.image_scores, out["none"].image_scores, atol=1e-5)
    # the packaged head moves the cosines, but not the shown product away
    assert not np.allclose(out["packaged"].tracklet_scores, out["none"].tracklet_scores, atol=1e-4)
    shown = np.repeat([catalog.index_of("BAN"), catalog.index_of("OAT"), catalog.index_of("JUI")], 2)
    assert (out["packaged"].tracklet_scores.argmax(axis=1) == shown).mean() >= 2 / 3
