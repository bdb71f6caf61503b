#!/usr/bin/env bash
# Set everything up (first run only takes long) and open the ConvStudio desktop app.
# Arguments are passed on: ./scripts/run-app.sh photo.png --pipeline edges.json
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/convstudio "$@"
