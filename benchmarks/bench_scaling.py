"""How the NumPy core scales with cores, against OpenCV and PyTorch, in one run.

    python benchmarks/bench_scaling.py                    # threads 1, 2, 4, 8, 16 (those the machine has)
    python benchmarks/bench_scaling.py --threads 1 2      # chosen thread counts
    python benchmarks/bench_scaling.py --quick            # small sizes, to try the script
    python benchmarks/bench_scaling.py --json out.json    # also write every time as JSON

Every thread count runs in a fresh child process whose CPU affinity is first set to that many
CPUs, before NumPy is imported: OpenBLAS, OpenCV, PyTorch and the core's own pool then all see a
machine with n cores, as a user's machine of that size would. OpenCV and PyTorch are also told n
explicitly (cv2.setNumThreads, torch.set_num_threads). The core is left to choose for itself.

For each case the table gives core / reference in milliseconds (medians of the repeats after a
warm-up) and the ratio; below 1 the core is faster. A "speed-up" table gives the core's time at 1
thread over its time at n. Every result is also checked against the reference (max abs
difference relative to the reference's max |value|), so a fast wrong answer shows.

Needs NumPy, OpenCV and the convstudio package on its path (PyTorch is optional: its columns are
left out without it). Nothing from the app is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (name, reference, builder arguments). Sizes follow the cases a photographer (24 MP RGB) and a
# CNN user (feature maps of common layers) meet.
CASES = [
    ("depthwise RGB 24 MP 3x3", "cv2", dict(kind="depthwise", k=3, hw=(4000, 6000))),
    ("depthwise RGB 24 MP 7x7", "cv2", dict(kind="depthwise", k=7, hw=(4000, 6000))),
    ("depthwise RGB 24 MP 31x31", "cv2", dict(kind="depthwise", k=31, hw=(4000, 6000))),
    ("conv 16->16 3x3, 2048x2048", "torch", dict(kind="conv", cin=16, cout=16, k=3, s=1, hw=(2048, 2048))),
    ("conv 3->64 7x7 s2, 2048x2048", "torch", dict(kind="conv", cin=3, cout=64, k=7, s=2, hw=(2048, 2048))),
    ("conv 64->64 3x3, 512x512", "torch", dict(kind="conv", cin=64, cout=64, k=3, s=1, hw=(512, 512))),
    ("maxpool 2x2, 16 x 24 MP", "torch", dict(kind="maxpool", c=16, hw=(4000, 6000))),
]
QUICK_HW = {(4000, 6000): (500, 750), (2048, 2048): (512, 512), (512, 512): (128, 128)}


# --------------------------------------------------------------------------------------------
# Child: one thread count


def _child(threads: int, quick: bool, repeats: int, only: list[str] | None) -> dict:
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    os.sched_setaffinity(0, cpus)  # before NumPy, OpenCV and PyTorch start their pools
    import cv2
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from convstudio.core import Conv2d, MaxPool2d

    cv2.setNumThreads(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        torch = None

    from _machine import median_ms as timed  # (this script's folder: sys.path[0])

    def median_ms(fn) -> float:
        return timed(fn, repeats)

    rng = np.random.default_rng(0)
    results = {}
    for name, ref, spec in CASES:
        if only and not any(o in name for o in only):
            continue
        spec = dict(spec)
        hw = QUICK_HW.get(spec["hw"], spec["hw"]) if quick else spec["hw"]
        kind = spec["kind"]
        if kind == "depthwise":
            k = spec["k"]
            x = rng.random((3, *hw), dtype=np.float32)
            kernel = rng.standard_normal((k, k)).astype(np.float32)
            layer = Conv2d(kernel=kernel, padding="same")
            hwc = np.ascontiguousarray(x.transpose(1, 2, 0))

            def core(layer=layer, x=x):
                return layer.forward(x)

            def reference(hwc=hwc, kernel=kernel, k=k):
                out = cv2.filter2D(hwc, -1, kernel, anchor=(k // 2, k // 2), borderType=cv2.BORDER_CONSTANT)
                return out.transpose(2, 0, 1)
        elif kind == "conv":
            if torch is None:
                continue
            cin, cout, k, s = spec["cin"], spec["cout"], spec["k"], spec["s"]
            x = rng.random((cin, *hw), dtype=np.float32)
            w = (rng.standard_normal((cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32)
            layer = Conv2d(weight=w, stride=s, padding=k // 2)
            tx, tw = torch.from_numpy(x[None]), torch.from_numpy(w)

            def core(layer=layer, x=x):
                return layer.forward(x)

            def reference(tx=tx, tw=tw, s=s, k=k):
                with torch.no_grad():
                    return torch.nn.functional.conv2d(tx, tw, stride=s, padding=k // 2)[0].numpy()
        else:  # maxpool
            if torch is None:
                continue
            x = rng.random((spec["c"], *hw), dtype=np.float32)
            layer = MaxPool2d(kernel_size=2)
            tx = torch.from_numpy(x[None])

            def core(layer=layer, x=x):
                return layer.forward(x)

            def reference(tx=tx):
                with torch.no_grad():
                    return torch.nn.functional.max_pool2d(tx, 2)[0].numpy()
        a, b = core(), reference()
        err = float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))
        results[name] = dict(core_ms=median_ms(core), ref_ms=median_ms(reference), ref=ref, rel_err=err)
        del x, a, b
    return results


# --------------------------------------------------------------------------------------------
# Parent: one child per thread count, then the tables


def _machine() -> str:
    sys.path.insert(0, str(HERE))
    from _machine import cpu_model

    return f"{cpu_model()}, {len(os.sched_getaffinity(0))} CPUs available"


def _versions() -> str:
    code = ("import numpy, cv2, sys\n"
            "try:\n import torch; t = torch.__version__\nexcept ImportError:\n t = 'not installed'\n"
            "print(f'Python {sys.version.split()[0]}, NumPy {numpy.__version__}, "
            "OpenCV {cv2.__version__}, PyTorch {t}')")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, nargs="+")
    p.add_argument("--quick", action="store_true", help="small sizes, to try the script")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--only", nargs="+", help="cases whose name contains one of these")
    p.add_argument("--json", type=Path, help="also write every time here")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.quick, args.repeats, args.only)))
        return 0

    available = len(os.sched_getaffinity(0))
    threads = args.threads or [n for n in (1, 2, 4, 8, 16) if n <= available]
    print(f"bench_scaling: {time.strftime('%Y-%m-%d %H:%M')}; {_machine()}")
    print(_versions())
    if args.quick:
        print("--quick: every size cut down (the names give the full sizes)")
    t_start = time.perf_counter()
    runs: dict[int, dict] = {}
    for n in threads:
        cmd = [sys.executable, __file__, "--child", str(n), "--repeats", str(args.repeats)]
        cmd += ["--quick"] if args.quick else []
        cmd += ["--only", *args.only] if args.only else []
        env = {k: v for k, v in os.environ.items() if k not in ("CONVSTUDIO_NUM_THREADS",)}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            print(f"threads={n}: child failed\n{done.stderr}")
            return 1
        runs[n] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  threads={n} done ({time.perf_counter() - t_start:.0f} s)", flush=True)

    names = [name for name, _, _ in CASES if any(name in r for r in runs.values())]
    head = "| case | " + " | ".join(f"{n} thread{'s' if n > 1 else ''}" for n in threads) + " |"
    rule = "|---|" + "---|" * len(threads)
    print("\ncore / reference, ms (ratio; below 1 the core is faster)\n")
    print(head)
    print(rule)
    for name in names:
        cells = []
        for n in threads:
            r = runs[n].get(name)
            cells.append("-" if r is None else
                         f"{r['core_ms']:.0f} / {r['ref_ms']:.0f} ({r['core_ms'] / r['ref_ms']:.2f}x)")
        ref = next(r[name]["ref"] for r in runs.values() if name in r)
        print(f"| {name} vs {ref} | " + " | ".join(cells) + " |")
    print("\nspeed-up over 1 thread (core / reference)\n")
    print(head)
    print(rule)
    for name in names:
        base = runs[threads[0]].get(name)
        cells = []
        for n in threads:
            r = runs[n].get(name)
            cells.append("-" if r is None or base is None else
                         f"{base['core_ms'] / r['core_ms']:.1f} / {base['ref_ms'] / r['ref_ms']:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    worst = max((r["rel_err"] for run in runs.values() for r in run.values()), default=0.0)
    print(f"\nlargest difference from the reference: {worst:.1e} of its max |value|")
    print(f"total {time.perf_counter() - t_start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({str(n): r for n, r in runs.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
