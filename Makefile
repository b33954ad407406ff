# Sign2Text: the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
DEV_VENV ?= .venv-dev
CLIP ?= ../shared/videos/hello__sdb1228__hello.mp4
PIP_FLAGS ?= -q --disable-pip-version-check

WEB_VENDOR := src/sign2text/serve/static/vendor

.PHONY: demo test system-deps setup setup-dev web serve lint typecheck unit image-check bench clean

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

# Browser assets for the web demo (MediaPipe Holistic, onnxruntime-web) from the npm
# registry, from the committed lock file.
$(WEB_VENDOR)/.built: web/package.json web/package-lock.json web/build.mjs
	cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	node web/build.mjs
	touch $@

web: $(WEB_VENDOR)/.built

## Run the service and web demo on http://127.0.0.1:8000/ (Ctrl-C stops it).
serve: setup web
	$(VENV)/bin/sign2text serve

## Quick start 1: set up and recognize a real clip with the bundled model (offline).
demo: setup
	$(VENV)/bin/sign2text recognize $(CLIP) --top-k 5

lint: setup-dev
	$(DEV_VENV)/bin/ruff check .
	$(DEV_VENV)/bin/ruff format --check .

typecheck: setup-dev
	$(DEV_VENV)/bin/mypy

# Chromium, ffmpeg, node (apt-get; only what is missing).
system-deps:
	scripts/install_system_deps.sh

unit: system-deps setup-dev web
	$(DEV_VENV)/bin/pytest -q

# The Docker image's lint, install and start steps, without a Docker engine.
image-check: setup-dev web
	docker/check_image_steps.sh $(DEV_VENV)/bin/hadolint

## Quick start 2: set up and run the whole suite (lint, format, types, tests, browser
## tests, the Docker image's steps).
test: lint typecheck unit image-check

bench: setup-dev
	$(DEV_VENV)/bin/python benchmarks/bench_runtime.py

clean:
	rm -rf $(VENV) $(DEV_VENV) $(WEB_VENDOR) web/node_modules .mypy_cache .ruff_cache .pytest_cache
