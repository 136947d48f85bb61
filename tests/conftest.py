"""Test session set-up: what runs under an older Python, and the adversarial corpus's tally.

Under a Python older than convert/ needs (make test-py38 runs 3.8), its tests are left out, and the run says so.

The corpus: every case records how it ended, and the summary prints the counts. Outcomes: `handled` (odd but
usable input, processed correctly), `clean error` (refused with one clear message and the documented exit
status), `crash` (a traceback, an unexpected exit status, a signal, invalid output) and `hang` (over its time
bound). The corpus tests fail on the last two; the counts go to the README.
"""

from __future__ import annotations

import collections
import re
import signal
import sys
from pathlib import Path

import pytest

# The service tests send SIGHUP and expect its default action (exit), as under systemd, which starts a service
# with every signal at its default. A test run started under `nohup` (or any parent that ignores SIGHUP) would pass
# SIG_IGN on to every process the tests spawn, and those tests would then hang: give the children the default back.
signal.signal(signal.SIGHUP, signal.SIG_DFL)

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


OUTCOMES = ("handled", "clean error", "crash", "hang")
_CASES: dict[str, tuple[str, str]] = {}  # case id -> (group, outcome)


@pytest.fixture
def corpus(request):
    """`corpus(outcome, group, case=None)` records one case (by default, the test's own id)."""

    def record(outcome: str, group: str, case: str | None = None) -> str:
        assert outcome in OUTCOMES, outcome
        _CASES[case or request.node.nodeid] = (group, outcome)
        return outcome

    return record


def pytest_terminal_summary(terminalreporter):
    if not _CASES:
        return
    by_group: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for group, outcome in _CASES.values():
        by_group[group][outcome] += 1
    total = collections.Counter(outcome for _, outcome in _CASES.values())
    terminalreporter.section("adversarial corpus")
    terminalreporter.write_line(f"{'group':10} {'tried':>5} " + " ".join(f"{o:>11}" for o in OUTCOMES))
    for group in sorted(by_group):
        c = by_group[group]
        terminalreporter.write_line(f"{group:10} {sum(c.values()):5d} " + " ".join(f"{c[o]:11d}" for o in OUTCOMES))
    terminalreporter.write_line(f"{'all':10} {len(_CASES):5d} " + " ".join(f"{total[o]:11d}" for o in OUTCOMES))
