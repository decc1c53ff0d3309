"""Retrieval recall@k, cost and the evaluate CLI on hand-computed cases."""

import json

import numpy as np
import pytest

from ml.eval import evaluate, realtime_factors, retrieval_metrics
from ml.eval.cli import main_evaluate

TIMES = np.array([0.5, 1.5, 2.5, 3.5])
IDS = ["a", "b", "c"]
SCORES = np.array([[0.0, 0.0, 0.0],
                   [0.1, 0.8, 0.4],
                   [0.3, 1.0, 0.6],  # mean over t in [1, 3]: a .2, b .9, c .5
                   [0.0, 0.0, 0.0]], dtype=np.float32)


def iv(pid, s, e, **kw):
    return {"product_id": pid, "start_s": s, "end_s": e, **kw}


def test_it_ranks_products_by_mean_score_over_the_true_interval():
    r = retrieval_metrics([iv("b", 1, 3), iv("a", 1, 3), iv("c", 1, 3)], TIMES, IDS, SCORES)
    assert r["ranks"] == [1, 3, 2]
    assert r["R@1"] == pytest.approx(1 / 3) and r["R@5"] == 1.0


def test_ties_count_against_the_true_product():
    r = retrieval_metrics([iv("a", 0, 4)], TIMES, IDS, np.zeros((4, 3)))
    assert r["ranks"] == [3] and r["R@1"] == 0.0


def test_a_nan_score_ranks_last():
    scores = SCORES.copy()
    scores[:, 1] = np.nan
    r = retrieval_metrics([iv("b", 1, 3)], TIMES, IDS, scores)
    assert r["ranks"] == [3]


def test_it_uses_the_nearest_step_when_no_step_lies_inside_the_interval():
    r = retrieval_metrics([iv("b", 1.6, 1.7)], TIMES, IDS, SCORES)  # nearest step 1.5
    assert r["ranks"] == [1]


def test_a_product_missing_from_the_curves_ranks_last():
    r = retrieval_metrics([iv("zzz", 1, 3)], TIMES, IDS, SCORES)
    assert r["ranks"] == [4] and r["R@20"] == 1.0 and r["R@1"] == 0.0


def test_it_reports_recall_per_category():
    r = retrieval_metrics([iv("b", 1, 3), iv("a", 1, 3)], TIMES, IDS, SCORES, {"a": "shoes", "b": "bags"})
    assert r["per_category"]["bags"]["R@1"] == 1.0
    assert r["per_category"]["shoes"]["R@1"] == 0.0


def test_realtime_factor_per_stage_and_overall():
    c = realtime_factors({"duration_s": 100, "timings_s": {"decode": 10, "asr": 20}})
    assert c["rtf_per_stage"] == {"decode": 10.0, "asr": 5.0}
    assert c["rtf"] == pytest.approx(100 / 30)
    assert realtime_factors({"duration_s": 100, "timings_s": {"decode": 10, "total": 25}})["rtf"] == 4.0
    assert realtime_factors({"duration_s": 100, "timings_s": {}}, wall_s=50)["rtf"] == 2.0


def test_evaluate_adds_recall_per_modality_from_curves():
    curves = {"times": TIMES, "product_ids": np.array(IDS), "fused": SCORES,
              "m_visual": SCORES[:, [1, 0, 2]].copy(), "m_speech": SCORES}
    m = evaluate({"duration_s": 4, "intervals": [iv("b", 1, 3, score=1)], "timings_s": {}},
                 {"intervals": [iv("b", 1, 3)]}, curves)
    assert m["retrieval"]["R@1"] == 1.0
    assert m["retrieval_by_modality"]["speech"]["R@1"] == 1.0
    assert m["retrieval_by_modality"]["visual"]["R@1"] == 0.0  # swapped columns: b gets a's score
    assert m["localization"]["mAP@0.5"] == 1.0


def test_cli_prints_strict_json(tmp_path, capsys):
    (tmp_path / "r.json").write_text(json.dumps({"video": "v.mp4", "duration_s": 10, "intervals": [],
                                                 "timings_s": {"decode": 1}}))
    (tmp_path / "t.json").write_text(json.dumps({"intervals": [iv("a", 0, 5)]}))
    np.savez(tmp_path / "c.npz", times=TIMES, product_ids=np.array(IDS), fused=SCORES)
    code = main_evaluate(["--pred", str(tmp_path / "r.json"), "--truth", str(tmp_path / "t.json"),
                          "--curves", str(tmp_path / "c.npz")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["localization"]["mAP@0.5"] == 0.0
    assert out["localization"]["median_boundary_error_s"] is None
    assert out["cost"]["rtf"] == 10.0
    assert "R@1" in out["retrieval"]


def test_cli_rejects_a_malformed_truth_file(tmp_path, capsys):
    (tmp_path / "r.json").write_text(json.dumps({"intervals": []}))
    (tmp_path / "t.json").write_text(json.dumps({"intervals": [{"product_id": "a"}]}))
    assert main_evaluate(["--pred", str(tmp_path / "r.json"), "--truth", str(tmp_path / "t.json")]) == 2
    assert "truth" in capsys.readouterr().err
