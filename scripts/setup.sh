#!/usr/bin/env bash
# Set up ConvStudio on this machine: the system libraries Qt needs (Debian/Ubuntu), a virtual
# environment in .venv and the project installed into it (editable).
#
#   scripts/setup.sh          what the app needs (run-app.sh)
#   scripts/setup.sh --test   also the test tools, the [test] extra (run-tests.sh); the same as
#                             SETUP_WITH_TESTS=1 scripts/setup.sh
#
# The Python packages come in the versions constraints.txt pins. Safe to run again, and then
# quick: a stamp in the venv ($VENV/.convstudio-setup) holds a hash of pyproject.toml,
# constraints.txt and this script; while it matches and the package imports, pip is not run.
# Environment: PYTHON (default python3), VENV (default .venv), EXTRA_SYSTEM_PACKAGES.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
WITH_TESTS=${SETUP_WITH_TESTS:-0}
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TESTS=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' scripts/setup.sh
               exit 0 ;;
    *) echo "setup: unknown option '$arg' (usage: scripts/setup.sh [--test])" >&2; exit 2 ;;
  esac
done
[ "$WITH_TESTS" = 1 ] && WANT=test || WANT=app
STAMP="$VENV/.convstudio-setup"

# Libraries Qt 6 loads at start (offscreen and xcb), Xvfb for the real-window test, a font for
# text: one list, shared with packaging/build.sh.
mapfile -t SYSTEM_PACKAGES < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/qt-system-packages.txt)

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
  # one dpkg-query for all of them (a few milliseconds); unknown names are simply not listed
  local installed missing=()
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null \
              | awk '$NF == "installed" && $(NF-1) == "ok" {print $1}' || true)
  installed=$'\n'"$installed"$'\n'
  for pkg in "$@"; do
    [[ "$installed" == *$'\n'"$pkg"$'\n'* ]] || missing+=("$pkg")
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
if [ ! -x "$VENV/bin/python" ]; then
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    extra+=(python3 python3-venv)  # a bare Debian has no Python at all
  elif ! "$PYTHON" -c "import ensurepip" >/dev/null 2>&1; then
    ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    extra+=("python${ver}-venv")
  fi
fi
install_system_packages "${SYSTEM_PACKAGES[@]}" ${extra[@]+"${extra[@]}"}

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating the virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
  rm -f "$STAMP"
fi

# The interface's translations: resources/i18n/*.ts compiled to .qm beside them (not committed;
# without them the app reads the .ts itself). docs/developing.md, "Translations".
compile_translations() {
  local ts
  for ts in resources/i18n/*.ts; do
    [ -e "$ts" ] || continue
    if [ ! "${ts%.ts}.qm" -nt "$ts" ]; then
      "$VENV/bin/pyside6-lrelease" -silent "$ts" -qm "${ts%.ts}.qm" || echo "setup: cannot compile $ts" >&2
    fi
  done
}

# What the installed packages depend on: the project's metadata, the pinned versions and this script.
KEY=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)  # "<key> app" or "<key> test"
if { [ "$have" = "$KEY test" ] || [ "$have" = "$KEY $WANT" ]; } \
    && [ -x "$VENV/bin/convstudio" ] && "$VENV/bin/python" -c "import convstudio" >/dev/null 2>&1; then
  compile_translations
  exit 0  # installed and unchanged: nothing to do
fi
rm -f "$STAMP"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# The fast extra (numba: the compiled depthwise loop, docs/performance.md) where pip has a wheel
# for this machine; without it everything still runs, on the NumPy paths.
if [ "$WANT" = test ]; then
  echo "setup: installing ConvStudio and its test tools into $VENV"
  "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[test,fast]" \
    || { echo "setup: without the fast extra (numba)" >&2
         "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[test]"; }
else
  echo "setup: installing ConvStudio into $VENV"
  "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[fast]" \
    || { echo "setup: without the fast extra (numba)" >&2
         "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e .; }
fi
compile_translations
# Compile the depthwise loop now (3-6 s, then cached on disk), not on the first render; nothing
# to do without numba, and a failure here only means the NumPy paths run.
"$VENV/bin/python" -c "from convstudio.core import jit; jit.warm_up()" \
  || echo "setup: the compiled depthwise loop is not available; the NumPy paths will run" >&2
echo "$KEY $WANT" >"$STAMP"
echo "setup: done"
