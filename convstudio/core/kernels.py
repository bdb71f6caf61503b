"""Named 2-D kernel presets, kernel factories and kernel analysis helpers.

Conventions shared with the rest of the core:

* A *kernel* is a ``(kh, kw) float32`` array applied to every channel by a ``conv2d`` layer
  (``{"type": "conv2d", "kernel": [[...]]}``).  The operation is cross-correlation, as in CNNs:
  ``out[i, j] = sum_ab k[a, b] * x[i + a - kh // 2, j + b - kw // 2]``, i.e. the anchor is the
  centre element ``(kh // 2, kw // 2)``.  The kernel is *not* flipped; ``rotate180`` gives the
  kernel that true convolution (``"flip": true`` in a pipeline) effectively applies.
* A *weight* is a multi-channel conv weight ``(out, in, kh, kw) float32``; the only preset of that
  kind here is `RGB_TO_GRAY_WEIGHT`.
* Module-level constants are read-only; every factory and ``Preset.make`` returns a fresh,
  writable array, so the kernel editor can change it in place.
* Bad arguments raise `ValueError` with a one-line message naming the function and the
  offending value.  Sizes are limited to ``1 .. MAX_KERNEL_SIZE``.

Nothing here imports Qt.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = [
    "MAX_KERNEL_SIZE",
    "IDENTITY_3",
    "SOBEL_X",
    "SOBEL_Y",
    "SCHARR_X",
    "SCHARR_Y",
    "PREWITT_X",
    "PREWITT_Y",
    "LAPLACIAN_4",
    "LAPLACIAN_8",
    "SHARPEN",
    "EMBOSS",
    "OUTLINE",
    "EDGE_1X2",
    "EDGE_2X1",
    "RGB_TO_GRAY_WEIGHT",
    "rgb_to_gray_weight_list",
    "to_nested_list",
    "identity",
    "box",
    "gaussian",
    "gaussian_auto_size",
    "unsharp",
    "motion_blur",
    "laplacian_of_gaussian",
    "Preset",
    "CATEGORIES",
    "PRESETS",
    "get_preset",
    "preset_names",
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

#: Largest kernel height or width accepted anywhere in this module.
MAX_KERNEL_SIZE = 255


# --------------------------------------------------------------------------------------------
# Fixed kernels
# --------------------------------------------------------------------------------------------


def _const(rows: Any) -> np.ndarray:
    arr = np.array(rows, dtype=np.float32)
    # Shared module state: a stray in-place edit in the editor must not corrupt every later use.
    arr.setflags(write=False)
    return arr


#: ``(3, 3) float32``: 1 at the centre; output equals input.
IDENTITY_3 = _const([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
#: ``(3, 3) float32``: Sobel horizontal derivative, ``outer([1, 2, 1], [-1, 0, 1])``.
#: Equals OpenCV's ``cv2.Sobel(src, ddepth, 1, 0, ksize=3)`` kernel.
SOBEL_X = _const([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
#: ``(3, 3) float32``: Sobel vertical derivative, the transpose of `SOBEL_X`.
SOBEL_Y = _const([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
#: ``(3, 3) float32``: Scharr horizontal derivative, ``outer([3, 10, 3], [-1, 0, 1])``.
SCHARR_X = _const([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]])
#: ``(3, 3) float32``: Scharr vertical derivative, the transpose of `SCHARR_X`.
SCHARR_Y = _const([[-3, -10, -3], [0, 0, 0], [3, 10, 3]])
#: ``(3, 3) float32``: Prewitt horizontal derivative, ``outer([1, 1, 1], [-1, 0, 1])``.
PREWITT_X = _const([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
#: ``(3, 3) float32``: Prewitt vertical derivative, the transpose of `PREWITT_X`.
PREWITT_Y = _const([[-1, -1, -1], [0, 0, 0], [1, 1, 1]])
#: ``(3, 3) float32``: 4-neighbour Laplacian (OpenCV's ``cv2.Laplacian`` with ``ksize=1``).
LAPLACIAN_4 = _const([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
#: ``(3, 3) float32``: 8-neighbour Laplacian; rank 2, so not separable.
LAPLACIAN_8 = _const([[1, 1, 1], [1, -8, 1], [1, 1, 1]])
#: ``(3, 3) float32``: identity plus the negated 4-neighbour Laplacian; sum 1.
SHARPEN = _const([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
#: ``(3, 3) float32``: relief effect lit from the top-left; sum 1.
EMBOSS = _const([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
#: ``(3, 3) float32``: all-direction edge detector, the negated `LAPLACIAN_8`; sum 0.
OUTLINE = _const([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
#: ``(1, 2) float32``: the tutorial's edge detector ``[[1, -1]]`` (left minus right pixel).
EDGE_1X2 = _const([[1, -1]])
#: ``(2, 1) float32``: ``[[1], [-1]]`` (upper minus lower pixel).
EDGE_2X1 = _const([[1], [-1]])

_BT601_LUMA = (0.299, 0.587, 0.114)

#: ``(1, 3, 1, 1) float32`` conv *weight* ``[out][in][kh][kw]``: a 1x1 convolution mixing R, G, B
#: into one gray channel with the ITU-R BT.601 luma coefficients 0.299, 0.587, 0.114.
RGB_TO_GRAY_WEIGHT = _const([[[[c]] for c in _BT601_LUMA]])


def rgb_to_gray_weight_list() -> list:
    """Return `RGB_TO_GRAY_WEIGHT` as fresh nested lists for JSON.

    Returns
    -------
    list
        ``[[[[0.299]], [[0.587]], [[0.114]]]]``: the ``(1, 3, 1, 1)`` weight as Python floats
        written with the decimal coefficients (not their float32 expansions).
    """
    return [[[[c]] for c in _BT601_LUMA]]


def to_nested_list(k: Any) -> list:
    """Convert a kernel or weight to nested lists of short Python floats, for JSON.

    Each value is the shortest decimal that reads back as the same float32, so ``0.299``
    appears as ``0.299`` rather than ``0.29899999499320984``.

    Parameters
    ----------
    k : array_like
        Any-dimensional array of finite numbers; converted to float32 first.

    Returns
    -------
    list
        Nested lists with the shape of `k`; ``np.asarray(result, np.float32)`` equals `k`.
    """
    a = np.asarray(k, dtype=np.float32)
    if a.ndim == 0:
        raise ValueError("to_nested_list: expected an array, got a scalar")
    if not np.all(np.isfinite(a)):
        raise ValueError("to_nested_list: values must be finite (no NaN or infinity)")
    flat = [float(_format_number(v)) for v in a.ravel()]
    return np.array(flat, dtype=object).reshape(a.shape).tolist()


# --------------------------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------------------------


def _int_arg(func: str, name: str, value: Any) -> int:
    # bool is an int subclass, but size=True is always a mistake.
    if isinstance(value, bool):
        raise ValueError(f"{func}: {name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    # JSON and spin boxes may hand over 5.0; accept integral floats, reject 5.5.
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise ValueError(f"{func}: {name} must be an integer, got {value!r}")


def _size_arg(func: str, name: str, value: Any, *, odd: bool = False, minimum: int = 1) -> int:
    n = _int_arg(func, name, value)
    kind = "an odd integer" if odd else "an integer"
    if not (minimum <= n <= MAX_KERNEL_SIZE) or (odd and n % 2 == 0):
        raise ValueError(f"{func}: {name} must be {kind} between {minimum} and "
                         f"{MAX_KERNEL_SIZE}, got {value!r}")
    return n


def _real_arg(func: str, name: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{func}: {name} must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{func}: {name} must be finite, got {value!r}")
    if positive and x <= 0:
        raise ValueError(f"{func}: {name} must be > 0, got {value!r}")
    return x


def _as_kernel(k: Any, func: str) -> np.ndarray:
    a = np.asarray(k)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{func}: kernel must be a numeric array, got dtype {a.dtype}")
    a = a.astype(np.float32, copy=False)
    if a.ndim != 2:
        raise ValueError(f"{func}: kernel must be 2-D (kh, kw), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{func}: kernel must not be empty, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{func}: kernel values must be finite (no NaN or infinity)")
    return a


# --------------------------------------------------------------------------------------------
# Factories
# --------------------------------------------------------------------------------------------


def identity(size: int = 3) -> np.ndarray:
    """Identity kernel: 1 at the centre, 0 elsewhere.

    Parameters
    ----------
    size : int
        Odd side length, 1 .. 255.  Odd because an even kernel has no centre element.

    Returns
    -------
    (size, size) float32
    """
    n = _size_arg("identity", "size", size, odd=True)
    k = np.zeros((n, n), dtype=np.float32)
    k[n // 2, n // 2] = 1.0
    return k


def box(size: int | tuple[int, int] = 3) -> np.ndarray:
    """Box (mean) filter: all weights equal, normalised to sum 1.

    Parameters
    ----------
    size : int or (int, int)
        Side length, or ``(kh, kw)``; each 1 .. 255.  Even sizes are allowed: the anchor is then
        the element just below/right of the geometric centre.

    Returns
    -------
    (kh, kw) float32
        Every element ``1 / (kh * kw)``.
    """
    if isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(f"box: size must be an integer or (kh, kw), got {size!r}")
        kh = _size_arg("box", "kh", size[0])
        kw = _size_arg("box", "kw", size[1])
    else:
        kh = kw = _size_arg("box", "size", size)
    return np.full((kh, kw), 1.0 / (kh * kw), dtype=np.float32)


def gaussian_auto_size(sigma: float) -> int:
    """Kernel size `gaussian` picks when none is given: ``2 * floor(3 * sigma + 0.5) + 1``.

    That is, the radius is ``3 * sigma`` rounded half up, which keeps about 99.7 % of the 1-D
    bell inside the kernel.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels, > 0 and finite.

    Returns
    -------
    int
        An odd size >= 1.  May exceed 255, in which case `gaussian` refuses it.
    """
    s = _real_arg("gaussian", "sigma", sigma, positive=True)
    return 2 * math.floor(3.0 * s + 0.5) + 1


def _gaussian_1d(n: int, sigma: float) -> np.ndarray:
    # Same formula as cv2.getGaussianKernel(n, sigma) for sigma > 0, computed in float64.
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def gaussian(size: int | None = None, *, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur kernel, normalised to sum 1.

    Parameters
    ----------
    size : int or None
        Odd side length, 1 .. 255.  None picks `gaussian_auto_size` (``2*floor(3*sigma+0.5)+1``),
        and raises if that exceeds 255 (``sigma`` above about 42.3).
    sigma : float
        Standard deviation in pixels, > 0 and finite.

    Returns
    -------
    (size, size) float32
        ``outer(g, g)`` with ``g = cv2.getGaussianKernel(size, sigma)``: sampled
        ``exp(-x**2 / (2 sigma**2))`` at integer offsets from the centre, normalised to sum 1.
        The truncated tails are dropped, not folded back, so a small `size` with a large `sigma`
        approaches a box filter.
    """
    s = _real_arg("gaussian", "sigma", sigma, positive=True)
    if size is None:
        n = gaussian_auto_size(s)
        if n > MAX_KERNEL_SIZE:
            raise ValueError(f"gaussian: sigma={sigma!r} needs size {n}, above "
                             f"{MAX_KERNEL_SIZE}; pass a smaller sigma or an explicit size")
    else:
        n = _size_arg("gaussian", "size", size, odd=True)
    g = _gaussian_1d(n, s)
    return np.outer(g, g).astype(np.float32)


