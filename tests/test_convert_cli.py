"""`edge-convert`'s command table: names alike, old names still working, and every command the docs show known."""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
import types
from pathlib import Path

import pytest

from convert import cli

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("face", "voice", "text")
# What a user copies a command from: the README, docs/, model cards, benchmark scripts and reports, the Makefile.
DOCS = sorted({*ROOT.glob("*.md"), *ROOT.glob("docs/**/*.md"), *ROOT.glob("edge/models/**/*.md"),
               *ROOT.glob("benchmarks/**/*.md"), *ROOT.glob("benchmarks/**/*.sh"), *ROOT.glob("benchmarks/**/*.py"),
               ROOT / "Makefile"})
COMMAND = re.compile(r"(?:edge-convert|-m convert\.cli)(?: --log-level \w+)? ([a-z][a-z0-9-]*)")


def test_each_command_names_its_model_last_and_lives_in_that_model_package():
    for name, (module, _) in cli.COMMANDS.items():
        assert importlib.util.find_spec(module), f"{name}: no module {module}"
        model = name.rpartition("-")[2]
        if model in MODELS:
            assert module.startswith(f"convert.{model}."), (name, module)
    for model in MODELS:
        assert {f"train-{model}", f"validate-{model}"} <= set(cli.COMMANDS), model


@pytest.fixture
def fake_command(monkeypatch):
    """Every subcommand runs a stand-in that records its arguments (no TensorFlow, no data)."""
    ran = []
    mod = types.ModuleType("fake_convert_command")
    mod.add_arguments = lambda p: p.add_argument("--out")
    mod.run = lambda args: ran.append((args.command, args.out)) or 0
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    for name, (_, help_) in list(cli.COMMANDS.items()):
        monkeypatch.setitem(cli.COMMANDS, name, (mod.__name__, help_))
    return ran


@pytest.mark.parametrize("old,new", sorted(cli.RENAMED.items()))
def test_an_old_name_runs_the_new_command_with_a_one_line_warning(fake_command, caplog, old, new):
    with caplog.at_level(logging.WARNING, logger="convert.cli"):
        assert cli.main(["--log-level", "WARNING", old, "--out", "x"]) == 0
    assert fake_command == [(new, "x")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and old in warnings[0] and new in warnings[0] and "\n" not in warnings[0]


def test_a_current_name_runs_without_a_warning(fake_command, caplog):
    with caplog.at_level(logging.WARNING, logger="convert.cli"):
        assert cli.main(["train-voice", "--out", "validate"]) == 0  # a value that is an old name stays a value
    assert fake_command == [("train-voice", "validate")] and not caplog.records


def test_every_edge_convert_command_in_the_docs_runs():
    seen = {}
    for path in DOCS:
        for m in COMMAND.finditer(path.read_text(errors="replace")):
            seen.setdefault(m.group(1), str(path.relative_to(ROOT)))
    assert "train-face" in seen, sorted(seen)
    unknown = {c: p for c, p in seen.items() if c not in cli.COMMANDS and c not in cli.RENAMED}
    assert not unknown, f"commands the docs show that edge-convert does not know: {unknown}"


def test_readme_docs_and_scripts_use_the_current_names():
    """Old names keep working for what was written before (reports, model cards); what we maintain uses the new."""
    current = [ROOT / "README.md", ROOT / "Makefile", ROOT / "benchmarks" / "README.md",
               *ROOT.glob("docs/**/*.md"), *ROOT.glob("benchmarks/*.sh"), *ROOT.glob("benchmarks/*.py")]
    old = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in current for m in COMMAND.finditer(p.read_text())
           if m.group(1) in cli.RENAMED]
    assert not old, "\n".join(old)
