#!/usr/bin/env bash
# Idempotent set-up: Debian's graphviz (for `dot`) and chromium (for the site's browser tests), a .venv
# with the pinned torch, archspec and its test tools.
# Safe to run again and again: each step is skipped when its result is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP=$VENV/.archspec-setup-stamp
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi

apt_install() {
    echo "setup: installing Debian packages: $*"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! command -v dot >/dev/null 2>&1; then
    apt_install graphviz
fi

# The report site's browser tests drive Debian's headless chromium through its own chromedriver
# (never a downloaded browser).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    apt_install chromium chromium-driver
fi

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "setup: archspec needs Python 3.11; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    # Debian ships venv's ensurepip separately.
    if ! "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1; then
        apt_install python3.11-venv
    fi
    echo "setup: creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi

# Re-install only when the inputs of the install changed.
want=$(cat pyproject.toml tools/constraints.txt tools/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

pip_install() {
    # pip warns about every missing local index entry; keep real errors, drop that noise.
    "$VENV/bin/python" -m pip install -q -c tools/constraints.txt "$@" 2> >(grep -v "^WARNING: Location" >&2)
}
echo "setup: installing torch==2.14.1, torchvision==0.29.1 and archspec into $VENV"
pip_install --upgrade pip
# torch first and pinned, so nothing later resolves a different (downloaded) build.
pip_install torch==2.14.1 torchvision==0.29.1
pip_install -e ".[test,bench]"
echo "$want" > "$STAMP"
echo "setup: done"
