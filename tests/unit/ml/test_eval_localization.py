"""Temporal localization metrics on hand-computed cases."""

import math

import pytest

from ml.eval.localization import average_precision, interpolated_ap, localization_metrics, tiou


def iv(pid, s, e, score=None):
    d = {"product_id": pid, "start_s": s, "end_s": e}
    if score is not None:
        d["score"] = score
    return d


def test_it_gives_full_map_to_a_perfect_prediction():
    truth = [iv("A", 0, 10), iv("B", 20, 30)]
    m = localization_metrics([iv("A", 0, 10, 0.9), iv("B", 20, 30, 0.5)], truth)
    assert m["mAP@0.3"] == m["mAP@0.5"] == m["mAP@0.7"] == m["mAP_mean"] == 1.0
    assert m["median_boundary_error_s"] == 0.0


def test_it_scores_zero_when_nothing_is_predicted():
    m = localization_metrics([], [iv("A", 0, 10)])
    assert m["mAP@0.5"] == 0.0 and m["mAP_mean"] == 0.0
    assert m["median_boundary_error_s"] is None and m["n_matched@0.3"] == 0


def test_it_counts_a_duplicate_as_a_false_positive_after_the_match():
    # TP then FP: precision [1, .5], recall [1, 1] -> AP 1
    assert average_precision([iv("A", 0, 10, .9), iv("A", 0, 10, .8)], [iv("A", 0, 10)], .5) == 1.0
    # FP ranked first: precision [0, .5], recall [0, 1] -> AP .5
    assert average_precision([iv("A", 20, 30, .9), iv("A", 0, 10, .8)], [iv("A", 0, 10)], .5) == 0.5


def test_it_breaks_score_ties_by_input_order():
    truth = [iv("A", 0, 10)]
    assert average_precision([iv("A", 50, 60, .5), iv("A", 0, 10, .5)], truth, .5) == 0.5
    assert average_precision([iv("A", 0, 10, .5), iv("A", 50, 60, .5)], truth, .5) == 1.0


def test_it_handles_overlapping_predictions():
    truth = [iv("A", 0, 10), iv("A", 20, 30)]
    preds = [iv("A", 0, 12, .9),   # IoU 10/12 with the first: TP
             iv("A", 5, 25, .8),   # IoU .2 with either: FP at 0.3
             iv("A", 21, 30, .7)]  # IoU .9 with the second: TP
    # precision [1, .5, 2/3], recall [.5, .5, 1] -> AP = .5*1 + .5*2/3
    assert average_precision(preds, truth, .3) == pytest.approx(0.5 + 1 / 3)


def test_it_matches_the_highest_iou_unmatched_truth():
    truth = [iv("A", 0, 10), iv("A", 5, 15)]
    preds = [iv("A", 5, 14, .9), iv("A", 0, 9, .8)]  # .9 -> second truth, .8 -> first
    assert average_precision(preds, truth, .5) == 1.0


def test_it_gives_ap_zero_to_a_product_never_predicted_and_ignores_products_without_truth():
    truth = [iv("A", 0, 10), iv("B", 20, 30)]
    m = localization_metrics([iv("A", 0, 10, .9), iv("C", 0, 100, 1.0)], truth)
    assert m["mAP@0.5"] == 0.5
    assert m["per_product"]["B"]["ap@0.5"] == 0.0
    assert "C" not in m["per_product"]


def test_it_applies_each_tiou_threshold():
    m = localization_metrics([iv("A", 0, 16, .9)], [iv("A", 0, 10)])  # IoU .625
    assert (m["mAP@0.3"], m["mAP@0.5"], m["mAP@0.7"]) == (1.0, 1.0, 0.0)
    assert m["mAP_mean"] == pytest.approx(2 / 3)


def test_it_reports_median_boundary_errors_of_matched_pairs():
    m = localization_metrics([iv("A", 12, 19, .9), iv("B", 40, 50, .9)],
                             [iv("A", 10, 20), iv("B", 41, 53)])
    assert m["median_start_error_s"] == 1.5  # |2|, |1|
    assert m["median_end_error_s"] == 2.0  # |1|, |3|
    assert m["median_boundary_error_s"] == 1.5  # median of 2, 1, 1, 3


def test_product_without_truth_is_nan_ap_and_tiou_handles_zero_length():
    assert math.isnan(average_precision([iv("A", 0, 1, 1)], [], .5))
    assert tiou(5, 5, [5.0], [5.0])[0] == 0.0


def test_interpolated_ap_makes_precision_monotone():
    # precision [1, 0, 2/3] at recall [.5, .5, 1]: envelope gives .5*1 + .5*2/3
    assert interpolated_ap([1, 0, 2 / 3], [.5, .5, 1]) == pytest.approx(0.5 + 1 / 3)
