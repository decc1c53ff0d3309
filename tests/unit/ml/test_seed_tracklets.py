"""The seed models in the pipeline (ml.seed.tracklets): tracked boxes -> windows -> per-frame
scores. Small randomly initialised models over hand-made tracklets; the real text encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.seed.asymnet import AsymNet, AsymNetConfig, AsymNetScorer
from ml.seed.lxmert_fusion import LxmertFusion, LxmertFusionConfig, LxmertScorer
from ml.seed.tracklets import (SeedOptions, asymnet_frame_scores, box_windows, lxmert_frame_scores, seed_scores,
                               window_texts)
from ml.types import Boxes, Shots, TextEvents, Tracklet
from ml.visual.analyzer import VisualEvidence

C = 32


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _evidence(n_frames=10, n_products=3, seed=0):
    """Frames at 0.5, 1.5, ...; tracklet 1 on frames 0-5 looks like product 2, tracklet 2 on
    frames 3-4 like product 0; frames 6-9 have no tracked box."""
    rng = np.random.default_rng(seed)
    views = _unit(rng.random((n_products * 2, C)) - 0.5)
    owner = np.repeat(np.arange(n_products), 2)
    times = np.arange(n_frames) + 0.5

    def track(tid, frames, product):
        t = times[frames]
        emb = _unit(views[owner == product].mean(0) + rng.normal(0, 0.05, (len(t), C)))
        xyxy = np.tile([[10, 20, 110, 220]], (len(t), 1))
        return Tracklet(tid, t, xyxy, emb)

    tracks = [track(1, np.arange(0, 6), 2), track(2, np.arange(3, 5), 0)]
    F = np.zeros((n_frames, n_products), np.float32)
    return VisualEvidence(times, F, F.copy(), tracks, Shots(np.zeros(1)), Boxes.empty(), [f"p{i}" for i in range(n_products)],
                          catalog_vectors=views, catalog_owner=owner, frame_wh=(320, 240))


def _asymnet():
    torch.manual_seed(0)
    m = AsymNet(AsymNetConfig(feat_dim=C, reduce=0, dim=16, traj_len=8, ssn_hidden=16, tree=(8, 4, 2),
                              dropout=0.0, visual_prior=True, prior_init=4.0)).eval()
    torch.nn.init.zeros_(m.ssn.fc2.weight)  # rank by the visual prior alone
    return AsymNetScorer(m)


def test_each_tracked_box_gets_the_crops_of_its_tracklet_within_the_window():
    ev = _evidence()
    rows, spans = box_windows(ev.tracklets, ev.frame_times, window_s=1.0)
    assert rows.tolist() == [0, 1, 2, 3, 4, 5, 3, 4]
    assert [(tr.track_id, lo, hi) for tr, lo, hi in spans][:3] == [(1, 0, 2), (1, 0, 3), (1, 1, 4)]
    assert [(lo, hi) for _, lo, hi in spans[-2:]] == [(0, 2), (0, 2)]


def test_asymnet_scores_follow_the_tracked_product_and_leave_untracked_frames_at_zero():
    ev = _evidence()
    s = asymnet_frame_scores(ev, SeedOptions(window_s=1.0, top_k=0), scorer=_asymnet())
    assert s.shape == (10, 3)
    assert (s[:6].argmax(1) == 2).all()
    assert (s[6:] == 0).all()
    assert ((s[:6] > 0) & (s[:6] <= 1)).all()


def test_window_texts_take_speech_near_the_box_and_comments_that_lag_it():
    sources = {"speech": TextEvents(np.array([1.0, 9.0, 20.0]), ["red bag", "oat milk", "later"], np.ones(3)),
               "comments": TextEvents(np.array([1.0, 11.0, 30.0]), ["old", "love the milk", "far"], np.ones(3))}
    o = SeedOptions(text_window_s=4.0, comment_lag_s=10.0)
    assert window_texts(sources, 12.0, o) == ["oat milk", "love the milk"]  # "old" is 11 s before
    assert window_texts(sources, 4.0, o) == ["old", "red bag"]  # oldest first
    assert window_texts({}, 4.0, o) == []


def test_lxmert_scores_every_product_for_every_tracked_frame():
    from ml.text.encoder import TextEncoder

    torch.manual_seed(0)
    model = LxmertFusion(LxmertFusionConfig(feat_dim=C, hidden=32, heads=2, l_layers=1, r_layers=1, x_layers=1,
                                            n_visual=4, max_texts=3, dropout=0.0))
    sc = LxmertScorer(model, encoder=TextEncoder())
    ev = _evidence()
    speech = {"speech": TextEvents(np.array([2.0]), ["here is the red leather bag"], np.ones(1))}
    s = lxmert_frame_scores(ev, speech, SeedOptions(window_s=1.0), scorer=sc, titles=["milk", "apple", "red bag"])
    assert s.shape == (10, 3)
    assert ((s[:6] > 0) & (s[:6] < 1)).all() and (s[6:] == 0).all()
    with pytest.raises(ValueError, match="titles"):
        lxmert_frame_scores(ev, speech, scorer=sc)


def test_an_unknown_seed_model_is_refused():
    with pytest.raises(ValueError, match="unknown seed model"):
        seed_scores(_evidence(), ["resnet"])
