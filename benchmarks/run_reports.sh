#!/usr/bin/env bash
# Regenerates the committed reports in benchmarks/reports/ on this machine (about 4 minutes on 2 cores).
# Each report file states the command that produced it; this script is the list of those commands.
#   bash benchmarks/run_reports.sh            # all suites
#   bash benchmarks/run_reports.sh models     # one suite: models | repeat | pipeline | fer
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
OUT=benchmarks/reports
BENCH="$PY -m edge.bench.cli"
SUITE="${1:-}"
want() { [ -z "$SUITE" ] || [ "$SUITE" = "$1" ]; }

if want models; then
  # every shipped model, every backend that reads it, 1 and 2 threads (this machine has 2 cores)
  $BENCH models --threads 1,2 --min-time 3 --out "$OUT/models"
fi
if want repeat; then
  # repeatability: the int8 face model twice back to back; target: medians within 10 %
  for run in 1 2; do
    $BENCH models --model edge/models/face_int8.tflite --backend litert --min-time 5 --out "$OUT/repeat/run$run"
  done
  { echo "\$ edge-bench compare $OUT/repeat/run1/models.json $OUT/repeat/run2/models.json"
    $BENCH compare "$OUT/repeat/run1/models.json" "$OUT/repeat/run2/models.json"; } > "$OUT/repeat/compare.txt"
  cat "$OUT/repeat/compare.txt"
fi
if want pipeline; then
  # the live loop on the whole demo clip at its own frame rate, and as fast as the loop goes
  $BENCH pipeline --out "$OUT/pipeline"
  $BENCH pipeline --max-speed --out "$OUT/pipeline-max-speed"
fi
if want fer; then
  [ -x .bench-venv/bin/python ] || bash benchmarks/setup_fer_env.sh
  .bench-venv/bin/python benchmarks/compare_fer.py --out "$OUT"
fi
