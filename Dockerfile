# syntax=docker/dockerfile:1
# Sign2Text service image: slim runtime (no torch), non-root, model baked in.
#   docker build -t sign2text .
#   docker run --rm -p 8000:8000 sign2text        # then open http://localhost:8000/
# The same install and start steps run in CI without Docker: docker/check_image_steps.sh.

# 1. Browser assets (MediaPipe Holistic wasm + models, onnxruntime-web) from the npm
#    registry, from the committed lock file.
FROM node:20-bookworm-slim AS web
WORKDIR /src
COPY web/package.json web/package-lock.json web/
RUN npm ci --prefix web --ignore-scripts --no-audit --no-fund
COPY web/ web/
COPY src/sign2text/serve/static/ src/sign2text/serve/static/
RUN node web/build.mjs

# 2. The Python package and its runtime dependencies in a virtual environment.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
COPY --from=web /src/src/sign2text/serve/static/vendor/ src/sign2text/serve/static/vendor/
COPY docker/install.sh /tmp/install.sh
RUN sh /tmp/install.sh /opt/sign2text /src

# 3. Runtime: the virtual environment, the libraries OpenCV/MediaPipe load, a plain user.
FROM python:3.11-slim-bookworm
# Debian package versions follow the pinned base image (see .hadolint.yaml).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin sign2text
COPY --from=build /opt/sign2text /opt/sign2text
ENV PATH=/opt/sign2text/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SIGN2TEXT_SERVE_HOST=0.0.0.0 \
    SIGN2TEXT_SERVE_PORT=8000
USER 10001:10001
WORKDIR /home/sign2text
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["sign2text", "serve"]
