"""The follower's live hooks: a provisional "now showing" after every segment, and a state
folder from which a follower that was stopped goes on without redoing or re-emitting anything."""

import os
import subprocess

from ml.pipeline import PipelineOptions
from ml.streaming import follow
from tests.media import fusion_with_threshold

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CLIP = os.path.join(ROOT, "tests", "data", "clip", "clip.mp4")  # gs_06 for 0-5 s, gs_45 for 5-10 s, 12 s
CATALOG = os.path.join(ROOT, "tests", "data", "catalog")


def test_a_stopped_follower_goes_on_from_its_state_and_says_what_is_on_screen_at_each_edge(tmp_path):
    """Three followers in turn on a recording that grew (4.1 s, 8.1 s, 12 s), sharing one state
    folder: each scores only the new whole segment, and its "now showing" is the open interval."""
    cuts = []
    for seconds in ("4.1", "8.1", None):
        out = tmp_path / f"rec-{seconds}.ts"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", CLIP, *(["-t", seconds] if seconds else []),
                        "-c", "copy", "-f", "mpegts", str(out)], check=True)
        cuts.append(out)
    state, emitted, nows, result = str(tmp_path / "state"), [], [], None
    options = PipelineOptions(fusion=fusion_with_threshold(tmp_path, 0.05))
    for video in cuts:
        result = follow(str(video), CATALOG, str(tmp_path / "r.json"), options=options, segment_s=4.0,
                        poll_s=0.05, emit=emitted.append, on_now=lambda t, ivs: nows.append((t, ivs)),
                        finished=lambda: True, state_dir=state)
    assert [round(t) for t, _ in nows] == [4, 8, 12]  # one new segment per run, none redone
    shown = [ivs[0].product_id if ivs else None for _, ivs in nows]
    assert shown[0] == "gs_06" and shown[1] == "gs_45"  # open at the edge, before either interval closed
    keys = [(iv.product_id, round(iv.start_s, 3)) for iv in emitted]
    assert len(keys) == len(set(keys))  # nothing emitted twice across the restarts
    assert sorted(keys) == sorted((iv.product_id, round(iv.start_s, 3)) for iv in result.intervals)
    assert {"gs_06", "gs_45"} <= {k[0] for k in keys} and round(result.duration_s) == 12
