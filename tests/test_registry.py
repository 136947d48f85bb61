"""One registry entry shape (edge/registry.py): the config's choices, the CLI's help and the loaders all read it."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from edge import config, registry
from edge.cli import build_parser
from edge.registry import BACKENDS, CHANNELS, DETECTORS, PUBLISHERS, TEXT_SOURCES

ROOT = Path(__file__).resolve().parents[1]
TABLES = {"backend": BACKENDS, "face detector": DETECTORS, "publisher": PUBLISHERS, "text source": TEXT_SOURCES,
          "channel": CHANNELS}


def _choices(section: type, key: str) -> tuple:
    return next(f.metadata["choices"] for f in dataclasses.fields(section) if f.name == key)


def test_config_choices_are_the_registry_names():
    assert _choices(config.ModelsConfig, "backend") == ("auto",) + registry.names(BACKENDS)
    assert _choices(config.DetectConfig, "detector") == registry.names(DETECTORS)
    assert _choices(config.OutputConfig, "publisher") == registry.names(PUBLISHERS)
    assert _choices(config.TextConfig, "source") == ("none",) + registry.names(TEXT_SOURCES)


def test_cli_help_names_every_entry():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = " ".join(commands.choices["run"].format_help().split())  # argparse wraps lines
    assert registry.spoken(DETECTORS) in text and registry.spoken(PUBLISHERS) in text
    assert registry.spoken(("auto",) + registry.names(BACKENDS)) in text
    assert all(f"{e.name} ({e.doc})" in text or f"(stdin, {e.doc})" in text for e in TEXT_SOURCES.values())


@pytest.mark.parametrize("kind", TABLES)
def test_every_entry_loads_or_names_its_package(kind):
    """Each entry's module and class exist; an entry whose extra is not installed says which package to install."""
    for name, entry in TABLES[kind].items():
        try:
            cls = registry.load(TABLES[kind], name, kind, RuntimeError)
        except RuntimeError as e:
            assert entry.extra and entry.extra in str(e), e
            continue
        assert cls.__name__ == entry.cls


def test_unknown_names_list_the_choices():
    with pytest.raises(RuntimeError, match="unknown publisher 'carrier-pigeon'; choose one of stdout, mqtt"):
        registry.load(PUBLISHERS, "carrier-pigeon", "publisher", RuntimeError)


def test_backend_formats_come_from_the_entries():
    assert registry.formats(BACKENDS) == {".tflite": ("litert", "tflite-runtime"), ".onnx": ("onnxruntime",)}


def test_the_registry_imports_no_plugin():
    code = ("import sys, edge.registry; "
            "print(sorted(m for m in sys.modules if m.startswith('edge.') and m != 'edge.registry'))")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stderr
