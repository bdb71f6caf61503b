"""Kernel analysis (sum, rank, separable factors), transforms (flips, rotations, transpose,
normalising), random kernels and the tab-separated text exchange.

Re-exported by :mod:`convstudio.core.kernels`, whose docstring states the conventions.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from typing import Any

import numpy as np

from .kernel_factories import MAX_KERNEL_SIZE, _as_kernel, _real_arg, _size_arg

__all__ = [
    "kernel_sum",
    "kernel_rank",
    "separable_factors",
    "low_rank_terms",
    "normalize_by_sum",
    "flip_horizontal",
    "flip_vertical",
    "rotate90",
    "rotate180",
    "transpose",
    "random_kernel",
    "parse_tsv",
    "format_tsv",
]


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def kernel_sum(k: Any) -> float:
    """Sum of the weights, accumulated in float64.

    1 keeps the brightness of flat areas, 0 maps them to 0 (edge detectors).

    Parameters
    ----------
    k : (kh, kw) array_like

    Returns
    -------
    float
    """
    return float(np.sum(_as_kernel(k, "kernel_sum"), dtype=np.float64))


def _singular_values(a: np.ndarray) -> np.ndarray:
    return np.linalg.svd(a.astype(np.float64), compute_uv=False)


def kernel_rank(k: Any, *, rtol: float = 1e-6) -> int:
    """Numerical rank: singular values above ``rtol * largest`` are counted.

    Rank 1 means separable (one vertical pass and one horizontal pass); rank r means r such
    pairs.  The default `rtol` sits just above float32 rounding (about 6e-8 relative).

    Parameters
    ----------
    k : (kh, kw) array_like
    rtol : float
        Relative threshold, >= 0.

    Returns
    -------
    int
        0 for the all-zero kernel.
    """
    a = _as_kernel(k, "kernel_rank")
    tol = _real_arg("kernel_rank", "rtol", rtol)
    s = _singular_values(a)
    if s[0] == 0.0:
        return 0
    return int(np.count_nonzero(s > tol * s[0]))


def _fix_sign(v: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # SVD signs are arbitrary; pick one a human recognises: v sums positive (Sobel x ->
    # [1, 2, 1] x [-1, 0, 1]); if v sums to 0, h sums positive (Sobel y -> [-1, 0, 1] x [1, 2, 1]).
    for vec in (v, h):
        total = float(vec.sum())
        if abs(total) > 1e-6 * float(np.abs(vec).sum()):
            return (v, h) if total > 0 else (-v, -h)
    nz = np.flatnonzero(v)
    if nz.size and v[nz[0]] < 0:
        return -v, -h
    return v, h


def _integer_factors(a: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    # Integer kernels (Sobel, Prewitt...) read best as integer factors: v is the primitive
    # (gcd 1) direction of a column, and h then comes out integer too.
    if not (np.all(a == np.round(a)) and np.abs(a).max() < 2**24):
        return None
    i, j = np.unravel_index(int(np.argmax(np.abs(a))), a.shape)
    col = a[:, j].astype(np.int64)
    g = int(np.gcd.reduce(np.abs(col)))
    v = (col // g).astype(np.float64)
    h = a[i, :].astype(np.float64) / v[i]
    if not np.all(h == np.round(h)) or not np.array_equal(np.outer(v, h), a.astype(np.float64)):
        return None
    return v, h


def separable_factors(k: Any, *, rtol: float = 1e-6) -> tuple[np.ndarray, np.ndarray] | None:
    """Split a rank-1 kernel into a column vector and a row vector.

    Parameters
    ----------
    k : (kh, kw) array_like
    rtol : float
        Rank threshold, as in `kernel_rank`.

    Returns
    -------
    (v, h) : ((kh,) float32, (kw,) float32) or None
        ``np.outer(v, h)`` equals `k` to float32 precision (exactly, for integer kernels such
        as Sobel, which factor as integers: ``[1, 2, 1]`` and ``[-1, 0, 1]``).  Other kernels
        are split evenly, ``v = sqrt(s) u`` and ``h = sqrt(s) w`` from the SVD, so a symmetric
        Gaussian gives ``v == h``.  Signs are chosen so that ``sum(v) > 0``, or ``sum(h) > 0``
        when ``sum(v)`` is 0.  None if the rank is not 1 (including the all-zero kernel).
    """
    a = _as_kernel(k, "separable_factors")
    if kernel_rank(a, rtol=rtol) != 1:
        return None
    pair = _integer_factors(a)
    if pair is None:
        u, s, vt = np.linalg.svd(a.astype(np.float64))
        root = math.sqrt(s[0])
        pair = (u[:, 0] * root, vt[0] * root)
    v, h = _fix_sign(*pair)
    return v.astype(np.float32), h.astype(np.float32)


def low_rank_terms(k: Any, *, rtol: float = 1e-6) -> list[tuple[np.ndarray, np.ndarray]]:
    """Decompose a kernel into a sum of separable terms (via the SVD).

    Parameters
    ----------
    k : (kh, kw) array_like
    rtol : float
        Terms whose singular value is at most ``rtol * largest`` are dropped, as in
        `kernel_rank`.

    Returns
    -------
    list of ((kh,) float32, (kw,) float32)
        ``kernel_rank(k)`` pairs ``(v_i, h_i)``, strongest first, with
        ``sum_i np.outer(v_i, h_i)`` equal to `k` to float32 precision.  Keeping only the
        first r terms gives the best rank-r approximation (least squares).  Empty for the
        all-zero kernel.
    """
    a = _as_kernel(k, "low_rank_terms")
    tol = _real_arg("low_rank_terms", "rtol", rtol)
    u, s, vt = np.linalg.svd(a.astype(np.float64))
    if s[0] == 0.0:
        return []
    terms = []
    for i in range(int(np.count_nonzero(s > tol * s[0]))):
        root = math.sqrt(s[i])
        v, h = _fix_sign(u[:, i] * root, vt[i] * root)
        terms.append((v.astype(np.float32), h.astype(np.float32)))
    return terms


def normalize_by_sum(k: Any) -> np.ndarray:
    """Divide every weight by the kernel's sum, so that the result sums to 1.

    This is the kernel part of "Normalise" in GIMP's Convolution Matrix.  Two cases differ
    from a plain division:

    * **Zero sum** (``|sum| <= 1e-12 * max|k|``, or an all-zero kernel): the kernel is
      returned unchanged (as a float32 copy), because there is nothing sensible to divide by;
      GIMP likewise uses divisor 1 then (and additionally adds an output offset of 0.5, which
      a kernel cannot express).
    * **Negative sum**: dividing by it flips the sign of every weight, so a negative-sum
      kernel becomes a positive-sum one (sum exactly 1).  GIMP does *not* do this: it divides
      by ``|sum|`` and adds an output offset of 1.0 instead.

    Parameters
    ----------
    k : (kh, kw) array_like

    Returns
    -------
    (kh, kw) float32
        A new array.
    """
    a = _as_kernel(k, "normalize_by_sum")
    total = float(np.sum(a, dtype=np.float64))
    peak = float(np.abs(a).max())
    if peak == 0.0 or abs(total) <= 1e-12 * peak:
        return a.copy()
    return (a.astype(np.float64) / total).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Transforms (all return new, writable, C-contiguous float32 arrays)
# --------------------------------------------------------------------------------------------


def _fresh(a: np.ndarray) -> np.ndarray:
    return np.array(a, dtype=np.float32, order="C", copy=True)


def flip_horizontal(k: Any) -> np.ndarray:
    """Mirror left-right: ``k[:, ::-1]``.  ``(kh, kw) float32`` -> ``(kh, kw) float32``."""
    return _fresh(_as_kernel(k, "flip_horizontal")[:, ::-1])


def flip_vertical(k: Any) -> np.ndarray:
    """Mirror top-bottom: ``k[::-1, :]``.  ``(kh, kw) float32`` -> ``(kh, kw) float32``."""
    return _fresh(_as_kernel(k, "flip_vertical")[::-1, :])


def rotate90(k: Any, times: int = 1) -> np.ndarray:
    """Rotate by ``90 * times`` degrees counter-clockwise, like ``np.rot90(k, times)``.

    Parameters
    ----------
    k : (kh, kw) array_like
    times : int
        Any integer; negative turns clockwise.

    Returns
    -------
    (kw, kh) float32 for odd `times`, else (kh, kw) float32
    """
    if isinstance(times, bool):
        raise ValueError(f"rotate90: times must be an integer, got {times!r}")
    try:
        n = operator.index(times)
    except TypeError:
        raise ValueError(f"rotate90: times must be an integer, got {times!r}") from None
    return _fresh(np.rot90(_as_kernel(k, "rotate90"), n % 4))


def rotate180(k: Any) -> np.ndarray:
    """Rotate by 180 degrees: ``k[::-1, ::-1]``.

    Cross-correlating with ``rotate180(k)`` is true convolution with `k`; this is what
    ``"flip": true`` on a pipeline layer does.  ``(kh, kw) float32`` -> ``(kh, kw) float32``.
    """
    return _fresh(_as_kernel(k, "rotate180")[::-1, ::-1])


def transpose(k: Any) -> np.ndarray:
    """Swap rows and columns (mirror on the main diagonal).

    Turns an x-derivative into the matching y-derivative (``transpose(SOBEL_X) == SOBEL_Y``).
    ``(kh, kw) float32`` -> ``(kw, kh) float32``.
    """
    return _fresh(_as_kernel(k, "transpose").T)


def random_kernel(shape: int | tuple[int, int], *,
                  rng: np.random.Generator | int | None = None,
                  low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """Kernel of uniformly distributed random weights.

    Parameters
    ----------
    shape : int or (int, int)
        Side length, or ``(kh, kw)``; each 1 .. 255.
    rng : numpy.random.Generator, int or None
        Generator to draw from, or a seed for ``np.random.default_rng``; None draws a fresh
        unseeded generator.  Pass a seed or a Generator for reproducible kernels.
    low, high : float
        Bounds, finite, ``low < high``.  Values lie in ``[low, high]`` (``high`` itself can
        appear after rounding to float32).

    Returns
    -------
    (kh, kw) float32
    """
    if isinstance(shape, (tuple, list)):
        if len(shape) != 2:
            raise ValueError(f"random_kernel: shape must be an integer or (kh, kw), "
                             f"got {shape!r}")
        kh = _size_arg("random_kernel", "kh", shape[0])
        kw = _size_arg("random_kernel", "kw", shape[1])
    else:
        kh = kw = _size_arg("random_kernel", "shape", shape)
    lo = _real_arg("random_kernel", "low", low)
    hi = _real_arg("random_kernel", "high", high)
    if not lo < hi:
        raise ValueError(f"random_kernel: low must be below high, got low={low!r}, "
                         f"high={high!r}")
    if rng is None or isinstance(rng, numbers.Integral):
        gen = np.random.default_rng(rng)
    elif isinstance(rng, np.random.Generator):
        gen = rng
    else:
        raise ValueError(f"random_kernel: rng must be a numpy Generator, an integer seed or "
                         f"None, got {type(rng).__name__}")
    return gen.uniform(lo, hi, size=(kh, kw)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Text exchange (spreadsheets, clipboards)
# --------------------------------------------------------------------------------------------

# A tab, comma or semicolon with optional spaces around it, or else a run of whitespace.
# Only spaces pad a separator: two tabs in a row are an empty spreadsheet cell, not one gap.
_SEPARATOR = re.compile(r" *[\t,;] *|\s+")


def _parse_number(cell: str) -> float:
    # U+2212 MINUS SIGN arrives when kernels are copied from web pages and PDFs.
    cell = cell.replace("\u2212", "-")
    if "/" in cell:
        num, _, den = cell.partition("/")
        d = float(den)
        if d == 0.0:
            raise ZeroDivisionError
        return float(num) / d
    return float(cell)


def _count(n: int) -> str:
    return f"{n} value" if n == 1 else f"{n} values"


def parse_tsv(text: str) -> np.ndarray:
    """Read a kernel from text: one row per line, cells separated by tabs.

    Also accepted as separators: commas, semicolons (each with optional spaces around) and
    runs of spaces, so spreadsheet copies, CSV and hand-typed matrices all work.  The decimal
    separator is always ``.``.  Blank lines and leading/trailing whitespace are ignored.
    Cells are Python float literals (``-1``, ``0.25``, ``1e-3``) or fractions ``a/b`` such as
    ``1/16`` (written without spaces); the Unicode minus sign is accepted too.

    Parameters
    ----------
    text : str

    Returns
    -------
    (kh, kw) float32
        Each value correctly rounded from the text when it has at most 17 significant digits
        (always the case for `format_tsv` output).

    Raises
    ------
    ValueError
        For no numbers at all, rows of different lengths (naming the row), a cell that is not
        a number, is empty, divides by zero or is not finite in float32 (naming row and
        column), or more than 255 rows or columns.  Row numbers count non-blank lines from 1;
        the text line is added when blank lines make them differ.
    """
    if not isinstance(text, str):
        raise ValueError(f"parse_tsv: expected text, got {type(text).__name__}")
    rows: list[list[float]] = []
    width = 0
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        row_no = len(rows) + 1
        where = f"row {row_no}" if row_no == line_no else f"row {row_no} (line {line_no})"
        cells = _SEPARATOR.split(line)
        if rows and len(cells) != width:
            raise ValueError(f"parse_tsv: {where} has {_count(len(cells))} but row 1 has "
                             f"{_count(width)}; every row needs the same number")
        values = []
        for col_no, cell in enumerate(cells, start=1):
            if not cell:
                raise ValueError(f"parse_tsv: {where}, column {col_no} is empty")
            try:
                x = _parse_number(cell)
            except ZeroDivisionError:
                raise ValueError(f"parse_tsv: {where}, column {col_no}: {cell!r} divides "
                                 f"by zero") from None
            except ValueError:
                raise ValueError(f"parse_tsv: {where}, column {col_no}: {cell!r} is not a "
                                 f"number") from None
            with np.errstate(over="ignore"):
                finite = math.isfinite(x) and bool(np.isfinite(np.float32(x)))
            if not finite:
                raise ValueError(f"parse_tsv: {where}, column {col_no}: {cell!r} is not a "
                                 f"finite float32 number")
            values.append(x)
        if not rows:
            width = len(values)
        rows.append(values)
    if not rows:
        raise ValueError("parse_tsv: no numbers found")
    if len(rows) > MAX_KERNEL_SIZE or width > MAX_KERNEL_SIZE:
        raise ValueError(f"parse_tsv: kernel is {len(rows)}x{width}, larger than the maximum "
                         f"{MAX_KERNEL_SIZE}x{MAX_KERNEL_SIZE}")
    return np.array(rows, dtype=np.float64).astype(np.float32)


def _format_number(v: np.float32) -> str:
    # numpy's "unique" mode gives the shortest digits that read back as v *in float32*; the
    # digit count sets the %g precision.  Plain positional notation wins when shorter (100,
    # not 1e+02).  Parsing goes through float64 first, so double rounding could in principle
    # break the round trip: check, and fall back to the exact float64 repr.
    v = np.float32(v)
    digits = np.format_float_scientific(v, unique=True, trim="-").lstrip("-").split("e")[0]
    precision = max(1, len(digits.replace(".", "")))
    candidates = (f"{float(v):.{precision}g}",
                  np.format_float_positional(v, unique=True, trim="-"))
    for s in sorted(candidates, key=len):
        x = float(s)
        if np.float32(x) == v and math.copysign(1.0, x) == math.copysign(1.0, float(v)):
            return s
    return repr(float(v))


def format_tsv(k: Any) -> str:
    """Write a kernel as tab-separated text, the inverse of `parse_tsv`.

    Each value uses ``%g`` formatting with the fewest significant digits that still read back
    as the same float32 (``0.25``, ``-1``, ``1e-05``, ``0.299``), so
    ``parse_tsv(format_tsv(k))`` equals `k` bit for bit (``-0.0`` included).

    Parameters
    ----------
    k : (kh, kw) array_like
        Finite values; converted to float32 first.

    Returns
    -------
    str
        Rows joined by ``"\\n"`` (no trailing newline), cells by ``"\\t"``.
    """
    a = _as_kernel(k, "format_tsv")
    return "\n".join("\t".join(_format_number(v) for v in row) for row in a)
