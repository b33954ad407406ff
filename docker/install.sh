#!/bin/sh
# Install the Sign2Text runtime (server extra, no torch) into a fresh virtual environment.
# Used by the Dockerfile and, without Docker, by docker/check_image_steps.sh in CI.
# Usage: install.sh VENV_DIR SOURCE_DIR
set -eu
venv="$1"
src="$2"
python3 -m venv "$venv"
"$venv/bin/pip" install --no-cache-dir --disable-pip-version-check -q "$src[serve]"
# The image must not carry torch (the runtime is ONNX Runtime only).
if "$venv/bin/python" -c "import torch" 2>/dev/null; then
    echo "install.sh: torch was installed into the runtime environment" >&2
    exit 1
fi
