"""Features: typed keys, concatenation and slicing, and the .npz file `ml train` reads."""

import json

import numpy as np
import pytest

from ml.types import FeatureKey, Features


def _features(start_s=0.0, end_s=6.0, ids=("a", "b", "c"), seed=0):
    rng = np.random.default_rng(seed)
    times = Features.grid(start_s, end_s, 1.0)
    return Features(times, 1.0, list(ids), {FeatureKey.VISUAL: rng.uniform(size=(len(times), len(ids))),
                                             FeatureKey.SPEECH_SEM: rng.uniform(size=(len(times), len(ids)))})


def test_keys_are_typed_and_a_misspelt_key_fails_where_it_is_made():
    f = _features()
    assert f["visual"] is f[FeatureKey.VISUAL] and "speech_sem" in f
    assert FeatureKey.text("comments", "lexical") is FeatureKey.COMMENTS_LEX
    assert FeatureKey.visual("image") is FeatureKey.VISUAL_IMG and FeatureKey.SCREEN_SEM.modality == "screen_text"
    with pytest.raises(ValueError, match="unknown feature 'visaul'"):
        Features(f.times, 1.0, f.product_ids, {"visaul": f["visual"]})
    with pytest.raises(ValueError, match=r"expected \(T,P\)"):
        Features(f.times, 1.0, f.product_ids, {FeatureKey.VISUAL: f["visual"][:, :2]})


def test_segments_on_the_step_grid_concatenate_into_the_whole():
    whole = _features(0.0, 9.0)
    parts = [whole.slice(0.0, 4.0), whole.slice(4.0, 9.0)]
    assert [len(p) for p in parts] == [4, 5] and parts[1].times[0] == 4.5
    joined = Features.concatenate(parts)
    assert np.array_equal(joined.times, whole.times)
    assert all(np.array_equal(joined[k], whole[k]) for k in whole.keys())
    assert np.array_equal(Features.grid(4.0, 9.0, 1.0), parts[1].times)  # what a segment computes


@pytest.mark.parametrize("change, message", [
    (lambda f: Features(f.times + 10, 1.0, ["x", "y", "z"], f.arrays), "different product ids"),
    (lambda f: f, "overlap or are out of order"),
    (lambda f: Features(f.times + 10, 1.0, f.product_ids, {"visual": f["visual"]}), "keys differ"),
])
def test_concatenate_refuses_parts_that_do_not_belong_together(change, message):
    f = _features()
    with pytest.raises(ValueError, match=message):
        Features.concatenate([f, change(f)])


def test_methods_return_new_objects_and_leave_the_input_alone():
    f = _features()
    before = f["visual"].copy()
    g = f.with_arrays({FeatureKey.VISUAL_IMG: np.zeros((len(f), 3))})
    assert FeatureKey.VISUAL_IMG in g and FeatureKey.VISUAL_IMG not in f
    f.take(np.arange(len(f)) % 2 == 0)
    assert np.array_equal(f["visual"], before)


def test_the_file_round_trips_and_is_what_training_reads(tmp_path):
    from ml.train import load_runs

    f = _features(0.0, 5.0)
    run = tmp_path / "ep"
    run.mkdir()
    f.save(str(run / "features.npz"))
    (run / "truth.json").write_text(json.dumps({"intervals": [{"product_id": "b", "start_s": 1, "end_s": 3}]}))
    back = Features.load(str(run / "features.npz"))
    assert back.product_ids == f.product_ids and back.step_s == 1.0 and set(back.keys()) == set(f.keys())
    assert np.array_equal(back["speech_sem"], f["speech_sem"])
    runs = load_runs(str(tmp_path))
    assert len(runs) == 1 and np.array_equal(runs[0]["features"]["visual"], f["visual"])


def test_a_file_written_before_step_s_was_stored_still_loads(tmp_path):
    f = _features(0.0, 4.0)
    np.savez_compressed(tmp_path / "old.npz", times=f.times * 2, product_ids=np.asarray(f.product_ids),
                        f_visual=f["visual"])
    assert Features.load(str(tmp_path / "old.npz")).step_s == 2.0


def test_cuts_travel_with_the_rows_they_fall_in(tmp_path):
    f = _features(0.0, 9.0)
    f = Features(f.times, f.step_s, f.product_ids, f.arrays, [6.5, 2.5, 2.5])
    assert f.cuts.tolist() == [2.5, 6.5]  # sorted, once each
    first, second = f.slice(0.0, 4.0), f.slice(4.0, 9.0)
    assert first.cuts.tolist() == [2.5] and second.cuts.tolist() == [6.5]
    assert Features.concatenate([first, second]).cuts.tolist() == [2.5, 6.5]
    assert f.take(f.times > 5).cuts.tolist() == [6.5] and f.with_arrays({}).cuts.tolist() == [2.5, 6.5]
    f.save(str(tmp_path / "f.npz"))
    assert Features.load(str(tmp_path / "f.npz")).cuts.tolist() == [2.5, 6.5]
    np.savez_compressed(tmp_path / "old.npz", times=f.times, step_s=1.0, product_ids=np.asarray(f.product_ids),
                        f_visual=f["visual"])  # written before cuts were stored
    assert Features.load(str(tmp_path / "old.npz")).cuts.tolist() == []
