"""Interval scores: features over a candidate's span, a logistic fit, Platt scaling on held-out runs."""

import numpy as np
import pytest

from ml.calibration import FEATURE_NAMES, IntervalScorer, candidate_labels, interval_features, to_interval
from ml.localize import Candidate
from ml.types import Interval, ScoreCurves


def _curves():
    fused = np.zeros((10, 2), np.float32)
    fused[2:6, 0] = [0.8, 0.6, 0.8, 0.6]
    fused[2:6, 1] = 0.1
    bg = 1.0 - fused.sum(axis=1)
    return ScoreCurves(np.arange(10) + 0.5, 1.0, ["a", "b"], {"visual": fused}, fused, bg)


def test_span_features_by_hand():
    curves = _curves()
    (x,) = interval_features(curves, [Candidate(0, 2, 6, "primary")])
    f = dict(zip(FEATURE_NAMES, x))
    assert f["mean"] == pytest.approx(0.7) and f["max"] == pytest.approx(0.8)
    assert f["presence"] == pytest.approx(0.8) and f["share_top"] == 1.0
    assert f["margin_other"] == pytest.approx(0.6) and f["margin_background"] == pytest.approx(0.5)
    assert f["contrast"] == pytest.approx(0.7)  # nothing of "a" in the 4 s either side
    assert f["log_duration"] == pytest.approx(np.log(4)) and f["log_products"] == pytest.approx(np.log(2))
    assert f["kind_primary"] == 1.0 and f["kind_alternate"] == 0.0
    assert f["evidence_visual"] == pytest.approx(0.7) and f["evidence_speech"] == 0.0


def test_intervals_and_labels_follow_the_steps():
    curves = _curves()
    iv = to_interval(curves, Candidate(0, 2, 6, "primary"), 0.9)
    assert (iv.product_id, iv.start_s, iv.end_s, iv.score) == ("a", 2.0, 6.0, 0.9)
    cands = [Candidate(0, 2, 6, "primary"), Candidate(1, 2, 6, "alternate"), Candidate(0, 2, 3, "extra")]
    truth = [Interval("a", 2.5, 6.5, 1.0)]
    assert candidate_labels(curves, cands, truth).tolist() == [1, 0, 0]  # tIoU 3.5/4.5; other product; 0.5/4.5


def test_platt_scaling_makes_scores_match_outcome_rates_on_held_out_data():
    rng = np.random.default_rng(0)

    def data(n, shift):
        x = rng.normal(size=(n, len(FEATURE_NAMES)))
        p = 1 / (1 + np.exp(-(2.0 * x[:, 0] + shift)))
        return x, (rng.random(n) < p).astype(int)

    X, y = data(4000, 0.0)
    Xv, yv = data(4000, -1.5)  # held-out runs where the same evidence is right less often
    s = IntervalScorer().fit(X, y)
    before = s.predict(Xv)
    s.calibrate(Xv, yv)
    after = s.predict(Xv)
    assert abs(before.mean() - yv.mean()) > 0.1 and abs(after.mean() - yv.mean()) < 0.02
    back = IntervalScorer.from_dict(s.to_dict())
    np.testing.assert_allclose(back.predict(Xv), after)


def test_one_class_training_data_gives_a_constant_not_an_error():
    s = IntervalScorer().fit(np.ones((5, len(FEATURE_NAMES))), np.zeros(5))
    assert (s.predict(np.zeros((3, len(FEATURE_NAMES)))) < 0.01).all()
    assert s.predict(np.zeros((0, len(FEATURE_NAMES)))).shape == (0,)


