"""ml.warm: models load once per process; a run after ``preload`` loads nothing."""

from __future__ import annotations

from pathlib import Path

from ml.pipeline import PipelineOptions, localize
from ml.visual.embedder import EmbedderOptions, ImageEmbedder
from ml.warm import load_stats, preload

DATA = Path(__file__).parents[2] / "data"


def test_preload_loads_every_model_once_and_a_run_after_it_loads_none():
    preload(PipelineOptions())
    loaded = load_stats()
    assert {"image_embedder", "sentence_model", "speech:faster-whisper"} <= set(loaded)

    preload(PipelineOptions())  # asking again loads nothing
    result = localize(str(DATA / "clip" / "clip.mp4"), str(DATA / "catalog"),
                      comments=str(DATA / "clip" / "comments.csv"))

    assert load_stats() == loaded
    assert result.timings_s["model_load"] == 0.0


def test_image_embedders_share_one_onnx_session_per_process():
    a, b = ImageEmbedder(EmbedderOptions()), ImageEmbedder(EmbedderOptions())
    a._load()
    b._load()
    assert a._session is b._session
