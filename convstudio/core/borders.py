"""Padding + correlation without the padded copy, for the one-input-channel paths.

``ops.pad_correlate`` pads the input first. For a depthwise layer that copy costs as much as the
correlation's own GEMM (docs/performance.md, "Depthwise layers without the padded copy"), so for
the ``rowgemm`` and ``lowrank`` paths the output is split in five rectangles:

- the interior, whose windows lie inside the input: correlated straight from a view of it;
- the top and bottom bands (all columns): correlated from a padded copy of their few rows;
- the left and right bands (interior rows): correlated *transposed*, so that a band one output
  column wide becomes one row of a wide image (the paths issue one GEMM per output row and strip;
  a column would cost one tiny GEMM per row).

Every padded value is read where ``numpy.pad`` takes it (``ops._source_rows`` per axis), so the
result is the correlation of the padded input, to float32 rounding like every path; the same
input always takes the same rectangles, so runs are bit-identical.
"""

from __future__ import annotations

import numpy as np

from . import fastpaths

__all__ = ["SPLIT_PATHS", "interior", "correlate_split"]

#: Paths whose work is split this way; the others read a padded copy.
SPLIT_PATHS = ("rowgemm", "lowrank")


def interior(n: int, before: int, span: int, step: int, count: int) -> tuple[int, int]:
    """Outputs [lo, hi) along one axis whose window (span values, `step` apart from one output
    to the next) lies inside the n input values, with `before` padded values in front."""
    lo = min(count, -(-before // step))
    hi = max(lo, min(count, (n + before - span) // step + 1))
    return lo, hi


def _sliver(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """x[:, rows][:, :, cols] with -1 meaning a zero (the constant of the zeros mode)."""
    out = x[(slice(None),) + np.ix_(np.maximum(rows, 0), np.maximum(cols, 0))]  # one gather
    out[:, rows < 0] = 0.0
    out[:, :, cols < 0] = 0.0
    return out


def correlate_split(x: np.ndarray, pads: tuple[int, int, int, int], src_rows: np.ndarray,
                    src_cols: np.ndarray, weight: np.ndarray, out: np.ndarray, *, stride, dilation,
                    groups: int, path: str) -> None:
    """Fill `out` with the correlation of the padded `x` (without bias); `src_rows` / `src_cols`
    give, per padded row / column, the input index it copies (-1: zero)."""
    _, h, w = x.shape
    top, _, left, _ = pads
    _, _, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    span_h, span_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    _, ho, wo = out.shape
    i0, i1 = interior(h, top, span_h, sh, ho)
    j0, j1 = interior(w, left, span_w, sw, wo)
    kwargs = dict(stride=stride, dilation=dilation, groups=groups, path=path)
    if i1 > i0 and j1 > j0:
        r, c = i0 * sh - top, j0 * sw - left
        xi = x[:, r:r + (i1 - i0 - 1) * sh + span_h, c:c + (j1 - j0 - 1) * sw + span_w]
        fastpaths.correlate_into(xi, weight, out[:, i0:i1, j0:j1], **kwargs)
    else:
        i0 = i1 = 0  # no interior: the top band is everything
        j0, j1 = 0, wo
    wt = np.ascontiguousarray(weight.transpose(0, 1, 3, 2))
    kwargs_t = dict(stride=(sw, sh), dilation=(dw, dh), groups=groups, path=path)
    for a, b in ((0, i0), (i1, ho)):  # top and bottom bands, every column
        if b > a:
            xs = _sliver(x, src_rows[a * sh:(b - 1) * sh + span_h], src_cols[:(wo - 1) * sw + span_w])
            fastpaths.correlate_into(xs, weight, out[:, a:b, :], **kwargs)
    for a, b in ((0, j0), (j1, wo)):  # left and right bands, interior rows, transposed
        if b > a and i1 > i0:
            xs = _sliver(x, src_rows[i0 * sh:(i1 - 1) * sh + span_h], src_cols[a * sw:(b - 1) * sw + span_w])
            fastpaths.correlate_into(np.ascontiguousarray(xs.transpose(0, 2, 1)), wt,
                                     out[:, i0:i1, a:b].transpose(0, 2, 1), **kwargs_t)
