"""Calibration (ECE, reliability diagram) of interval scores on hand-computed cases."""

import pytest

from ml.eval.calibration import bins_of, calibration, pool, reliability_diagram, summary


def iv(pid, s, e, score=None):
    d = {"product_id": pid, "start_s": s, "end_s": e}
    if score is not None:
        d["score"] = score
    return d


def test_ece_weighs_each_bin_gap_by_its_share_of_intervals():
    # bin .9: one at .95, matched -> |.95 - 1| = .05; bin .8: two at .85, one matched -> |1.7 - 1| = .7;
    # bin .1: one at .15, unmatched -> .15. ECE = (.05 + .7 + .15) / 4
    s = summary(bins_of([.95, .85, .85, .15], [True, True, False, False]))
    assert s["ece"] == pytest.approx(0.225)
    assert s["brier"] == pytest.approx((.05 ** 2 + .15 ** 2 + .85 ** 2 + .15 ** 2) / 4)
    b8 = s["bins"][8]
    assert (b8["n"], b8["mean_score"], b8["match_rate"]) == (2, pytest.approx(.85), 0.5)
    assert s["bins"][5]["n"] == 0 and s["bins"][5]["match_rate"] is None


def test_a_calibrated_score_has_zero_ece():
    assert summary(bins_of([.3] * 10, [True] * 3 + [False] * 7))["ece"] == pytest.approx(0.0)


def test_scores_on_the_edges_and_out_of_range_fall_in_the_end_bins():
    b = bins_of([0.0, 1.0, 1.2, -0.1, 0.5], [False, True, True, False, True])
    assert b["n"][0] == 2 and b["n"][9] == 2 and b["n"][5] == 1


def test_outcomes_come_from_matching_at_tiou_half():
    truth = [iv("A", 0, 10), iv("B", 20, 30)]
    # A .9 matches; A .8 duplicates it; B .6 has IoU .3: all three are scored against their outcome
    c = calibration([iv("A", 0, 10, .9), iv("A", 0, 10, .8), iv("B", 20, 23, .6)], truth)
    assert c["n"] == 3 and c["match_rate"] == pytest.approx(1 / 3)
    assert c["ece"] == pytest.approx((abs(.9 - 1) + .8 + .6) / 3)


def test_pooling_adds_bins_across_episodes():
    a = calibration([iv("A", 0, 10, .95)], [iv("A", 0, 10)])
    b = calibration([iv("B", 0, 10, .95)], [iv("A", 0, 10)])
    p = pool([a["raw"], b["raw"]])
    assert p["n"] == 2 and p["bins"][9]["match_rate"] == 0.5
    assert p["ece"] == pytest.approx(.45)  # |1.9 - 1| / 2
    assert pool([])["n"] == 0 and pool([])["ece"] is None


def test_the_reliability_diagram_is_a_png_with_one_panel_per_set(tmp_path):
    from PIL import Image

    c = summary(bins_of([.95, .85, .85, .15], [True, True, False, False]))
    one = reliability_diagram([("short", c)], str(tmp_path / "one.png"))
    two = reliability_diagram([("short", c), ("long", summary(bins_of([], [])))], str(tmp_path / "two.png"))
    with Image.open(one) as a, Image.open(two) as b:
        assert a.format == b.format == "PNG"
        assert b.size[0] > 1.5 * a.size[0]
