"""Metrics at the operating point on hand-computed cases (0.5 s grid at cell centres 0.25, 0.75, ...)."""

import json

import pytest

from ml.eval import evaluate
from ml.eval.cli import main_evaluate
from ml.eval.operating import grid, instant_counts, match_flags, operating_metrics, pool


def iv(pid, s, e, score=None):
    d = {"product_id": pid, "start_s": s, "end_s": e}
    if score is not None:
        d["score"] = score
    return d


TRUTH = [iv("A", 0, 10), iv("B", 20, 30), iv("A", 40, 50)]
PRED = [iv("A", 0, 10, .9),    # IoU 1 with the first A: match
        iv("A", 1, 10, .8),    # IoU .9 with the first A, already taken: duplicate, false
        iv("B", 20, 24, .7),   # IoU .4: false
        iv("C", 40, 50, .6),   # wrong product: false
        iv("A", 42, 50, .5)]   # IoU .8 with the second A: match


def test_precision_recall_and_f1_count_one_match_per_true_interval_of_the_same_product():
    m = operating_metrics(PRED, TRUTH, 60)
    assert (m["n_output"], m["n_true"], m["n_tp"]) == (5, 3, 2)
    assert m["precision@0.5"] == pytest.approx(0.4)
    assert m["recall@0.5"] == pytest.approx(2 / 3)
    assert m["f1@0.5"] == pytest.approx(0.5)  # 2 * .4 * (2/3) / (.4 + 2/3)
    assert m["proposals_per_true"] == pytest.approx(5 / 3)


def test_matching_is_greedy_by_score_not_by_overlap():
    # the better-overlapping interval scores lower, so the true interval is already taken
    flags = match_flags([iv("A", 0, 10, .5), iv("A", 0, 6, .9)], [iv("A", 0, 10)])
    assert flags.tolist() == [False, True]  # .9 has IoU .6 and matches first


def test_an_interval_below_tiou_half_is_not_a_match():
    assert match_flags([iv("A", 0, 4.9, .9)], [iv("A", 0, 10)]).tolist() == [False]  # IoU .49
    assert match_flags([iv("A", 0, 5, .9)], [iv("A", 0, 10)]).tolist() == [True]  # IoU .5


def test_the_grid_is_the_centres_of_half_second_cells():
    assert grid(2.0).tolist() == [0.25, 0.75, 1.25, 1.75]
    assert grid(1.3).tolist() == [0.25, 0.75, 1.25]


def test_false_alarms_are_covered_instants_farther_than_one_second_from_every_true_interval():
    # 10 s: truth [4, 6] -> instants within 1 s are 3.25 .. 6.75 (8); idle: 0.25..2.75 and 7.25..9.75 (12)
    truth = [iv("A", 4, 6)]
    c = instant_counts([iv("A", 0, 2, .9),      # covers 0.25 .. 1.75: 4 idle instants
                        iv("B", 6.5, 7.6, .9),  # covers 6.75 (near the truth) and 7.25 (idle)
                        iv("A", 4, 6, .9)],     # on the truth: no false alarm
                       truth, 10)
    assert c["idle_instants"] == 12 and c["false_alarm_instants"] == 5
    assert operating_metrics([iv("A", 0, 2, .9), iv("B", 6.5, 7.6, .9)], truth, 10)["false_alarm_rate"] == pytest.approx(5 / 12)


def test_an_instant_exactly_one_second_from_the_truth_is_not_idle():
    c = instant_counts([iv("B", 0, 3.3, .9)], [iv("A", 4.25, 6)], 10)  # 3.25 is 1.0 s away
    # near: 3.25 .. 6.75 (8 instants, 3.25 included), idle 12; 0.25 .. 2.75 covered, 3.25 is not idle
    assert c["idle_instants"] == 12 and c["false_alarm_instants"] == 6


def test_now_showing_takes_the_top_scored_covering_interval_and_counts_gaps_as_wrong():
    # A [0,4] and B [2,6] shown (both at once in [2,4]); D [8,9] shown with nothing covering it
    truth = [iv("A", 0, 4), iv("B", 2, 6), iv("D", 8, 9)]
    pred = [iv("A", 0, 3, .9), iv("C", 3, 5, .8), iv("B", 1, 6, .5)]
    c = instant_counts(pred, truth, 10)
    # 0.25..2.75: A on top, right (6); 3.25..4.75: C on top, wrong (4); 5.25, 5.75: B right (2);
    # 8.25, 8.75: nothing covers, wrong (2)
    assert c["shown_instants"] == 14 and c["now_showing_correct"] == 8


def test_now_showing_counts_ties_against_us_unless_every_tied_product_is_shown():
    one = instant_counts([iv("A", 0, 2, .7), iv("B", 0, 2, .7)], [iv("A", 0, 2)], 2)
    assert (one["shown_instants"], one["now_showing_correct"]) == (4, 0)
    both = instant_counts([iv("A", 0, 2, .7), iv("B", 0, 2, .7)], [iv("A", 0, 2), iv("B", 0, 2)], 2)
    assert both["now_showing_correct"] == 4


