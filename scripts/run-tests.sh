#!/usr/bin/env bash
# Set everything up and run the whole test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests also validate the .desktop and AppStream files with the desktop's own tools.
EXTRA_SYSTEM_PACKAGES="desktop-file-utils appstream ${EXTRA_SYSTEM_PACKAGES:-}" ./scripts/setup.sh --test
export QT_QPA_PLATFORM=offscreen
exec "${VENV:-.venv}/bin/python" -m pytest -p no:cacheprovider "$@"