def test_boundary_offsets_move_the_output_span_and_the_labels_with_it():
    from ml.localize import LocalizerOptions

    curves = _curves()
    opts = LocalizerOptions(start_offset_s=0.5, end_offset_s=-1.0)
    iv = to_interval(curves, Candidate(0, 2, 6, "primary"), 0.9, opts)
    assert (iv.start_s, iv.end_s) == (2.5, 5.0)
    # too short for the offsets: one step about the centre of the shifted span
    iv = to_interval(curves, Candidate(0, 2, 3, "primary"), 0.9, LocalizerOptions(start_offset_s=0.8, end_offset_s=-0.6))
    assert (iv.start_s, iv.end_s) == pytest.approx((2.1, 3.1))
    truth = [Interval("a", 2.8, 4.6, 1.0)]
    cand = [Candidate(0, 2, 6, "primary")]
    assert candidate_labels(curves, cand, truth).tolist() == [0]  # 1.8/4.0 as the localizer cut it
    assert candidate_labels(curves, cand, truth, options=opts).tolist() == [1]  # 1.8/2.5 as output


def test_boundary_offsets_are_minus_the_median_errors_of_matched_primary_candidates():
    from ml.calibration import boundary_offsets

    curves = ScoreCurves(np.arange(100) + 0.5, 1.0, ["a", "b"], {}, np.zeros((100, 2), np.float32),
                         np.ones(100, np.float32))
    cands, truth = [], []
    for k in range(12):  # spans [10k, 10k+6) s; truths start 0.5 s later and end 1.5 s earlier
        cands.append(Candidate(0, 8 * k, 8 * k + 6, "primary"))
        truth.append(Interval("a", 8 * k + 0.5, 8 * k + 4.5, 1.0))
    cands.append(Candidate(0, 2, 4, "alternate"))  # not a primary run: not counted
    cands.append(Candidate(1, 0, 6, "primary"))  # no true interval of "b": not counted
    assert boundary_offsets([curves], [cands], [truth]) == (0.5, -1.5)
    assert boundary_offsets([curves], [cands[:5]], [truth]) == (0.0, 0.0)  # too few to say


def _exhibition_with_cuts(cuts):
    """Product "a" shown over [10, 20) s at 0.5 s steps; the smoothed path overruns it."""
    times = np.arange(60) * 0.5 + 0.25
    fused = np.zeros((60, 2), np.float32)
    fused[(times >= 10) & (times < 20), 0] = 0.9
    fused[:, 1] = 0.05
    return ScoreCurves(times, 0.5, ["a", "b"], {"visual": fused}, fused, 1.0 - fused.sum(axis=1), cuts)


def test_an_edge_moves_onto_the_shot_change_where_its_product_appears_or_leaves():
    from ml.calibration import snap_edge
    from ml.localize import LocalizerOptions

    curves = _exhibition_with_cuts([10.0, 15.0, 20.0])  # 15 s: a cut inside the exhibition
    cand = Candidate(0, 19, 43, "primary")  # [9.5, 21.5) as the localizer cut it
    assert (to_interval(curves, cand, 0.9).start_s, to_interval(curves, cand, 0.9).end_s) == (9.5, 21.5)
    iv = to_interval(curves, cand, 0.9, LocalizerOptions(snap_s=2.0))
    assert (iv.start_s, iv.end_s) == (10.0, 20.0)
    # the cut at 15 s has the product on both sides: an end near it stays where it is
    assert snap_edge(curves, 0, 15.5, 2.0, rising=False) == 15.5
    # a cut farther than the window, or the wrong way round, does not move an edge
    assert snap_edge(curves, 0, 22.5, 2.0, rising=False) == 22.5
    assert snap_edge(curves, 0, 20.5, 2.0, rising=True) == 20.5
    # no cuts (one camera, no shot changes): the edges are the localizer's
    iv = to_interval(_exhibition_with_cuts([]), cand, 0.9, LocalizerOptions(snap_s=2.0))
    assert (iv.start_s, iv.end_s) == (9.5, 21.5)
    # labels follow the output: tIoU 10/12 without snapping, 1.0 with it
    truth = [Interval("a", 10.0, 20.0, 1.0)]
    assert candidate_labels(curves, [cand], truth, theta=0.9).tolist() == [0]
    assert candidate_labels(curves, [cand], truth, theta=0.9, options=LocalizerOptions(snap_s=2.0)).tolist() == [1]
