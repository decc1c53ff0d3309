"""Seed training data helpers (ml.seed.data) on synthetic arrays."""

from __future__ import annotations

import numpy as np

from ml.seed.data import SeedData, pyramid, sample_trajectory
from ml.visual.embedder import pool


def test_pyramid_level_one_is_the_pipeline_crop_feature():
    fmap = np.random.default_rng(0).random((3, 16, 7, 7)).astype(np.float32)
    p = pyramid(fmap)
    assert p.shape == (3, 5, 16)
    assert np.allclose(p[:, 0], pool(fmap, "gem"), atol=1e-6)
    assert np.allclose(np.linalg.norm(p[:, 1:].reshape(3, -1), axis=1), 1, atol=1e-5)


def test_trajectories_have_fixed_length_and_stay_in_one_product():
    crop_item = np.repeat([0, 0, 1], 4)
    crop_photo = np.repeat([0, 1, 2], 4)
    d = SeedData(np.zeros((12, 5, 4), np.float32), crop_item, crop_photo, np.tile(np.arange(4), 3),
                 np.zeros((2, 5, 4), np.float32), np.array([0, 1]), [{}, {}])
    paths = d.photo_index()
    assert sorted(paths) == [0, 1] and len(paths[0]) == 2
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = sample_trajectory(paths[0], rng, 32)
        assert t.shape == (32,) and set(crop_item[t]) == {0}
