# Sign2Text: the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
DEV_VENV ?= .venv-dev
CLIP ?= ../shared/videos/hello__sdb1228__hello.mp4
PIP_FLAGS ?= -q --disable-pip-version-check

.PHONY: demo test setup setup-dev lint typecheck unit bench clean

# Runtime install: no torch (the runtime uses ONNX Runtime only).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e '.[serve]'
	touch $@

# Everything: training extra (torch CPU from disk), server, dev tools.
$(DEV_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(DEV_VENV)
	$(DEV_VENV)/bin/pip install $(PIP_FLAGS) -e '.[train,serve,dev]'
	touch $@

setup: $(VENV)/.installed
setup-dev: $(DEV_VENV)/.installed

## Quick start 1: set up and recognize a real clip with the bundled model (offline).
demo: setup
	$(VENV)/bin/sign2text recognize $(CLIP) --top-k 5

lint: setup-dev
	$(DEV_VENV)/bin/ruff check src tests benchmarks
	$(DEV_VENV)/bin/ruff format --check src tests benchmarks

typecheck: setup-dev
	$(DEV_VENV)/bin/mypy

unit: setup-dev
	$(DEV_VENV)/bin/pytest -q

## Quick start 2: set up and run the whole suite (lint, format, types, tests).
test: lint typecheck unit

bench: setup-dev
	$(DEV_VENV)/bin/python benchmarks/bench_runtime.py

clean:
	rm -rf $(VENV) $(DEV_VENV) .mypy_cache .ruff_cache .pytest_cache
