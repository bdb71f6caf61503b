"""An independent OpenCV reference of every layer type, and the per-layer cross-check against the
NumPy core (``convstudio check`` and the app's cross-check panel).

The reference never calls :mod:`convstudio.core.ops` (the thing being checked) nor the layers'
derived helpers (``effective_weight`` and friends): it reads only a layer's plain parameters
(weight or kernel, bias, scale, flip, groups, stride, dilation, resolved ``pads``, ...) and
recomputes everything else itself, in float64, with OpenCV primitives:

========================  ===================================================================
conv2d                    ``cv2.copyMakeBorder`` padding, then ``cv2.filter2D`` (which is a
                          cross-correlation) with ``anchor=(0, 0)`` and a dilated kernel (zeros
                          inserted), cropped to the rows/columns where the window fits and
                          subsampled by the stride; summed over the (output, input-in-group)
                          pairs, plus the bias. ``flip`` and ``scale`` are applied here.
maxpool2d                 -inf padding (``copyMakeBorder``), extra -inf as far as a ceil_mode
                          window reaches, ``cv2.dilate`` with a (dilated) rectangular structuring
                          element anchored at (0, 0), subsampled by the stride.
avgpool2d                 zero padding, ``cv2.boxFilter(normalize=False)`` for the window sums;
                          the divisor is the box sum of a mask of ones over the padded input
                          (count_include_pad) or over the real pixels only, so the PyTorch divisor
                          rules fall out of the geometry instead of being restated.
pad                       ``cv2.copyMakeBorder`` (constant, reflect101, replicate, wrap).
stride                    slicing.
relu / leaky_relu / abs   ``cv2.threshold`` (TOZERO / TOZERO_INV) and ``cv2.absdiff``.
sigmoid / tanh            ``cv2.exp`` in float64: 1 / (1 + e^-x) with x clipped to +-700, and
                          (e^2x - 1) / (e^2x + 1) with x clipped to +-20 (tanh(20) is 1 in
                          float64); no overflow and no warnings for any finite input.
========================  ===================================================================

Every shape and size rule (conv output size, PyTorch's ceil_mode rule) is restated here in a few
lines rather than imported. Padding: OpenCV 5's ``copyMakeBorder`` handles pads larger than the
image in every mode (it reflects / wraps repeatedly, exactly like ``numpy.pad``); should a build
refuse one, :func:`_pad_plane` falls back to ``numpy.pad`` with the matching mode ('reflect',
'edge', 'wrap'), the documented equivalent. ``cv2.filter2D`` itself never sees BORDER_WRAP (which
it refuses): it always runs on an input padded beforehand, with BORDER_CONSTANT, and only the
rows/columns that never touch its border are kept. Large kernels make ``filter2D`` switch to a
DFT; in float64 that is still accurate to ~1e-14, so the reference is the accurate side.

Tolerance
---------
:func:`crosscheck` feeds both sides the core's previous output, so each row isolates one layer.
A layer passes when ``max_abs_diff <= tolerance * scale`` where ``scale = max(1, M)`` and M is the
magnitude the layer's float32 arithmetic works at:

* conv2d: ``max|x| * max_o sum|w_o| + max|bias|``, a bound on every partial sum (the rounding
  error of a float32 dot product grows with the size of its terms, not of its result: a Laplacian
  on a flat bright area gives ~0 from terms of ~8);
* sigmoid, tanh: 1 (their outputs are in [-1, 1]);
* every other layer: the larger of max|input| and max|output|.

For image data in [0, 1] and kernels with sum|w| <= 1 (blurs, most edge detectors after
`scale`), scale is 1 and the test is literally "the max abs difference exceeds T". The default
``DEFAULT_TOLERANCE = 1e-4`` is about 800 float32 ulps of 1: comfortably above the float32 rounding
of the core (a 31 x 31 kernel typically differs by ~1e-6 relative, the worst case of sequential
accumulation over K taps is ~K * 6e-8), and far below anything visible (1/255 = 3.9e-3 is one
8-bit grey level), so any real indexing, padding or divisor bug (errors of the size of the data)
fails. ``max_abs_diff`` is always the plain absolute difference, as docs/cli.md documents it.

Non-finite values: positions where both sides hold the same infinity or both hold NaN count as
equal; any other non-finite mismatch makes ``max_abs_diff`` infinite (a failure).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .layers import Layer
from .pipeline import Pipeline, RunCancelled, as_chw, run_layers

__all__ = ["DEFAULT_TOLERANCE", "LayerCheck", "crosscheck", "reference_forward"]

DEFAULT_TOLERANCE = 1e-4

# Pipeline padding-mode names -> (OpenCV border, numpy.pad mode of the fallback).
_BORDERS = {
    "zeros": (cv2.BORDER_CONSTANT, "constant"),
    "constant": (cv2.BORDER_CONSTANT, "constant"),
    "reflect": (cv2.BORDER_REFLECT_101, "reflect"),
    "replicate": (cv2.BORDER_REPLICATE, "edge"),
    "circular": (cv2.BORDER_WRAP, "wrap"),
}

_SIGMOID_CLIP = 700.0  # e^700 ~ 1e304 is still finite in float64; sigmoid(-700) is 0 in float32
_TANH_CLIP = 20.0  # tanh(20) == 1.0 in float64

Cancelled = Callable[[], bool] | None


# --------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True)
class LayerCheck:
    """One row of the cross-check.

    Attributes
    ----------
    index : int
        1-based layer index (0 is the input).
    type : str
        The layer type ("conv2d", ...).
    max_abs_diff : float
        max |core - reference| over the layer's output (inf on a shape or non-finite mismatch).
    tolerance : float
        The relative tolerance T asked for.
    passed : bool
        ``max_abs_diff <= tolerance * scale``.
    core_time_s, reference_time_s : float
        Wall time of each side for this layer; ``core_time_s`` is NaN when the core's outputs were
        passed in rather than computed here.
    reference : (C, H, W) float32 array or None
        The reference output, kept only with ``keep_reference=True``.
    scale : float
        max(1, magnitude of the layer's arithmetic), see the module docstring.
    note : str
        Why a row failed beyond the numbers ("shape mismatch ...", "non-finite mismatch"), else "".
    """

    index: int
    type: str
    max_abs_diff: float
    tolerance: float
    passed: bool
    core_time_s: float
    reference_time_s: float
    reference: np.ndarray | None = field(default=None, repr=False, compare=False)
    scale: float = 1.0
    note: str = ""

    @property
    def allowed_diff(self) -> float:
        """The absolute difference this layer may reach: tolerance * scale."""
        return self.tolerance * self.scale

    def to_json(self) -> dict:
        """{"index", "type", "max_abs_diff", "passed"}; a non-finite difference is null."""
        d = self.max_abs_diff
        return {"index": self.index, "type": self.type,
                "max_abs_diff": d if math.isfinite(d) else None, "passed": self.passed}


# --------------------------------------------------------------------------------------------
# Small helpers


def _poll(cancelled: Cancelled) -> None:
    if cancelled is not None and cancelled():
        raise RunCancelled()


def _pad_plane(plane: np.ndarray, pads: tuple[int, int, int, int], mode: str,
               value: float = 0.0) -> np.ndarray:
    """Pad one (H, W) float64 plane by (top, bottom, left, right) with cv2.copyMakeBorder.

    Falls back to numpy.pad with the equivalent mode if OpenCV refuses the pad (older builds
    refuse some pads larger than the image); OpenCV 5.0 accepts them all and agrees with numpy.
    """
    top, bottom, left, right = (int(p) for p in pads)
    if not (top or bottom or left or right):
        return plane
    border, np_mode = _BORDERS[mode]
    fill = float(value) if mode == "constant" else 0.0
    try:
        return cv2.copyMakeBorder(plane, top, bottom, left, right, border, value=fill)
    except cv2.error:
        widths = ((top, bottom), (left, right))
        if np_mode == "constant":
            return np.pad(plane, widths, mode="constant", constant_values=fill)
        return np.pad(plane, widths, mode=np_mode)


def _conv_len(n_padded: int, k_eff: int, stride: int) -> int:
    """Output length of a window of k_eff taps sliding at `stride` over n_padded samples."""
    return (n_padded - k_eff) // stride + 1


def _pool_len(n: int, k: int, stride: int, before: int, after: int, dilation: int,
              ceil_mode: bool) -> int:
    """PyTorch's pooling output length; with ceil_mode a window starting in the bottom/right
    padding (or beyond) is dropped."""
    span = n + before + after - dilation * (k - 1) - 1
    if ceil_mode:
        out = math.ceil(span / stride) + 1
        if (out - 1) * stride >= n + before:
            out -= 1
        return out
    return span // stride + 1


def _dilated(kernel: np.ndarray, dh: int, dw: int) -> np.ndarray:
    """A (kh, kw) kernel with dh - 1 / dw - 1 zeros inserted between its taps."""
    kh, kw = kernel.shape
    if dh == 1 and dw == 1:
        return kernel
    out = np.zeros((dh * (kh - 1) + 1, dw * (kw - 1) + 1), dtype=kernel.dtype)
    out[::dh, ::dw] = kernel
    return out


def _as_2d(x: np.ndarray) -> np.ndarray:
    """(C, H, W) -> contiguous float64 (C*H, W) for OpenCV's element-wise functions."""
    c, h, w = x.shape
    return np.ascontiguousarray(x, dtype=np.float64).reshape(c * h, w)


def _finite_max_abs(a: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    m = float(np.max(np.abs(a)))
    if math.isfinite(m):
        return m
    fin = np.abs(a[np.isfinite(a)])
    return float(fin.max()) if fin.size else 0.0


# --------------------------------------------------------------------------------------------
# Per-layer references (float64 out)


def _conv_params(layer: Layer, c: int):
    """(weight (Cout, Cin/groups, kh, kw) float64, bias (Cout,) float64 or None, groups),
    rebuilt from the layer's plain attributes: scaled, flipped, the kernel form repeated."""
    if layer.weight is not None:
        w = np.asarray(layer.weight, dtype=np.float64)
        groups = int(layer.groups)
    else:
        k = np.asarray(layer.kernel, dtype=np.float64)
        w = np.broadcast_to(k, (c, 1) + k.shape)
        groups = c
    if layer.flip:
        w = w[:, :, ::-1, ::-1]
    w = np.ascontiguousarray(w) * float(layer.scale)
    bias = None
    if layer.bias is not None:
        b = np.asarray(layer.bias, dtype=np.float64).reshape(-1)
        bias = np.full(w.shape[0], b[0]) if b.shape[0] == 1 and w.shape[0] != 1 else b
    return w, bias, groups


def _ref_conv2d(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    c, h, wd = x.shape
    w, bias, groups = _conv_params(layer, c)
    cout, cin_g, kh, kw = w.shape
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    pads = layer.pads
    hp, wp = h + pads[0] + pads[1], wd + pads[2] + pads[3]
    keh, kew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    ho, wo = _conv_len(hp, keh, sh), _conv_len(wp, kew, sw)
    rows = slice(0, (ho - 1) * sh + 1, sh)
    cols = slice(0, (wo - 1) * sw + 1, sw)
    cout_g = cout // groups
    out = np.zeros((cout, ho, wo), dtype=np.float64)
    for g in range(groups):
        for ci in range(cin_g):
            _poll(cancelled)
            plane = _pad_plane(np.ascontiguousarray(x[g * cin_g + ci], dtype=np.float64), pads,
                               layer.padding_mode)
            for o in range(g * cout_g, (g + 1) * cout_g):
                k = w[o, ci]
                if not k.any():
                    continue
                full = cv2.filter2D(plane, cv2.CV_64F, _dilated(k, dh, dw), anchor=(0, 0),
                                    borderType=cv2.BORDER_CONSTANT)
                out[o] += full[rows, cols]
    if bias is not None:
        out += bias[:, None, None]
    return out


def _pool_geometry(layer: Layer, h: int, w: int, dilation: tuple[int, int]):
    (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
    (dh, dw) = dilation
    top, bottom, left, right = layer.pads
    ho = _pool_len(h, kh, sh, top, bottom, dh, layer.ceil_mode)
    wo = _pool_len(w, kw, sw, left, right, dw, layer.ceil_mode)
    keh, kew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    # extra padding past bottom / right as far as the last (ceil_mode) window reaches
    extra_b = max(0, (ho - 1) * sh + keh - (h + top + bottom))
    extra_r = max(0, (wo - 1) * sw + kew - (w + left + right))
    rows = slice(0, (ho - 1) * sh + 1, sh)
    cols = slice(0, (wo - 1) * sw + 1, sw)
    return (top, bottom + extra_b, left, right + extra_r), (keh, kew), rows, cols


def _ref_maxpool2d(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    c, h, w = x.shape
    (dh, dw) = layer.dilation
    pads, (keh, kew), rows, cols = _pool_geometry(layer, h, w, (dh, dw))
    element = np.zeros((keh, kew), dtype=np.uint8)
    element[::dh, ::dw] = 1
    out = []
    for ch in range(c):
        _poll(cancelled)
        plane = np.ascontiguousarray(x[ch], dtype=np.float64)
        t, b, l, r = pads
        if t or b or l or r:
            plane = cv2.copyMakeBorder(plane, t, b, l, r, cv2.BORDER_CONSTANT, value=-np.inf)
        full = cv2.dilate(plane, element, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT,
                          borderValue=-np.inf)
        out.append(full[rows, cols])
    return np.stack(out)


def _box_sums(plane: np.ndarray, keh: int, kew: int, rows: slice, cols: slice) -> np.ndarray:
    full = cv2.boxFilter(plane, cv2.CV_64F, (kew, keh), anchor=(0, 0), normalize=False,
                         borderType=cv2.BORDER_CONSTANT)
    return full[rows, cols]


def _ref_avgpool2d(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    c, h, w = x.shape
    pads, (keh, kew), rows, cols = _pool_geometry(layer, h, w, (1, 1))
    t, b, l, r = pads
    top, bottom, left, right = layer.pads
    hp, wp = h + t + b, w + l + r
    # Divisor: how many cells of each window lie in the padded input (count_include_pad) or in
    # the real input; never the ceil_mode overhang.
    mask = np.zeros((hp, wp), dtype=np.float64)
    if layer.count_include_pad:
        mask[: h + top + bottom, : w + left + right] = 1.0
    else:
        mask[top: top + h, left: left + w] = 1.0
    divisor = _box_sums(mask, keh, kew, rows, cols)
    out = []
    for ch in range(c):
        _poll(cancelled)
        plane = np.ascontiguousarray(x[ch], dtype=np.float64)
        if t or b or l or r:
            plane = cv2.copyMakeBorder(plane, t, b, l, r, cv2.BORDER_CONSTANT, value=0.0)
        out.append(_box_sums(plane, keh, kew, rows, cols) / divisor)
    return np.stack(out)


def _ref_pad(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    out = []
    for ch in range(x.shape[0]):
        _poll(cancelled)
        out.append(_pad_plane(np.ascontiguousarray(x[ch], dtype=np.float64), layer.pads,
                              layer.mode, layer.value))
    return np.stack(out)


def _ref_stride(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
    (sh, sw), (oh, ow) = layer.stride, layer.offset
    return np.array(x[:, oh::sh, ow::sw], dtype=np.float64)


def _elementwise(fn: Callable[[np.ndarray, Layer], np.ndarray]):
    def ref(layer: Layer, x: np.ndarray, cancelled: Cancelled) -> np.ndarray:
        return fn(_as_2d(x), layer).reshape(x.shape)

    return ref


def _relu(x2: np.ndarray, layer: Layer) -> np.ndarray:
    return cv2.threshold(x2, 0.0, 0.0, cv2.THRESH_TOZERO)[1]


def _leaky_relu(x2: np.ndarray, layer: Layer) -> np.ndarray:
    pos = cv2.threshold(x2, 0.0, 0.0, cv2.THRESH_TOZERO)[1]
    neg = cv2.threshold(x2, 0.0, 0.0, cv2.THRESH_TOZERO_INV)[1]
    return pos + float(layer.negative_slope) * neg


def _abs(x2: np.ndarray, layer: Layer) -> np.ndarray:
    return cv2.absdiff(x2, np.zeros_like(x2))


def _sigmoid(x2: np.ndarray, layer: Layer) -> np.ndarray:
    e = cv2.exp(-np.clip(x2, -_SIGMOID_CLIP, _SIGMOID_CLIP))
    return 1.0 / (1.0 + e)


def _tanh(x2: np.ndarray, layer: Layer) -> np.ndarray:
    e = cv2.exp(2.0 * np.clip(x2, -_TANH_CLIP, _TANH_CLIP))
    return (e - 1.0) / (e + 1.0)


_REFERENCES: dict[str, Callable[[Layer, np.ndarray, Cancelled], np.ndarray]] = {
    "conv2d": _ref_conv2d,
    "maxpool2d": _ref_maxpool2d,
    "avgpool2d": _ref_avgpool2d,
    "pad": _ref_pad,
    "stride": _ref_stride,
    "relu": _elementwise(_relu),
    "leaky_relu": _elementwise(_leaky_relu),
    "abs": _elementwise(_abs),
    "sigmoid": _elementwise(_sigmoid),
    "tanh": _elementwise(_tanh),
}


def _reference64(layer: Layer, x: np.ndarray, cancelled: Cancelled = None) -> np.ndarray:
    """The reference output in float64 (x: (C, H, W), already known to fit the layer)."""
    if not layer.enabled:
        return np.asarray(x, dtype=np.float64)
    try:
        ref = _REFERENCES[layer.type]
    except KeyError:
        raise NotImplementedError(f"no OpenCV reference for layer type {layer.type!r}") from None
    return ref(layer, x, cancelled)


def reference_forward(layer: Layer, x: Any) -> np.ndarray:
    """The output of one layer computed independently with OpenCV, as (C, H, W) float32.

    x is (H, W) or (C, H, W). A layer that does not fit x raises the core's PipelineError (without
    a layer index); a disabled layer passes x through.
    """
    x = as_chw(x)
    layer.output_shape(x.shape)
    return _reference64(layer, x).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Comparison


def _scale(layer: Layer, x: np.ndarray, ref: np.ndarray) -> float:
    """max(1, magnitude of the layer's arithmetic); see the module docstring."""
    if layer.enabled and layer.type in ("sigmoid", "tanh"):
        return 1.0
    m = max(_finite_max_abs(x), _finite_max_abs(ref))
    if layer.enabled and layer.type == "conv2d":
        w, bias, _ = _conv_params(layer, x.shape[0])
        wsum = float(np.abs(w).reshape(w.shape[0], -1).sum(axis=1).max())
        b = float(np.abs(bias).max()) if bias is not None else 0.0
        m = max(m, _finite_max_abs(x) * wsum + b)
    return max(1.0, m) if math.isfinite(m) else 1.0


def _compare(core: np.ndarray, ref: np.ndarray) -> tuple[float, str]:
    """(max |core - ref|, note). Equal infinities and NaN against NaN count as equal."""
    if core.shape != ref.shape:
        return math.inf, f"shape mismatch: core {tuple(core.shape)}, reference {tuple(ref.shape)}"
    if core.size == 0:
        return 0.0, ""
    c64 = np.asarray(core, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(c64 - ref)
    m = float(d.max())
    if math.isfinite(m):
        return m, ""
    same = (c64 == ref) | (np.isnan(c64) & np.isnan(ref))
    d = np.where(same, 0.0, d)
    d[np.isnan(d)] = math.inf
    m = float(d.max())
    return m, ("non-finite mismatch" if not math.isfinite(m) else "")


def crosscheck(
    pipeline: Pipeline,
    x: Any,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    keep_reference: bool = False,
    outputs: Sequence[np.ndarray] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[LayerCheck]:
    """Check every layer of `pipeline` on input `x` against the OpenCV reference.

    Both sides of row L get the core's output of layer L - 1 (x for the first layer), so that
    differences do not accumulate and each row isolates one layer.

    Parameters
    ----------
    pipeline : Pipeline
    x : (H, W) or (C, H, W) array
    tolerance : float
        Relative tolerance T: a layer passes when max_abs_diff <= T * max(1, magnitude), see the
        module docstring.
    keep_reference : bool
        Keep each reference output (float32) in its LayerCheck (for display; costs memory).
    outputs : list of arrays, optional
        The core's outputs from an earlier run (all layers, or a leading part of them: the rest are
        computed here). Their core_time_s is NaN.
    cancelled : callable, optional
        Polled between layers and between channels; RunCancelled is raised once it returns True.

    Raises
    ------
    PipelineError
        If the pipeline does not fit x (from ``pipeline.output_shapes``), before any work.
    ValueError
        If `outputs` has more entries than layers or an entry of the wrong shape.
    """
    if not (isinstance(tolerance, (int, float, np.integer, np.floating))
            and math.isfinite(float(tolerance)) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    tolerance = float(tolerance)
    x = as_chw(x)
    shapes = pipeline.output_shapes(x.shape)
    given: list[np.ndarray] = []
    if outputs is not None:
        if len(outputs) > len(pipeline.layers):
            raise ValueError(f"{len(outputs)} outputs given for {len(pipeline.layers)} layers")
        for i, out in enumerate(outputs):
            a = np.asarray(out)
            if a.shape != tuple(shapes[i + 1]):
                raise ValueError(f"output {i + 1} has shape {a.shape}, expected {shapes[i + 1]}")
            given.append(np.asarray(a, dtype=np.float32))

    checks: list[LayerCheck] = []
    prev = x
    for i, layer in enumerate(pipeline.layers):
        _poll(cancelled)
        if i < len(given):
            core, core_t = given[i], math.nan
        else:
            step = next(run_layers(pipeline.layers, prev, start=i, cancelled=cancelled))
            core, core_t = step.output, step.seconds
        t0 = time.perf_counter()
        ref = _reference64(layer, prev, cancelled)
        ref_t = time.perf_counter() - t0
        diff, note = _compare(np.asarray(core), ref)
        scale = _scale(layer, prev, ref)
        passed = bool(diff <= tolerance * scale)
        checks.append(LayerCheck(
            index=i + 1,
            type=layer.type,
            max_abs_diff=diff,
            tolerance=tolerance,
            passed=passed,
            core_time_s=core_t,
            reference_time_s=ref_t,
            reference=ref.astype(np.float32) if keep_reference else None,
            scale=scale,
            note=note,
        ))
        prev = np.asarray(core, dtype=np.float32)
    return checks
