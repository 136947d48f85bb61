# Two commands on a fresh machine:
#   make demo   -> virtual environment with the runtime, then the live loop on the bundled demo clip
#   make test   -> development environment (+ mosquitto, systemd-analyze), then the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/edge-emotion run --source sample

# The tests start their own mosquitto brokers and call systemd-analyze; install both when missing.
system-deps:
	@command -v mosquitto >/dev/null 2>&1 || PATH="$$PATH:/usr/sbin" command -v mosquitto >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto openssl >/dev/null; } || \
	  echo "warning: mosquitto missing and not root: MQTT tests will be skipped (sudo apt-get install mosquitto)"
	@command -v systemd-analyze >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; } || \
	  echo "warning: systemd-analyze missing and not root: unit-file checks will be skipped (sudo apt-get install systemd)"

test: system-deps $(VENV)/.dev
	PATH="$$PATH:/usr/sbin" $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
