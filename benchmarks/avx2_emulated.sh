#!/usr/bin/env bash
# Accuracy of the int8 models on an AVX2-only x86 CPU (no AVX-512, VNNI or AMX), emulated on whatever CPU runs this.
#
# qemu-x86_64 (Debian's qemu-user-static) runs the same Python, LiteRT and onnxruntime binaries with a Haswell
# CPUID, so XNNPACK and onnxruntime pick their AVX2 int8 kernels: the ones that saturated in issue 10. Emulation
# is ~50x slower, so this checks accuracy and agreement on the first N PrivateTest faces; it says nothing about speed
# (`benchmarks/compare_fer.py --instructions` counts instructions on the AVX2 kernels instead).
#
# Usage: bash benchmarks/avx2_emulated.sh [N] [OUT_STEM] MODEL...
#   e.g. bash benchmarks/avx2_emulated.sh 600 benchmarks/reports/face_validation_avx2 runs/face_v2_ship/q/face_float32.onnx \
#            edge/models/face_int8.tflite edge/models/face_int8.onnx
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:?number of faces}; OUT=${2:?report stem}; shift 2
QEMU=$(command -v qemu-x86_64-static || command -v qemu-x86_64 || true)
[ -n "$QEMU" ] || { echo "qemu-x86_64 not found: sudo apt-get install qemu-user-static" >&2; exit 3; }
PY=${PYTHON:-.venv/bin/python}
CSV=${CSV:-../shared/datasets/fer2013/fer2013.csv.gz}
# Haswell-v4: AVX2 + FMA, no TSX, no AVX-512; qemu's TCG warns about virtualisation-only CPUID bits it cannot emulate.
EDGE_BENCH_EMULATED_CPU="qemu-x86_64 -cpu Haswell-v4: sse4_2 avx2 fma" \
"$QEMU" -cpu Haswell-v4 "$PY" -m convert.cli --log-level WARNING validate-face --data "$CSV" --limit "$N" \
    --latency-seconds 0 --report "$OUT" --models "$@" 2> >(grep -v "TCG doesn't support" >&2)
