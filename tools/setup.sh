#!/usr/bin/env bash
# Idempotent set-up: Debian's graphviz (for `dot`), a .venv with the pinned torch, archspec and its test tools.
# Safe to run again and again: each step is skipped when its result is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=.venv
STAMP=$VENV/.archspec-setup-stamp

if ! command -v dot >/dev/null 2>&1; then
    echo "setup: installing Debian's graphviz (for the dot binary)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq graphviz >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi

# Re-install only when the inputs of the install changed.
want=$(cat pyproject.toml tools/constraints.txt tools/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
# torch first and pinned, so nothing later resolves a different (downloaded) build.
$PIP install -q -c tools/constraints.txt torch==2.14.1 torchvision==0.29.1
$PIP install -q -c tools/constraints.txt -e ".[test]"
echo "$want" > "$STAMP"
echo "setup: done"
