"""Under a Python older than convert/ needs (make test-py38 runs 3.8), its tests are left out, and the run says so."""

from __future__ import annotations

import re
import sys
from pathlib import Path

# convert/ (the workstation stage) may use Python 3.10+ and TensorFlow; the device runtime's tests run on 3.8.
WORKSTATION_PYTHON = (3, 10)
_IMPORTS_CONVERT = re.compile(r"^(from|import) convert\b", re.M)

collect_ignore = []
if sys.version_info < WORKSTATION_PYTHON:
    collect_ignore = sorted(p.name for p in Path(__file__).parent.glob("test_*.py")
                            if _IMPORTS_CONVERT.search(p.read_text()))


def pytest_report_header(config):
    if collect_ignore:
        return (f"not collected (they import convert/, which needs Python {'.'.join(map(str, WORKSTATION_PYTHON))}+): "
                + ", ".join(collect_ignore))
    return None
