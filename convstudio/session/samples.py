"""Sample inputs for the Samples menu: generated test patterns and the images shipped in
``resources/samples``.

The patterns are plain NumPy functions returning ``(C, H, W) float32`` in [0, 1] (gray, C = 1), so
that they are exact and reproducible: an impulse shows a kernel's (flipped) footprint, a step edge
shows what an edge detector answers, a zone plate shows aliasing under stride and pooling.
This module does not import Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convstudio.resources import resource_path

__all__ = ["Pattern", "PATTERNS", "make_pattern", "sample_dirs", "shipped_samples", "DEFAULT_SAMPLE"]

#: What a first launch shows (a shipped photo when present, else this pattern).
DEFAULT_SAMPLE = "cameraman"
DEFAULT_PATTERN = "zone_plate"


@dataclass(frozen=True)
class Pattern:
    """A generated test image: `make()` returns ``(1, H, W) float32`` in [0, 1]."""

    name: str
    label: str
    description: str
    make: Callable[[], np.ndarray]


def checkerboard(size: int = 256, square: int = 32) -> np.ndarray:
    """Black and white squares of `square` pixels, top-left square black."""
    idx = np.arange(size) // square
    board = (idx[:, None] + idx[None, :]) % 2
    return board.astype(np.float32)[None]


def step_edge(height: int = 128, width: int = 128) -> np.ndarray:
    """Left half black, right half white: one vertical edge in the middle."""
    x = np.zeros((height, width), np.float32)
    x[:, width // 2:] = 1.0
    return x[None]


def tutorial_edge() -> np.ndarray:
    """The tutorial's 6 x 8 edge example: white, a black band in columns 2-5, white."""
    x = np.ones((6, 8), np.float32)
    x[:, 2:6] = 0.0
    return x[None]


def tutorial_grid() -> np.ndarray:
    """The tutorial's 3 x 3 input holding 0 ... 8 (try the 2 x 2 kernel [[0, 1], [2, 3]])."""
    return np.arange(9, dtype=np.float32).reshape(1, 3, 3)


def impulse(size: int = 65) -> np.ndarray:
    """One white pixel in the middle of a black square: the response is the (flipped) kernel."""
    x = np.zeros((size, size), np.float32)
    x[size // 2, size // 2] = 1.0
    return x[None]


def gradient_ramp(height: int = 128, width: int = 256) -> np.ndarray:
    """A horizontal ramp from 0 (left) to 1 (right)."""
    row = np.linspace(0.0, 1.0, width, dtype=np.float32)
    return np.broadcast_to(row, (height, width)).copy()[None]


def zone_plate(size: int = 384) -> np.ndarray:
    """Concentric rings whose frequency grows with the radius (shows aliasing)."""
    r = (np.arange(size, dtype=np.float64) - (size - 1) / 2.0) / size
    rr = r[:, None] ** 2 + r[None, :] ** 2
    x = 0.5 + 0.5 * np.cos(np.pi * size * 0.5 * rr)
    return x.astype(np.float32)[None]


def noise(size: int = 256, seed: int = 0) -> np.ndarray:
    """Uniform random noise in [0, 1) from a fixed seed."""
    return np.random.default_rng(seed).random((1, size, size), dtype=np.float32)


PATTERNS: dict[str, Pattern] = {
    p.name: p
    for p in (
        Pattern("checkerboard", "Checkerboard", "256 x 256, squares of 32 pixels", checkerboard),
        Pattern("step_edge", "Step edge", "128 x 128, black left half, white right half", step_edge),
        Pattern("tutorial_edge", "Tutorial edge (6 x 8)",
                "white with a black band in columns 2-5, as in the tutorial", tutorial_edge),
        Pattern("tutorial_grid", "Tutorial 3 x 3 (0 ... 8)",
                "the cross-correlation example's input", tutorial_grid),
        Pattern("impulse", "Impulse", "65 x 65, one white pixel in the middle", impulse),
        Pattern("gradient", "Gradient ramp", "128 x 256, 0 on the left to 1 on the right",
                gradient_ramp),
        Pattern("zone_plate", "Zone plate (rings)", "384 x 384 concentric rings, rising frequency",
                zone_plate),
        Pattern("noise", "Random noise (seed 0)", "256 x 256 uniform noise", noise),
    )
}


def make_pattern(name: str) -> np.ndarray:
    """The pattern called `name` as ``(1, H, W) float32``; KeyError if there is none."""
    x = PATTERNS[name].make()
    return np.ascontiguousarray(x, dtype=np.float32)


def sample_dirs() -> list[Path]:
    """Folders that hold shipped sample images: ``resources/samples`` when it is there
    (a checkout, an installed wheel and the frozen app all have it)."""
    folder = resource_path("samples")
    return [folder] if folder.is_dir() else []


def shipped_samples() -> list[Path]:
    """Image files found in the sample folders, sorted by name (duplicates by name dropped)."""
    from convstudio.core.imageio import SUPPORTED_READ_EXTENSIONS

    found: dict[str, Path] = {}
    for d in sample_dirs():
        for p in sorted(d.iterdir()):
            if p.is_file() and p.suffix.lower() in SUPPORTED_READ_EXTENSIONS:
                found.setdefault(p.name, p)
    return sorted(found.values(), key=lambda p: p.name.lower())
