"""Kernel factories (identity, box, Gaussian, unsharp, motion blur, Laplacian of Gaussian) and the
argument checks they share with :mod:`convstudio.core.kernel_tools`.

Re-exported by :mod:`convstudio.core.kernels`, whose docstring states the conventions: every
factory returns a fresh, writable ``(kh, kw) float32`` array; bad arguments raise `ValueError`
naming the function; sizes are limited to ``1 .. MAX_KERNEL_SIZE``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = [
    "MAX_KERNEL_SIZE",
    "identity",
    "box",
    "gaussian",
    "gaussian_auto_size",
    "unsharp",
    "motion_blur",
    "laplacian_of_gaussian",
]

#: Largest kernel height or width accepted anywhere in this module.
MAX_KERNEL_SIZE = 255

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