def test_pooling_sums_counts_instead_of_averaging_rates():
    e1 = operating_metrics([iv("A", 0, 10, .9)], [iv("A", 0, 10)], 20)
    e2 = operating_metrics([iv("B", 0, 2, .9), iv("B", 10, 12, .9), iv("C", 14, 16, .8)], [iv("B", 4, 8)], 20)
    assert e1["f1@0.5"] == 1.0 and e2["f1@0.5"] == 0.0
    p = pool([e1, e2])
    assert (p["n_output"], p["n_true"], p["n_tp"]) == (4, 2, 1)
    assert p["precision@0.5"] == 0.25 and p["recall@0.5"] == 0.5 and p["f1@0.5"] == pytest.approx(1 / 3)
    # idle: e1 11..20 -> 18 instants (11.25..19.75), e2: 0.25..2.75 and 9.25..19.75 -> 6 + 22
    assert p["idle_instants"] == e1["idle_instants"] + e2["idle_instants"] == 18 + 28
    # e1 covers only its truth; e2: [0,2], [10,12] and [14,16] cover 4 idle instants each
    assert p["false_alarm_instants"] == 0 + 12
    assert p["false_alarm_rate"] == pytest.approx(12 / 46)


def test_no_output_and_no_truth_give_no_rates_instead_of_a_crash():
    m = operating_metrics([], [], 10)
    assert m["precision@0.5"] is None and m["recall@0.5"] is None and m["f1@0.5"] is None
    assert m["false_alarm_rate"] == 0.0 and m["now_showing_accuracy"] is None
    m = operating_metrics([], [iv("A", 0, 1)], 10)
    assert m["recall@0.5"] == 0.0 and m["proposals_per_true"] == 0.0 and m["now_showing_accuracy"] == 0.0


def test_evaluate_reports_the_output_above_the_threshold_and_ranks_every_proposal_for_map():
    pred = {"duration_s": 60, "threshold": 0.6,
            "intervals": [iv("A", 0, 10, .9), iv("C", 40, 50, .7), iv("A", 40, 50, .4)],
            "candidates": [iv("B", 20, 30, .3)]}
    m = evaluate(pred, {"intervals": TRUTH})
    op = m["operating"]
    assert m["threshold"] == 0.6
    assert (op["n_output"], op["n_tp"]) == (2, 1)  # A .9 and C .7; A .4 is below the threshold
    assert op["precision@0.5"] == 0.5 and op["recall@0.5"] == pytest.approx(1 / 3)
    # mAP ranks all four: A has AP 1 (both truths found), B AP 1 (from the candidate)
    assert m["localization"]["mAP@0.5"] == 1.0 and m["localization"]["n_pred"] == 4
    assert m["calibration"]["n"] == 2 and m["calibration_all"]["n"] == 4
    without = evaluate({**pred, "threshold": None}, {"intervals": TRUTH})
    assert without["threshold"] is None and without["operating"]["n_output"] == 3


def test_evaluate_rejects_a_threshold_that_is_not_a_number():
    with pytest.raises(ValueError, match="threshold"):
        evaluate({"threshold": "high", "intervals": []}, {"intervals": []})


def test_the_cli_prints_operating_metrics_and_draws_the_reliability_diagram(tmp_path, capsys):
    from PIL import Image

    pred, truth, png = tmp_path / "r.json", tmp_path / "t.json", tmp_path / "rel.png"
    pred.write_text(json.dumps({"duration_s": 60, "intervals": PRED}))
    truth.write_text(json.dumps({"intervals": TRUTH}))
    assert main_evaluate(["--pred", str(pred), "--truth", str(truth), "--reliability", str(png), "--brief"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["operating"]["f1@0.5"] == pytest.approx(0.5)
    assert out["calibration"]["n"] == 5
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] > 400 and im.size[1] > 300


def test_a_threshold_sweep_pools_episodes_at_each_threshold():
    from ml.eval.operating import sweep

    ep1 = ([iv("A", 0, 10, .9), iv("B", 20, 30, .4)], [iv("A", 0, 10)], 40)
    ep2 = ([iv("C", 0, 10, .6)], [iv("C", 0, 10), iv("D", 20, 30)], 40)
    lo, mid, hi = sweep([ep1, ep2], [0.0, 0.5, 0.95])
    assert (lo["threshold"], lo["n_output"], lo["n_tp"], lo["n_true"]) == (0.0, 3, 2, 3)
    assert (mid["n_output"], mid["n_tp"]) == (2, 2) and mid["precision@0.5"] == 1.0
    assert mid["false_alarm_instants"] == 0 and lo["false_alarm_instants"] > 0  # B .4 sat on idle time
    assert hi["n_output"] == 0 and hi["precision@0.5"] is None and hi["recall@0.5"] == 0.0
