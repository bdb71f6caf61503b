#!/usr/bin/env bash
# Set everything up (only the first run, or one after pyproject.toml changed, installs anything)
# and open the ConvStudio desktop app; the test tools are not installed for this.
# Arguments are passed on: ./scripts/run-app.sh photo.png --pipeline edges.json
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec "${VENV:-.venv}/bin/convstudio" "$@"
