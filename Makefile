# ptree: `make run` and `make test` each do all set-up on a fresh machine, with no stdin:
# a virtualenv in .venv/, the project installed editable with its test extras, Debian's
# Chromium for the browser tests, Debian's strace for `ptree trace` and Debian's redis-server
# for the lecture-room tests (they start their own on a free loopback port; nothing here
# starts a service).  Every set-up step is a file target or a stamp, so a rerun only does
# what is missing.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
DEPS     := $(VENV)/.deps-installed
CHROMIUM := /usr/bin/chromium
STRACE   := /usr/bin/strace
REDIS    := /usr/bin/redis-server
HOST     ?= 127.0.0.1
PORT     ?= 5000
# apt needs root: use sudo only when we are not root already.
SUDO     := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: run test lint check pytest bench fuzz screenshots golden traced setup clean

## set-up ------------------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency list changes; the package itself is editable, so code
# changes need no reinstall.
$(DEPS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# Debian's Chromium, driven by Playwright through executable_path.  Never `playwright
# install`: browser downloads cannot work here.  `test -x` keeps this idempotent even if
# make decides to run the recipe.
$(CHROMIUM):
	test -x $(CHROMIUM) || { $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

# Debian's strace, which `ptree trace` runs (and its tests, on real programs).
$(STRACE):
	test -x $(STRACE) || { $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends strace; }


# Debian's Redis: `ptree serve --message-queue` and the tests of several server processes
# sharing lecture rooms.  Installing the package may start the distribution's own service;
# the tests never use it (they run their own on 127.0.0.1 and a free port).
$(REDIS):
	test -x $(REDIS) || { $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server; }

setup: $(DEPS) $(CHROMIUM) $(STRACE) $(REDIS)

## the two commands ---------------------------------------------------------------------

run: setup
	@echo "ptree explorer: http://$(HOST):$(PORT)/   (Ctrl-C stops it)"
	$(BIN)/ptree serve --host $(HOST) --port $(PORT)

test: lint check pytest

lint: $(DEPS)
	$(BIN)/ruff check ptree engine webui tests bench

check: $(DEPS)
	$(BIN)/ptree check scenarios/*.yaml scenarios/traced/*.yaml

pytest: setup
	$(BIN)/pytest

## extras -------------------------------------------------------------------------------

# Benchmarks write bench/results/*.json and print their tables; never run by `make test`.
bench: setup
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/explore.py
	$(BIN)/python bench/forkpy.py
	$(BIN)/python bench/ui.py
	$(BIN)/python bench/lecture.py
	$(BIN)/python bench/quiz.py
	$(BIN)/python bench/server.py

# Rewrites tests/golden/golden.json: only on purpose, with a commit saying which behaviour
# moved and why (tests/test_golden.py holds every scenario to it).
golden: $(DEPS)
	$(BIN)/python tests/golden/record.py

# The scenario-file fuzzer at full size (tests/test_fuzz.py: over 10,000 hostile files
# through the CLI in-process, real subprocesses and the socket; fresh cases each run).
# `make test` runs the same tests with a few hundred fixed cases.  FUZZ_SCALE=4 runs 4x.
fuzz: $(DEPS)
	PTREE_FUZZ=full PTREE_FUZZ_SCALE=$(or $(FUZZ_SCALE),1) $(BIN)/pytest -q \
	  tests/test_fuzz.py --hypothesis-show-statistics

# Regenerates docs/screenshot-*.png for the README.
screenshots: setup
	$(BIN)/python docs/screenshots.py

# Traces the example programs again (scenarios/traced/): new pids, new names, the same
# expectations, worked out from each program.
traced: setup
	$(BIN)/python scenarios/traced/regenerate.py

clean:
	rm -rf $(VENV) build *.egg-info test-results
