#!/usr/bin/env bash
# Debian packages the full test suite needs: Chromium (browser tests), ffmpeg (the fake
# camera's clip), Node.js/npm (web assets), git and make. Installs only what is missing;
# needs root (or sudo) when something is missing.
set -euo pipefail
missing=()
command -v make >/dev/null || missing+=(make)
command -v git >/dev/null || missing+=(git)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v npm >/dev/null || missing+=(nodejs npm)
[ "${#missing[@]}" -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "install_system_deps: need root to install: ${missing[*]}" >&2
        exit 1
    }
    sudo=sudo
fi
echo "install_system_deps: installing ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
