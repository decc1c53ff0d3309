"""The benchmark generator, on a tiny data root built from tests/data (never the shared data folder)."""

import csv
import json
import os
import shutil

import av
import numpy as np
import pytest

from ml.catalog import load_catalog
from ml.comments import load_comments
from ml.synth import DataRootError, generate_episode, load_sources, product_id_of, split_of, suite
from ml.synth.script import DIFFICULTIES, plan_episode
from ml.synth.sources import SourceItem, Sources

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "grocery")
ITEMS = {  # item id -> (title, category, photo stem, description)
    "gs_06_Banana": ("Banana", "other_produce", "Banana", "An ecologically grown banana. Good as snacks."),
    "gs_28_Bravo-Apple-Juice": ("Bravo Apple Juice", "bottles", "Bravo-Apple-Juice",
                                "Bravo apple juice is pressed from apples. Not from concentrate."),
    "gs_45_Oatly-Oat-Milk": ("Oatly Oat Milk", "bottles", "Oatly-Oat-Milk", "A natural oat drink."),
}
needs_tools = pytest.mark.usefixtures("render_tools")


@pytest.fixture
def render_tools():
    if not (shutil.which("ffmpeg") and shutil.which("espeak-ng")):
        pytest.fail("rendering episodes needs ffmpeg and espeak-ng: `make test` installs them")


