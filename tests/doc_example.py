"""docs/models.md's worked examples as the tests run them: the code blocks of a section, and its command lines run
through this checkout's `edge-convert` and `edge-emotion`."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "models.md"
PROGRAMS = {"edge-convert": [sys.executable, "-m", "convert.cli"], "edge-emotion": [sys.executable, "-m", "edge.cli"]}


def doc_blocks(section: str) -> dict[str, list[str]]:
    """The code blocks of each language in a section of docs/models.md, in order."""
    text = DOC.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks: dict[str, list[str]] = {}
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", text, re.S):
        blocks.setdefault(lang, []).append(body)
    return blocks


def sh(line: str, cwd: Path) -> subprocess.CompletedProcess:
    """One command line of the doc, run in `cwd`."""
    argv = shlex.split(line)
    return subprocess.run(PROGRAMS[argv[0]] + argv[1:], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def example_folder(tmp_path_factory, name: str, data: Path, pattern: str, minimum: int,
                   links: dict[str, Path]) -> Path:
    """A scratch folder laid out as a doc example assumes (`links`: name -> what it points at); the test is skipped
    when `data` holds fewer than `minimum` files matching `pattern`, or TensorFlow is not installed."""
    import pytest

    if len(list(data.glob(pattern))) < minimum:
        pytest.skip(f"{pattern} files not found at {data}")
    pytest.importorskip("tensorflow")
    work = tmp_path_factory.mktemp(name)
    for link, target in links.items():
        (work / link).symlink_to(target)
    return work
