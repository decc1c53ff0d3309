"""Atomic files of the on-disk caches: a reader sees no file or the whole file, never half."""

import numpy as np
import pytest

from ml.npyfile import atomic_path, save_atomic


def test_a_block_that_finishes_renames_its_file_into_place(tmp_path):
    out = tmp_path / "graph.onnx"
    with atomic_path(str(out), ".g_", ".onnx") as tmp:
        assert not out.exists()
        with open(tmp, "wb") as f:
            f.write(b"whole")
    assert out.read_bytes() == b"whole" and [p.name for p in tmp_path.iterdir()] == ["graph.onnx"]


def test_a_block_that_fails_leaves_neither_the_file_nor_its_temporary(tmp_path):
    out = tmp_path / "graph.onnx"
    with pytest.raises(RuntimeError):
        with atomic_path(str(out), ".g_", ".onnx") as tmp:
            with open(tmp, "wb") as f:
                f.write(b"ha")
            raise RuntimeError("export failed half-way")
    assert list(tmp_path.iterdir()) == []


def test_an_array_that_cannot_be_written_costs_only_the_cache(tmp_path):
    assert save_atomic(str(tmp_path / "a" / "v.npy"), np.ones(3))
    np.testing.assert_array_equal(np.load(tmp_path / "a" / "v.npy"), np.ones(3, np.float32))
    (tmp_path / "file").write_bytes(b"")  # a file where the cache folder should be
    assert save_atomic(str(tmp_path / "file" / "v.npy"), np.ones(3)) is False
