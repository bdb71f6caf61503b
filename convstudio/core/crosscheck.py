"""The per-layer cross-check of the NumPy core against an independent OpenCV / float64 reference
of every layer type (``convstudio check`` and the app's cross-check panel). The references, and
how each is computed (a table per layer type), are in :mod:`convstudio.core.references`.

Tolerance
---------
:func:`crosscheck` feeds both sides the core's previous output, so each row isolates one layer.
A layer passes when ``max_abs_diff <= tolerance * scale`` where ``scale = max(1, M)`` and M is the
magnitude the layer's float32 arithmetic works at:

* conv2d, conv_transpose2d: ``max|x| * max_o sum|w_o| + max|bias|`` (w_o: every weight
  output channel o multiplies), a bound on every partial sum (the rounding
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

import numpy as np

from .layers import Layer
from .pipeline import Pipeline, as_chw, run_layers
from .references import conv_params, poll
from .references import reference64 as _reference64  # one name to replace in tests

__all__ = ["DEFAULT_TOLERANCE", "LayerCheck", "crosscheck", "reference_forward"]

DEFAULT_TOLERANCE = 1e-4


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


def _finite_max_abs(a: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    m = float(np.max(np.abs(a)))
    if math.isfinite(m):
        return m
    fin = np.abs(a[np.isfinite(a)])
    return float(fin.max()) if fin.size else 0.0


# --------------------------------------------------------------------------------------------
# The reference, one layer


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


def _weighted_sum_magnitude(w_per_output: np.ndarray, bias: np.ndarray | None, x: np.ndarray) -> float:
    """max|x| * max_o sum|w_o| + max|bias|: a bound on every partial sum of a weighted sum whose
    output channel o multiplies the weights w_per_output[o] (any shape after the first axis)."""
    wsum = float(np.abs(w_per_output).reshape(w_per_output.shape[0], -1).sum(axis=1).max())
    b = float(np.abs(np.asarray(bias, dtype=np.float64)).max()) if bias is not None else 0.0
    return _finite_max_abs(x) * wsum + b


def _conv2d_magnitude(layer: Layer, x: np.ndarray) -> float:
    w, bias, _ = conv_params(layer, x.shape[0])
    return _weighted_sum_magnitude(w, bias, x)


def _conv_transpose2d_magnitude(layer: Layer, x: np.ndarray) -> float:
    w = np.asarray(layer.weight, dtype=np.float64)  # (Cin, Cout/groups, kh, kw)
    cin, cout_g = w.shape[:2]
    per_output = w.reshape(layer.groups, cin // layer.groups, cout_g, -1).transpose(0, 2, 1, 3)
    return _weighted_sum_magnitude(per_output.reshape(layer.groups * cout_g, -1), layer.bias, x)


# Layer type -> the magnitude its float32 arithmetic works at, beyond max(|input|, |output|)
# (module docstring, "Tolerance"); sigmoid and tanh work at 1 whatever their input.
_MAGNITUDES: dict[str, Callable[[Layer, np.ndarray], float]] = {
    "conv2d": _conv2d_magnitude,
    "conv_transpose2d": _conv_transpose2d_magnitude,
}
_UNIT_SCALE_TYPES = frozenset({"sigmoid", "tanh"})


def _scale(layer: Layer, x: np.ndarray, ref: np.ndarray) -> float:
    """max(1, magnitude of the layer's arithmetic); see the module docstring."""
    if layer.enabled and layer.type in _UNIT_SCALE_TYPES:
        return 1.0
    m = max(_finite_max_abs(x), _finite_max_abs(ref))
    magnitude = _MAGNITUDES.get(layer.type) if layer.enabled else None
    if magnitude is not None:
        m = max(m, magnitude(layer, x))
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


def _given_outputs(outputs: Sequence[np.ndarray] | None, shapes: list) -> list[np.ndarray]:
    """The core's outputs passed to :func:`crosscheck`, checked against the layers' shapes."""
    if outputs is None:
        return []
    if len(outputs) > len(shapes) - 1:
        raise ValueError(f"{len(outputs)} outputs given for {len(shapes) - 1} layers")
    given = []
    for i, out in enumerate(outputs):
        a = np.asarray(out)
        if a.shape != tuple(shapes[i + 1]):
            raise ValueError(f"output {i + 1} has shape {a.shape}, expected {shapes[i + 1]}")
        given.append(np.asarray(a, dtype=np.float32))
    return given


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
    given = _given_outputs(outputs, pipeline.output_shapes(x.shape))

    checks: list[LayerCheck] = []
    prev = x
    for i, layer in enumerate(pipeline.layers):
        poll(cancelled)
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
