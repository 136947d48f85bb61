"""benchmarks/suites.py: one table behind run_reports.sh and reports/BENCH_REPORTS.md."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_suites", ROOT / "benchmarks" / "suites.py")
suites = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = suites  # dataclasses look their module up there
_spec.loader.exec_module(suites)


def test_the_committed_index_is_the_tables():
    committed = suites.INDEX.read_text()
    assert committed == suites.index(), (
        f"{suites.INDEX.relative_to(ROOT)} differs from the table in benchmarks/suites.py: edit the table, then "
        "run `python benchmarks/suites.py index --write`")


def test_every_report_a_suite_names_is_committed():
    missing = [f"{s.name}: {f}" for s in suites.SUITES for f in s.files
               if not (list(suites.REPORTS.glob(f)) if "*" in f else (suites.REPORTS / f).exists())]
    assert not missing, missing


def test_suites_are_named_once_and_every_default_one_runs_commands():
    names = [s.name for s in suites.SUITES]
    assert len(names) == len(set(names)), names
    assert set(suites.SECTIONS) == {s.section for s in suites.SUITES}
    for s in suites.SUITES:
        assert s.commands or s.shown, s.name  # a hand-made suite says how it was made
        assert s.commands or not s.default, s.name


@pytest.fixture
def stub_python(tmp_path):
    """A $PY that runs suites.py for real and only logs every other command run_reports.sh gives it."""
    log = tmp_path / "calls.log"
    stub = tmp_path / "python"
    stub.write_text(f'#!/bin/sh\nif [ "$1" = benchmarks/suites.py ]; then exec {sys.executable} "$@"; fi\n'
                    f'echo "$*" >> {log}\n')
    stub.chmod(0o755)
    return stub, log


def _run_reports(stub: Path, *suites_: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "benchmarks/run_reports.sh", *suites_], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PY": str(stub)}, timeout=60)


def test_run_reports_runs_the_tables_commands_through_its_python(stub_python):
    stub, log = stub_python
    p = _run_reports(stub, "models", "gate", "soak")
    assert p.returncode == 0, p.stderr
    assert log.read_text().splitlines() == [
        "-m edge.bench.cli models --threads 1,2 --min-time 3 --out benchmarks/reports/models",
        "-m edge.bench.cli models --model edge/models/face_int8.tflite --backend litert --min-time 1 --accuracy "
        "../shared/datasets/fer2013/fer2013.csv.gz --min-accuracy 0.58 --out benchmarks/reports/gate-face",
        "-m edge.bench.cli models --model edge/models/voice_int8.tflite --backend litert --min-time 1 --accuracy "
        "../shared/datasets/emodb/wav --min-accuracy 0.70",
        "benchmarks/soak.py --minutes 15 --out benchmarks/reports",  # under `nice -n 10`
    ]
    assert "== models:" in p.stderr and "== soak:" in p.stderr


def test_run_reports_names_the_suites_when_one_is_unknown_or_made_by_hand(stub_python):
    stub, log = stub_python
    p = _run_reports(stub, "nope")
    assert p.returncode != 0 and "no suite nope; choose from" in p.stderr and "models" in p.stderr
    p = _run_reports(stub, "face-validation")
    assert p.returncode != 0 and "made by hand" in p.stderr and "face_validation.md" in p.stderr
    assert not log.exists()  # nothing ran
