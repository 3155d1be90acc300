# The README commands: `make run` (install, then run the plugin on the local-disk backend
# and show a round trip), `make test` (install test needs, build the docs, run the tests),
# `make bench`; `make docs` builds the documentation site alone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# Two workers (the machine, and CI, has 2 cores), one test module per worker at a time:
# a module's fixtures (servers, its plugin process) then start once, and checks made at a
# module fixture's teardown see every test of the module. Override: PYTEST_ARGS="-k s3"
PYTEST_ARGS ?= -n 2 --dist loadfile
# The worked third-party backend: installed like any user's backend, tested with its own suite.
EXAMPLE := examples/webdav-backend

.PHONY: run test install install-test servers docs bench bench-migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt ".[all]"

install-test: $(BIN)/python
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt ".[all,test,docs]"
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt "./$(EXAMPLE)[test]"

run: install
	$(BIN)/argo-artifacts demo

# Lint, build the docs site, then the unit layer (in-process, seconds), then the integration
# layer (the plugin as a process against real servers), then the example backend's own suite.
test: install-test servers
	$(BIN)/ruff check .
	$(DOCS_BUILD)
	$(BIN)/python -m pytest tests/unit -q
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)
	cd $(EXAMPLE) && $(abspath $(BIN))/python -m pytest $(PYTEST_ARGS)

# The documentation site (mkdocs.yml, docs/) into site/, which git ignores. --strict turns
# every warning into a failure: a link to a missing page or anchor, a page left out of the
# nav, an embedded example file that is gone. Never add --quiet: it hides the warnings from
# the count, and a broken link then builds. NO_MKDOCS_2_WARNING silences Material's banner
# about MkDocs 2, which is not a problem of this site.
DOCS_BUILD = NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
docs: install-test
	$(DOCS_BUILD)

# Performance benchmarks (tests/benchmarks/): figures next to same-run baselines, about
# 2 hours on 2 cores (objects up to 4 GiB, three repetitions). Quicker, about 25 minutes:
# make bench BENCH_ARGS="--quick"
BENCH_ARGS ?=
bench: install-test
	$(BIN)/python tests/benchmarks/run.py $(BENCH_ARGS)

# Storage servers the tests start: moto, the GCS emulator and pyftpdlib come with the
# test extra, wsgidav (WebDAV) with the example's test extra; Azurite and s3rver from npm (pinned by
# tests/servers/package-lock.json); OpenSSH from apt. Quiet and quick when everything is
# there already; CI runs this as root, no stdin.
servers:
	@if [ ! -x tests/servers/node_modules/.bin/azurite-blob ] || [ ! -x tests/servers/node_modules/.bin/s3rver ] || [ tests/servers/package-lock.json -nt tests/servers/node_modules/.package-lock.json ]; then \
		cd tests/servers && npm ci --no-audit --no-fund --loglevel=error; \
	fi
	@if [ ! -x /usr/sbin/sshd ]; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openssh-server >/dev/null; \
	fi

# migrate against rclone copy between two moto servers (prints figures; needs rclone).
bench-migrate: install-test
	command -v rclone >/dev/null || (apt-get update -qq && apt-get install -y -qq rclone)
	$(BIN)/python tests/benchmarks/migrate_vs_rclone.py

clean:
	rm -rf $(VENV) build site *.egg-info $(EXAMPLE)/build $(EXAMPLE)/src/*.egg-info
