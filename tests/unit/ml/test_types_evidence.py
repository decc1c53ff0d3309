"""Evidence: one JSON form for boxes, shots, tracklets, transcript and screen text."""

import json

import numpy as np
import pytest

from ml.types import Boxes, Evidence, Proposals, Shots, TextEvents, TrackletInfo, Transcript, Word


def _evidence(t0=0.0, track=0, screen=True):
    boxes = Boxes([t0 + 2.0, t0 + 1.0], [[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 0.25, 0.5]], [track, track + 1])
    return Evidence(boxes, Shots(np.array([t0, t0 + 1.5])),
                    [TrackletInfo(track, t0 + 1.0, t0 + 2.0, "fruit", "produce"),
                     TrackletInfo(track + 1, t0 + 1.0, t0 + 1.0)],
                    Transcript([Word(t0 + 0.5, t0 + 0.9, "banana")]),
                    TextEvents([t0 + 1.0], ["OATLY"], [0.9], "screen_text") if screen else None)


def test_it_round_trips_through_json_text():
    ev = _evidence()
    d = json.loads(json.dumps(ev.to_json()))
    assert d["boxes"][0] == [1.0, 0.0, 0.0, 0.25, 0.5, 1]  # sorted by time, frame units
    back = Evidence.from_json(d)
    assert back.to_json() == d
    assert back.tracklets[0] == ev.tracklets[0] and back.transcript.words[0].text == "banana"
    assert "screen_text" not in _evidence(screen=False).to_json()


def test_boxes_from_tracked_proposals_are_in_frame_units_without_whole_frame_boxes():
    p = Proposals([[0, 0, 640, 360], [64, 36, 320, 180]], [1, 1], [0, 0], [3.0, 3.0],
                  np.array(["frame", "motion"], dtype=object), [7, 8])
    b = Boxes.from_proposals(p, (640, 360))
    assert b.to_rows() == [[3.0, 0.1, 0.1, 0.5, 0.5, 8]]


def test_segments_join_with_track_ids_shifted_past_the_earlier_ones():
    joined = Evidence.concatenate([_evidence(0.0), _evidence(10.0)])
    assert [t.track_id for t in joined.tracklets] == [0, 1, 2, 3]
    assert sorted(joined.boxes.track_id.tolist()) == [0, 1, 2, 3]
    assert joined.shots.starts.tolist() == [0.0, 1.5, 10.0, 11.5]
    assert [w.start for w in joined.transcript.words] == [0.5, 10.5] and joined.screen_text.text == ["OATLY", "OATLY"]


@pytest.mark.parametrize("bad", [{"boxes": [{"t": 1, "xyxy": [0, 0, 1, 1]}]}, {"transcript": [[0.0, "word"]]},
                                 {"tracklets": [{"start_s": 0}]}])
def test_json_of_another_shape_is_refused_with_the_reason(bad):
    with pytest.raises(ValueError, match="unexpected shape"):
        Evidence.from_json(bad)
