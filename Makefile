# The two README commands: `make run` (install, then run the plugin on the local-disk
# backend and show a round trip) and `make test` (install test needs, run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PYTEST_ARGS ?=
# The worked third-party backend: installed like any user's backend, tested with its own suite.
EXAMPLE := examples/webdav-backend

.PHONY: run test install install-test servers bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt ".[all]"

install-test: $(BIN)/python
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt ".[all,test]"
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt "./$(EXAMPLE)[test]"

run: install
	$(BIN)/argo-artifacts demo

test: install-test servers
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	cd $(EXAMPLE) && $(abspath $(BIN))/python -m pytest $(PYTEST_ARGS)

# Storage servers the tests start (moto and the GCS emulator come with the test extra;
# wsgidav, for WebDAV, with the example's test extra).
servers:
	@true

clean:
	rm -rf $(VENV) build *.egg-info $(EXAMPLE)/build $(EXAMPLE)/src/*.egg-info
