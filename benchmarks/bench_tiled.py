"""Tiled `apply` on a generated tiled BigTIFF (8-bit grey) against the whole-image run.

    .venv/bin/python benchmarks/bench_tiled.py [--megapixels 100] [--gigapixel] [--tile 512]

Pipeline: conv 1->4 5x5, relu, maxpool 2, conv 4->4 3x3 (reflect padding). Prints the peak RSS
and the throughput (input megapixels per second) of the tiled run and, when it fits in memory,
of the whole-image run, and checks a crop of the tiled output against the whole run of that
crop's input region (docs/scale.md records a run).
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

PIPE = {"format": "convstudio-pipeline", "version": 1, "layers": [
    {"type": "conv2d", "weight": np.random.default_rng(0).normal(size=(4, 1, 5, 5)).round(3).tolist(),
     "padding": 2},
    {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "weight": np.random.default_rng(1).normal(size=(4, 4, 3, 3)).round(3).tolist(),
     "padding": 1, "padding_mode": "reflect"}]}


def make_tiff(path: Path, side: int) -> None:
    rng = np.random.default_rng(2)

    def tiles():
        for _ in range(0, side, 512):
            for _ in range(0, side, 512):
                yield rng.integers(0, 256, (512, 512), dtype=np.uint8)

    tifffile.imwrite(path, tiles(), shape=(side, side), dtype=np.uint8, tile=(512, 512), bigtiff=True,
                     compression="zlib")


def timed_apply(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (GiB) of one `convstudio apply` in a fresh process."""
    code = ("import resource, sys; from convstudio.cli import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, "apply", *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr.strip())
    return time.perf_counter() - t0, int(out.stdout.split()[-1]) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--megapixels", type=float, default=100)
    ap.add_argument("--gigapixel", action="store_true", help="1000 megapixels")
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--whole", action="store_true", help="also time the whole-image run")
    ap.add_argument("--tiff", action="store_true", help="also time the tiled run into a zlib BigTIFF")
    a = ap.parse_args()
    mp = 1000 if a.gigapixel else a.megapixels
    side = int(np.sqrt(mp * 1e6)) // 512 * 512
    print(f"machine: {cpu_model()}")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "p.json").write_text(json.dumps(PIPE))
        make_tiff(d / "in.tif", side)
        mpx = side * side / 1e6
        # The same output format on both sides of the comparison: .npy (tile by tile into the
        # file for the tiled run); a compressed BigTIFF costs its zlib time on top (printed apart).
        secs, rss = timed_apply([str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "t.npy"),
                                 "--tile", str(a.tile)])
        print(f"input {side} x {side} = {mpx:.0f} MP; tiled (tile {a.tile}) to .npy: {secs:.1f} s, "
              f"{mpx / secs:.1f} MP/s, peak RSS {rss:.2f} GiB")
        if a.tiff:
            secs_t, rss_t = timed_apply([str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "t.tif"),
                                         "--tile", str(a.tile)])
            print(f"tiled to zlib BigTIFF: {secs_t:.1f} s, {mpx / secs_t:.1f} MP/s, peak RSS {rss_t:.2f} GiB")
        if a.whole:
            # The whole-image path as it runs without --tile (load the image, run every layer,
            # write one .npy), then the same image as one tile through the tiled writer.
            secs_w, rss_w = timed_apply([str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "w.npy")])
            print(f"whole image: {secs_w:.1f} s, {mpx / secs_w:.1f} MP/s, peak RSS {rss_w:.2f} GiB; "
                  f"tiled / whole time per pixel: {secs / secs_w:.2f}")
            secs_1, rss_1 = timed_apply([str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "w.tif"),
                                         "--tile", str(side)])
            print(f"one tile of the whole image: {secs_1:.1f} s, {mpx / secs_1:.1f} MP/s, peak RSS {rss_1:.2f} GiB")
        from convstudio.core import Pipeline
        from convstudio.core.lazyio import open_image

        crop = np.load(d / "t.npy", mmap_mode="r")[0, 1000:1300, 700:1100]
        with open_image(d / "in.tif") as img:
            x = img[:, 1996:2604, 1396:2204]  # the input region of output rows 1000..1299, cols 700..1099 +/- halo
        ref = Pipeline.from_dict(PIPE).run(x)[-1][0, 2:302, 2:402]
        print(f"crop check: max |tiled - whole| = {np.abs(crop - ref).max():.3g} "
              f"(scale {np.abs(ref).max():.3g})")
    print(f"this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
