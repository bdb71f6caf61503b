"""What the benchmarks print about the machine they ran on."""

from __future__ import annotations

from pathlib import Path


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
