"""Layer limits and the validation / parsing helpers every layer type shares.

Each helper checks one JSON value and raises :class:`PipelineError` naming its key; the pipeline
adds the layer index. The layer classes live in :mod:`convstudio.core.layers` (which re-exports the
public names here), their base class in :mod:`convstudio.core.layerbase`.

Limits (refused, not allocated):

* kernel / pooling window sides up to ``MAX_KERNEL`` (255);
* ``MAX_CHANNELS`` (4096) input or output channels per conv layer and ``MAX_WEIGHTS`` (16 Mi)
  numbers in one weight tensor;
* stride and dilation up to ``MAX_STRIDE`` (1024) and ``MAX_DILATION`` (255), padding up to
  ``MAX_PADDING`` (4096) per side;
* a layer output of more than ``MAX_OUTPUT_ELEMENTS`` (512 Mi floats, 2 GiB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .arraycodec import decode_array
from .errors import PipelineError

MAX_KERNEL = 255
MAX_CHANNELS = 4096
MAX_WEIGHTS = 1 << 24
MAX_STRIDE = 1024
MAX_DILATION = 255
MAX_PADDING = 4096
MAX_OUTPUT_ELEMENTS = 1 << 29

CONV_PAD_MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")
PAD_LAYER_MODES = CONV_PAD_MODES + ("constant",)

Shape = tuple[int, int, int]
Pads = tuple[int, int, int, int]
PaddingSpec = Any  # "same" | "valid" | int | (ph, pw) | (top, bottom, left, right)


@dataclass(frozen=True)
class AxisStep:
    """How one layer transforms (receptive field, jump, start) along one axis.

    r_L = r + (kernel - 1) * j;  s_L = s + shift * j;  j_L = j * stride.

    Layers that enlarge their input (transposed convolution, upsampling) step by fractions of an
    input pixel: their values are then exact ``fractions.Fraction`` (docs/semantics.md,
    "Receptive field").
    """

    kernel: int | Fraction = 1
    stride: int | Fraction = 1
    shift: int | Fraction = 0


# --------------------------------------------------------------------------------------------
# Validation helpers: each raises PipelineError naming the key; the pipeline adds the layer index.


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _int(v: Any, key: str, *, lo: int, hi: int) -> int:
    if not _is_int(v):
        raise PipelineError(f"must be an integer, got {_describe(v)}", key=key)
    if not lo <= v <= hi:
        raise PipelineError(f"must be between {lo} and {hi}, got {v}", key=key)
    return int(v)


def _pair(v: Any, key: str, *, lo: int, hi: int) -> tuple[int, int]:
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise PipelineError(f"must be an integer or a pair [h, w], got a list of {len(v)}", key=key)
        return (_int(v[0], key, lo=lo, hi=hi), _int(v[1], key, lo=lo, hi=hi))
    n = _int(v, key, lo=lo, hi=hi)
    return (n, n)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _fits_float32(v: Any) -> bool:
    """True for a finite number that float32 can hold (ints too large for a float included)."""
    try:
        return abs(float(v)) <= _FLOAT32_MAX
    except OverflowError:
        return False


def _number(v: Any, key: str) -> float:
    if not _is_number(v):
        raise PipelineError(f"must be a number, got {_describe(v)}", key=key)
    if not _fits_float32(v):
        raise PipelineError(f"must be a finite number within float32 range, got {_describe(v)}",
                            key=key)
    return float(v)


def _check_scaled(weights: np.ndarray, scale: float, key: str = "scale") -> None:
    """Refuse weights whose effective value, ``w * scale`` in float32, is not finite.

    Each number is within float32 on its own, but their product may not be (a kernel of 2s with
    ``"scale": 3e38``): such a layer is refused when the pipeline is read, not when it runs.
    float32 multiplication is monotonic in ``|w|``, so the largest weight decides.
    """
    if scale == 1.0 or weights.size == 0:
        return
    peak = np.float32(np.max(np.abs(weights)))
    with np.errstate(over="ignore"):
        effective = peak * np.float32(scale)
    if not np.isfinite(effective):
        raise PipelineError(
            f"the weights times the scale leave the float32 range: {float(peak):.4g} x "
            f"{float(scale):.4g} = {float(peak) * float(scale):.4g} (float32 holds at most "
            f"{_FLOAT32_MAX:.4g})", key=key)


def _bool(v: Any, key: str) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise PipelineError(f"must be true or false, got {_describe(v)}", key=key)
    return bool(v)


def _choice(v: Any, key: str, choices: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v not in choices:
        raise PipelineError(f"must be one of {', '.join(choices)}; got {_describe(v)}", key=key)
    return v


def _describe(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v) if len(v) < 40 else repr(v[:37] + "...")
    if isinstance(v, (list, tuple)):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, (float, np.floating)) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")  # as JSON spells them
    if _is_number(v):
        r = repr(v)
        return r if len(r) < 40 else r[:20] + f"... ({len(r)} characters)"
    return type(v).__name__


def _numeric_array(v: Any, key: str, ndim: int, *, max_side: int | None = None) -> np.ndarray:
    """A rectangular nested list of finite numbers with exactly `ndim` levels -> float32 array.

    A compact array object (:mod:`convstudio.core.arraycodec`, docs/pipeline-format.md) is accepted
    too: it is decoded, sizes checked first, and then checked as an array is."""
    shape: list[int] = []

    def walk(node: Any, depth: int, path: str) -> None:
        if depth == ndim:
            if not _is_number(node):
                raise PipelineError(f"element {path} must be a number, got {_describe(node)}", key=key)
            if not _fits_float32(node):
                raise PipelineError(f"element {path} must be a finite number within float32 range, "
                                    f"got {_describe(node)}", key=key)
            return
        if not isinstance(node, (list, tuple)):
            raise PipelineError(
                f"must be a {ndim}-D nested list; {path or 'the value'} is {_describe(node)}", key=key)
        if len(node) == 0:
            raise PipelineError(f"{path or 'the value'} is empty", key=key)
        if len(shape) == depth:
            shape.append(len(node))
            if max_side is not None and depth >= ndim - 2 and len(node) > max_side:
                raise PipelineError(f"kernel side {len(node)} is over the limit of {max_side}", key=key)
        elif shape[depth] != len(node):
            raise PipelineError(
                f"is ragged: {path or 'the value'} has {len(node)} entries where {shape[depth]} were "
                "expected", key=key)
        if math.prod(shape) > MAX_WEIGHTS:
            raise PipelineError(f"has more than {MAX_WEIGHTS} numbers", key=key)
        for i, child in enumerate(node):
            walk(child, depth + 1, f"{path}[{i}]")

    if isinstance(v, dict):
        v = decode_array(v, key, ndim, max_elements=MAX_WEIGHTS)
    if isinstance(v, np.ndarray):
        if v.ndim != ndim or v.size == 0:
            raise PipelineError(f"must be a non-empty {ndim}-D array, got shape {v.shape}", key=key)
        if v.dtype.kind not in "iuf":
            raise PipelineError(f"must be an array of real numbers, got dtype {v.dtype}", key=key)
        if max_side is not None and max(v.shape[-2:]) > max_side:
            raise PipelineError(f"kernel side {max(v.shape[-2:])} is over the limit of {max_side}",
                                key=key)
        if v.size > MAX_WEIGHTS:
            raise PipelineError(f"has more than {MAX_WEIGHTS} numbers", key=key)
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below
            arr = np.array(v, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise PipelineError("must contain only finite numbers within float32 range", key=key)
    else:
        walk(v, 0, "")  # every element is a number within float32 range
        arr = np.array(v, dtype=np.float64).astype(np.float32)
    arr.setflags(write=False)
    return arr


def _padding(v: Any, key: str = "padding") -> PaddingSpec:
    if isinstance(v, str):
        if v not in ("same", "valid"):
            raise PipelineError(f"must be 'same', 'valid', an integer, [ph, pw] or "
                                f"[top, bottom, left, right]; got {_describe(v)}", key=key)
        return v
    if isinstance(v, (list, tuple)):
        if len(v) not in (2, 4):
            raise PipelineError("must be an integer, [ph, pw] or [top, bottom, left, right]; "
                                f"got a list of {len(v)}", key=key)
        return tuple(_int(p, key, lo=0, hi=MAX_PADDING) for p in v)
    return _int(v, key, lo=0, hi=MAX_PADDING)


def _resolve_padding(spec: PaddingSpec, kernel: tuple[int, int], dilation: tuple[int, int]) -> Pads:
    """(top, bottom, left, right) for a padding spec.

    "same" pads d*(k - 1) in total per axis, ceil(total/2) on top/left and floor(total/2) on
    bottom/right, as the tutorial splits it (OpenCV's anchor k//2 agrees).
    """
    if spec == "valid":
        return (0, 0, 0, 0)
    if spec == "same":
        th = dilation[0] * (kernel[0] - 1)
        tw = dilation[1] * (kernel[1] - 1)
        return ((th + 1) // 2, th // 2, (tw + 1) // 2, tw // 2)
    if isinstance(spec, tuple):
        if len(spec) == 2:
            return (spec[0], spec[0], spec[1], spec[1])
        return spec  # type: ignore[return-value]
    return (spec, spec, spec, spec)


def _padding_to_json(spec: PaddingSpec) -> Any:
    return list(spec) if isinstance(spec, tuple) else spec


def _pair_to_json(p: tuple[int, int]) -> Any:
    return p[0] if p[0] == p[1] else list(p)


def _check_keys(d: dict, allowed: set[str]) -> None:
    for k in d:
        if k not in allowed:
            raise PipelineError(f"unknown key (allowed: {', '.join(sorted(allowed))})", key=str(k))


def _check_output(shape: Shape, key: str | None, *, limit: bool = True) -> Shape:
    """`key` names the setting that decides the output size (the window, for most layers).
    `limit`: refuse an output over MAX_OUTPUT_ELEMENTS (a whole layer held in memory); a tiled run
    holds tiles only and asks without it (docs/scale.md)."""
    c, h, w = shape
    if h < 1 or w < 1:
        raise PipelineError(f"output would be {h} x {w}: the window is larger than its padded input",
                            key=key)
    if limit and c * h * w > MAX_OUTPUT_ELEMENTS:
        raise PipelineError(
            f"output {c} x {h} x {w} ({c * h * w * 4 / 2**30:.1f} GiB) is over the limit of "
            f"{MAX_OUTPUT_ELEMENTS * 4 // 2**30} GiB", key=key)
    return shape


def _array_key(a: np.ndarray | None) -> Any:
    return None if a is None else (a.shape, a.tobytes())


# --------------------------------------------------------------------------------------------


def _pair_text(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}x{p[1]}"
