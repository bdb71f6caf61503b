#!/usr/bin/env bash
# Regenerate the pictures of the user guide (docs/screenshots/*.png) with `convstudio --screenshot`.
# Each picture is the real window (1600 x 1000, offscreen), once every layer is computed.
# pngquant (Debian package "pngquant", installed here when apt-get can) keeps each file small;
# without it, a picture over the size budget is scaled down instead.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/convstudio ] || ./scripts/setup.sh
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
OUT=docs/screenshots
BUDGET_KB=${BUDGET_KB:-400}
mkdir -p "$OUT"

shot() {
  local name=$1
  shift
  echo "screenshot: $OUT/$name.png  ($*)"
  .venv/bin/convstudio "$@" --screenshot "$OUT/$name.png"
}

# The main window: a photo through a small CNN, the four 3x3 detectors of layer 1.
shot main resources/samples/cat.png --pipeline examples/tiny-cnn.json --select-layer 1
# Signed feature maps in the diverging colour map (Sobel x on the cameraman).
shot feature-maps resources/samples/cameraman.png --pipeline examples/sobel-edges.json --select-layer 1
# Learn: the tutorial's first example, numbers on every pixel.
shot lesson-cross-correlation --lesson cross-correlation
# Learn: the edge detector [1, -1] on the black/white step image.
shot lesson-edge --lesson edge-detector
# Receptive fields: two 2x2 convolutions, one output value seeing 3x3 inputs.
shot lesson-receptive-field --lesson receptive-field
# Docks opened, steps played, a kernel learned, the Chinese window, an imported ONNX model.
.venv/bin/python scripts/feature-screenshots.py

if ! command -v pngquant >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    (apt-get install -y -qq --no-install-recommends pngquant >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends pngquant; }) \
      >/dev/null 2>&1 || true
  fi
fi
if command -v pngquant >/dev/null 2>&1; then
  # A 256-colour palette: text and colour maps stay sharp, the photos lose nothing visible.
  pngquant --force --skip-if-larger --quality 80-100 --speed 1 --ext .png "$OUT"/*.png || true
else
  echo "make-screenshots: pngquant not found; pictures over ${BUDGET_KB} KB are scaled down" >&2
fi

.venv/bin/python - "$OUT" "$BUDGET_KB" <<'EOF'
import sys
from pathlib import Path

import cv2

out, budget = Path(sys.argv[1]), int(sys.argv[2]) * 1024
total = 0
for path in sorted(out.glob("*.png")):
    scale = 1.0
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    while path.stat().st_size > budget and scale > 0.5:
        scale -= 0.1
        small = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(path), small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    size = path.stat().st_size
    total += size
    print(f"{path}: {size // 1024} KB" + (f" (scaled to {scale:.0%})" if scale < 1 else ""))
print(f"total: {total // 1024} KB")
EOF
