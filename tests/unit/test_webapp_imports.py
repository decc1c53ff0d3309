"""The webapp's modules import each other without cycles (function-level imports included: a
cycle hidden inside a function is still a cycle)."""

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def test_the_webapp_has_no_import_cycle():
    files = {module_name(p): p for p in (ROOT / "webapp").rglob("*.py") if "migrations" not in p.parts}
    graph = nx.DiGraph()
    for name, path in files.items():
        graph.add_node(name)
        for target in imports_of(path, name, set(files)):
            if not name.startswith(target + "."):  # a package's own __init__ is not a cycle
                graph.add_edge(name, target)
    cycles = [c for c in nx.simple_cycles(graph)]
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles)
