"""edge/ stays Python 3.8 code (the Jetson Nano's python3.8), checked from any Python.

The real check is `make test-py38` (these tests under 3.8 with tflite-runtime); this one is quick and runs
in every environment, so a 3.9+ construct is named with its file and line before anyone runs 3.8.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EDGE = sorted((ROOT / "edge").rglob("*.py"))

# Calls and keywords that Python 3.8 lacks and its grammar does not catch.
NEW_METHODS = {"removeprefix": "3.9", "removesuffix": "3.9", "is_relative_to": "3.9", "with_stem": "3.9",
               "bit_count": "3.10", "to_thread": "3.9"}
NEW_KEYWORDS = {("zip", "strict"): "3.10", ("dataclass", "slots"): "3.10", ("dataclass", "kw_only"): "3.10"}
NEW_NAMES = {("functools", "cache"): "3.9", ("math", "lcm"): "3.9", ("typing", "TypeAlias"): "3.10",
             ("typing", "ParamSpec"): "3.10", ("itertools", "pairwise"): "3.10", ("typing", "Self"): "3.11"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def _problems(path: Path) -> list[str]:
    src = path.read_text()
    where = path.relative_to(ROOT)
    try:
        tree = ast.parse(src, str(path), feature_version=(3, 8))
    except SyntaxError as e:
        return [f"{where}:{e.lineno}: not Python 3.8 syntax ({e.msg})"]
    out = []
    body = tree.body[1:] if tree.body and isinstance(tree.body[0], ast.Expr) else tree.body  # after the docstring
    if body and not (isinstance(body[0], ast.ImportFrom) and body[0].module == "__future__"):
        out.append(f"{where}: does not start with `from __future__ import annotations`")
    annotations = set()  # nodes inside annotations may use 3.9+ typing syntax: the future import keeps them strings
    for node in ast.walk(tree):
        for ann in (getattr(node, "annotation", None), getattr(node, "returns", None)):
            if ann is not None:
                annotations.update(id(n) for n in ast.walk(ann))
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if id(node) in annotations:
            continue
        if isinstance(node, ast.Call):
            func = _name(node.func)
            if isinstance(node.func, ast.Attribute) and func in NEW_METHODS:
                out.append(f"{line}: .{func}() is Python {NEW_METHODS[func]}+")
            for kw in node.keywords:
                if (func, kw.arg) in NEW_KEYWORDS:
                    out.append(f"{line}: {func}({kw.arg}=) is Python {NEW_KEYWORDS[func, kw.arg]}+")
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (node.module, alias.name) in NEW_NAMES:
                    out.append(f"{line}: {node.module}.{alias.name} is Python {NEW_NAMES[node.module, alias.name]}+")
        elif isinstance(node, ast.Attribute) and (_name(node.value), node.attr) in NEW_NAMES:
            out.append(f"{line}: {_name(node.value)}.{node.attr} is Python {NEW_NAMES[_name(node.value), node.attr]}+")
        elif isinstance(node, ast.Subscript) and _name(node.value) in ("list", "dict", "tuple", "set", "type", "frozenset"):
            out.append(f"{line}: {_name(node.value)}[...] outside an annotation needs Python 3.9 (use typing.List etc.)")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and isinstance(node.right, ast.Constant) \
                and node.right.value is None:
            out.append(f"{line}: `X | None` outside an annotation needs Python 3.10 (use typing.Optional)")
    return out


def test_edge_is_python38_code():
    assert EDGE, "no edge/ modules found"
    problems = [p for path in EDGE for p in _problems(path)]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_what_it_looks_for(tmp_path, monkeypatch):
    bad = ROOT / "edge" / "_py38_probe.py"  # inside ROOT so the report names it relative to the project
    bad.write_text('"""probe"""\nimport functools\nx: list[int] = []\ny = list[int]\nz = "a".removeprefix("a")\n'
                   "w = zip([], [], strict=True)\nv = functools.cache\n")
    try:
        found = _problems(bad)
    finally:
        bad.unlink()
    assert len(found) == 5, found  # the future import, list[...], removeprefix, zip(strict=), functools.cache
    assert not any(":3:" in p for p in found)  # list[int] inside an annotation is fine with the future import


def test_edge_convert_refuses_an_old_python_in_one_line(monkeypatch, capsys):
    from convert import cli

    monkeypatch.setattr(cli, "MIN_PYTHON", (99, 0))
    assert cli.main(["quantize", "--help"]) == 2
    err = capsys.readouterr().err
    assert "needs Python 99.0 or newer" in err and err.count("\n") == 1


@pytest.mark.skipif(sys.version_info >= (3, 10), reason="runs under Python 3.8/3.9 (make test-py38)")
def test_edge_convert_on_this_old_python_says_so():
    p = subprocess.run([sys.executable, "-m", "convert.cli", "train-face"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and "needs Python 3.10 or newer" in p.stderr and "Traceback" not in p.stderr
