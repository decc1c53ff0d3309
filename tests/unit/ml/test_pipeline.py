"""The whole pipeline on a real 12 s clip (in-store photos of a banana, then oat milk, with
narration), with the real packaged models and the shipped fusion model."""

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from ml.errors import CancelledError
from ml.pipeline import PipelineOptions, localize
from ml.types import MODALITIES, Interval

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CLIP_DIR = os.path.join(ROOT, "tests", "data", "clip")
CLIP = os.path.join(CLIP_DIR, "clip.mp4")
CATALOG = os.path.join(ROOT, "tests", "data", "catalog")


@pytest.fixture(scope="module")
def result():
    return localize(CLIP, CATALOG, comments=os.path.join(CLIP_DIR, "comments.csv"))


def _truth():
    with open(os.path.join(CLIP_DIR, "truth.json")) as f:
        return [Interval.from_dict(d) for d in json.load(f)["intervals"]]


def test_it_finds_each_shown_product_at_its_time(result):
    for truth in _truth():
        best = max((iv.iou(truth) for iv in result.intervals if iv.product_id == truth.product_id), default=0.0)
        assert best >= 0.5, (truth, result.intervals)


def test_intervals_carry_scores_and_per_modality_evidence(result):
    assert result.intervals
    for iv in result.intervals:
        assert 0.0 <= iv.start_s < iv.end_s <= result.duration_s + 1.0
        assert 0.0 <= iv.score <= 1.0
        assert set(iv.to_dict()["evidence"]) == set(MODALITIES)
    banana = max((iv for iv in result.intervals if iv.product_id == "gs_06"), key=lambda i: i.score)
    # "ecological banana" is said while it is shown: speech points at it, not at the others
    c = result.curves
    during = (c.times >= banana.start_s) & (c.times < banana.end_s)
    speech = c.modalities["speech"][during].mean(axis=0)
    j = c.product_ids.index("gs_06")
    assert speech.argmax() == j and banana.evidence["speech"] > 3 * np.delete(speech, j).max(), speech


def test_result_json_follows_the_contract(result, tmp_path):
    result.dump(str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["video"].endswith("clip.mp4") and abs(data["duration_s"] - 12.0) < 0.5
    assert {"decode", "visual", "asr", "text", "fusion", "total"} <= set(data["timings_s"])
    assert set(data["intervals"][0]) == {"product_id", "start_s", "end_s", "score", "evidence"}


def test_curves_and_evidence_are_there_for_the_reviewer(result):
    curves = result.curves
    assert curves.fused.shape == (12, 3) and curves.product_ids == ["gs_34", "gs_06", "gs_45"]
    assert set(curves.modalities) == {"visual", "speech", "comments"}  # screen text is opt-in
    evidence = result.evidence.to_json()
    words = " ".join(w[2] for w in evidence["transcript"]).lower()
    assert "ecological banana" in words  # tiny.en hears "Oatly oat milk" as "notely note mill"
    assert all(a[0] <= b[0] for a, b in zip(evidence["transcript"], evidence["transcript"][1:]))
    assert evidence["boxes"] and evidence["tracklets"] and evidence["shots"][0] == 0.0
    assert all(len(b) == 6 and 0 <= min(b[1:5]) and max(b[1:5]) <= 1 for b in evidence["boxes"])  # frame units
    # each shot change after the first shot is a cut the localizer may snap an edge to, half-way
    # between the sampled frame (1 fps) that starts the shot and the one before
    shots = evidence["shots"]
    assert len(shots) >= 2 and curves.cuts.tolist() == pytest.approx([s - 0.5 for s in shots[1:]], abs=0.05)


def test_shot_cuts_lie_between_the_frames_either_side_of_a_change():
    from ml.pipeline import shot_cuts

    frames = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert shot_cuts(np.array([0.0, 1.5, 2.5]), frames).tolist() == [1.25, 2.25]
    assert shot_cuts(np.array([0.0]), frames).tolist() == []  # one shot: no change


def test_the_int8_crop_network_finds_the_same_products_at_their_times(result):
    r = localize(CLIP, CATALOG, comments=os.path.join(CLIP_DIR, "comments.csv"),
                 options=PipelineOptions(image_precision="int8"))
    assert r.options["image_precision"] == "int8" and result.options["image_precision"] == "fp32"
    for truth in _truth():
        best = max((iv.iou(truth) for iv in r.intervals if iv.product_id == truth.product_id), default=0.0)
        assert best >= 0.5, (truth, r.intervals)
    drift = np.abs(r.curves.modalities["visual"] - result.curves.modalities["visual"]).max()
    assert 0 < drift < 0.2  # another graph, the same evidence within a few hundredths


def test_a_modality_subset_runs_only_its_stages():
    r = localize(CLIP, CATALOG, options=PipelineOptions(modalities=("speech",)))
    assert "asr" in r.timings_s and "visual" not in r.timings_s and "screen_text" not in r.timings_s
    assert set(r.curves.modalities) == {"speech"}


def test_screen_text_is_read_when_asked_for():
    r = localize(CLIP, CATALOG, options=PipelineOptions(modalities=("visual", "speech", "screen_text", "comments")))
    assert "screen_text" in r.timings_s and set(r.curves.modalities) == set(MODALITIES)
    assert any("LY" in text for text in r.evidence.screen_text.text)  # the "OATLY" cartons on the shelf


@pytest.mark.parametrize("kw, message", [
    ({"fps": 0}, "fps and step_s must be positive"),
    ({"step_s": -1}, "fps and step_s must be positive"),
    ({"visual_mode": "resnet"}, "visual_mode must be one of"),
    ({"extra_visual": ("asymnet", "clip")}, "got 'clip'"),
    ({"modalities": ()}, "non-empty subset"),
    ({"image_precision": "fp16"}, "image_precision must be 'int8' or 'fp32'"),
])
def test_options_refuse_values_that_cannot_run(kw, message):
    with pytest.raises(ValueError, match=message):
        PipelineOptions(**kw)


def test_seed_models_run_only_when_the_visual_stage_does():
    assert PipelineOptions().seed_modes == ()
    assert PipelineOptions(visual_mode="lxmert", extra_visual=("asymnet",)).seed_modes == ("asymnet", "lxmert")
    assert PipelineOptions(modalities=("speech",), visual_mode="asymnet").seed_modes == ()


@pytest.mark.parametrize("mode", ["asymnet", "lxmert"])
def test_the_seed_models_localize_the_clip_through_an_option(mode):
    """Video2Shop's AsymNet or the LXMERT-style model scores the tracklets in place of the cosine
    (shipped checkpoints in ml/models/, fused by the shipped fusion model's @<mode> subset)."""
    r = localize(CLIP, CATALOG, comments=os.path.join(CLIP_DIR, "comments.csv"),
                 options=PipelineOptions(visual_mode=mode))
    assert "seed_models" in r.timings_s
    for truth in _truth():
        best = max((iv.iou(truth) for iv in r.intervals if iv.product_id == truth.product_id), default=0.0)
        assert best >= 0.5, (mode, truth, r.intervals)


def test_a_progress_callback_can_cancel_the_run():
    seen = []

    def progress(stage, fraction):
        seen.append((stage, fraction))
        if stage == "vision" and fraction > 0.3:
            raise CancelledError("stop")

    with pytest.raises(CancelledError):
        localize(CLIP, CATALOG, progress=progress)
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions)


