#!/usr/bin/env bash
# Build the one-folder ConvStudio app with PyInstaller from a clean checkout:
#   ./packaging/build.sh            -> packaging/dist/convstudio/convstudio
# Installs what it needs (binutils and Qt's runtime libraries via the project's set-up script,
# PyInstaller in a separate build environment), then checks that the frozen app starts and can
# take a screenshot of itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

./scripts/setup.sh
if ! command -v objdump >/dev/null 2>&1; then
  echo "build: installing binutils (PyInstaller needs objdump)"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq binutils >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq binutils >/dev/null; fi
fi

BUILD_VENV=packaging/build/venv
if [ ! -x "$BUILD_VENV/bin/python" ]; then
  python3 -m venv "$BUILD_VENV"
fi
"$BUILD_VENV/bin/python" -m pip install --quiet --upgrade pip
"$BUILD_VENV/bin/python" -m pip install --quiet "$ROOT" pyinstaller

"$BUILD_VENV/bin/pyinstaller" --noconfirm --clean \
  --distpath packaging/dist --workpath packaging/build/work packaging/convstudio.spec

APP=packaging/dist/convstudio/convstudio
echo "build: checking the frozen app"
"$APP" --version
"$APP" info examples/tiny-cnn.json --input-shape 3,64,64 >/dev/null
QT_QPA_PLATFORM=offscreen "$APP" resources/samples/cat.png --pipeline examples/tiny-cnn.json \
  --screenshot packaging/build/frozen-screenshot.png
test -s packaging/build/frozen-screenshot.png
du -sh packaging/dist/convstudio
echo "build: done: $APP (screenshot: packaging/build/frozen-screenshot.png)"
