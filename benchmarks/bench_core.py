"""Time the NumPy core against OpenCV, in one process, and print medians and ratios.

    python benchmarks/bench_core.py            # everything
    python benchmarks/bench_core.py --quick    # 1 MP only, fewer repeats

Depthwise RGB filtering (the pipeline's `kernel` form, zeros padding, "same") is compared with
cv2.filter2D applied per channel with BORDER_CONSTANT; pooling with cv2.dilate (max) and
cv2.blur (average) followed by the same subsampling. A ratio is time(core) / time(OpenCV): below
1 the core is faster. Results also hold the max abs difference, so a fast wrong answer shows.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402

from convstudio.core import AvgPool2d, Conv2d, MaxPool2d  # noqa: E402

SIZES = {"1 MP": (1000, 1000), "6 MP": (2000, 3000)}
KERNELS = (3, 5, 7, 15, 31)


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up: first-touch allocations, thread pools
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_depthwise(x: np.ndarray, k: int, repeats: int):
    rng = np.random.default_rng(k)
    kernel = rng.standard_normal((k, k)).astype(np.float32)
    layer = Conv2d(kernel=kernel, padding="same")
    hwc = np.ascontiguousarray(x.transpose(1, 2, 0))

    def core():
        return layer.forward(x)

    def opencv():
        out = cv2.filter2D(hwc, -1, kernel, anchor=(k // 2, k // 2), borderType=cv2.BORDER_CONSTANT)
        return out.transpose(2, 0, 1)

    diff = float(np.max(np.abs(core() - opencv())))
    return median_time(core, repeats), median_time(opencv, repeats), diff


def bench_pool(x: np.ndarray, kind: str, k: int, s: int, repeats: int):
    layer = (MaxPool2d if kind == "max" else AvgPool2d)(kernel_size=(k, k), stride=(s, s))
    hwc = np.ascontiguousarray(x.transpose(1, 2, 0))
    _, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1

    def core():
        return layer.forward(x)

    def opencv():
        if kind == "max":
            full = cv2.dilate(hwc, np.ones((k, k), np.uint8), anchor=(0, 0),
                              borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf)
        else:
            full = cv2.blur(hwc, (k, k), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
        return full[: (ho - 1) * s + 1: s, : (wo - 1) * s + 1: s].transpose(2, 0, 1)

    diff = float(np.max(np.abs(core() - opencv())))
    return median_time(core, repeats), median_time(opencv, repeats), diff


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 MP only, 3 repeats")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args()
    repeats = args.repeats or (3 if args.quick else 7)
    sizes = {"1 MP": SIZES["1 MP"]} if args.quick else SIZES

    print(f"ConvStudio core vs OpenCV {cv2.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, cv2 threads "
          f"{cv2.getNumThreads()}, median of {repeats}")
    print()
    header = f"{'case':<34}{'core ms':>10}{'opencv ms':>11}{'ratio':>8}{'max|diff|':>11}"
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for label, (h, w) in sizes.items():
        x = rng.random((3, h, w), dtype=np.float32)
        for k in KERNELS:
            tc, to, d = bench_depthwise(x, k, repeats)
            print(f"{'depthwise RGB ' + label + f' k={k}':<34}{tc * 1e3:>10.1f}{to * 1e3:>11.1f}"
                  f"{tc / to:>8.2f}{d:>11.2e}")
        for kind in ("max", "avg"):
            for k, s in ((2, 2), (3, 2)):
                tc, to, d = bench_pool(x, kind, k, s, repeats)
                print(f"{f'{kind}pool {k}x{k} s{s} RGB ' + label:<34}{tc * 1e3:>10.1f}"
                      f"{to * 1e3:>11.1f}{tc / to:>8.2f}{d:>11.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
