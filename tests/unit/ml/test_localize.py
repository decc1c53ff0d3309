"""Score curves to intervals: hysteresis, gaps, minimum duration, competition."""

import numpy as np

from ml.localize import Localizer, LocalizerOptions
from ml.types import ScoreCurves


def _curves(fused, step=1.0, evidence=None):
    fused = np.asarray(fused, dtype=np.float32)
    times = np.arange(len(fused)) * step + step / 2
    ids = [f"p{j}" for j in range(fused.shape[1])]
    return ScoreCurves(times, step, ids, evidence or {"visual": fused}, fused)


OPTS = LocalizerOptions(smooth_s=1.0, high=0.7, low=0.4, compete_ratio=0.6, min_duration_s=2.0, max_gap_s=2.0)


def test_hysteresis_opens_above_high_and_keeps_while_above_low():
    curve = [0.1, 0.5, 0.8, 0.9, 0.5, 0.45, 0.2, 0.1, 0.1, 0.1]
    (iv,) = Localizer(OPTS).predict(_curves(np.c_[curve, np.zeros(10)]))
    assert (iv.product_id, iv.start_s, iv.end_s) == ("p0", 1.0, 6.0)
    np.testing.assert_allclose(iv.score, np.mean(curve[1:6]), rtol=1e-5)
    assert iv.evidence["visual"] == iv.score and iv.evidence["speech"] == 0.0


def test_a_run_that_never_reaches_high_is_not_an_interval():
    assert Localizer(OPTS).predict(_curves(np.c_[[0.6] * 10, np.zeros(10)])) == []


def test_short_gaps_merge_and_short_blips_drop():
    curve = [0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.9, 0.1]
    ivs = Localizer(OPTS).predict(_curves(np.c_[curve, np.zeros(12)]))
    assert [(i.start_s, i.end_s) for i in ivs] == [(0.0, 6.0)]


def test_a_weak_runner_up_loses_but_two_strong_products_coexist():
    opts = LocalizerOptions(**{**OPTS.__dict__, "compete_ratio": 0.9})
    strong = [0.9] * 6
    weak = [0.75] * 6  # crosses high, but below 0.9 x best
    ivs = Localizer(opts).predict(_curves(np.c_[strong, weak]))
    assert [i.product_id for i in ivs] == ["p0"]
    ivs = Localizer(opts).predict(_curves(np.c_[strong, [0.85] * 6]))
    assert sorted(i.product_id for i in ivs) == ["p0", "p1"]


def test_empty_curves_give_no_intervals():
    assert Localizer().predict(_curves(np.zeros((0, 3)))) == []


def test_fit_picks_thresholds_that_maximise_the_metric():
    curve = np.r_[np.full(10, 0.55), np.full(10, 0.05)]
    episode = (_curves(np.c_[curve, np.zeros(20)]), [])

    def metric(preds, truths):  # rewards predicting exactly the first 10 s of p0
        return float(any(p.product_id == "p0" and p.start_s == 0 and p.end_s == 10 for p in preds[0]))

    fitted = Localizer(LocalizerOptions(min_duration_s=2.0)).fit([episode], metric)
    assert fitted.best_score_ == 1.0 and fitted.options.high <= 0.55
