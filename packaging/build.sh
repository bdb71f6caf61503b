#!/usr/bin/env bash
# Build the one-folder ConvStudio app with PyInstaller from a clean checkout, in one command:
#
#   ./packaging/build.sh          -> packaging/dist/convstudio/convstudio
#   ./packaging/build.sh --tar    ... and packaging/dist/convstudio-<version>-linux-<arch>.tar.gz
#
# It installs what it needs: on Debian/Ubuntu the system packages (binutils for PyInstaller, Python's
# venv module, the libraries Qt loads at start) with apt-get, as root or through sudo; then, in a
# build environment of its own (packaging/build/venv, never the developers' .venv), ConvStudio
# (a plain, non-editable install, as a user gets it) and PyInstaller. Afterwards it checks that
# the frozen app runs its command line and takes a screenshot of its window.
# Everything it writes stays in packaging/build/ and packaging/dist/ (and setuptools' build/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

MAKE_TAR=0
for arg in "$@"; do
  case $arg in
    --tar) MAKE_TAR=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3}
BUILD=packaging/build
DIST=packaging/dist
BUILD_VENV=$BUILD/venv
# PyInstaller 6 (one-folder layout with _internal/); a newer major version gets checked first.
PYINSTALLER_REQ=${PYINSTALLER_REQ:-"pyinstaller>=6.10,<7"}

# binutils: objdump, which PyInstaller needs; then what Qt 6 loads to start (offscreen for the
# check below, xcb for a desktop) and a font, so that the screenshot has text: the list the
# set-up script installs too.
mapfile -t QT_PACKAGES < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/qt-system-packages.txt)
SYSTEM_PACKAGES=(binutils ca-certificates "${QT_PACKAGES[@]}")

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1
  fi
}

install_system_packages() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "build: no apt-get here; install binutils, Python's venv module and Qt's runtime" \
         "libraries with your package manager" >&2
    return 0
  fi
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "build: installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -qq \
      || { echo "build: apt-get update failed (run as root, or with sudo available)" >&2; return 1; }
    APT_UPDATED=1
  fi
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
APT_UPDATED=0

start=$(date +%s)

# A fresh Debian may have no python3 at all.
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  PYTHON=python3
  install_system_packages python3
fi
ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
extra=()
# Debian's python3 has the venv module (ensurepip) and the shared libpython that PyInstaller
# bundles in packages of their own.
"$PYTHON" -c "import ensurepip" >/dev/null 2>&1 || extra+=("python${ver}-venv")
if command -v dpkg >/dev/null 2>&1 \
    && dpkg -S "$(readlink -f "$(command -v "$PYTHON")")" >/dev/null 2>&1; then
  extra+=("libpython${ver}")
fi
install_system_packages "${SYSTEM_PACKAGES[@]}" "${extra[@]}"
command -v objdump >/dev/null 2>&1 \
  || { echo "build: objdump (binutils) is missing; PyInstaller needs it" >&2; exit 1; }
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "build: ConvStudio needs Python 3.10 or newer ($PYTHON is older)" >&2; exit 1; }

if [ ! -x "$BUILD_VENV/bin/python" ]; then
  echo "build: creating the build environment $BUILD_VENV"
  "$PYTHON" -m venv "$BUILD_VENV"
fi
echo "build: installing ConvStudio and PyInstaller into $BUILD_VENV"
"$BUILD_VENV/bin/python" -m pip install --quiet --upgrade pip
# pip always reinstalls a local folder, so a reused build environment gets the code as it is now.
"$BUILD_VENV/bin/python" -m pip install --quiet "$ROOT" "$PYINSTALLER_REQ"
# The interface's translations, compiled into the installed package (the .qm is not committed).
i18n_dir=$("$BUILD_VENV/bin/python" -c 'from convstudio.resources import resource_path; print(resource_path("i18n"))')
for ts in "$ROOT"/resources/i18n/*.ts; do
  "$BUILD_VENV/bin/pyside6-lrelease" -silent "$ts" -qm "$i18n_dir/$(basename "${ts%.ts}").qm"
done

echo "build: freezing (a few minutes)"
"$BUILD_VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$BUILD/work" packaging/convstudio.spec

APP=$DIST/convstudio/convstudio
CHECK=$BUILD/check
rm -rf "$CHECK" && mkdir -p "$CHECK"
echo "build: checking the frozen app"
"$APP" --version
"$APP" info examples/tiny-cnn.json --input-shape 3,64,64 >/dev/null
"$APP" apply examples/sobel-edges.json resources/samples/cat.png -o "$CHECK/edges.png"
"$APP" check examples/tiny-cnn.json resources/samples/coffee.png >/dev/null
test -f "$DIST/convstudio/_internal/convstudio/resources/icons/convstudio.svg" \
  || { echo "build: the frozen app lacks its icon (convstudio.resources)" >&2; exit 1; }
QT_QPA_PLATFORM=offscreen "$APP" resources/samples/cat.png \
  --pipeline examples/tiny-cnn.json --select-layer 1 --screenshot "$CHECK/screenshot.png"
test -s "$CHECK/screenshot.png"

if [ "$MAKE_TAR" -eq 1 ]; then
  version=$("$APP" --version | awk '{print $2}')
  tarball=$DIST/convstudio-$version-linux-$(uname -m).tar.gz
  echo "build: packing $tarball"
  tar -C "$DIST" -czf "$tarball" convstudio
  ls -lh "$tarball" | awk '{print "build: " $5 "  " $NF}'
fi

echo "build: done in $(( $(date +%s) - start )) s: $APP ($(du -sh "$DIST/convstudio" | cut -f1))"
echo "build: screenshot of the frozen app: $CHECK/screenshot.png"
echo "build: install the desktop entry for this user: ./packaging/install-user.sh"
