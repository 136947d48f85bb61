#!/usr/bin/env bash
# Regenerates the committed reports in benchmarks/reports/ on this machine. The suites, their commands, the files
# they write and what they measure are one table, benchmarks/suites.py, which also makes reports/BENCH_REPORTS.md.
#   bash benchmarks/run_reports.sh            # the default suites (python benchmarks/suites.py list: marked *)
#   bash benchmarks/run_reports.sh models     # one suite, or several: bash benchmarks/run_reports.sh int8 repeat
#   PY=/path/to/python bash benchmarks/run_reports.sh ...   # another environment than .venv
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
commands=$("$PY" benchmarks/suites.py script "$@")
PY="$PY" exec bash -c "$commands"
