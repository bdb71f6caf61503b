"""The Shift dock's numbers (``session/shift.py``): computed in pieces, they equal the whole-array
float64 computation, keep NaN, and stop when the comparison is no longer wanted."""

from __future__ import annotations

import numpy as np
import pytest

from convstudio.core import Conv2d, MaxPool2d, Pipeline, ReLU, RunCancelled, cancel
from convstudio.session import shift
from convstudio.session.shift import compare_shift


def reference(c) -> tuple[float, float | None]:
    """change and max_interior_difference from whole arrays, in float64."""
    m = c.interior if c.interior is not None and c.interior.any() else None
    d = np.abs(c.shifted.astype(np.float64) - c.original.astype(np.float64))
    o = np.abs(c.original.astype(np.float64))
    if m is not None:
        d, o = d[:, m], o[:, m]
    change = d.sum() / o.sum() if o.sum() > 0 else d.sum()
    biggest = None if m is None else float(np.abs(c.difference[:, m].astype(np.float64)).max())
    return float(change), biggest


@pytest.mark.parametrize("pipeline,dy,dx,mode", [
    (Pipeline((Conv2d(kernel=[[1.0, -2.0, 0.25], [0.5, 3.0, -1.0]], padding=1),)), 2, -3, "circular"),
    (Pipeline((Conv2d(kernel=np.ones((3, 3)) / 9), ReLU(), MaxPool2d(kernel_size=2))), 1, 0, "zeros"),
    (Pipeline((Conv2d(kernel=[[0.0, 1.0, -1.0]], stride=2),)), 0, 4, "zeros"),
])
def test_the_numbers_made_in_pieces_equal_the_whole_array_ones(monkeypatch, pipeline, dy, dx, mode):
    monkeypatch.setattr(shift, "PIECE_VALUES", 97)  # many pieces, rows split unevenly
    x = np.random.default_rng(abs(dy) + 7 * abs(dx)).standard_normal((3, 41, 53)).astype(np.float32)
    c = compare_shift(pipeline, x, len(pipeline), dy, dx, mode)
    change, biggest = reference(c)
    assert c.change == pytest.approx(change, rel=1e-12, abs=1e-300)
    assert c.max_interior_difference == biggest


def test_a_nan_in_the_maps_is_not_lost(monkeypatch):
    monkeypatch.setattr(shift, "PIECE_VALUES", 50)
    x = np.random.default_rng(1).standard_normal((1, 30, 30)).astype(np.float32)
    x[0, 15, 15] = np.inf  # inf - inf in the conv's sums: NaN in the maps
    with np.errstate(invalid="ignore"):
        c = compare_shift(Pipeline((Conv2d(kernel=[[1.0, -1.0]]),)), x, 1, 0, 1, "circular")
    assert np.isnan(c.difference).any()
    assert np.isnan(c.max_interior_difference) and np.isnan(c.change)


def test_a_comparison_no_longer_wanted_stops_between_pieces(monkeypatch):
    monkeypatch.setattr(shift, "PIECE_VALUES", 64)
    x = np.random.default_rng(2).standard_normal((2, 64, 64)).astype(np.float32)
    c = compare_shift(Pipeline((Conv2d(kernel=[[1.0, 2.0]]),)), x, 1, 1, 1, "circular")
    asked: list[int] = []
    with cancel.cancellable(lambda: asked.append(1) or len(asked) > 3), pytest.raises(RunCancelled):
        _ = c.change
    assert len(asked) == 4
    with cancel.cancellable(lambda: True), pytest.raises(RunCancelled):
        _ = c.max_interior_difference
