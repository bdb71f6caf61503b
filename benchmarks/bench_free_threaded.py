"""The core on a free-threaded CPython against the same CPython with its GIL, in one run.

    python benchmarks/bench_free_threaded.py --ft /opt/py313t/bin/python3.13t --gil /opt/py313/bin/python3.13
    python benchmarks/bench_free_threaded.py --ft ... --gil ... --threads 1 2 --rounds 5
    python benchmarks/bench_free_threaded.py --ft ... --gil ... --quick     # small sizes, to try it

The core's thread pool runs many NumPy calls with Python between them; NumPy lets go of the GIL
inside its loops, BLAS and FFTs, but every step between two calls needs it, so threads that make
short calls queue for it. A free-threaded CPython (3.13t, 3.14t) has no GIL: this script measures
what that changes for the core and for a thread beside it (the window's GUI thread, in the app).

Both interpreters need NumPy and this repository's `convstudio` package importable (the script
puts the repository on their path); `threadpoolctl` is used where installed. Build both from one
source tree with the same flags (``./configure`` and ``./configure --disable-gil``) so that the GIL
is the only difference. Both run the core's NumPy paths (``CONVSTUDIO_JIT=0``): numba does not
load on a free-threaded build. Where the GIL interpreter has OpenCV, depthwise cases also give
``cv2.filter2D``'s time measured in the same child, as an anchor.

Every (interpreter, thread count) pair runs in a fresh child whose CPU affinity is first set to that
many CPUs; the pairs are interleaved for ``--rounds`` rounds and the tables give medians over rounds
of each child's median time. "beat" is the longest gap, in ms, of a Python thread that sleeps 1 ms
in a loop while the core runs the case: how long a thread beside the core waits to run Python.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (name, builder arguments): the cases at sizes a 2-core machine runs in minutes, and the
# app's default stack's first layer.
CASES = [
    ("depthwise RGB 6 MP 3x3", dict(kind="depthwise", k=3, hw=(2000, 3000))),
    ("depthwise RGB 6 MP 7x7", dict(kind="depthwise", k=7, hw=(2000, 3000))),
    ("depthwise RGB 6 MP 31x31", dict(kind="depthwise", k=31, hw=(2000, 3000))),
    ("conv 3->8 5x5, 2000x3000", dict(kind="conv", cin=3, cout=8, k=5, s=1, hw=(2000, 3000))),
    ("conv 16->16 3x3, 1024x1024", dict(kind="conv", cin=16, cout=16, k=3, s=1, hw=(1024, 1024))),
    ("conv 16->16 5x5, 512x512", dict(kind="conv", cin=16, cout=16, k=5, s=1, hw=(512, 512))),
    ("conv 3->64 7x7 s2, 1024x1024", dict(kind="conv", cin=3, cout=64, k=7, s=2, hw=(1024, 1024))),
    ("conv 64->64 3x3, 256x256", dict(kind="conv", cin=64, cout=64, k=3, s=1, hw=(256, 256))),
    ("maxpool 2x2, 8 x 6 MP", dict(kind="maxpool", c=8, hw=(2000, 3000))),
]


def _quick_hw(hw: tuple[int, int]) -> tuple[int, int]:
    return (max(64, hw[0] // 4), max(64, hw[1] // 4))


# --------------------------------------------------------------------------------------------
# Child: one interpreter, one thread count


def _child(threads: int, quick: bool, repeats: int, only: list[str] | None) -> dict:
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])  # before NumPy's pools
    import threading

    import numpy as np

    sys.path.insert(0, str(ROOT))
    from convstudio.core import Conv2d, MaxPool2d, fastpaths

    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:
        cv2 = None

    from _machine import median_ms as timed  # (this script's folder: sys.path[0])

    def median_ms(fn) -> float:
        return timed(fn, repeats)

    def longest_beat_ms(fn) -> float:
        """Run fn `repeats` times beside a thread that sleeps 1 ms in a loop; its longest gap."""
        stop = threading.Event()
        gaps = [0.0]

        def beat() -> None:
            last = time.perf_counter()
            while not stop.is_set():
                time.sleep(0.001)
                now = time.perf_counter()
                gaps[0] = max(gaps[0], now - last)
                last = now

        t = threading.Thread(target=beat)
        t.start()
        try:
            for _ in range(repeats):
                fn()
        finally:
            stop.set()
            t.join()
        return 1000.0 * gaps[0]

    rng = np.random.default_rng(0)
    results = {}
    for name, spec in CASES:
        if only and not any(o in name for o in only):
            continue
        hw = _quick_hw(spec["hw"]) if quick else spec["hw"]
        kind = spec["kind"]
        reference = None
        if kind == "depthwise":
            k = spec["k"]
            x = rng.random((3, *hw), dtype=np.float32)
            kernel = rng.standard_normal((k, k)).astype(np.float32)
            layer = Conv2d(kernel=kernel, padding="same")
            if cv2 is not None:
                hwc = np.ascontiguousarray(x.transpose(1, 2, 0))

                def reference(hwc=hwc, kernel=kernel, k=k):
                    return cv2.filter2D(hwc, -1, kernel, anchor=(k // 2, k // 2),
                                        borderType=cv2.BORDER_CONSTANT).transpose(2, 0, 1)
        elif kind == "conv":
            cin, cout, k = spec["cin"], spec["cout"], spec["k"]
            x = rng.random((cin, *hw), dtype=np.float32)
            w = (rng.standard_normal((cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32)
            layer = Conv2d(weight=w, stride=spec["s"], padding=k // 2)
        else:
            x = rng.random((spec["c"], *hw), dtype=np.float32)
            layer = MaxPool2d(kernel_size=2)

        def core(layer=layer, x=x):
            return layer.forward(x)

        out = core()
        row = dict(core_ms=median_ms(core), beat_ms=longest_beat_ms(core),
                   checksum=float(np.sum(out, dtype=np.float64)))
        if reference is not None:
            ref = reference()
            row["ref_ms"] = median_ms(reference)
            row["rel_err"] = float(np.max(np.abs(out - ref)) / max(float(np.max(np.abs(ref))), 1e-30))
        results[name] = row
        del x, out
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return {"gil": bool(gil), "threads_used": fastpaths.num_threads(), "cases": results}


# --------------------------------------------------------------------------------------------
# Parent: interleaved children, then the tables


def _describe(python: str) -> str:
    code = ("import sys, numpy\n"
            "gil = getattr(sys, '_is_gil_enabled', lambda: True)()\n"
            "print(f'Python {sys.version.split()[0]} (GIL {\"on\" if gil else \"off\"}), "
            "NumPy {numpy.__version__}')")
    done = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{python}: cannot run NumPy there:\n{done.stderr.strip()}")
    return done.stdout.strip()


def _run_child(python: str, n: int, args) -> dict:
    cmd = [python, __file__, "--child", str(n), "--repeats", str(args.repeats)]
    cmd += ["--quick"] if args.quick else []
    cmd += ["--only", *args.only] if args.only else []
    env = dict(os.environ, CONVSTUDIO_NUM_THREADS=str(n), CONVSTUDIO_JIT="0", PYTHON_GIL="")
    env.pop("PYTHON_GIL")  # (the build decides; PYTHON_GIL=1 would turn it back on)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{python} threads={n}: child failed\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ft", help="a free-threaded python (3.13t or newer) with NumPy")
    p.add_argument("--gil", default=sys.executable, help="the same Python with its GIL (default: this one)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per case in a child (default 5)")
    p.add_argument("--quick", action="store_true", help="sizes cut by 4 a side, to try the script")
    p.add_argument("--only", nargs="+", help="cases whose name contains one of these")
    p.add_argument("--json", type=Path, help="also write every time here")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.quick, args.repeats, args.only)))
        return 0
    if not args.ft:
        p.error("--ft is needed: the path of a free-threaded python with NumPy")

    sys.path.insert(0, str(HERE))
    from _machine import cpu_model

    pythons = {"GIL": args.gil, "free-threaded": args.ft}
    print(f"bench_free_threaded: {time.strftime('%Y-%m-%d %H:%M')}; {cpu_model()}, "
          f"{len(os.sched_getaffinity(0))} CPUs available")
    for label, py in pythons.items():
        print(f"  {label}: {_describe(py)} ({py})")
    if args.quick:
        print("--quick: every size cut by 4 a side (the names give the full sizes)")
    t0 = time.perf_counter()
    runs: dict[tuple[str, int], list[dict]] = {}
    for r in range(args.rounds):
        for n in args.threads:
            for label, py in pythons.items():
                res = _run_child(py, n, args)
                if label == "free-threaded" and res["gil"]:
                    raise SystemExit(f"{py} ran with its GIL on: not a free-threaded build")
                runs.setdefault((label, n), []).append(res)
        print(f"  round {r + 1} of {args.rounds} done ({time.perf_counter() - t0:.0f} s)", flush=True)

    names = [name for name, _ in CASES if name in runs[("GIL", args.threads[0])][0]["cases"]]

    def series(label: str, n: int, name: str, key: str) -> list[float]:
        return [res["cases"][name][key] for res in runs[(label, n)] if key in res["cases"][name]]

    # Both builds must compute the same numbers (the same NumPy calls in the same order).
    for name in names:
        sums = {res["cases"][name]["checksum"] for rr in runs.values() for res in rr}
        if len(sums) > 1:
            print(f"WARNING: {name}: the outputs' sums differ between runs: {sorted(sums)}")

    print("\ncore time, ms, median over rounds (GIL / free-threaded, and their ratio; "
          "below 1 free-threading is faster)\n")
    print("| case | " + " | ".join(f"{n} thread{'s' if n > 1 else ''}" for n in args.threads) + " |")
    print("|---|" + "---|" * len(args.threads))
    for name in names:
        cells = []
        for n in args.threads:
            g, f = _med(series("GIL", n, name, "core_ms")), _med(series("free-threaded", n, name, "core_ms"))
            cells.append(f"{g:.1f} / {f:.1f} ({f / g:.2f}x)")
        print(f"| {name} | " + " | ".join(cells) + " |")

    last = args.threads[-1]
    if len(args.threads) > 1:
        first = args.threads[0]
        print(f"\nspeed-up from {first} to {last} threads (GIL / free-threaded)\n")
        for name in names:
            g = _med(series("GIL", first, name, "core_ms")) / _med(series("GIL", last, name, "core_ms"))
            f = (_med(series("free-threaded", first, name, "core_ms"))
                 / _med(series("free-threaded", last, name, "core_ms")))
            print(f"  {name:<34} {g:5.2f} / {f:5.2f}")

    print(f"\nlongest gap of a 1 ms sleeper beside the core at {last} threads, ms, "
          "median [max] over rounds (GIL / free-threaded)\n")
    for name in names:
        g, f = series("GIL", last, name, "beat_ms"), series("free-threaded", last, name, "beat_ms")
        print(f"  {name:<34} {_med(g):6.1f} [{max(g):6.1f}] / {_med(f):6.1f} [{max(f):6.1f}]")

    ref_names = [name for name in names if series("GIL", last, name, "ref_ms")]
    if ref_names:
        print("\ncv2.filter2D in the GIL child, ms, and each build's core time over it\n")
        for n in args.threads:
            for name in ref_names:
                ref = _med(series("GIL", n, name, "ref_ms"))
                g, f = _med(series("GIL", n, name, "core_ms")), _med(series("free-threaded", n, name, "core_ms"))
                err = max(series("GIL", n, name, "rel_err"))
                print(f"  {n} thr  {name:<30} cv2 {ref:7.1f}   GIL {g / ref:5.2f}x   free-threaded "
                      f"{f / ref:5.2f}x   (max rel. diff {err:.1e})")
    if args.json:
        args.json.write_text(json.dumps({f"{k[0]}:{k[1]}": v for k, v in runs.items()}, indent=1))
    print(f"\n{time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
