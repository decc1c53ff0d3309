"""The README leads with a user's guide, keeps the two commands, and says true things."""

from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def sections():
    return [line[3:].strip() for line in README.splitlines() if line.startswith("## ")]


def test_the_readme_leads_with_the_users_guide_then_the_two_commands():
    assert sections()[:2] == ["User's guide", "The two commands"]
    assert "make run" in README and "make test" in README
    assert sections().index("Benchmark") > sections().index("The two commands")


def test_the_guide_covers_upload_review_shortcuts_focus_embed_and_the_api():
    guide = README.split("## The two commands")[0]
    for words in ("Upload", "Review on the timeline", "| keys |", "Focus view", "Now showing", "curl ", "/api/docs/"):
        assert words in guide, words


def test_the_readme_names_the_default_visual_feature_the_code_uses_and_no_file_outside_the_repo():
    from ml.pipeline import PipelineOptions

    default = PipelineOptions().visual_mode
    assert f"**`{default}`**" in README and "the default" in README
    assert not [m for m in ("lxmert", "asymnet", "image", "tracklet") if m != default and f"**`{m}`**" in README]
    outside = "/".join(("..", "shared", "ARCHITECTURE.md"))  # a path a fresh clone does not have
    assert outside not in README


def section(title: str) -> str:
    """The text of the section (any level) whose heading is ``title``, up to the next heading of its level or above."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip("#").strip() == title and line.startswith("#"))
    level = len(lines[start]) - len(lines[start].lstrip("#"))
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("#") and len(lines[i]) - len(lines[i].lstrip("#")) <= level), len(lines))
    return "\n".join(lines[start:end])


def test_the_guide_writes_down_the_one_status_model():
    text = section("What counts as reviewed, and what each output shows")
    for words in ("accepted", "edited", "relabelled", "merged", "added", "rejected", "calibrated threshold",
                  "viewer", "focus view", "clips", "exports", "status", "origin", "title"):
        assert words in text, words


def test_going_live_says_how_to_stream_from_obs_and_what_delay_to_expect():
    text = section("Going live")
    for words in ("OBS", "Stream key", "keyframe interval", "**Delay.**", "test-artifacts/live-delay.json"):
        assert words in text, words
