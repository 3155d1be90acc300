# The README commands: `make run` (install, then run the plugin on the local-disk backend
# and show a round trip), `make test` (install test needs, run the tests), `make bench`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PYTEST_ARGS ?=

.PHONY: run test install install-test servers bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt ".[all]"

install-test: $(BIN)/python
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt ".[all,test]"

run: install
	$(BIN)/argo-artifacts demo

test: install-test servers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Performance benchmarks (tests/benchmarks/): figures next to same-run baselines, about
# 10-15 minutes on 2 cores. Quicker: make bench BENCH_ARGS="--size 128MiB --files 200"
BENCH_ARGS ?=
bench: install-test
	$(BIN)/python tests/benchmarks/run.py $(BENCH_ARGS)

# Storage servers the tests start (moto and the GCS emulator come with the test extra).
servers:
	@true

clean:
	rm -rf $(VENV) build *.egg-info
