"""Joining segment outputs: every step exactly once from the segment in whose middle it lies,
and the folder a segment hands over (written whole or not at all)."""

import numpy as np
import pytest

from ml.segments import SegmentOptions, SegmentOutput, join, join_features, plan_segments, summed_timings
from ml.types import Boxes, Evidence, FeatureKey, Features, Shots, TrackletInfo, Transcript, Word

IDS = ["a", "b", "c"]


def _whole(duration, seed=0):
    rng = np.random.default_rng(seed)
    t = Features.grid(0.0, duration, 1.0)
    return Features(t, 1.0, IDS, {FeatureKey.VISUAL: rng.uniform(size=(len(t), 3)),
                                  FeatureKey.SPEECH_SEM: rng.uniform(size=(len(t), 3))})


def _outputs(whole, plan, evidence=None, perturb_context=True):
    """What each segment computes: the whole's rows over its decode range; rows in its context
    are made different (as a run without the frames before them would make them)."""
    parts = []
    for seg in plan:
        f = whole.slice(seg.start_s, seg.end_s)
        if perturb_context:
            outside = ~seg.keeps(f.times)
            f = f.with_arrays({k: np.where(outside[:, None], -1.0, v) for k, v in f.arrays.items()})
        parts.append(SegmentOutput(seg, f, evidence(seg) if evidence else Evidence(), {"visual": 2.0, "total": 5.0}))
    return parts


def test_joined_features_are_the_unsplit_rows_whatever_the_segments_computed_in_their_context():
    whole = _whole(250.0)
    plan = plan_segments(250.0, SegmentOptions(segment_s=60, context_s=10))
    assert len(plan) == 5

    joined = join_features(_outputs(whole, plan)[::-1])  # any order

    np.testing.assert_array_equal(joined.times, whole.times)
    for key in whole.keys():
        np.testing.assert_array_equal(joined[key], whole[key])


def test_a_join_without_every_segment_is_refused():
    plan = plan_segments(250.0, SegmentOptions(segment_s=60, context_s=10))
    parts = _outputs(_whole(250.0), plan)
    with pytest.raises(ValueError, match="not one each of 0..3"):
        join(parts[:2] + parts[3:])
    with pytest.raises(ValueError, match="at least one"):
        join([])


def test_words_and_shot_starts_of_an_overlap_are_kept_once():
    plan = plan_segments(100.0, SegmentOptions(segment_s=40, context_s=10))  # boundaries 33, 67
    words = [Word(float(t), float(t) + 0.4, f"w{t}") for t in range(0, 100, 3)]
    cuts = [0.0, 30.0, 34.0, 70.0]

    def seen(seg):  # each segment hears and sees everything in its decode range
        return Evidence(shots=Shots(np.array([seg.start_s] + [c for c in cuts if seg.start_s < c < seg.end_s])),
                        transcript=Transcript([w for w in words if seg.start_s <= w.start < seg.end_s]))

    _, evidence = join(_outputs(_whole(100.0), plan, seen))

    assert [w.text for w in evidence.transcript.words] == [w.text for w in words]
    assert evidence.shots.starts.tolist() == cuts


def test_stage_times_add_up_over_segments():
    plan = plan_segments(250.0, SegmentOptions(segment_s=60, context_s=10))
    assert summed_timings(_outputs(_whole(250.0), plan)) == {"segments": 5.0, "visual": 10.0, "segment_work": 25.0}


def test_a_segment_folder_round_trips_and_a_second_run_of_the_same_segment_keeps_the_first(tmp_path):
    plan = plan_segments(250.0, SegmentOptions(segment_s=60, context_s=10))
    ev = Evidence(boxes=Boxes(np.array([61.0, 62.0]), np.array([[0.1, 0.1, 0.5, 0.5]] * 2), np.array([3, 3])),
                  tracklets=[TrackletInfo(3, 61.0, 62.0, "milk", "dairy")],
                  transcript=Transcript([Word(61.0, 61.5, "oat")]))
    first = SegmentOutput(plan[1], _whole(250.0).slice(plan[1].start_s, plan[1].end_s), ev, {"visual": 1.5})
    folder = str(tmp_path / "seg1")

    assert first.save(folder) is True
    assert SegmentOutput(plan[1], first.features, Evidence(), {}).save(folder) is False

    back = SegmentOutput.load(folder)
    assert back.segment == plan[1] and back.timings_s == {"visual": 1.5}
    np.testing.assert_array_equal(back.features[FeatureKey.VISUAL], first.features[FeatureKey.VISUAL])
    assert back.evidence.to_json() == ev.to_json()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg1"]  # no temporary folder left behind