@pytest.fixture(scope="module")
def mini_root(tmp_path_factory):
    """grocery_store/ with catalog.csv in the shared data's format, from tests/data photos."""
    root = tmp_path_factory.mktemp("data")
    g = root / "grocery_store"
    rows = []
    for iid, (title, cat, stem, desc) in ITEMS.items():
        (g / "images" / iid).mkdir(parents=True)
        for view, split, name in (("shop_iconic", "catalog", "iconic"),
                                  ("consumer_instore", "test", f"test_{stem}_0")):
            src = [f for f in sorted(os.listdir(DATA)) if f.startswith(stem + "__")
                   and (("iconic" in f) == (name == "iconic"))][0]
            shutil.copyfile(os.path.join(DATA, src), g / "images" / iid / f"{name}.jpg")
            rows.append({"id": f"{iid}__{name}", "title": title, "category": cat, "source_path": "",
                         "item_id": iid, "view": view, "split": split, "file": f"images/{iid}/{name}.jpg",
                         "fine_category": "Packages/Juice", "description": desc, "license": "MIT"})
    with open(g / "catalog.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return str(root)


@pytest.fixture(scope="module")
def episode(mini_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("ep")
    return generate_episode(str(out / "a"), seed=3, split="test", difficulty="easy", domain="grocery",
                            duration_s=12, size=(320, 180), data_root=mini_root)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


@needs_tools
def test_it_writes_a_playable_video_with_audio(episode):
    with av.open(episode["video"]) as c:
        v = c.streams.video[0]
        assert (v.codec_context.name, v.width, v.height) == ("h264", 320, 180)
        assert float(v.average_rate) == 25
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "aac"
        assert abs(float(c.duration) / 1e6 - 12) < 0.5


@needs_tools
def test_catalog_and_comments_follow_the_contracts(episode):
    cat = load_catalog(episode["catalog"])
    assert 1 <= len(cat) <= 60
    for p in cat.products:  # catalog side is the shop photo only
        assert len(p.images) == 1
    comments = load_comments(episode["comments"], duration_s=12)
    assert len(comments) >= 1 and comments.text[0]


@needs_tools
def test_truth_names_only_test_split_catalog_products_inside_the_video(episode):
    ids = set(load_catalog(episode["catalog"]).ids)
    truth = json.load(open(episode["truth"]))["intervals"]
    assert truth
    test_ids = {product_id_of(i) for i in ITEMS if split_of(i) == "test"}
    for t in truth:
        assert t["product_id"] in ids and t["product_id"] in test_ids
        assert 0 <= t["start_s"] < t["end_s"] <= 12
    meta = json.load(open(episode["meta"]))
    assert all(m["item_id"] in ITEMS for m in meta["products"])


@needs_tools
def test_it_is_deterministic_by_seed(episode, mini_root, tmp_path):
    again = generate_episode(str(tmp_path / "b"), seed=3, split="test", difficulty="easy", domain="grocery",
                             duration_s=12, size=(320, 180), data_root=mini_root)
    for key in ("truth", "comments"):
        assert _read(again[key]) == _read(episode[key])
    assert _read(os.path.join(again["catalog"], "products.csv")) == _read(os.path.join(episode["catalog"], "products.csv"))
    assert json.load(open(again["meta"]))["speech"] == json.load(open(episode["meta"]))["speech"]


def test_it_says_clearly_when_the_data_root_is_missing(tmp_path):
    with pytest.raises(DataRootError, match="SHOPFOCUS_DATA"):
        load_sources(str(tmp_path / "nowhere"))


def _fake_sources(n=120):
    items = []
    for i in range(n):
        dom = "grocery" if i % 3 == 0 else "fashion"
        items.append(SourceItem(f"item{i:03d}", f"Title {i}", "bottles" if dom == "grocery" else "shoes", "",
                                "desc", dom, "instore" if dom == "grocery" else "packshot",
                                [f"/x/{i}.jpg"], {"test": [f"/y/{i}.jpg"]}))
    return Sources("/fake", items, [])


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
@pytest.mark.parametrize("domain", ["grocery", "fashion", "mixed"])
def test_plans_respect_splits_durations_and_catalog_size(difficulty, domain):
    src = _fake_sources()
    for seed in range(4):
        plan = plan_episode(src, np.random.default_rng(seed), "val", difficulty, domain, 240.0, 10.0)
        assert all(it.split == "val" for it in plan.catalog)
        assert len(plan.catalog) == len({it.item_id for it in plan.catalog})
        shown = [s for s in plan.segments if s.kind == "exhibit"]
        assert shown
        for s in shown:
            assert 3.0 - 1e-6 <= s.end_s - s.start_s <= 60.0 + 1e-6
            assert s.item in plan.catalog
        cat_ids = {product_id_of(it.item_id) for it in plan.catalog}
        assert {t["product_id"] for t in plan.truth} <= cat_ids
        assert plan.segments[-1].end_s == pytest.approx(240.0)


def test_the_suite_covers_every_domain_and_difficulty():
    specs = suite(18, seed=0)
    assert {(s.domain, s.difficulty) for s in specs} == {(d, f) for d in ("grocery", "fashion", "mixed")
                                                        for f in DIFFICULTIES}
    assert all(120 <= s.duration_s <= 180 for s in specs)
    assert len({s.key("1") for s in specs}) == 18


def test_cli_exits_2_with_a_clear_message_when_the_data_root_is_missing(tmp_path, capsys):
    from ml.synth.__main__ import main
    assert main(["--out", str(tmp_path / "o"), "--data", str(tmp_path / "nowhere"), "--count", "1"]) == 2
    assert "data root not found" in capsys.readouterr().err


@needs_tools
def test_make_bench_quick_runs_end_to_end_on_a_tiny_data_root(mini_root, tmp_path):
    """`bench/run.py --quick` (what `make bench-quick` runs): generate, localize, evaluate, report."""
    import subprocess
    import sys

    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    env = {**os.environ, "SHOPFOCUS_BENCH_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "bench/run.py", "--quick", "--data", mini_root], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "results" / "quick.json") as f:
        report = json.load(f)
    default = next(r for r in report["rows"] if r["row"] == "default")
    assert default["episodes"] == 1 and default["failed"] == 0 and 0.0 <= default["R@1"] <= 1.0
    assert "| default pipeline |" in (tmp_path / "results" / "quick.md").read_text()


@needs_tools
def test_the_memory_curve_loops_an_episode_with_stream_copy_and_repeats_its_truth(episode, tmp_path):
    from bench.memory_curve import build_stream

    src = {**episode, "name": "a", "spec": {"duration_s": 12.0}}
    ep = build_stream(src, 0.5, str(tmp_path))  # 30 s from a 12 s episode: 3 loops, cut
    with av.open(ep["video"]) as c:
        assert abs(float(c.duration) / 1e6 - 30) < 0.6
        assert c.streams.video[0].codec_context.name == "h264" and c.streams.audio
    one = json.load(open(episode["truth"]))["intervals"]
    looped = json.load(open(ep["truth"]))["intervals"]
    assert len(looped) >= 2 * len(one)
    assert looped[len(one)]["start_s"] == pytest.approx(one[0]["start_s"] + 12.0, abs=0.1)
    assert all(iv["end_s"] <= 30.0 for iv in looped)
    src_comments = load_comments(episode["comments"], duration_s=12)
    assert len(load_comments(ep["comments"], duration_s=30)) >= 2 * len(src_comments)
    assert build_stream(src, 0.5, str(tmp_path)) == ep  # cached the second time
    assert ep["catalog"] == episode["catalog"]


def test_the_memory_plot_and_table_show_every_length(tmp_path):
    from PIL import Image

    from bench.memory_curve import plot, point, table

    runs = [(10, {"rc": 0, "wall_s": 60.0, "cpu_s": 100.0, "peak_rss_mb": 900.0}),
            (60, {"rc": 0, "wall_s": 300.0, "cpu_s": 500.0, "peak_rss_mb": 1200.0}),
            (240, {"rc": 0, "wall_s": 1300.0, "cpu_s": 2000.0, "peak_rss_mb": 2100.0})]
    pts = [point(m, {}, r, None, 160) for m, r in runs]
    assert pts[1]["rtf"] == pytest.approx(12.0) and pts[1]["rtf_cpu"] == pytest.approx(7.2)
    md = "\n".join(table(pts))
    assert "| 240 | 160 | 2100 | 1300 | 2000 | 11.1 | 7.2 |" in md
    with Image.open(plot(pts, str(tmp_path / "m.png"), "title")) as im:
        assert im.format == "PNG" and im.size[0] > 800


def test_cli_refuses_a_long_stream_when_the_split_has_too_few_products(mini_root, tmp_path, capsys):
    from ml.synth.__main__ import main
    assert main(["--out", str(tmp_path / "o"), "--data", mini_root, "--count", "0", "--long", "1",
                 "--long-min", "2"]) == 2
    assert "160-product list needs more products than the split has" in capsys.readouterr().err


# --------------------------------------------------------------------------- shops (issue 15)
def test_a_shops_episodes_share_catalog_props_and_voice_and_mostly_show_its_bestsellers():
    from ml.synth.shop import draw_shop

    src = _fake_sources()
    shop = draw_shop(src, np.random.default_rng(5), "shop5", "val", "mixed")
    plans = [plan_episode(src, np.random.default_rng(seed), "val", "medium", "mixed", 240.0, 10.0, shop=shop)
             for seed in range(4)]
    assert all([it.item_id for it in p.catalog] == [it.item_id for it in shop.catalog] for p in plans)
    assert all(p.voice == shop.voice for p in plans)
    shown = [s.item for p in plans for s in p.segments if s.kind == "exhibit"]
    assert all(it in shop.catalog for it in shown)
    assert sum(it in shop.core for it in shown) / len(shown) > 0.5  # p_core = 0.75
    others = {s.item.item_id for p in plans for s in p.segments if s.kind == "distractor"} | \
        {s.overlay.item_id for p in plans for s in p.segments if s.overlay is not None}
    assert others <= {it.item_id for it in shop.props}
    assert len({tuple((s.kind, s.start_s) for s in p.segments) for p in plans}) == 4  # each its own script


def test_shop_series_have_their_own_cache_keys_and_ordinary_episodes_keep_theirs():
    from ml.synth import shop_suite

    series = shop_suite(3, 6)
    keys = [s.key() for ser in series for s in ser]
    assert len(set(keys)) == 18 and all(k.startswith("shop") for k in keys)
    assert all(len({s.shop for s in ser}) == 1 for ser in series) and len({ser[0].shop for ser in series}) == 3
    assert all(60 <= s.duration_s <= 120 for ser in series for s in ser)
    assert suite(1)[0].key() == "v1_test_s0_grocery_easy_180s_1280x720"  # unchanged by shops


@needs_tools
def test_two_episodes_of_one_shop_have_one_catalog_and_one_look(mini_root, tmp_path):
    eps = [generate_episode(str(tmp_path / f"e{seed}"), seed=seed, split="test", difficulty="easy", domain="grocery",
                            duration_s=8, size=(320, 180), data_root=mini_root, shop_seed=1) for seed in (0, 1)]
    metas = [json.load(open(e["meta"])) for e in eps]
    assert metas[0]["shop"] == metas[1]["shop"] and metas[0]["voice"] == metas[1]["voice"]
    assert load_catalog(eps[0]["catalog"]).ids and \
        sorted(load_catalog(eps[0]["catalog"]).ids) == sorted(load_catalog(eps[1]["catalog"]).ids)
    plain = generate_episode(str(tmp_path / "plain"), seed=0, split="test", difficulty="easy", domain="grocery",
                             duration_s=8, size=(320, 180), data_root=mini_root)
    assert "shop" not in json.load(open(plain["meta"]))
