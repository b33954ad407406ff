#!/usr/bin/env bash
# What CI can check of the Docker image without a Docker engine: lint the Dockerfile,
# run the image's install step (docker/install.sh) into a fresh virtual environment from
# a clean copy of the tracked sources plus the built web assets, and start the server
# from it (docker/smoke.py).
# Usage: docker/check_image_steps.sh [HADOLINT]
set -euo pipefail
cd "$(dirname "$0")/.."
hadolint="${1:-.venv-dev/bin/hadolint}"
"$hadolint" Dockerfile
echo "hadolint: Dockerfile ok"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The build context as Docker sees it: tracked files, then the web stage's output.
git ls-files -z | xargs -0 cp --parents -t "$work" 2>/dev/null || rsync -a --exclude .git ./ "$work/"
if [ -d src/sign2text/serve/static/vendor ]; then
    mkdir -p "$work/src/sign2text/serve/static"
    cp -r src/sign2text/serve/static/vendor "$work/src/sign2text/serve/static/"
fi
sh docker/install.sh "$work/venv" "$work"
"$work/venv/bin/python" docker/smoke.py "${SIGN2TEXT_VIDEOS_DIR:-../shared/videos}/hello__sdb1228__hello.mp4" hello
