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

This module holds the fixed kernels and the preset registry, and re-exports the factories
(:mod:`convstudio.core.kernel_factories`) and the analysis, transforms and text exchange
(:mod:`convstudio.core.kernel_tools`), so ``kernels.<name>`` reaches all of them.

Nothing here imports Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .kernel_factories import (
    MAX_KERNEL_SIZE,
    box,
    gaussian,
    gaussian_auto_size,
    identity,
    laplacian_of_gaussian,
    motion_blur,
    unsharp,
)
from .kernel_tools import (
    _format_number,
    flip_horizontal,
    flip_vertical,
    format_tsv,
    kernel_rank,
    kernel_sum,
    low_rank_terms,
    normalize_by_sum,
    parse_tsv,
    random_kernel,
    rotate90,
    rotate180,
    separable_factors,
    transpose,
)

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

