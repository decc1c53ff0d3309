"""VisualAnalyzer end to end on a small real video: in-store photos vs the shop's catalog photos."""

from __future__ import annotations

import numpy as np
import pytest

from ml.catalog import load_catalog
from ml.decode import iter_frames
from ml.visual.analyzer import VisualAnalyzer, VisualOptions
from tests import media


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("va")
    catalog = load_catalog(media.write_catalog(d / "catalog"))  # BAN, OAT, JUI shop photos
    # 3 scenes x 3 s: in-store photos of the banana, the oat milk, the juice
    video = media.make_video(d / "v.mp4", seconds_per_scene=3.0)
    return catalog, video


def _run(catalog, video, **kw):
    analyzer = VisualAnalyzer(catalog, VisualOptions(**kw))
    for frame in iter_frames(video, fps=1.0):
        analyzer.update(frame)
    return analyzer.finish()


def test_it_scores_every_frame_for_every_product_and_finds_the_shown_one(setup):
    catalog, video = setup
    ev = _run(catalog, video, batch_frames=4)
    assert ev.frame_times.tolist() == pytest.approx(list(range(9)), abs=0.06)
    assert ev.image_scores.shape == ev.tracklet_scores.shape == (9, 3)
    assert ev.image_scores.dtype == np.float32
    assert np.all(ev.image_scores <= 1.0 + 1e-5) and np.all(ev.image_scores >= -1.0 - 1e-5)
    shown = np.repeat([catalog.index_of("BAN"), catalog.index_of("OAT"), catalog.index_of("JUI")], 3)
    assert (ev.image_scores.argmax(axis=1) == shown).mean() >= 2 / 3
    assert (ev.tracklet_scores.argmax(axis=1) == shown).mean() >= 2 / 3
    assert ev.product_ids == catalog.ids


def test_it_finds_the_three_shots_and_keeps_tracklets_inside_them(setup):
    catalog, video = setup
    ev = _run(catalog, video, keep_embeddings=True)
    assert ev.shots.starts.tolist() == pytest.approx([0.0, 3.0, 6.0], abs=0.06)
    assert ev.tracklets
    for tr in ev.tracklets:
        assert len(tr.embeddings) == len(tr.t) and tr.embeddings.shape[1] == 1280
        assert tr.category in {"fruit", "milk", "juice"}
        assert tr.parent_category == {"fruit": "produce", "milk": "dairy", "juice": "drinks"}[tr.category]
    longest = max(ev.tracklets, key=lambda tr: len(tr.t))
    assert len(longest.t) == 3  # the whole-frame track of one 3-frame shot
    assert all(set(b) >= {"t", "xyxy", "track_id", "source"} for b in ev.boxes)


def test_tracklets_scored_as_they_become_final_give_vis_trk_as_defined_and_drop_their_crops(setup):
    """Vis.Trk at a frame: the best, over tracklets with a box there, of the catalog scores of
    the tracklet's mean crop within +-track_window_s; computed here from the kept crops, in one
    pass, and compared with what the analyzer streamed out (scored as tracklets became final)."""
    catalog, video = setup
    kept = _run(catalog, video, keep_embeddings=True, batch_frames=1)
    dropped = _run(catalog, video, batch_frames=1)
    analyzer = VisualAnalyzer(catalog, VisualOptions())
    expected = np.full_like(kept.image_scores, -np.inf)
    for tr in kept.tracklets:
        rows = np.searchsorted(kept.frame_times, tr.t)
        np.maximum.at(expected, rows, analyzer.scores(analyzer._windowed(tr)))
    expected = np.where(np.isfinite(expected), expected, kept.image_scores)
    np.testing.assert_allclose(kept.tracklet_scores, expected, atol=1e-5)
    np.testing.assert_allclose(dropped.tracklet_scores, kept.tracklet_scores, atol=1e-6)
    assert [(t.track_id, t.category) for t in dropped.tracklets] == [(t.track_id, t.category) for t in kept.tracklets]
    # dropped for real: no view that would keep the tracklet's crop buffer alive
    assert all(t.embeddings.shape == (0, 1280) and t.embeddings.base is None for t in dropped.tracklets)


def test_without_tracking_the_two_score_matrices_are_the_image_scores(setup):
    catalog, video = setup
    ev = _run(catalog, video, use_tracking=False, batch_frames=1, max_proposals=2)
    assert ev.tracklets == []
    assert np.array_equal(ev.image_scores, ev.tracklet_scores)


def test_an_empty_stream_gives_empty_evidence(setup):
    catalog, _ = setup
    ev = VisualAnalyzer(catalog, VisualOptions(catalog_tta=False)).finish()
    assert ev.image_scores.shape == (0, 3) and ev.frame_times.shape == (0,)
    assert ev.shots.starts.tolist() == [0.0]
