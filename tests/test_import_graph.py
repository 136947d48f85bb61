"""No import loop in edge/ or convert/, counting the imports inside functions.

A function-level import runs only when its function does, so a loop through one (a imports b at the top, b
imports a inside a function) passes every test that never calls that function, and breaks the day one does.
The graph is read from the source with `ast`, so it also sees modules whose packages are not installed here.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("edge", "convert")
# convert/'s shared modules (quantize, report, ...) serve every model package (face/, voice/, text/, clips/) and
# import none of them, but for the two that dispatch to each model's pieces: edge-convert's command table and
# `edge-convert quantize --task`.
CONVERT_DISPATCHERS = ("convert.cli", "convert.quantize_cli")

# module -> [(imported module, line)]
Graph = Dict[str, List[Tuple[str, int]]]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = ROOT, packages: Tuple[str, ...] = PACKAGES) -> Graph:
    """Every import statement of every module under `packages`, top-level or not, onto the project's modules."""
    files = {_module_name(p, root): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}

    def known(name: str) -> str | None:
        """`name` or the longest of its prefixes that is one of our modules (a.b.func -> a.b)."""
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: Graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = graph.setdefault(name, [])
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [known(a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import mod` imports the module pkg.mod; `from mod import name` the module mod
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else known(base) for a in node.names]
            else:
                continue
            edges.extend((t, node.lineno) for t in targets if t and t != name)
    return graph


def cycles(graph: Graph) -> List[Tuple[List[Tuple[str, int]], List[str]]]:
    """One loop per strongly connected group of modules, as [(module, line of its import of the next), ...], with
    the whole group (every module that reaches every other)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    groups: List[List[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm; the graphs are a few hundred modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        for w, _ in graph.get(v, []):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    out = []
    for group in groups:
        start = min(group)
        members = set(group)
        # breadth-first from `start` inside the group back to `start`: the shortest loop through it
        came: Dict[str, Tuple[str, int]] = {}
        frontier = [start]
        while frontier and start not in came:
            nxt = []
            for v in frontier:
                for w, line in graph[v]:
                    if w in members and w not in came:
                        came[w] = (v, line)
                        nxt.append(w)
            frontier = nxt
        loop = []
        w = start
        while True:
            v, line = came[w]
            loop.append((v, line))
            w = v
            if w == start:
                break
        out.append((loop[::-1], sorted(group)))
    return out


def describe(loop: List[Tuple[str, int]], group: List[str]) -> str:
    names = [m for m, _ in loop] + [loop[0][0]]
    more = sorted(set(group) - set(names))
    return " -> ".join(names) + "  (" + ", ".join(f"{m} line {line}" for m, line in loop) + ")" + \
        (f"; in the same loop group: {', '.join(more)}" if more else "")


def test_no_import_loop_in_edge_or_convert():
    graph = import_graph()
    assert "convert.cli" in graph and "edge.cli" in graph, sorted(graph)[:10]
    found = cycles(graph)
    assert not found, "import loops (module -> what it imports, with the line of each import):\n" + \
        "\n".join(describe(*c) for c in found)


def test_edge_never_imports_convert():
    graph = import_graph()
    wrong = [f"{m} line {line} imports {t}" for m, edges in graph.items() if m.startswith("edge")
             for t, line in edges if t.startswith("convert")]
    assert not wrong, "\n".join(wrong)


def test_convert_packages_import_only_the_shared_modules():
    graph = import_graph()
    packages = sorted({m.split(".")[1] for m in graph if m.count(".") >= 2 and m.startswith("convert.")})
    assert {"face", "voice", "text"} <= set(packages), packages
    wrong = []
    for m, edges in graph.items():
        parts = m.split(".")
        if parts[0] != "convert" or m in CONVERT_DISPATCHERS:
            continue
        own = parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in packages) else None
        for t, line in edges:
            tp = t.split(".")
            other = tp[1] if tp[0] == "convert" and len(tp) > 1 and tp[1] in packages else None
            if other and other != own:
                wrong.append(f"{m} line {line} imports {t}" + (f" (convert.{own} may not import convert.{other})"
                             if own else " (a shared module imports no model package)"))
    assert not wrong, "\n".join(wrong)


def test_the_checker_finds_a_loop_through_a_function_level_import(tmp_path):
    pkg = tmp_path / "convert"
    (pkg / "voice").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "voice" / "__init__.py").write_text("")
    (pkg / "voice" / "train.py").write_text("from .evaluate import cross_validate\n")
    (pkg / "voice" / "evaluate.py").write_text("def cross_validate():\n    from convert.voice.train import fit\n")
    (pkg / "report.py").write_text("from .voice import evaluate\n")  # into the loop, not part of it
    graph = import_graph(tmp_path, ("convert",))
    assert graph["convert.report"] == [("convert.voice.evaluate", 1)]
    found = cycles(graph)
    assert [describe(*c) for c in found] == [
        "convert.voice.evaluate -> convert.voice.train -> convert.voice.evaluate  "
        "(convert.voice.evaluate line 2, convert.voice.train line 1)"]
