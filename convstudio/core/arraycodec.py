"""The compact form of a numeric array in a pipeline file: raw little-endian float32 in base64.

``{"dtype": "float32", "shape": [64, 3, 3, 3], "base64": "..."}`` stands wherever a nested list
of numbers may (a conv layer's ``weight``, ``kernel`` or ``bias``); see docs/pipeline-format.md,
"Compact arrays". A large model's weights then take a third more bytes than the float32 values
themselves and read in a fraction of a second, where nested lists of decimals take about seven
times the bytes and tens of seconds (measured in docs/pipeline-format.md).

Reading checks everything it can before decoding: the keys, the dtype, the shape against the
number of dimensions and the size limit, and the length of the base64 text against the shape, so a
small file never makes the reader allocate more than the shape it declares, and that is bounded.
"""

from __future__ import annotations

import base64
import binascii
import copy
import math
from typing import Any

import numpy as np

from .errors import PipelineError

__all__ = ["COMPACT_KEYS", "encode_array", "decode_array", "compact_pipeline_json"]

COMPACT_KEYS = frozenset({"dtype", "shape", "base64"})
# Only float32: the values a layer holds, stored exactly. Little-endian whatever the machine.
_DTYPES = {"float32": np.dtype("<f4")}


def encode_array(a: np.ndarray) -> dict:
    """The compact JSON object of `a`, as float32 (a's values must fit float32)."""
    arr = np.ascontiguousarray(a, dtype=_DTYPES["float32"])
    return {"dtype": "float32", "shape": [int(n) for n in arr.shape],
            "base64": base64.b64encode(arr.tobytes()).decode("ascii")}


def decode_array(v: Any, key: str, ndim: int, *, max_elements: int) -> np.ndarray:
    """A compact JSON object -> read-only float32 array of `ndim` dimensions.

    Raises PipelineError naming `key` for a malformed object, a shape of the wrong depth, with a
    zero or too many elements, and for base64 text whose length does not match the shape (checked
    before anything is decoded). Finiteness is left to the caller, as for nested lists.
    """
    if not isinstance(v, dict):
        raise PipelineError("must be a nested list or a compact array object", key=key)
    for k in v:
        if k not in COMPACT_KEYS:
            raise PipelineError(f"compact array: unknown key {k!r} (allowed: base64, dtype, shape)",
                                key=key)
    for k in sorted(COMPACT_KEYS):
        if k not in v:
            raise PipelineError(f"compact array: '{k}' is required", key=key)
    dtype = v["dtype"]
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise PipelineError(f"compact array: 'dtype' must be one of {', '.join(_DTYPES)}, got "
                            f"{dtype!r}"[:200], key=key)
    shape = _shape(v["shape"], key, ndim, max_elements)
    text = v["base64"]
    if not isinstance(text, str):
        raise PipelineError("compact array: 'base64' must be a string", key=key)
    nbytes = math.prod(shape) * _DTYPES[dtype].itemsize
    expected = 4 * ((nbytes + 2) // 3)  # padded base64, no line breaks
    if len(text) != expected:
        raise PipelineError(f"compact array: 'base64' has {len(text)} characters where shape "
                            f"{list(shape)} needs {expected}", key=key)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PipelineError("compact array: 'base64' is not valid base64 text", key=key) from None
    if len(raw) != nbytes:  # padding characters inside the text can shorten it
        raise PipelineError(f"compact array: 'base64' holds {len(raw)} bytes where shape "
                            f"{list(shape)} needs {nbytes}", key=key)
    arr = np.frombuffer(raw, dtype=_DTYPES[dtype]).reshape(shape).astype(np.float32)
    arr.setflags(write=False)
    return arr


def _shape(v: Any, key: str, ndim: int, max_elements: int) -> tuple[int, ...]:
    if not isinstance(v, list) or len(v) != ndim:
        raise PipelineError(f"compact array: 'shape' must be a list of {ndim} sizes", key=key)
    n = 1
    for s in v:
        if not isinstance(s, int) or isinstance(s, bool) or s < 1:
            raise PipelineError(f"compact array: 'shape' sizes must be integers of at least 1, got "
                                f"{v}"[:200], key=key)
        n *= s
        if n > max_elements:
            raise PipelineError(f"has more than {max_elements} numbers", key=key)
    return tuple(v)


def compact_pipeline_json(pipeline: Any) -> str:
    """A pipeline's file text (docs/pipeline-format.md) with every layer's ``weight`` in the
    compact form; everything else as :meth:`Pipeline.to_json` writes it."""
    from .pipeline import FORMAT, VERSION, _dump_json

    d: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    if pipeline.name is not None:
        d["name"] = pipeline.name
    layers = []
    for layer in pipeline.layers:
        weight = getattr(layer, "weight", None)
        if isinstance(weight, np.ndarray):
            # the other keys from a copy holding a one-number weight: nested lists of a large
            # weight (tolist) would cost more than everything else together
            stub = copy.copy(layer)
            object.__setattr__(stub, "weight", np.zeros((1,) * weight.ndim, np.float32))
            spec = stub.to_dict()
            spec["weight"] = encode_array(weight)
        else:
            spec = layer.to_dict()
        layers.append(spec)
    d["layers"] = layers
    return _dump_json(d)
