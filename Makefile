# The two README commands: `make run` (install, then run the plugin on the local-disk
# backend and show a round trip) and `make test` (install test needs, run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PYTEST_ARGS ?=

.PHONY: run test install install-test servers bench bench-migrate clean

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

# Storage servers the tests start (moto and the GCS emulator come with the test extra).
servers:
	@true

# migrate against rclone copy between two moto servers (prints figures; needs rclone).
bench-migrate: install-test
	command -v rclone >/dev/null || (apt-get update -qq && apt-get install -y -qq rclone)
	$(BIN)/python tests/benchmarks/migrate_vs_rclone.py

clean:
	rm -rf $(VENV) build *.egg-info
