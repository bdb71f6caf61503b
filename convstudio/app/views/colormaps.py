"""Colour maps and display levels for images and feature maps.

Pure NumPy: nothing here needs a QApplication, so the rules are easy to test.

A display is described by a *mode*, a pair of *levels* ``(lo, hi)`` and a lookup table (LUT). The views
hand the raw float32 data, the levels and the LUT to pyqtgraph's ImageItem, which scales
``(value - lo) / (hi - lo)`` onto the LUT; nothing is converted to uint8 here.

Modes
-----
``"diverging"``
    Blue - white - red (ColorBrewer RdBu, reversed; :func:`diverging_rgb`, the app's one diverging
    colouring, also used for the inspector's cells and the ERF legend). Levels are symmetric, ``[-m, m]`` with
    ``m = max|x|`` of the layer, so zero is EXACTLY the middle LUT entry: the LUT has an odd number of
    entries (255) and pyqtgraph maps ``v`` to entry ``floor((v - lo) * n / (hi - lo))``, which for
    ``v = 0`` is ``floor(n / 2) = 127``, the neutral centre colour.
``"clip"``
    Grey, levels ``[0, 1]``: values below 0 are black, above 1 white (what saving an image does).
``"abs"``
    Grey map of ``|x|``, levels ``[0, max|x|]``.
``"minmax"``
    Grey, levels ``[min, max]`` of the layer.
``"auto"`` (the default)
    ``"diverging"`` when the layer has a negative value (``min < 0``); otherwise grey with levels
    ``[0, max(1, max)]``, so images in [0, 1] look as they are and larger non-negative responses
    (after a ReLU, say) are scaled down to fit.
``"contrast"``
    Like auto's choice of colours, but the scale ends at the ``1 - SATURATED`` quantile of ``|x|``
    (ImageJ's auto-contrast saturates 0.35 % of the pixels the same way): ``[-q, q]`` for signed
    data, ``[0, q]`` otherwise. Edge maps, whose few strong responses make most of a max-scaled map
    look white, show their structure; the brightest 0.35 % saturate. A layer whose quantile is 0
    (mostly zeros) falls back to ``max|x|``, and so do small maps (at most
    :data:`FULL_RANGE_PIXELS` pixels each): there the clip would give a few distinct values (the
    largest of a 2 x 2 output, say) one shade, so ``q = max|x|`` and every value keeps its own.

When levels are *shared* (locked across layers) they replace the layer's own levels in every mode;
the diverging mode makes them symmetric about zero first, ``m = max(|lo|, |hi|)``.

The mode is resolved for a whole layer, but in ``"auto"`` and ``"contrast"`` a map of it that has no
negative value is drawn grey all the same (:func:`map_display`): a layer with one signed channel
(red minus blue, say) does not paint its non-negative ones (luma) in diverging red. Such a map keeps
the layer's magnitude, levels ``[0, m]``, so equal values look equally strong across the layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DISPLAY_MODES = ("diverging", "clip", "abs", "minmax", "contrast")
"""The modes a user can pick; ``"auto"`` is accepted too and resolves to one of the rules above."""

AUTO = "auto"

SATURATED = 0.0035
"""Share of the values that the ``"contrast"`` mode lets saturate (ImageJ's auto-contrast figure)."""

FULL_RANGE_PIXELS = 4096
"""Maps with at most this many pixels (64 x 64) are not clipped by the ``"contrast"`` mode: their
levels reach ``max|x|``, so distinct values get distinct shades (to the LUT's resolution)."""

# The contrast quantile is taken over at most this many values: the 0.35 % above it are then
# about 230 samples, plenty for a colour scale, and the GUI thread spends about a millisecond.
_QUANTILE_SAMPLES = 1 << 16

LUT_SIZE_DIVERGING = 255  # odd, so there is one exact middle entry for zero

# ColorBrewer "RdBu" (Cynthia Brewer, Apache-2.0 style licence), 11 classes, reversed so that negative
# values are blue and positive ones red. The centre class is neutral (R = G = B).
_RDBU_R = np.array(
    [
        (5, 48, 97),
        (33, 102, 172),
        (67, 147, 195),
        (146, 197, 222),
        (209, 229, 240),
        (247, 247, 247),
        (253, 219, 199),
        (244, 165, 130),
        (214, 96, 77),
        (178, 24, 43),
        (103, 0, 31),
    ],
    dtype=np.float64,
)


_RDBU_POSITIONS = np.linspace(0.0, 1.0, len(_RDBU_R))


def diverging_rgb(values, max_abs: float = 1.0, strength: float = 1.0) -> np.ndarray:
    """The app's one diverging colouring: blue (negative) - neutral (zero) - red (positive).

    ``values / max_abs``, clipped to ``[-1, 1]`` and multiplied by `strength`, is placed on the
    reversed ColorBrewer RdBu scale (linear in RGB between its 11 equally spaced classes). The
    feature maps' :data:`DIVERGING_LUT` is this scale sampled at 255 values; a cell background
    behind text uses a `strength` below 1, so that the strongest value gets a light tint.

    Parameters
    ----------
    values : float or array_like
        Signed values; a NaN or an infinity gets the neutral colour.
    max_abs : float
        The magnitude that gets the scale's end colours; 0 (an all-zero table) makes every value
        neutral.
    strength : float
        How far along the scale ``max_abs`` goes, 0 (neutral) to 1 (the end colours).

    Returns
    -------
    ndarray of uint8, shape ``values.shape + (3,)``
    """
    v = np.asarray(values, dtype=np.float64)
    t = np.zeros_like(v)
    if max_abs > 0 and math.isfinite(max_abs):
        np.divide(v, max_abs, out=t, where=np.isfinite(v))
    pos = (np.clip(t, -1.0, 1.0) * strength + 1.0) / 2.0
    rgb = np.stack([np.interp(pos, _RDBU_POSITIONS, _RDBU_R[:, k]) for k in range(3)], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


DIVERGING_LUT: np.ndarray = diverging_rgb(np.linspace(-1.0, 1.0, LUT_SIZE_DIVERGING))
"""``(255, 3) uint8``; entry 127 (the middle) is the neutral colour zero maps to."""

NEGATIVE_RGB: tuple[int, int, int] = tuple(int(c) for c in diverging_rgb(-0.8))
"""The scale's strong blue (RdBu's second class): one solid colour for "negative" (a legend)."""
POSITIVE_RGB: tuple[int, int, int] = tuple(int(c) for c in diverging_rgb(0.8))
"""The scale's strong red (RdBu's tenth class): one solid colour for "positive"."""

GREY_LUT: np.ndarray = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
"""``(256, 3) uint8`` black to white."""

for _lut in (DIVERGING_LUT, GREY_LUT):
    _lut.setflags(write=False)


def lut_for_mode(mode: str) -> np.ndarray:
    """The LUT a *resolved* mode uses (``"diverging"`` or one of the grey ones)."""
    return DIVERGING_LUT if mode == "diverging" else GREY_LUT


def lut_index(value: float, levels: tuple[float, float], n: int) -> int:
    """The LUT entry pyqtgraph picks for ``value`` (its float-image rule), for tests and colour bars."""
    lo, hi = levels
    rng = (hi - lo) or 1.0
    return int(min(max(np.floor((value - lo) * n / rng), 0), n - 1))


@dataclass(frozen=True)
class Display:
    """How to show one layer: the resolved mode, the levels, the LUT and whether to take ``|x|``."""

    mode: str
    levels: tuple[float, float]
    lut: np.ndarray
    absolute: bool = False

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """The array to hand to the ImageItem: ``x`` itself, or ``|x|`` in abs mode (one copy)."""
        return np.abs(x) if self.absolute else x


def finite_range(x: np.ndarray) -> tuple[float, float]:
    """``(min, max)`` over the finite values of ``x``; ``(0, 0)`` if there are none.

    Fast path: plain min / max (NaN or inf only cost a second pass when present).
    """
    if x.size == 0:
        return 0.0, 0.0
    lo = float(np.min(x))
    hi = float(np.max(x))
    if np.isfinite(lo) and np.isfinite(hi):
        return lo, hi
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def saturated_level(x: np.ndarray, fraction: float = SATURATED) -> float:
    """The ``1 - fraction`` quantile of ``|x|`` over the finite values (0 if there are none).

    A large ``x`` is sampled evenly (at most ``2**16`` values, a step that shares no factor with
    the last axis so that the samples do not line up in a few columns); the quantile of such a
    sample is within a fraction of a percent of the exact one, and it takes a few milliseconds.
    """
    a = np.asarray(x)
    n = a.size
    if n == 0:
        return 0.0
    if n > _QUANTILE_SAMPLES and a.ndim >= 2 and not a.flags.c_contiguous:
        # A strided view: thin it on a grid first, so that the copy below stays small.
        s = math.isqrt(-(-n // _QUANTILE_SAMPLES)) or 1
        a = np.ascontiguousarray(a[..., ::s, ::s])
        n = a.size
    if n > _QUANTILE_SAMPLES:
        step = -(-n // _QUANTILE_SAMPLES)
        width = a.shape[-1] if a.ndim else 1
        while math.gcd(step, width) != 1:
            step += 1
        flat = a.reshape(-1)[::step] if a.flags.c_contiguous else a.flat[np.arange(0, n, step)]
    else:
        flat = a.reshape(-1)
    v = np.abs(flat)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0
    k = int(math.floor((1.0 - fraction) * (v.size - 1)))
    return float(np.partition(v, k)[k])


def _contrast_level(x: np.ndarray, lo: float, hi: float) -> float:
    """Where the ``"contrast"`` scale ends: the saturated quantile, or ``max|x|`` on small maps."""
    a = np.asarray(x)
    pixels = a.shape[-1] * a.shape[-2] if a.ndim >= 2 else a.size
    if pixels <= FULL_RANGE_PIXELS:
        m = max(abs(lo), abs(hi))
        return m if np.isfinite(m) else 0.0
    return saturated_level(a)


def resolve_mode(mode: str, lo: float) -> str:
    """The effective mode: ``"auto"`` and ``"contrast"`` become ``"diverging"`` (when ``lo < 0``)
    or ``"unit"``.

    ``"unit"`` is auto's non-negative rule: grey with levels ``[0, max(1, max)]``.
    """
    if mode not in DISPLAY_MODES and mode != AUTO:
        raise ValueError(f"unknown display mode {mode!r}; expected 'auto' or one of {DISPLAY_MODES}")
    if mode in (AUTO, "contrast"):
        return "diverging" if lo < 0 else "unit"
    return mode


def _nonzero(m: float) -> float:
    # An all-zero layer still needs a non-empty level range (and zero in the middle of it).
    return m if m > 0 and np.isfinite(m) else 1.0


def levels_for(mode: str, lo: float, hi: float) -> tuple[float, float]:
    """Levels of a resolved ``mode`` for data whose finite range is ``[lo, hi]``."""
    m = max(abs(lo), abs(hi))
    if mode == "diverging":
        m = _nonzero(m)
        return -m, m
    if mode == "clip":
        return 0.0, 1.0
    if mode == "abs":
        return 0.0, _nonzero(m)
    if mode == "unit":
        return 0.0, max(1.0, hi)
    if mode == "minmax":
        if hi > lo:
            return lo, hi
        return lo - 0.5, lo + 0.5  # a constant map shows as mid grey
    raise ValueError(f"unknown display mode {mode!r}")


def map_display(layer: Display, mode: str, map_lo: float) -> Display:
    """How to show one map of a layer whose display (asked for in ``mode``) is ``layer``.

    ``map_lo`` is the map's finite minimum. In ``"auto"`` and ``"contrast"`` a map without negative
    values is grey, ``[0, m]`` with the layer's ``m``, even when other maps of the layer made it
    diverging; an explicitly chosen mode applies to every map as it is.
    """
    if mode in (AUTO, "contrast") and layer.mode == "diverging" and map_lo >= 0:
        return Display("unit", (0.0, float(layer.levels[1])), GREY_LUT)
    return layer


def symmetric(levels: tuple[float, float]) -> tuple[float, float]:
    """``[-m, m]`` with ``m = max(|lo|, |hi|)`` (never empty)."""
    m = _nonzero(max(abs(float(levels[0])), abs(float(levels[1]))))
    return -m, m


def check_levels(levels) -> tuple[float, float]:
    """Validate user levels: two finite numbers, ``lo < hi``."""
    try:
        lo, hi = (float(v) for v in levels)
    except (TypeError, ValueError):
        raise ValueError(f"levels must be a pair of numbers, got {levels!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or not lo < hi:
        raise ValueError(f"levels must be finite with low < high, got {levels!r}")
    return lo, hi


def display_for(
    x: np.ndarray,
    mode: str = AUTO,
    *,
    shared_levels: tuple[float, float] | None = None,
    data_range: tuple[float, float] | None = None,
) -> Display:
    """Work out how to show ``x`` (any shape; a whole layer ``(C, H, W) float32``) in ``mode``.

    Parameters
    ----------
    x : ndarray
        The data; only its finite range is used (pass ``data_range`` if it is already known).
    mode : str
        ``"auto"`` or one of :data:`DISPLAY_MODES`.
    shared_levels : (lo, hi), optional
        Locked levels that replace the layer's own; made symmetric in the diverging mode.
    data_range : (lo, hi), optional
        The finite range of ``x`` when the caller knows it. (``"contrast"`` reads ``x`` anyway.)
    """
    lo, hi = data_range if data_range is not None else finite_range(x)
    resolved = resolve_mode(mode, lo)
    if shared_levels is not None:
        levels = check_levels(shared_levels)
        if resolved == "diverging":
            levels = symmetric(levels)
    elif mode == "contrast" and (q := _contrast_level(x, lo, hi)) > 0:
        levels = (-q, q) if resolved == "diverging" else (0.0, q)
    else:
        levels = levels_for(resolved, lo, hi)
    return Display(resolved, (float(levels[0]), float(levels[1])), lut_for_mode(resolved), resolved == "abs")