def test_the_cli_writes_result_curves_and_evaluates(tmp_path):
    out, curves = tmp_path / "r.json", tmp_path / "c.npz"
    proc = subprocess.run([sys.executable, "-m", "ml", "localize", "--video", CLIP, "--catalog", CATALOG,
                           "--out", str(out), "--curves", str(curves), "--quiet"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with np.load(curves) as z:
        assert z["fused"].shape == (12, 3) and "m_visual" in z.files
    proc = subprocess.run([sys.executable, "-m", "ml", "evaluate", "--pred", str(out), "--truth",
                           os.path.join(CLIP_DIR, "truth.json"), "--curves", str(curves)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)
    assert metrics["localization"]["n_true"] == 2 and 0.0 <= metrics["localization"]["mAP@0.5"] <= 1.0
    assert '"R@1"' in json.dumps(metrics)  # recall from the curves


def test_follow_emits_intervals_while_a_stream_grows(tmp_path):
    """A growing MPEG-TS file (as a recorder writes it) is followed to its end."""
    ts = tmp_path / "live.ts"
    full = tmp_path / "full.ts"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", CLIP, "-c", "copy", "-f", "mpegts", str(full)],
                   check=True)
    data = full.read_bytes()

    def writer():
        with open(ts, "wb") as f:
            for k in range(0, len(data), len(data) // 6 + 1):
                f.write(data[k:k + len(data) // 6 + 1])
                f.flush()
                time.sleep(0.3)

    from ml.streaming import follow

    emitted = []
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        from tests.media import fusion_with_threshold

        follow(str(ts), CATALOG, str(tmp_path / "r.json"), options=PipelineOptions(fusion=fusion_with_threshold(tmp_path, 0.05)),
               idle_timeout_s=3.0, segment_s=4.0, poll_s=0.2, emit=emitted.append)
    finally:
        thread.join()
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["duration_s"] > 11.0
    assert {iv.product_id for iv in emitted} >= {"gs_06", "gs_45"}
    assert len(emitted) == len(result["intervals"])


def test_the_thread_count_reaches_every_network():
    from ml.pipeline import PipelineOptions

    o = PipelineOptions(threads=1)
    assert o.visual_options().embedder.threads == 1
    assert o.text_encoder().options.threads == 1
    assert PipelineOptions(visual_mode="asymnet").visual_options().keep_embeddings  # the seed models read crops
    assert not PipelineOptions().visual_options().keep_embeddings
