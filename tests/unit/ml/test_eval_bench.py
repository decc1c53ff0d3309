"""The benchmark harness's pooling and report, without running the pipeline."""

import importlib.util
import os

import numpy as np
import pytest

RUN_PY = os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench", "run.py")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", RUN_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _episode(name, truth, pred, fused, modal=None):
    curves = {"times": np.array([0.5, 1.5, 2.5]), "product_ids": np.array(["a", "b"]), "fused": fused,
              **(modal or {})}
    ep = {"name": name, "spec": {"duration_s": 3.0}}
    run = {"wall_s": 1.5, "peak_rss_mb": 100.0 if name == "e1" else 250.0}
    ev = {"truth": truth, "pred": pred, "curves": curves, "duration_s": 3.0, "metrics": {}}
    return ep, run, ev


def test_it_pools_recall_over_intervals_and_map_over_episode_products(bench):
    good = np.array([[0, 1], [0, 1], [0, 1]], float)  # b always first
    e1 = _episode("e1", [{"product_id": "b", "start_s": 0, "end_s": 3}],
                  [{"product_id": "b", "start_s": 0, "end_s": 3, "score": 1}], good)
    # same product id in another episode is another (episode, product) pair
    e2 = _episode("e2", [{"product_id": "a", "start_s": 0, "end_s": 3}], [], good)
    row = bench.pooled("default", "default", [e1, e2])
    assert row["R@1"] == 0.5 and row["R@5"] == 1.0 and row["intervals"] == 2
    assert row["mAP@0.5"] == 0.5  # e1/b AP 1, e2/a AP 0
    assert row["rtf"] == pytest.approx(6.0 / 3.0) and row["peak_rss_mb"] == 250.0


def test_failed_runs_are_counted_not_scored(bench):
    e1 = _episode("e1", [{"product_id": "b", "start_s": 0, "end_s": 3}], [], np.zeros((3, 2)))
    row = bench.pooled("x", "x", [e1, (e1[0], {"wall_s": 9}, None)])
    assert row["failed"] == 1 and row["episodes"] == 1


def test_modality_rows_use_their_own_curve_and_have_no_map(bench):
    e1 = _episode("e1", [{"product_id": "a", "start_s": 0, "end_s": 3}], [], np.zeros((3, 2)),
                  {"m_speech": np.array([[1, 0]] * 3, float)})
    row = bench.pooled("curves_speech", "speech", [e1], "m_speech", with_map=False)
    assert row["R@1"] == 1.0 and "mAP@0.5" not in row and row["rtf"] is None


def test_markdown_lists_every_row_including_skipped_ones(bench):
    rep = {"name": "latest", "split": "test", "date": "d", "machine": bench.machine(), "n_episodes": 1,
           "video_min": 1.0, "synth_version": "1", "seed": 0, "generation_s": 0, "extra_args": "",
           "total_s": 60, "rows": [{"row": "default", "label": "default pipeline", "episodes": 1, "R@1": 0.5,
                                    "mAP@0.5": None}, {"row": "speech", "label": "speech alone",
                                                       "skipped": "time budget"}]}
    md = bench.markdown(rep)
    assert "| default pipeline | 1 | 50.0 |" in md and "skipped: time budget" in md
    assert bench.spread(18, 6) == [0, 3, 7, 10, 14, 17]


def test_rows_pool_operating_metrics_by_counts_and_keep_the_output_apart_from_candidates(bench):
    truth = [{"product_id": "b", "start_s": 0, "end_s": 3}]
    e1 = _episode("e1", truth, [{"product_id": "b", "start_s": 0, "end_s": 3, "score": .9},
                                {"product_id": "a", "start_s": 0, "end_s": 3, "score": .2}], np.zeros((3, 2)))
    e1[2]["output"] = e1[2]["pred"][:1]  # the .2 one is a candidate below the threshold
    e1[2]["threshold"] = 0.5
    e2 = _episode("e2", truth, [{"product_id": "a", "start_s": 0, "end_s": 3, "score": .8}], np.zeros((3, 2)))
    e2[2]["threshold"] = 0.5
    row = bench.pooled("default", "default", [e1, e2], kind="long")
    assert row["kind"] == "long" and row["threshold"] == 0.5
    assert row["operating_counts"]["n_output"] == 2 and row["operating_counts"]["n_tp"] == 1
    assert row["precision@0.5"] == 0.5 and row["recall@0.5"] == 0.5 and row["f1@0.5"] == 0.5
    assert row["now_showing_accuracy"] == 0.5  # e1 right on its 6 instants, e2 wrong on its 6
    assert row["ece"] == pytest.approx((abs(.9 - 1) + .8) / 2)
    assert row["calibration"]["n"] == 2 and row["ece_all"] == pytest.approx((.1 + .2 + .8) / 3)


def test_markdown_reports_short_and_long_rows_in_separate_sections_with_the_operating_table(bench):
    truth = [{"product_id": "b", "start_s": 0, "end_s": 3}]
    ep = _episode("e1", truth, [{"product_id": "b", "start_s": 0, "end_s": 3, "score": .9}], np.zeros((3, 2)))
    rows = [bench.pooled("default", "default pipeline", [ep]),
            bench.pooled("long_default", "default pipeline, long", [ep], kind="long")]
    rep = {"name": "latest", "split": "test", "date": "d", "machine": bench.machine(), "n_episodes": 2,
           "video_min": 1.0, "synth_version": "1", "seed": 0, "generation_s": 0, "extra_args": "",
           "total_s": 60, "rows": rows, "reliability_png": "latest_reliability.png"}
    md = bench.markdown(rep)
    short, long_ = md.split("## Long streams")
    assert "## Short episodes" in short and "| default pipeline | 1 | – | 1.00 | 1.00 | 1.00 | 1.00 |" in short
    assert "| default pipeline, long | 1 |" in long_ and "F1@0.5" in long_
    assert "latest_reliability.png" in md
