"""What the benchmarks print about the machine they ran on, and how they time a call."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """One untimed call of `fn` (warm-up), then the median of `repeats` timed calls, in ms."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    mid = len(times) // 2
    return 1000.0 * (times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2)


def cpu_model() -> str:
    """The processor's model name from /proc/cpuinfo ("unknown" elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def print_summary(results: list[tuple[str, str]], seconds: float,
                  verdicts: tuple[str, ...] = ("PASS", "FAIL")) -> None:
    """The closing line: how many (name, verdict) results had each verdict, the run's length and
    the load average, then every FAIL by name."""
    import os

    counts = ", ".join(f"{sum(1 for _, r in results if r == v)} {v}" for v in verdicts)
    print(f"summary: {counts} in {seconds:.0f} s; load average at end: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for name, r in results:
        if r == "FAIL":
            print(f"  FAIL: {name}")
