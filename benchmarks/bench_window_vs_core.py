"""The window's time for a layer against ``Pipeline.run``'s, and both against OpenCV.

    python benchmarks/bench_window_vs_core.py            # 24 MP cases, 3 rounds
    python benchmarks/bench_window_vs_core.py --quick    # 4 MP cases, 2 rounds

The window computes on the renderer's worker thread (a Document and the real Renderer with
preview off, as in the app at full resolution) through the core's own layer loop; the command
line computes with ``Pipeline.run`` on the calling thread. The layers should take the same time
in both: the target is a ratio of at most 1.2 between the layers' compute times in the window
and in ``Pipeline.run`` (PASS / FAIL). Each round times, interleaved, the core, the window (a new
image to its ``finished`` signal, which adds the per-channel ranges the views need, and the
layers' own time as the worker measured it) and, for a per-channel kernel, ``cv2.filter2D`` on
each channel (BORDER_REFLECT_101 = the core's "reflect"), so that the ratios come from one run
on one machine. Medians over the rounds are printed.

This is a benchmark, not a test: nothing here runs in CI.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import cpu_model, print_summary  # noqa: E402

TARGET = 1.2


def cases(quick: bool):
    from convstudio.core import Conv2d, MaxPool2d, ReLU

    rng = np.random.default_rng(0)
    h, w = (1600, 2500) if quick else (4000, 6000)
    k63 = (rng.random((63, 63)) / 3969).astype(np.float32)
    k5 = (rng.random((5, 5)) / 25).astype(np.float32)
    yield (f"per-channel 63x63 reflect, RGB {h}x{w}",
           (3, h, w), [Conv2d(kernel=k63, padding="same", padding_mode="reflect")], k63)
    yield (f"per-channel 5x5 blur + max pool 2, RGB {h}x{w}",
           (3, h, w), [Conv2d(kernel=k5, padding="same", padding_mode="reflect"),
                       MaxPool2d(kernel_size=2)], k5)
    hh, ww = (1024, 1024) if quick else (2048, 2048)
    yield (f"conv 3->16 3x3 + relu, RGB {hh}x{ww}",
           (3, hh, ww), [Conv2d(weight=rng.standard_normal((16, 3, 3, 3)).astype(np.float32),
                                padding=1), ReLU()], None)


def time_core(pipeline, x) -> tuple[float, float]:
    """(the whole ``Pipeline.run``, its layers' own seconds summed)."""
    from convstudio.core import run_layers

    t0 = time.perf_counter()
    inside = sum(step.seconds for step in run_layers(pipeline.layers, x))
    return time.perf_counter() - t0, inside


def time_window(doc, renderer, x) -> tuple[float, float]:
    """(a new image to the renderer's ``finished``, the worker's per-layer seconds summed)."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    renderer.finished.connect(loop.quit)
    image = np.array(x)  # a new array: nothing cached, as when the user opens a photo
    t0 = time.perf_counter()
    doc.set_image_array(image, "bench")
    renderer.flush()
    while renderer.busy:
        loop.exec()
    elapsed = time.perf_counter() - t0
    renderer.finished.disconnect(loop.quit)
    assert not renderer.errors, renderer.errors
    return elapsed, float(sum(renderer.times))


def time_opencv(x, kernel) -> float:
    import cv2

    t0 = time.perf_counter()
    for c in range(x.shape[0]):
        cv2.filter2D(x[c], -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    args = ap.parse_args()
    rounds = args.rounds or (2 if args.quick else 3)

    from PySide6.QtWidgets import QApplication

    import convstudio.app.qtsetup  # noqa: F401  (Qt binding and pyqtgraph options)
    from convstudio.app.model.document import Document
    from convstudio.app.model.renderer import Renderer
    from convstudio.core import Pipeline
    from convstudio.core.fastpaths import num_threads

    app = QApplication.instance() or QApplication([])  # noqa: F841 - Qt needs one
    doc = Document()
    renderer = Renderer(doc, debounce_ms=1)
    renderer.set_preview_enabled(False)
    print(f"CPU: {cpu_model()}; {os.cpu_count()} CPUs, core threads {num_threads()}; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    started = time.perf_counter()
    results = []
    try:
        for name, shape, layers, kernel in cases(args.quick):
            x = np.random.default_rng(1).random(shape, dtype=np.float32)
            pipeline = Pipeline(tuple(layers))
            core, core_layers, window, worker, cv = [], [], [], [], []
            time_core(pipeline, x[:, :64, :64])  # warm-up (plans, thread pool)
            doc.set_image_array(np.array(x[:, :64, :64]), "warm-up")
            doc.new_pipeline(pipeline)
            renderer.wait_idle()
            for _ in range(rounds):
                total, inside = time_core(pipeline, x)
                core.append(total)
                core_layers.append(inside)
                total, inside = time_window(doc, renderer, x)
                window.append(total)
                worker.append(inside)
                if kernel is not None:
                    cv.append(time_opencv(x, kernel))
            c, cl, wdw, wk = (statistics.median(v) for v in (core, core_layers, window, worker))
            ratio = wk / cl
            verdict = "PASS" if ratio <= TARGET else "FAIL"
            line = (f"{name}: layers in the window {wk * 1000:.0f} ms, in Pipeline.run "
                    f"{cl * 1000:.0f} ms: ratio {ratio:.2f} [{verdict}]; new image to finished "
                    f"{wdw * 1000:.0f} ms, Pipeline.run {c * 1000:.0f} ms ({wdw / c:.2f})")
            if cv:
                line += f"; core / cv2.filter2D {c / statistics.median(cv):.2f}"
            print(line, flush=True)
            results.append((name, verdict))
    finally:
        renderer.shutdown()
    print_summary(results, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
