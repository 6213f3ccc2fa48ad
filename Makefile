# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv and installs
# what it needs from this repository's own setup.cfg; a stamp file skips the install when
# setup.cfg has not changed since.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PRESET ?= shakespeare-char

.PHONY: run test lint bench clean help

help:
	@echo "make run    create .venv, install tfllm, train the default preset ($(PRESET))"
	@echo "make test   create .venv, install tfllm[dev], run the test suite"
	@echo "make bench  run benchmarks/train_throughput.py and generate.py (tfllm vs keras-hub)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.stamp-run: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-dev: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.stamp-run

run: $(VENV)/.stamp-run
	$(BIN)/tfllm train --preset $(PRESET)

# One pytest worker per core, at most four: much of a test's time is single-threaded (tracing,
# process start-up), so on this project's 2-core machine two workers ran the suite in 658 s
# against 965 s in one process (2026-12-01).
# Three workers on those 2 cores were slower than two (307 s against 277 s for tests/generation,
# models, export and tasks, 2026-12-02). Work stealing keeps both workers busy to the end: the
# suite's longest tests take over a minute each.
# The playground's browser test needs Debian's chromium; the script installs it where it can
# (root and apt-get) and otherwise says in one line why that test will be skipped.
test: $(VENV)/.stamp-dev
	bash .ci/install-browser
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist worksteal

bench: $(VENV)/.stamp-dev
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/generate.py

clean:
	rm -rf runs/ build/ *.egg-info
