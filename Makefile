# Two commands on a fresh machine:
#   make demo   -> virtual environment with the runtime, then the live loop on the bundled demo clip
#   make test   -> development environment (+ mosquitto, chromium, systemd-analyze), then the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-slow test-py38 arm64-check system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@# The microphone cases of the adversarial corpus need pyaudio, which builds against portaudio19-dev (system-deps).
	@$(BIN)/pip install -q 'pyaudio>=0.2.13' 2>/dev/null || \
	  echo "warning: pyaudio did not build (sudo apt-get install portaudio19-dev): microphone tests will be skipped"
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/edge-emotion run --source sample

# The tests start their own mosquitto brokers, load the live page in headless Chromium and call
# systemd-analyze; install all three when missing.
system-deps:
	@command -v mosquitto >/dev/null 2>&1 || PATH="$$PATH:/usr/sbin" command -v mosquitto >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto openssl >/dev/null; } || \
	  echo "warning: mosquitto missing and not root: MQTT tests will be skipped (sudo apt-get install mosquitto)"
	@command -v chromium >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "warning: chromium missing and not root: the live-page browser test will be skipped (sudo apt-get install chromium)"
	@[ -e /usr/include/portaudio.h ] || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq portaudio19-dev >/dev/null; } || \
	  echo "warning: portaudio19-dev missing and not root: pyaudio cannot build, microphone tests will be skipped"
	@command -v systemd-analyze >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; } || \
	  echo "warning: systemd-analyze missing and not root: unit-file checks will be skipped (sudo apt-get install systemd)"

test: system-deps $(VENV)/.dev
	PATH="$$PATH:/usr/sbin" $(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory test-py38

# Tests marked slow (real-time clips, each over ~5 s): left out of `make test`, run by CI (.ci/run).
test-slow: system-deps $(VENV)/.dev
	PATH="$$PATH:/usr/sbin" $(BIN)/python -m pytest -q -m slow

# The device runtime under Python 3.8 (a Jetson Nano's python3.8) with tflite-runtime 2.13.0, the last
# cp38 aarch64 wheel: its tests (those importing convert/ are left out), then `infer` on the same photos
# and WAVs as the main environment, labels equal and probabilities within CROSSCHECK_TOL: the int8 output's
# step is 1/256 = 0.0039, and other runtime versions or a box a pixel off move a probability a step or two.
# (pyenv's shim for python3.8 exists but refuses to run unless 3.8 is selected: take the interpreter itself.)
PY38 ?= $(shell ls -d $$HOME/.pyenv/versions/3.8.*/bin/python 2>/dev/null | tail -n 1 | grep . || \
          { p=$$(command -v python3.8) && $$p -c '' 2>/dev/null && echo $$p; })
VENV38 ?= .venv38
# 0.03 since face v3 (2026-12-07): it outputs int8 logits (step 0.054) and the runtime applies the softmax, so one
# logit step moves a probability by up to 0.25 x 0.054 = 0.013; two steps (measured: 0.0250 on one photo) stay inside.
CROSSCHECK_TOL ?= 0.03
# Every test but three long loops over FER2013 (110 of 357 s here under 3.8) whose code the rest already runs
# on 3.8; they run in the main environment.
PY38_TESTS ?= tests --deselect tests/test_bench_gate.py::test_face_gate_fails_below_its_floor_and_passes_above \
	--deselect tests/test_bench_models.py::test_models_mode_default_runs_every_shipped_model_and_thread_count \
	--deselect tests/test_bench_gate.py::test_fer2013_reader_takes_only_the_asked_split \
	$(PY38_KNOWN)
# Known to fail under 3.8 + tflite-runtime and not yet fixed (2026-12-07, issue 24's new corpus cases; they pass in
# the main environment): SIGINT while numpy imports ends in an ImportError traceback, SIGINT while check-config
# loads the models kills it (-2), and the no-CONNACK warning over TLS does not come within the test's bound.
PY38_KNOWN ?= --deselect "tests/test_corpus_mqtt.py::test_a_broker_that_accepts_tcp_and_never_sends_connack_is_reported_within_seconds[tls]" \
	--deselect "tests/test_corpus_signals.py::test_sigint_in_each_phase_of_start_up[infer-imports]" \
	--deselect "tests/test_corpus_signals.py::test_sigint_in_each_phase_of_start_up[check-config-loading]"

$(VENV38)/.ok: pyproject.toml
	$(PY38) -m venv $(VENV38)
	$(VENV38)/bin/python -m pip install -q --upgrade 'pip<25.1'
	$(VENV38)/bin/pip install -q 'tflite-runtime==2.13.0' -e '.[onnx,test]'
	touch $@

test-py38:
	@if [ -z "$(PY38)" ]; then \
	  echo "test-py38: no Python 3.8 found (python3.8 or ~/.pyenv/versions/3.8.*; e.g. pyenv install 3.8)"; \
	  [ -z "$$CI" ] || exit 1; exit 0; fi
	$(MAKE) --no-print-directory $(VENV38)/.ok
	PATH="$$PATH:/usr/sbin" $(VENV38)/bin/python -m pytest -q -p no:cacheprovider $(PY38_TESTS)
	@mkdir -p build/crosscheck
	$(BIN)/python tests/crosscheck.py run --python $(BIN)/python --out build/crosscheck/main.jsonl
	$(BIN)/python tests/crosscheck.py run --python $(VENV38)/bin/python --out build/crosscheck/py38.jsonl
	$(BIN)/python tests/crosscheck.py compare build/crosscheck/main.jsonl build/crosscheck/py38.jsonl --prob-tol $(CROSSCHECK_TOL)

# The package on arm64 (Debian bookworm = Raspberry Pi OS Bookworm, aarch64 wheels) under qemu-user-static, compared
# with this machine's results; needs root, debootstrap and qemu-user-static. The root file system is cached in .arm64/.
# Not part of `make test`: see benchmarks/reports/arm64_check.md for how long it takes.
arm64-check: $(VENV)/.dev
	PYTHON=$(BIN)/python bash benchmarks/arm64_check.sh --out benchmarks/reports

clean:
	rm -rf $(VENV) $(VENV38) build *.egg-info