def unsharp(size: int = 5, *, sigma: float = 1.0, amount: float = 1.0) -> np.ndarray:
    """Unsharp-mask kernel: ``(1 + amount) * identity - amount * gaussian``.

    Applying it equals ``x + amount * (x - blur(x))``: the detail the blur removes is added back
    `amount` times.  The sum is 1, so flat areas are unchanged.

    Parameters
    ----------
    size : int
        Odd side length, 1 .. 255 (size 1 gives the identity).
    sigma : float
        Standard deviation of the Gaussian, > 0 and finite.
    amount : float
        Strength, finite; 0 is the identity, negative values blur.

    Returns
    -------
    (size, size) float32
    """
    n = _size_arg("unsharp", "size", size, odd=True)
    s = _real_arg("unsharp", "sigma", sigma, positive=True)
    a = _real_arg("unsharp", "amount", amount)
    g = _gaussian_1d(n, s)
    k = -a * np.outer(g, g)
    k[n // 2, n // 2] += 1.0 + a
    return k.astype(np.float32)


def motion_blur(length: int = 9, *, angle: float = 0.0) -> np.ndarray:
    """Motion-blur kernel: an antialiased line through the centre, normalised to sum 1.

    The line is the segment of length ``length - 1`` centred on the kernel centre, so when it
    is horizontal or vertical it covers exactly `length` pixel centres (for an odd length) and
    the kernel is a plain row/column of ``1 / length``.  Antialiasing: each pixel gets weight
    ``max(0, 1 - d)`` where ``d`` is the distance from the pixel centre to the segment, then
    all weights are divided by their sum.  Diagonal lines are therefore about 2 pixels wide
    with soft sides, and even lengths get half-weight end pixels.

    Parameters
    ----------
    length : int
        1 .. 255 pixels.  The kernel side is `length` if odd, else ``length + 1`` (so that it
        has a centre element).
    angle : float
        Direction in degrees, counter-clockwise as seen on screen (image rows grow downwards);
        0 is horizontal, 90 vertical.  ``angle`` and ``angle + 180`` give the same kernel.

    Returns
    -------
    (n, n) float32
        Symmetric under `rotate180`.
    """
    length = _size_arg("motion_blur", "length", length)
    theta = math.radians(_real_arg("motion_blur", "angle", angle) % 360.0)
    dx, dy = math.cos(theta), -math.sin(theta)  # minus: screen y points down
    # Snap cos(pi/2) ~ 6e-17 and friends so axis-aligned lines come out exact.
    dx = 0.0 if abs(dx) < 1e-12 else dx
    dy = 0.0 if abs(dy) < 1e-12 else dy
    n = length if length % 2 else length + 1
    c = (n - 1) / 2.0
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float64) - c
    half = (length - 1) / 2.0
    t = np.clip(xs * dx + ys * dy, -half, half)
    dist = np.hypot(xs - t * dx, ys - t * dy)
    w = np.clip(1.0 - dist, 0.0, 1.0)
    return (w / w.sum()).astype(np.float32)


