#!/usr/bin/env bash
# Set up ConvStudio on this machine: the system libraries Qt needs (Debian/Ubuntu), a virtual
# environment in .venv and the project installed into it (editable, with the test tools).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

# Libraries Qt 6 loads at start (offscreen and xcb), Xvfb for the real-window test, a font for text.
SYSTEM_PACKAGES=(
  libglib2.0-0 libgl1 libegl1 libdbus-1-3 libfontconfig1 libfreetype6 libxkbcommon0
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxcb-randr0 libxcb-xfixes0 libx11-xcb1
  xvfb xauth fonts-dejavu-core
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1
  fi
}

install_system_packages() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: no apt-get here; install the Qt runtime libraries with your package manager" >&2
    return 0
  fi
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq || { echo "setup: apt-get update failed (need root or sudo)" >&2; return 1; }
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A Debian python3 without ensurepip cannot make a venv until python3-venv is there.
# EXTRA_SYSTEM_PACKAGES (space-separated) adds more; run-tests.sh asks for the packaging validators.
read -r -a extra <<<"${EXTRA_SYSTEM_PACKAGES:-}"
if ! "$PYTHON" -c "import ensurepip" >/dev/null 2>&1; then
  ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  extra+=("python${ver}-venv")
fi
install_system_packages "${SYSTEM_PACKAGES[@]}" ${extra[@]+"${extra[@]}"}

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating the virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
echo "setup: installing ConvStudio and its test tools into $VENV"
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
echo "setup: done"
