#!/usr/bin/env bash
# Set everything up and run the whole test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests also validate the .desktop and AppStream files with the desktop's own tools.
EXTRA_SYSTEM_PACKAGES="desktop-file-utils appstream ${EXTRA_SYSTEM_PACKAGES:-}" ./scripts/setup.sh --test
export QT_QPA_PLATFORM=offscreen
# Compiled bytecode is kept between runs, outside the source tree (in the venv): without it every
# xdist worker compiles and assertion-rewrites all test modules again (about 5 s of CPU each on
# 2 cores) and every command-line test's subprocess compiles the package again.
PYCACHE="${VENV:-.venv}/pycache"
[[ "$PYCACHE" = /* ]] || PYCACHE="$PWD/$PYCACHE"
export PYTHONPYCACHEPREFIX="${PYTHONPYCACHEPREFIX:-$PYCACHE}"
unset PYTHONDONTWRITEBYTECODE
exec "${VENV:-.venv}/bin/python" -m pytest -p no:cacheprovider "$@"
