"""Issue 12's code shape, kept: the review timeline is ES modules of at most about 300 lines each,
loaded with <script type="module"> and no build step, and the dead code it named stays gone."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMELINE = ROOT / "static" / "review" / "timeline"


def test_the_timeline_is_es_modules_of_at_most_300_lines_loaded_as_a_module():
    assert not (ROOT / "static" / "review" / "timeline.js").exists()
    modules = sorted(TIMELINE.glob("*.js"))
    assert len(modules) >= 7  # store, api, edits, geometry, render, input, panels at least
    sizes = {m.name: len(m.read_text().splitlines()) for m in modules}
    assert max(sizes.values()) <= 300, sizes
    for m in modules:
        if m.name != "main.js":  # every other module is imported by another one
            assert any(re.search(rf"""(from|import)\s+["']\./{re.escape(m.name)}["']""", o.read_text())
                       for o in modules if o != m), f"{m.name} is imported by no module"
    html = (ROOT / "templates" / "review" / "timeline.html").read_text()
    assert re.search(r"""<script type="module" src="{% static 'review/timeline/main\.js' %}">""", html)
    assert "timeline.js" not in html


def defined_names(path: Path) -> set[str]:
    """Qualified names (``Class.method``, ``function``) defined in a module."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(f"{node.name}.{n.name}" for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return names


def test_the_dead_code_issue_12_named_is_gone():
    everything = set()
    for path in [*(ROOT / "webapp").rglob("*.py"), *(ROOT / "ml").rglob("*.py")]:
        everything |= defined_names(path)
    for dead in ("close_db", "Interval.overlaps", "Shots.shot_of", "ScoreCurves.window"):
        assert dead not in everything, dead
