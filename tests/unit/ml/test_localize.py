"""Score curves to candidates: a Viterbi path over the products and "nothing", and the other kinds."""

import numpy as np

from ml.localize import Localizer, LocalizerOptions, runs, smooth, viterbi
from ml.types import ScoreCurves


def _curves(fused, background=None, step=1.0):
    fused = np.asarray(fused, dtype=np.float32)
    if background is None:
        background = np.clip(1.0 - fused.sum(axis=1), 0.0, 1.0)
    times = np.arange(len(fused)) * step + step / 2
    ids = [f"p{j}" for j in range(fused.shape[1])]
    return ScoreCurves(times, step, ids, {"visual": fused}, fused, background)


OPTS = LocalizerOptions(smooth_s=1.0, min_duration_s=2.0, alternates=0, extra_bias=0.0, secondary_threshold=1.0,
                        identity_candidates=False)


def _spans(cands, kind=None):
    return [(c.j, c.a, c.b) for c in cands if kind is None or c.kind == kind]


def test_runs_and_smoothing_by_hand():
    assert runs(np.array([0, 1, 1, 0, 1], bool)) == [(1, 3), (4, 5)]
    np.testing.assert_allclose(smooth(np.array([0.0, 3.0, 0.0, 0.0]), 3), [1.0, 1.0, 1.0, 0.0])


def test_viterbi_stays_unless_the_evidence_pays_for_the_switch():
    logp = np.log(np.array([[0.9, 0.1], [0.4, 0.6], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9], [0.1, 0.9]]))
    # one step of 0.6 against 0.4 does not pay a switch cost of 1 (log 1.5 < 1); three steps of 0.9 do
    assert viterbi(logp, np.array([1.0, 1.0])).tolist() == [0, 0, 0, 1, 1, 1]
    assert viterbi(logp, np.array([0.0, 0.0])).tolist() == [0, 1, 0, 1, 1, 1]


def test_a_product_run_between_idle_time_is_one_primary_candidate():
    fused = np.zeros((12, 2))
    fused[3:8, 1] = 0.9
    (c,) = Localizer(OPTS).candidates(_curves(fused))
    assert (c.j, c.a, c.b, c.kind) == (1, 3, 8, "primary")


def test_idle_time_with_a_weak_best_product_gives_nothing():
    fused = np.full((20, 3), 0.1)  # 70 % "nothing" at every step
    assert Localizer(OPTS).candidates(_curves(fused)) == []


def test_too_short_runs_are_dropped():
    fused = np.zeros((10, 1))
    fused[4, 0] = 0.99
    assert Localizer(LocalizerOptions(**{**OPTS.__dict__, "background_cost": 0.0, "switch_cost": 0.0})).candidates(
        _curves(fused)) == []


def test_the_runner_up_of_a_span_is_an_alternate_of_the_same_group():
    fused = np.zeros((10, 3))
    fused[2:8] = [0.6, 0.3, 0.05]
    opts = LocalizerOptions(**{**OPTS.__dict__, "alternates": 1})
    cands = Localizer(opts).candidates(_curves(fused))
    assert _spans(cands, "primary") == [(0, 2, 8)] and _spans(cands, "alternate") == [(1, 2, 8)]
    assert cands[0].group == cands[1].group


def test_a_second_product_held_up_beside_the_first_is_a_secondary_candidate():
    fused = np.zeros((12, 2))
    fused[1:11, 0] = 0.55
    fused[3:9, 1] = 0.4
    opts = LocalizerOptions(**{**OPTS.__dict__, "secondary_threshold": 0.3, "secondary_min_s": 3.0})
    cands = Localizer(opts).candidates(_curves(fused))
    assert _spans(cands, "primary") == [(0, 1, 11)] and _spans(cands, "secondary") == [(1, 3, 9)]


def test_a_weak_exhibition_the_path_leaves_to_nothing_is_an_extra_candidate():
    fused = np.zeros((14, 2))
    fused[4:10, 1] = 0.35  # "nothing" 0.65: the main path stays on it
    assert Localizer(OPTS).candidates(_curves(fused)) == []
    opts = LocalizerOptions(**{**OPTS.__dict__, "extra_bias": 2.0})
    assert _spans(Localizer(opts).candidates(_curves(fused)), "extra") == [(1, 4, 10)]


def test_threshold_runs_when_asked():
    fused = np.zeros((10, 2))
    fused[2:6, 0] = 0.35
    opts = LocalizerOptions(**{**OPTS.__dict__, "run_threshold": 0.3})
    assert _spans(Localizer(opts).candidates(_curves(fused)), "run") == [(0, 2, 6)]


def test_empty_curves_give_nothing():
    assert Localizer(OPTS).candidates(_curves(np.zeros((0, 3)))) == []
    assert Localizer(OPTS).candidates(_curves(np.zeros((5, 0)))) == []


def test_an_exhibition_the_presence_model_doubts_still_gets_an_identity_candidate():
    fused = np.full((14, 3), 0.02)
    fused[4:10, 1] = 0.2  # the best product by far, but "nothing" at 0.76
    assert Localizer(OPTS).candidates(_curves(fused)) == []
    opts = LocalizerOptions(**{**OPTS.__dict__, "identity_candidates": True, "switch_cost": 1.0})
    assert (1, 4, 10) in _spans(Localizer(opts).candidates(_curves(fused)), "identity")