def laplacian_of_gaussian(size: int | None = None, *, sigma: float = 1.0) -> np.ndarray:
    """Laplacian-of-Gaussian ("Mexican hat", negative centre) kernel.

    Sampled ``(r**2 - 2 sigma**2) / sigma**4 * exp(-r**2 / (2 sigma**2))``, then corrected for
    truncation: the mean is subtracted so the sum is exactly 0 (flat areas give 0), and the
    kernel is scaled so that ``sum k[a, b] * (a**2 + b**2) == 4``.  Together with its symmetry
    this makes it return exactly the Laplacian ``f_xx + f_yy`` on any quadratic image, like
    `LAPLACIAN_4` does, so the two are on the same scale.

    Parameters
    ----------
    size : int or None
        Odd side length, 3 .. 255.  None uses the same rule as `gaussian`
        (``2*floor(3*sigma+0.5)+1``, at least 3).
    sigma : float
        Standard deviation in pixels, > 0 and finite.

    Returns
    -------
    (size, size) float32
    """
    s = _real_arg("laplacian_of_gaussian", "sigma", sigma, positive=True)
    if size is None:
        n = max(3, 2 * math.floor(3.0 * s + 0.5) + 1)
        if n > MAX_KERNEL_SIZE:
            raise ValueError(f"laplacian_of_gaussian: sigma={sigma!r} needs size {n}, above "
                             f"{MAX_KERNEL_SIZE}; pass a smaller sigma or an explicit size")
    else:
        n = _size_arg("laplacian_of_gaussian", "size", size, odd=True, minimum=3)
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    r2 = x[:, None] ** 2 + x[None, :] ** 2
    s2 = s * s
    k = (r2 - 2.0 * s2) / (s2 * s2) * np.exp(-r2 / (2.0 * s2))
    k -= k.mean()
    m2 = float(np.sum(k * r2))
    if not (math.isfinite(m2) and m2 > 0):
        raise ValueError(f"laplacian_of_gaussian: sigma={sigma!r} is too small or too large "
                         f"for size {n}")
    return (k * (4.0 / m2)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Preset registry
# --------------------------------------------------------------------------------------------

#: Preset categories in display order.
CATEGORIES = ("Basic", "Blur", "Sharpen", "Edges", "Stylise", "Tutorial", "Channel mixing")


@dataclass(frozen=True)
class Preset:
    """A named kernel recipe shown in the kernel editor.

    Parameters
    ----------
    name : str
        Stable id used in files and code, e.g. ``"sobel_x"``.
    label : str
        Short display name, e.g. ``"Sobel x"``.
    description : str
        One line for a learner: what it does and what its sum means.
    category : str
        One of `CATEGORIES`.
    factory : callable
        ``factory(**params)`` builds the array; always returns a fresh writable array.
    params : mapping
        Default keyword arguments for `factory` (read-only); empty for fixed kernels.
    kind : {"kernel", "weight"}
        ``"kernel"``: a ``(kh, kw)`` 2-D kernel; ``"weight"``: an ``(out, in, kh, kw)`` weight.
    """

    name: str
    label: str
    description: str
    category: str
    factory: Callable[..., np.ndarray] = field(repr=False)
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    kind: str = "kernel"

    def __post_init__(self) -> None:
        # Frozen dataclass: the defaults must not be editable through the mapping either.
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def make(self, **params: Any) -> np.ndarray:
        """Build the kernel, with `params` overriding the defaults.

        Returns
        -------
        (kh, kw) float32, or (out, in, kh, kw) float32 when ``kind == "weight"``
            A fresh, writable array.

        Raises
        ------
        ValueError
            For a parameter this preset does not take, or a bad value.
        """
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            valid = ", ".join(self.params) if self.params else "none"
            raise ValueError(f"preset '{self.name}': unknown parameter(s) {', '.join(unknown)}; "
                             f"valid: {valid}")
        merged = {**self.params, **params}
        return np.array(self.factory(**merged), dtype=np.float32, copy=True)


def _fixed(const: np.ndarray) -> Callable[[], np.ndarray]:
    def make() -> np.ndarray:
        return const.copy()

    return make


_PRESET_LIST = [
    Preset("identity", "Identity", "Copies the image unchanged: a single 1 at the centre, 0 "
           "elsewhere; sum 1", "Basic", identity, {"size": 3}),
    Preset("box", "Box blur", "Plain average of the neighbourhood, every weight equal; sum 1, "
           "so overall brightness is kept", "Blur", box, {"size": 3}),
    Preset("gaussian", "Gaussian blur", "Smooth blur: a weighted average where nearer pixels "
           "count more (bell curve); sum 1 keeps brightness", "Blur", gaussian,
           {"size": 5, "sigma": 1.0}),
    Preset("motion_blur", "Motion blur", "Averages along a line, like a camera moving during "
           "the exposure; sum 1 keeps brightness", "Blur", motion_blur,
           {"length": 9, "angle": 0.0}),
    Preset("sharpen", "Sharpen", "Pushes each pixel away from its 4 neighbours (5 at the "
           "centre, -1 around); sum 1, so flat areas are unchanged", "Sharpen",
           _fixed(SHARPEN)),
    Preset("unsharp", "Unsharp mask", "Adds back what a Gaussian blur removes, amount times; "
           "sum 1, so flat areas are unchanged", "Sharpen", unsharp,
           {"size": 5, "sigma": 1.0, "amount": 1.0}),
    Preset("sobel_x", "Sobel x", "Horizontal gradient: responds to vertical edges; the sum "
           "is 0, so flat areas give 0", "Edges", _fixed(SOBEL_X)),
    Preset("sobel_y", "Sobel y", "Vertical gradient: responds to horizontal edges; the sum "
           "is 0, so flat areas give 0", "Edges", _fixed(SOBEL_Y)),
    Preset("scharr_x", "Scharr x", "Horizontal gradient like Sobel x, with 3-10-3 weights "
           "that treat slanted edges more evenly; sum 0", "Edges", _fixed(SCHARR_X)),
    Preset("scharr_y", "Scharr y", "Vertical gradient like Sobel y, with 3-10-3 weights "
           "that treat slanted edges more evenly; sum 0", "Edges", _fixed(SCHARR_Y)),
    Preset("prewitt_x", "Prewitt x", "Horizontal gradient with equal row weights (Sobel x "
           "without the extra middle weight); sum 0", "Edges", _fixed(PREWITT_X)),
    Preset("prewitt_y", "Prewitt y", "Vertical gradient with equal column weights (Sobel y "
           "without the extra middle weight); sum 0", "Edges", _fixed(PREWITT_Y)),
    Preset("laplacian_4", "Laplacian (4 neighbours)", "Second derivative: the 4 neighbours "
           "minus 4 times the centre; flat areas and even ramps give 0", "Edges",
           _fixed(LAPLACIAN_4)),
    Preset("laplacian_8", "Laplacian (8 neighbours)", "Second derivative using all 8 "
           "neighbours, more even in every direction; sum 0, flat areas give 0", "Edges",
           _fixed(LAPLACIAN_8)),
    Preset("laplacian_of_gaussian", "Laplacian of Gaussian", "Blur, then second derivative: "
           "finds edges at the chosen scale and ignores fine noise; sum 0", "Edges",
           laplacian_of_gaussian, {"size": 9, "sigma": 1.4}),
    Preset("outline", "Outline", "Highlights edges in every direction (8 at the centre, -1 "
           "around); sum 0, so flat areas turn black", "Edges", _fixed(OUTLINE)),
    Preset("emboss", "Emboss", "Relief look: lighter where brightness rises toward the "
           "bottom-right, darker the other way; sum 1 keeps flat areas", "Stylise",
           _fixed(EMBOSS)),
    Preset("edge_1x2", "Edge detector [1, -1]", "The tutorial's 1x2 kernel: left pixel minus "
           "right pixel, so only vertical edges give non-zero output", "Tutorial",
           _fixed(EDGE_1X2)),
    Preset("edge_2x1", "Edge detector [1; -1]", "The 2x1 version: upper pixel minus lower "
           "pixel, so only horizontal edges give non-zero output", "Tutorial",
           _fixed(EDGE_2X1)),
    Preset("rgb_to_gray", "RGB to gray (1x1)", "A 1x1 convolution mixing R, G, B into one "
           "gray channel with weights 0.299, 0.587, 0.114 (sum 1)", "Channel mixing",
           _fixed(RGB_TO_GRAY_WEIGHT), kind="weight"),
]

#: All presets by name, in display order (grouped by `CATEGORIES`).
PRESETS: dict[str, Preset] = {
    p.name: p
    for cat in CATEGORIES
    for p in _PRESET_LIST
    if p.category == cat
}


def preset_names() -> list[str]:
    """Return the preset names in display order."""
    return list(PRESETS)


def get_preset(name: str) -> Preset:
    """Return the preset called `name`.

    Raises
    ------
    KeyError
        If there is none; the message lists the valid names.
    """
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown kernel preset {name!r}; valid names: "
                       f"{', '.join(PRESETS)}") from None


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
