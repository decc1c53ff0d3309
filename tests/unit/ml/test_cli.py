"""`python -m ml localize` on bad input: non-zero exit and one line saying what and where."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")
CLIP = os.path.join(DATA, "clip", "clip.mp4")
CATALOG = os.path.join(DATA, "catalog")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ml", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _text_as_mp4(tmp):
    p = tmp / "notes.mp4"
    p.write_text("these are my shopping notes, not a video\n")
    return str(p), CATALOG, None


def _truncated(tmp):
    p = tmp / "cut.mp4"
    data = open(CLIP, "rb").read()
    p.write_bytes(data[: len(data) // 3])
    return str(p), CATALOG, None


def _empty(tmp):
    p = tmp / "empty.mp4"
    p.write_bytes(b"")
    return str(p), CATALOG, None


def _audio_only(tmp):
    p = tmp / "audio.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", CLIP, "-vn", "-c:a", "copy", str(p)], check=True)
    return str(p), CATALOG, None


def _catalog_copy(tmp):
    folder = tmp / "cat"
    shutil.copytree(CATALOG, folder)
    return folder


def _missing_image(tmp):
    folder = _catalog_copy(tmp)
    os.remove(folder / "images" / "gs_06_iconic.jpg")
    return CLIP, str(folder), None


def _empty_catalog(tmp):
    folder = _catalog_copy(tmp)
    (folder / "products.csv").write_text("product_id,title,category,images\n")
    return CLIP, str(folder), None


def _malformed_csv(tmp):
    folder = _catalog_copy(tmp)
    (folder / "products.csv").write_text("id;name;pictures\n1;juice;a.jpg\n")
    return CLIP, str(folder), None


def _bad_comments(tmp):
    p = tmp / "c.csv"
    p.write_text("time_s,user,text\nsoon,ann,hello\n")
    return CLIP, CATALOG, str(p)


@pytest.mark.parametrize("make,message", [
    (_text_as_mp4, "not a video file that can be decoded"),
    (_truncated, "truncated"),
    (_empty, "file is empty (0 bytes)"),
    (_audio_only, "has no video stream"),
    (_missing_image, "image not found"),
    (_empty_catalog, "catalog is empty"),
    (_malformed_csv, "missing column(s)"),
    (_bad_comments, "time_s 'soon' is not a number of seconds"),
], ids=["text-renamed-mp4", "truncated-mp4", "zero-bytes", "no-video-stream", "missing-catalog-image",
        "empty-catalog", "malformed-csv", "bad-comment-time"])
def test_bad_input_exits_2_with_one_clear_line(tmp_path, make, message):
    video, catalog, comments = make(tmp_path)
    args = ["localize", "--video", video, "--catalog", catalog, "--out", str(tmp_path / "r.json"), "--quiet"]
    if comments:
        args += ["--comments", comments]
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_unknown_modality_is_a_usage_error(tmp_path):
    proc = run_cli("localize", "--video", CLIP, "--catalog", CATALOG, "--out", str(tmp_path / "r.json"),
                   "--modalities", "smell")
    assert proc.returncode == 2 and "modalities must be a non-empty subset" in proc.stderr


def test_an_unknown_extra_visual_feature_is_a_usage_error(tmp_path):
    proc = run_cli("localize", "--video", CLIP, "--catalog", CATALOG, "--out", str(tmp_path / "r.json"),
                   "--extra-visual", "asymnet,resnet")
    assert proc.returncode == 2 and "visual_mode must be one of" in proc.stderr and "'resnet'" in proc.stderr


def test_a_seed_visual_mode_without_a_trained_fusion_subset_says_how_to_train_it(tmp_path):
    import json

    with open(os.path.join(ROOT, "ml", "models", "fusion_v2.json")) as f:
        bundle = json.load(f)
    bundle["models"] = {k: v for k, v in bundle["models"].items() if "@asymnet" not in k}
    path = tmp_path / "fusion_no_asymnet.json"
    path.write_text(json.dumps(bundle))
    proc = run_cli("localize", "--video", CLIP, "--catalog", CATALOG, "--out", str(tmp_path / "r.json"),
                   "--modalities", "visual", "--visual-mode", "asymnet", "--fusion", str(path), "--quiet")
    assert proc.returncode == 2 and "no fusion model trained for modalities 'visual@asymnet'" in proc.stderr
    assert "make train" in proc.stderr and not (tmp_path / "r.json").exists()


def test_the_int8_crop_network_is_chosen_on_the_command_line(tmp_path):
    import json

    proc = run_cli("localize", "--video", CLIP, "--catalog", CATALOG, "--out", str(tmp_path / "r.json"),
                   "--comments", os.path.join(DATA, "clip", "comments.csv"), "--image-precision", "int8", "--quiet")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["options"]["image_precision"] == "int8" and result["intervals"]
    bad = run_cli("localize", "--video", CLIP, "--catalog", CATALOG, "--out", str(tmp_path / "b.json"),
                  "--image-precision", "int4")
    assert bad.returncode == 2 and "invalid choice: 'int4'" in bad.stderr
