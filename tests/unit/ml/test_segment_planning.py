"""Segment planning: boundaries partition the video on the step and frame grid; each segment
decodes a context past its inner boundaries."""

import numpy as np
import pytest

from ml.segments import Segment, SegmentOptions, grain_s, plan_segments


def test_a_video_not_much_longer_than_one_segment_is_not_split():
    for duration in (10.0, 899.0, 900.0):
        assert plan_segments(duration, SegmentOptions(segment_s=600)) == [Segment(0, 0.0, duration, 0.0, duration)]
    assert len(plan_segments(901.0, SegmentOptions(segment_s=600))) == 2


def test_segment_length_zero_never_splits():
    assert len(plan_segments(4 * 3600.0, SegmentOptions(segment_s=0))) == 1


@pytest.mark.parametrize("duration", [3600.0, 3601.7, 1234.5, 14400.0])
def test_kept_ranges_cover_the_video_once_in_order_and_no_longer_than_a_segment(duration):
    plan = plan_segments(duration, SegmentOptions(segment_s=600, context_s=30))
    assert [s.index for s in plan] == list(range(len(plan))) and len(plan) == int(np.ceil(duration / 600))
    assert plan[0].keep_start_s == 0.0 and plan[-1].keep_end_s == duration
    for a, b in zip(plan[:-1], plan[1:]):
        assert a.keep_end_s == b.keep_start_s
    assert max(s.keep_s for s in plan) <= 601.0  # equal parts, rounded to whole seconds
    assert max(s.keep_s for s in plan) - min(s.keep_s for s in plan) <= 2.0


def test_each_segment_decodes_the_context_past_its_inner_boundaries_only():
    plan = plan_segments(3600.0, SegmentOptions(segment_s=1200, context_s=30))
    assert [(s.start_s, s.end_s, s.keep_start_s, s.keep_end_s) for s in plan] == [
        (0.0, 1230.0, 0.0, 1200.0), (1170.0, 2430.0, 1200.0, 2400.0), (2370.0, 3600.0, 2400.0, 3600.0)]


@pytest.mark.parametrize("step_s, fps, grain", [(1.0, 1.0, 1.0), (0.5, 1.0, 1.0), (1.0, 2.0, 1.0),
                                                 (0.5, 3.0, 1.0), (0.5, 4.0, 0.5), (2.0, 1.0, 2.0)])
def test_boundaries_fall_on_whole_steps_and_whole_frame_intervals(step_s, fps, grain):
    assert grain_s(step_s, fps) == grain
    for s in plan_segments(3333.3, SegmentOptions(segment_s=500, context_s=25), step_s=step_s, fps=fps)[1:]:
        for t in (s.start_s, s.keep_start_s):
            assert abs(t / grain - round(t / grain)) < 1e-9


def test_a_segment_keeps_the_rows_centred_in_its_range_only():
    seg = Segment(1, 570.0, 1230.0, 600.0, 1200.0)
    assert seg.keeps([599.5, 600.5, 1199.5, 1200.5]).tolist() == [False, True, True, False]
    assert Segment.from_dict(seg.to_dict()) == seg


def test_bad_plans_are_refused():
    with pytest.raises(ValueError, match="duration_s must be positive"):
        plan_segments(0.0, SegmentOptions())
    with pytest.raises(ValueError, match="must be >= 0"):
        SegmentOptions(segment_s=-1)
