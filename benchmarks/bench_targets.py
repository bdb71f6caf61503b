"""Issue 5's performance targets for the NumPy core: every target, its measured ratio, PASS/FAIL.

    python benchmarks/bench_targets.py               # everything (about 5 minutes on 2 cores)
    python benchmarks/bench_targets.py --quick       # fewer repeats, 1 MP depthwise only
    python benchmarks/bench_targets.py --only 1,3    # some targets

Timings are medians of interleaved rounds (core, reference, core, reference, ...) in one process,
so that a slow-down of the machine hits both sides alike. A ratio is time(core) / time(reference);
for scipy it is time(scipy) / time(core), the core's speed-up. Packages that are not installed
(scipy, torch) give a printed 'skipped: ... not installed' and no verdict. This is a benchmark,
not a test: nothing here runs in CI.

Targets (issue 5):
  1. depthwise RGB ('kernel' form, zeros padding, "same"), 1 and 6 MP, float32, a full-rank
     random kernel: core / cv2.filter2D <= 3 for k = 3, 5, 7 and <= 1.5 for k = 15, 31;
     scipy.ndimage.correlate / core >= 2 everywhere.
  2. conv2d 3->16 k5 on 1 MP, 16->16 k3 on 512x512, 64->64 k3 on 256x256: core / torch <= 1.5.
  3. max and avg pooling 2x2 s2 and 3x3 s2, 6 MP RGB: core / fastest OpenCV-or-torch <= 2.
  4. memory: a 3->16 5x5 conv on 6 MP raises the peak by at most the output + 64 MiB.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
from _machine import cpu_model, print_summary  # noqa: E402  (benchmarks/, the script's own folder)

from convstudio.core import AvgPool2d, Conv2d, MaxPool2d, fastpaths, ops  # noqa: E402

try:  # optional references
    import scipy
    import scipy.ndimage
except ImportError:  # pragma: no cover
    scipy = None
try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None

MiB = 1 << 20
SIZES = {"1 MP": (1000, 1000), "6 MP": (2000, 3000)}
RESULTS: list[tuple[str, str]] = []  # (target, PASS/FAIL/skipped) for the summary


# --------------------------------------------------------------------------------------------
# Timing


def interleaved(fns: dict, rounds: int, *, slow_rounds: int | None = None, slow: tuple = ()) -> dict:
    """Median seconds of each callable, measured in interleaved rounds after one warm-up call.
    Callables named in `slow` run only `slow_rounds` times (scipy on big kernels takes seconds)."""
    for f in fns.values():
        f()
    times: dict = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate who goes first
        for name in order:
            if name in slow and len(times[name]) >= (slow_rounds or rounds):
                continue
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def verdict(ok) -> str:
    if isinstance(ok, str):
        return ok
    return "skipped" if ok is None else ("PASS" if ok else "FAIL")


def row(label: str, core_s: float, ref_name: str, ref_s: float | None, ratio: float | None,
        target: str, ok, note: str = "") -> None:
    ref_txt = f"{ref_s * 1e3:10.1f}" if ref_s is not None else f"{'-':>10}"
    ratio_txt = f"{ratio:7.2f}" if ratio is not None else f"{'-':>7}"
    print(f"{label:<30}{core_s * 1e3:9.1f} {ref_name:<22}{ref_txt}{ratio_txt}  {target:<9}"
          f"{verdict(ok):<8}{note}", flush=True)
    RESULTS.append((f"{label} vs {ref_name}", verdict(ok)))


def header(title: str) -> None:
    print()
    print(title)
    print(f"{'case':<30}{'core ms':>9} {'reference':<22}{'ref ms':>10}{'ratio':>7}  {'target':<9}"
          f"{'verdict':<8}notes")
    print("-" * 106)


# --------------------------------------------------------------------------------------------
# Machine


def machine_report() -> None:
    model = cpu_model()
    print(f"CPU: {model}; {os.cpu_count()} logical CPUs; Python {platform.python_version()} "
          f"on {platform.system()} {platform.machine()}")
    blas = "?"
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:  # noqa: BLE001 - informative only
        pass
    core = ""
    try:  # read-only query of the OpenBLAS that NumPy bundles
        libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs",
                                      "libscipy_openblas*"))
        if libs:
            lib = ctypes.CDLL(libs[0])
            f = lib.scipy_openblas_get_corename64_
            f.restype = ctypes.c_char_p
            n = lib.scipy_openblas_get_num_threads64_
            n.restype = ctypes.c_int
            core = f", OpenBLAS core {f().decode()}, {n()} BLAS threads"
    except Exception:  # noqa: BLE001
        pass
    print(f"numpy {np.__version__} (BLAS: {blas}{core}); OpenCV {cv2.__version__} "
          f"({cv2.getNumThreads()} threads); scipy {scipy.__version__ if scipy else 'not installed'}; "
          f"torch {torch.__version__ + f' ({torch.get_num_threads()} threads)' if torch else 'not installed'}")
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                      "OMP_NUM_THREADS", "CONVSTUDIO_NUM_THREADS") if k in os.environ}
    print(f"core threads: {fastpaths.num_threads()}; environment: {env or 'no BLAS/thread variables set'}")
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


# --------------------------------------------------------------------------------------------
# Target 1: depthwise


def target1(rounds: int, sizes: dict, ks: tuple, with_gauss: bool) -> None:
    header("Target 1: depthwise RGB ('kernel' form, zeros, same), float32; core / cv2.filter2D, "
           "scipy / core")
    rng = np.random.default_rng(0)
    for label, (h, w) in sizes.items():
        x = rng.random((3, h, w), dtype=np.float32)
        hwc = np.ascontiguousarray(x.transpose(1, 2, 0))
        for k in ks:
            kinds = [("random", rng.standard_normal((k, k)).astype(np.float32))]
            if with_gauss:
                g = cv2.getGaussianKernel(k, -1).astype(np.float64)
                kinds.append(("gaussian", (g @ g.T).astype(np.float32)))
            for kind, kernel in kinds:
                layer = Conv2d(kernel=kernel, padding="same")
                a = (k // 2, k // 2)

                def core():
                    return layer.forward(x)

                def cv_planes():
                    return [cv2.filter2D(x[c], -1, kernel, anchor=a, borderType=cv2.BORDER_CONSTANT)
                            for c in range(3)]

                def cv_hwc():
                    return cv2.filter2D(hwc, -1, kernel, anchor=a, borderType=cv2.BORDER_CONSTANT)

                fns = {"core": core, "cv2 planes": cv_planes, "cv2 hwc": cv_hwc}
                if scipy is not None and kind == "random":
                    fns["scipy"] = lambda: scipy.ndimage.correlate(x, kernel[None], mode="constant")
                slow_rounds = max(2, min(rounds, int(4e8 / (h * w * k * k * 3)) + 1))
                t = interleaved(fns, rounds, slow=("scipy",), slow_rounds=slow_rounds)
                got = core()
                ref = np.stack(cv_planes())
                mag = float(np.abs(kernel).sum())
                err = float(np.abs(got - ref).max()) / mag
                path = fastpaths.choose_path(
                    (3, h + k - 1, w + k - 1),
                    np.ascontiguousarray(np.broadcast_to(kernel, (3, 1, k, k))), groups=3) \
                    if fastpaths.enabled else "generic"
                t_cv = min(t["cv2 planes"], t["cv2 hwc"])
                ref_name = "cv2.filter2D" + (" (planes)" if t["cv2 planes"] <= t["cv2 hwc"] else " (HWC)")
                lim = 3.0 if k <= 7 else 1.5
                ok = t["core"] / t_cv <= lim if kind == "random" else None
                name = f"{label} k={k} {kind}"
                row(name, t["core"], ref_name, t_cv, t["core"] / t_cv,
                    f"<= {lim:g}" if kind == "random" else "(info)",
                    ok if kind == "random" else "info",
                    f"path {path}, max|diff|/sum|k| {err:.1e}")
                if scipy is None and kind == "random":
                    row(name, t["core"], "scipy.ndimage", None, None, ">= 2x", None,
                        "skipped: scipy not installed")
                elif kind == "random":
                    sp = t["scipy"] / t["core"]
                    row(name, t["core"], "scipy.ndimage (speed-up)", t["scipy"], sp, ">= 2", sp >= 2)


# --------------------------------------------------------------------------------------------
# Target 2: full conv2d vs torch


def target2(rounds: int) -> None:
    header("Target 2: multi-channel conv2d ('same' zeros), float32; core / torch.nn.functional.conv2d")
    cases = [(3, 16, 5, (1000, 1000)), (16, 16, 3, (512, 512)), (64, 64, 3, (256, 256))]
    rng = np.random.default_rng(1)
    for cin, cout, k, (h, w) in cases:
        label = f"{cin}->{cout} k{k} {h}x{w}"
        x = rng.random((cin, h, w), dtype=np.float32)
        weight = (rng.standard_normal((cout, cin, k, k)) / (cin * k)).astype(np.float32)
        layer = Conv2d(weight=weight, padding="same")
        if torch is None:
            t = interleaved({"core": lambda: layer.forward(x)}, rounds)
            row(label, t["core"], "torch conv2d", None, None, "<= 1.5", None,
                "skipped: torch not installed")
            continue
        tx = torch.from_numpy(x)[None]
        tw = torch.from_numpy(weight)

        def ref():
            with torch.no_grad():
                return F.conv2d(tx, tw, padding=k // 2)

        t = interleaved({"core": lambda: layer.forward(x), "torch": ref}, rounds)
        err = float(np.abs(layer.forward(x) - ref()[0].numpy()).max())
        path = fastpaths.choose_path((cin, h + k - 1, w + k - 1), weight) if fastpaths.enabled \
            else "generic"
        ratio = t["core"] / t["torch"]
        row(label, t["core"], "torch conv2d", t["torch"], ratio, "<= 1.5", ratio <= 1.5,
            f"path {path}, max|diff| {err:.1e}")


# --------------------------------------------------------------------------------------------
# Target 3: pooling


def target3(rounds: int) -> None:
    header("Target 3: pooling, 6 MP RGB float32; core / fastest OpenCV or torch equivalent")
    h, w = SIZES["6 MP"]
    rng = np.random.default_rng(2)
    x = rng.random((3, h, w), dtype=np.float32)
    hwc = np.ascontiguousarray(x.transpose(1, 2, 0))
    tx = torch.from_numpy(x)[None] if torch is not None else None
    tx_cl = tx.contiguous(memory_format=torch.channels_last) if torch is not None else None
    for kind in ("max", "avg"):
        for k, s in ((2, 2), (3, 2)):
            ho, wo = (h - k) // s + 1, (w - k) // s + 1
            layer = (MaxPool2d if kind == "max" else AvgPool2d)(kernel_size=(k, k), stride=(s, s))
            refs: dict = {}
            ones = np.ones((k, k), np.uint8)
            sub = (slice(0, (ho - 1) * s + 1, s), slice(0, (wo - 1) * s + 1, s))
            if kind == "max":
                refs["cv2.dilate+subsample"] = lambda ones=ones, sub=sub: cv2.dilate(
                    hwc, ones, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf)[sub]
            else:
                refs["cv2.blur+subsample"] = lambda k=k, sub=sub: cv2.blur(
                    hwc, (k, k), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[sub]
                if k == s:
                    refs["cv2.resize AREA"] = lambda: cv2.resize(hwc, (wo, ho), interpolation=cv2.INTER_AREA)
            if torch is not None:
                fn = F.max_pool2d if kind == "max" else F.avg_pool2d

                def tref(t_in, fn=fn, k=k, s=s):
                    with torch.no_grad():
                        return fn(t_in, k, s)

                refs["torch NCHW"] = lambda tref=tref: tref(tx)
                refs["torch channels_last"] = lambda tref=tref: tref(tx_cl)
            fns = {"core": lambda layer=layer: layer.forward(x), **refs}
            t = interleaved(fns, rounds)
            best = min(refs, key=lambda n: t[n])
            got = layer.forward(x)
            want = fns[best]()
            want = want[0].numpy() if torch is not None and isinstance(want, torch.Tensor) \
                else np.asarray(want).transpose(2, 0, 1)
            err = float(np.abs(got - want).max())
            ratio = t["core"] / t[best]
            others = ", ".join(f"{n} {t[n] * 1e3:.0f}" for n in refs if n != best)
            row(f"{kind}pool {k}x{k} s{s}", t["core"], best, t[best], ratio, "<= 2", ratio <= 2,
                f"max|diff| {err:.1e}; others (ms): {others}"
                + ("" if torch is not None else "; torch not installed"))


# --------------------------------------------------------------------------------------------
# Target 4: memory


def target4() -> None:
    print()
    print("Target 4: peak memory of a 3->16 5x5 conv ('same' zeros) on 6 MP (tracemalloc)")
    print("-" * 106)
    h, w = SIZES["6 MP"]
    rng = np.random.default_rng(3)
    x = rng.random((3, h, w), dtype=np.float32)
    weight = (rng.standard_normal((16, 3, 5, 5)) / 15).astype(np.float32)
    layer = Conv2d(weight=weight, padding="same", bias=np.zeros(16, np.float32))
    out_bytes = 16 * h * w * 4
    for label, fn in (
        ("Conv2d.forward (pad + conv)", lambda: layer.forward(x)),
        ("ops.correlate (padded input)", None),
    ):
        if fn is None:
            xp = ops.pad(x, (2, 2, 2, 2))
            fn = lambda xp=xp: ops.correlate(xp, weight)  # noqa: E731
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        assert out.nbytes == out_bytes
        del out
        extra = (peak - out_bytes) / MiB
        ok = peak <= out_bytes + 64 * MiB
        print(f"{label:<30} peak +{peak / MiB:7.1f} MiB = output {out_bytes / MiB:.1f} MiB "
              f"+ {extra:6.1f} MiB   target <= output + 64 MiB   {verdict(ok)}   "
              f"({dt * 1e3:.0f} ms under tracemalloc)", flush=True)
        RESULTS.append((f"memory: {label}", verdict(ok)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds, 1 MP depthwise only")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 7)")
    ap.add_argument("--only", default="1,2,3,4", help="comma-separated target numbers")
    ap.add_argument("--gauss", action="store_true", help="also time a separable (Gaussian) kernel")
    ap.add_argument("--generic", action="store_true",
                    help="disable the fast paths: time the generic code (the 'before' numbers)")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="MIN",
                    help="first wait up to MIN minutes for the 1-minute load average to drop below 0.3")
    args = ap.parse_args()
    rounds = args.rounds or (3 if args.quick else 7)
    deadline = time.time() + 60 * args.wait_quiet
    while time.time() < deadline and os.getloadavg()[0] >= 0.3:
        time.sleep(5)
    only = {int(v) for v in args.only.split(",") if v.strip()}
    if args.generic:
        fastpaths.enabled = False
    machine_report()
    if args.generic:
        print("fast paths DISABLED (--generic): these are the generic code's numbers")
    t0 = time.perf_counter()
    if 1 in only:
        target1(rounds, {"1 MP": SIZES["1 MP"]} if args.quick else SIZES, (3, 5, 7, 15, 31),
                args.gauss)
    if 2 in only:
        target2(rounds)
    if 3 in only:
        target3(rounds)
    if 4 in only:
        target4()
    print()
    print_summary(RESULTS, time.perf_counter() - t0, ("PASS", "FAIL", "skipped"))  # not "info"
    return 0


if __name__ == "__main__":
    sys.exit(main())
