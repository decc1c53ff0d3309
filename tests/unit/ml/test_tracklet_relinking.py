"""Tracklets re-linked across segment boundaries: the parts of one track that neighbouring
segments saw under their own ids become one tracklet, as in an unsplit run."""

import numpy as np

from ml.segments import Segment, SegmentOptions, SegmentOutput, plan_segments, relink_tracklets
from ml.types import Boxes, Evidence, Features, TrackletInfo

# The world: tracks (start_s, end_s, box at t, category). A segment sees every track that is
# on screen during its decode range, numbered its own way (ids assigned in reverse, plus 10*k).
WORLD = [
    (0.0, 50.0, lambda t: (0.1, 0.1, 0.3, 0.4), "milk"),      # crosses boundary 33
    (20.0, 90.0, lambda t: (0.6, 0.2, 0.9, 0.6), "juice"),    # crosses both boundaries, beside it
    (40.0, 45.0, lambda t: (0.1, 0.5, 0.3, 0.9), "fruit"),    # inside the middle segment
    (60.0, 100.0, lambda t: (0.1 + 0.002 * t, 0.1, 0.4 + 0.002 * t, 0.4), "milk"),  # moving, crosses 67
    (30.0, 31.0, lambda t: (0.5, 0.5, 0.6, 0.6), "fruit"),    # before 33, also in the next one's context
]


def _seen(seg: Segment, whole_frame=()):
    boxes, tracklets = [], []
    visible = [(i, w) for i, w in enumerate(WORLD) if w[0] < seg.end_s and w[1] >= seg.start_s]
    for n, (i, (start, end, box, cat)) in enumerate(reversed(visible)):
        tid = 10 * seg.index + n
        ts = np.arange(max(start, seg.start_s), min(end, seg.end_s - 1e-9) + 1e-9, 1.0)
        tracklets.append(TrackletInfo(tid, float(ts[0]), float(ts[-1]), cat, "p"))
        boxes += [(t, box(t), tid) for t in ts]
    for k, (start, end, cat) in enumerate(whole_frame):  # tracks with no located box
        if start < seg.end_s and end >= seg.start_s:
            tracklets.append(TrackletInfo(100 + 10 * seg.index + k, max(start, seg.start_s),
                                          min(end, seg.end_s - 1.0), cat, "p"))
    t, xyxy, tid = zip(*boxes)
    return Evidence(boxes=Boxes(np.array(t), np.array(xyxy), np.array(tid)), tracklets=tracklets)


def _parts(plan, **kw):
    return [SegmentOutput(s, Features(Features.grid(s.start_s, s.end_s, 1.0), 1.0, [], {}), _seen(s, **kw))
            for s in plan]


def _plan():
    plan = plan_segments(100.0, SegmentOptions(segment_s=40, context_s=10))
    assert [(s.keep_start_s, s.keep_end_s) for s in plan] == [(0.0, 33.0), (33.0, 67.0), (67.0, 100.0)]
    return plan


def test_a_track_crossing_boundaries_is_one_tracklet_with_one_id_on_all_its_boxes():
    ev = relink_tracklets(_parts(_plan()))

    spans = sorted((t.start_s, t.end_s, t.category) for t in ev.tracklets)
    assert spans == [(0.0, 50.0, "milk"), (20.0, 90.0, "juice"), (30.0, 31.0, "fruit"), (40.0, 45.0, "fruit"),
                     (60.0, 99.0, "milk")]
    assert sorted(t.track_id for t in ev.tracklets) == [0, 1, 2, 3, 4]
    for tr in ev.tracklets:  # every box of the tracklet's span carries its id, and only those
        mine = ev.boxes.t[ev.boxes.track_id == tr.track_id]
        np.testing.assert_array_equal(mine, np.arange(tr.start_s, tr.end_s + 1.0))


def test_each_box_of_the_video_is_kept_once():
    ev = relink_tracklets(_parts(_plan()))
    expected = sum(len(np.arange(s, min(e, 99.0) + 1.0)) for s, e, *_ in WORLD)
    assert len(ev.boxes) == expected


def test_tracks_side_by_side_are_not_swapped_and_a_track_also_seen_in_a_context_is_kept_once():
    ev = relink_tracklets(_parts(_plan()))
    for tr in ev.tracklets:
        x0 = ev.boxes.xyxy[ev.boxes.track_id == tr.track_id][:, 0]
        assert np.ptp(x0) < 0.25  # the milk on the left never takes the juice's boxes on the right
    assert [(t.start_s, t.end_s) for t in ev.tracklets].count((30.0, 31.0)) == 1


def test_tracks_without_located_boxes_link_by_the_overlap_they_share_when_their_category_agrees():
    plan = _plan()
    ev = relink_tracklets(_parts(plan, whole_frame=[(10.0, 60.0, "shoes")]))
    assert [(t.start_s, t.end_s) for t in ev.tracklets if t.category == "shoes"] == [(10.0, 60.0)]

    def recategorised(part):
        if part.segment.index == 1:
            part.evidence.tracklets = [TrackletInfo(t.track_id, t.start_s, t.end_s,
                                                    "bags" if t.category == "shoes" else t.category, "p")
                                       for t in part.evidence.tracklets]
        return part

    ev = relink_tracklets([recategorised(p) for p in _parts(plan, whole_frame=[(10.0, 60.0, "shoes")])])
    assert sorted((t.start_s, t.end_s, t.category) for t in ev.tracklets if t.category in ("shoes", "bags")) == [
        (10.0, 33.0, "shoes"), (33.0, 60.0, "bags")]


def test_a_tracklet_a_segment_saw_only_in_its_context_is_dropped_with_its_boxes():
    parts = _parts(_plan())
    ev1 = parts[1].evidence  # decodes from 23 s: a spurious track at 25-28 s that segment 0 did not make
    ts = np.arange(25.0, 29.0)
    ev1.tracklets.append(TrackletInfo(99, 25.0, 28.0, "bags", "p"))
    ev1.boxes = Boxes.merge([ev1.boxes, Boxes(ts, np.tile([0.7, 0.7, 0.8, 0.8], (4, 1)), np.full(4, 99))])

    ev = relink_tracklets(parts)

    assert not [t for t in ev.tracklets if t.category == "bags"]
    assert not np.any(np.all(np.isclose(ev.boxes.xyxy, [0.7, 0.7, 0.8, 0.8]), axis=1))
