#!/usr/bin/env bash
# Creates .bench-venv/ for benchmarks/compare_fer.py: the project's runtime plus the `fer` package.
# `fer` is never a dependency of the project; it lives only in this git-ignored environment.
# fer 25.10.3 declares torch (facenet-pytorch, only for its MTCNN option), moviepy and opencv-contrib;
# the Haar + int8 TFLite path we compare against needs only TensorFlow (its tf.lite.Interpreter),
# requests, Pillow, pkg_resources and an OpenCV with CascadeClassifier, so fer goes in with --no-deps
# and those by name. OpenCV 5 moved CascadeClassifier out of the main build into contrib, so here the
# project's opencv-python-headless is swapped for the contrib build of the same version.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${BENCH_VENV:-$ROOT/.bench-venv}"
PY="${PYTHON:-python3}"

"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/pip" install --quiet --disable-pip-version-check -e "$ROOT"                       # edge/ runtime: numpy, opencv, LiteRT, psutil
"$VENV/bin/pip" install --quiet --disable-pip-version-check "tensorflow==2.21.0" requests Pillow "setuptools<81"
CV="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"
"$VENV/bin/pip" uninstall --quiet -y opencv-python-headless
"$VENV/bin/pip" install --quiet --disable-pip-version-check "opencv-contrib-python-headless==$CV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "fer==25.10.3"
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md, os
import cv2, fer.fer  # fails here, not in the benchmark, if something is missing
assert hasattr(cv2, "CascadeClassifier"), "this OpenCV build lacks CascadeClassifier (fer needs contrib)"
d = os.path.join(os.path.dirname(fer.fer.__file__), "data", "emotion_model_quantized.tflite")
print("fer", md.version("fer"), "tensorflow", md.version("tensorflow"), "model", d, os.path.getsize(d), "bytes")
PY
echo "ready: $VENV/bin/python benchmarks/compare_fer.py"
