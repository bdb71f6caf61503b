"""ONNX operators as ConvStudio layers: one handler per operator, used by
:mod:`convstudio.core.onnx_import` (which walks the graph and owns the layer list).

A handler reads one node's attributes and constant inputs and hands layer JSON objects (with NumPy
arrays for the weights, as :func:`~convstudio.core.layers.layer_from_dict` accepts) to the trunk.
It raises :class:`Unsupported` when the layer types of docs/pipeline-format.md cannot express the
node (the import then stops there and says why), and ``ModelImportError`` when the model itself
is malformed. The mapping is documented in docs/cli.md, "import".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .onnx_model import ModelImportError

__all__ = ["Unsupported", "HANDLERS", "ACTIVATIONS", "unsupported_reason", "padding_json"]


class Unsupported(Exception):
    """The node cannot be expressed as ConvStudio layers; the message says why."""


# AttributeProto.AttributeType
_A_FLOAT, _A_INT, _A_STRING, _A_FLOATS, _A_INTS = 1, 2, 3, 6, 7
_MAX_LIST = 16  # no attribute this importer reads has more entries


def attributes(node: Any, allowed: set[str]) -> dict[str, Any]:
    """A node's attributes as Python values; Unsupported for one this importer does not know."""
    out: dict[str, Any] = {}
    for a in node.attribute:
        if a.name not in allowed:
            raise Unsupported(f"its attribute '{a.name}' is not supported")
        if a.type == _A_FLOAT:
            out[a.name] = float(a.f)
        elif a.type == _A_INT:
            out[a.name] = int(a.i)
        elif a.type == _A_STRING:
            out[a.name] = a.s.decode("utf-8", "replace")
        elif a.type in (_A_INTS, _A_FLOATS):
            values = a.ints if a.type == _A_INTS else a.floats
            if len(values) > _MAX_LIST:
                raise ModelImportError(f"attribute '{a.name}' has {len(values)} entries")
            out[a.name] = [int(v) if a.type == _A_INTS else float(v) for v in values]
        else:
            raise Unsupported(f"its attribute '{a.name}' is of a kind ConvStudio does not read")
    return out


def _pair(a: dict, key: str, default: int, lo: int = 1) -> tuple[int, int]:
    v = a.get(key)
    if v is None:
        return (default, default)
    if not isinstance(v, list) or len(v) != 2:
        raise Unsupported(f"'{key}' {v} is not for a 2-D image (two values expected)")
    if min(v) < lo:
        raise Unsupported(f"'{key}' {v} has values below {lo}")
    return (v[0], v[1])


def padding_json(pads: tuple[int, int, int, int]) -> Any:
    """(top, bottom, left, right) in its shortest pipeline-file form."""
    t, b, l, r = pads
    if t == b and l == r:
        return t if t == l else [t, l]
    return [t, b, l, r]


def _pads(trunk: Any, a: dict, kernel: tuple[int, int], stride: tuple[int, int],
          dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from ``pads`` or ``auto_pad`` (docs/cli.md, "import")."""
    auto = a.get("auto_pad", "NOTSET") or "NOTSET"
    if auto == "NOTSET":
        p = a.get("pads", [0, 0, 0, 0])
        if len(p) != 4:
            raise Unsupported(f"'pads' {p} is not for a 2-D image (four values expected)")
        if min(p) < 0:
            raise Unsupported(f"negative 'pads' {p} (cropping) have no ConvStudio layer")
        return (p[0], p[2], p[1], p[3])  # ONNX: [top, left, bottom, right]
    if auto == "VALID":
        return (0, 0, 0, 0)
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise ModelImportError(f"'auto_pad' {auto!r} is not an ONNX padding")
    sides = []
    for axis, (k, s, d) in enumerate(zip(kernel, stride, dilation)):
        span = d * (k - 1) + 1
        if s == 1:
            total = span - 1
        else:
            n = trunk.size(axis)
            if n is None:
                raise Unsupported(f"'auto_pad' {auto} with stride {s} pads by the input size, which "
                                  "the model leaves open")
            total = max((math.ceil(n / s) - 1) * s + span - n, 0)
            trunk.note(f"'auto_pad' {auto} resolved for the model's input size")
        small, large = total // 2, total - total // 2
        sides += [small, large] if auto == "SAME_UPPER" else [large, small]
    return tuple(sides)  # type: ignore[return-value]


def _weight(trunk: Any, node: Any, slot: int, what: str, ndim: int) -> np.ndarray | None:
    if len(node.input) <= slot or not node.input[slot]:
        return None
    w = trunk.graph.constant(node.input[slot], what=what)
    if w.dtype.kind != "f":
        raise ModelImportError(f"{what} '{node.input[slot]}' is not floating point ({w.dtype})")
    if w.ndim != ndim:
        if what == "weight":
            raise Unsupported(f"only 2-D convolutions (a 4-D weight) can be imported; this weight "
                              f"is {w.ndim}-D")
        raise ModelImportError(f"{what} '{node.input[slot]}' has shape {list(w.shape)}")
    return w


def _conv(trunk: Any, node: Any) -> None:
    a = attributes(node, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"})
    w = _weight(trunk, node, 1, "weight", 4)
    if w is None:
        raise ModelImportError("a Conv node without a weight")
    b = _weight(trunk, node, 2, "bias", 1)
    k = (int(w.shape[2]), int(w.shape[3]))
    if "kernel_shape" in a and tuple(a["kernel_shape"]) != k:
        raise ModelImportError(f"'kernel_shape' {a['kernel_shape']} differs from the weight's {list(k)}")
    stride, dilation = _pair(a, "strides", 1), _pair(a, "dilations", 1)
    d: dict[str, Any] = {"type": "conv2d", "weight": w.astype(np.float32), "stride": list(stride),
                         "padding": padding_json(_pads(trunk, a, k, stride, dilation)),
                         "dilation": list(dilation), "groups": a.get("group", 1)}
    if b is not None:
        d["bias"] = b.astype(np.float32)
    trunk.emit(node, d, foldable=True)


def _conv_transpose(trunk: Any, node: Any) -> None:
    a = attributes(node, {"auto_pad", "dilations", "group", "kernel_shape", "output_padding",
                          "output_shape", "pads", "strides"})
    w = _weight(trunk, node, 1, "weight", 4)
    if w is None:
        raise ModelImportError("a ConvTranspose node without a weight")
    b = _weight(trunk, node, 2, "bias", 1)
    k = (int(w.shape[2]), int(w.shape[3]))
    stride, dilation = _pair(a, "strides", 1), _pair(a, "dilations", 1)
    out_pad = _pair(a, "output_padding", 0, lo=0)
    auto = a.get("auto_pad", "NOTSET") or "NOTSET"
    padding, extra = [], []
    for axis in (0, 1):
        span = dilation[axis] * (k[axis] - 1) + 1
        full = span + out_pad[axis]  # the output size is (n - 1) * s + full - pads
        if "output_shape" in a or auto in ("SAME_UPPER", "SAME_LOWER"):
            if "output_shape" in a:
                n = trunk.size(axis)
                if n is None or len(a["output_shape"]) != 2:
                    raise Unsupported("'output_shape' needs the model's input size")
                total = (n - 1) * stride[axis] + full - a["output_shape"][axis]
            else:
                total = full - stride[axis]  # the output is n * s
            small, large = total // 2, total - total // 2
            begin, end = (small, large) if auto == "SAME_UPPER" else (large, small)
        else:
            p = _pads(trunk, {"pads": a.get("pads", [0, 0, 0, 0])}, k, stride, dilation)
            begin, end = p[2 * axis], p[2 * axis + 1]
        # PyTorch crops `padding` on both sides and adds `output_padding` at the end.
        op = out_pad[axis] + begin - end
        if begin < 0 or not 0 <= op < max(stride[axis], dilation[axis]):
            raise Unsupported(f"its padding (begin {begin}, end {end}, output_padding "
                              f"{out_pad[axis]}) has no conv_transpose2d equivalent")
        padding.append(begin)
        extra.append(op)
    d: dict[str, Any] = {"type": "conv_transpose2d", "weight": w.astype(np.float32),
                         "stride": list(stride), "padding": padding, "output_padding": extra,
                         "dilation": list(dilation), "groups": a.get("group", 1)}
    if b is not None:
        d["bias"] = b.astype(np.float32)
    trunk.emit(node, d, foldable=True)


def _pool(trunk: Any, node: Any) -> None:
    is_max = node.op_type == "MaxPool"
    allowed = {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "strides"}
    a = attributes(node, allowed | ({"storage_order"} if is_max else {"count_include_pad"}))
    if "kernel_shape" not in a:
        raise ModelImportError(f"a {node.op_type} node without 'kernel_shape'")
    if is_max and len(node.output) > 1 and trunk.used(node.output[1]):
        raise Unsupported("its second output (the indices of the maxima) is used")
    k = _pair(a, "kernel_shape", 1)
    stride, dilation = _pair(a, "strides", 1), _pair(a, "dilations", 1)
    if not is_max and dilation != (1, 1):
        raise Unsupported("ConvStudio's average pooling has no dilation")
    pads = _pads(trunk, a, k, stride, dilation)
    for p, kk, dd in zip(pads, (k[0], k[0], k[1], k[1]), (dilation[0], dilation[0], dilation[1], dilation[1])):
        most = min(kk // 2, (dd * (kk - 1) + 1) // 2) if is_max else kk // 2
        if p > most:
            raise Unsupported(f"padding {p} is more than half the window ({most} at most), which "
                              "ConvStudio's pooling (PyTorch's rule) does not allow")
    d: dict[str, Any] = {"type": "maxpool2d" if is_max else "avgpool2d", "kernel_size": list(k),
                         "stride": list(stride), "padding": padding_json(pads),
                         "ceil_mode": bool(a.get("ceil_mode", 0))}
    if is_max:
        d["dilation"] = list(dilation)
    else:
        d["count_include_pad"] = bool(a.get("count_include_pad", 0))  # ONNX's default: 0
    trunk.emit(node, d)


_PAD_MODES = {"constant": "zeros", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def _pad(trunk: Any, node: Any) -> None:
    a = attributes(node, {"mode", "pads", "value"})
    mode = a.get("mode", "constant")
    if mode not in _PAD_MODES:
        raise Unsupported(f"padding mode {mode!r} has no ConvStudio equivalent")
    value = a.get("value", 0.0)
    if trunk.graph.opset >= 11 or "pads" not in a:
        if len(node.input) < 2 or not node.input[1]:
            raise ModelImportError("a Pad node without pads")
        pads = [int(v) for v in trunk.graph.constant(node.input[1], what="pads", max_elements=8)]
        if len(node.input) > 2 and node.input[2]:
            v = trunk.graph.constant(node.input[2], what="constant_value", max_elements=1)
            value = float(v.reshape(-1)[0]) if v.size else 0.0
        if len(node.input) > 3 and node.input[3]:
            axes = [int(x) % 4 for x in trunk.graph.constant(node.input[3], what="axes", max_elements=4)]
            full = [0] * 8
            for i, ax in enumerate(axes):
                full[ax], full[4 + ax] = pads[i], pads[len(axes) + i]
            pads = full
    else:
        pads = a["pads"]
    if len(pads) != 8:
        raise Unsupported(f"pads {pads} are not for a 4-D (N, C, H, W) tensor")
    if pads[0] or pads[1] or pads[4] or pads[5]:
        raise Unsupported("it pads the batch or channel axis")
    if min(pads) < 0:
        raise Unsupported("negative pads (cropping) have no ConvStudio layer")
    d: dict[str, Any] = {"type": "pad", "padding": padding_json((pads[2], pads[6], pads[3], pads[7])),
                         "mode": _PAD_MODES[mode]}
    if mode == "constant" and value != 0.0:
        d["mode"], d["value"] = "constant", value
    trunk.emit(node, d)


def _batch_norm(trunk: Any, node: Any) -> None:
    a = attributes(node, {"epsilon", "momentum", "training_mode", "spatial", "is_test",
                          "consumed_inputs"})
    if a.get("training_mode", 0) or a.get("spatial", 1) != 1:
        raise Unsupported("only inference-mode, per-channel batch normalisation can be folded")
    if any(trunk.used(o) for o in node.output[1:] if o):
        raise Unsupported("its running statistics outputs are used")
    names = ("scale", "B", "mean", "var")
    if len(node.input) < 5:
        raise ModelImportError("a BatchNormalization node needs five inputs")
    scale, beta, mean, var = (trunk.graph.constant(node.input[i + 1], what=n).astype(np.float64)
                              for i, n in enumerate(names))
    if not (scale.ndim == beta.ndim == mean.ndim == var.ndim == 1
            and scale.shape == beta.shape == mean.shape == var.shape):
        raise ModelImportError("BatchNormalization's scale, B, mean and var differ in shape")
    with np.errstate(all="ignore"):
        s = scale / np.sqrt(var + a.get("epsilon", 1e-5))
        shift = beta - mean * s
    if not (np.isfinite(s).all() and np.isfinite(shift).all()):
        raise ModelImportError("BatchNormalization's statistics are not finite (a negative variance?)")
    trunk.fold_affine(node, s, shift)


def _skip(trunk: Any, node: Any) -> None:
    if node.op_type == "Dropout":
        if any(trunk.used(o) for o in node.output[1:] if o):
            raise Unsupported("its mask output is used")
        if len(node.input) > 2 and node.input[2]:
            mode = trunk.graph.constant(node.input[2], what="training_mode", max_elements=1)
            if mode.size and bool(mode.reshape(-1)[0]):
                raise Unsupported("dropout in training mode is random")
    trunk.skip(node)


def _activation(kind: str) -> Callable[[Any, Any], None]:
    def handler(trunk: Any, node: Any) -> None:
        a = attributes(node, {"alpha"} if kind == "leaky_relu" else set())
        d: dict[str, Any] = {"type": kind}
        if kind == "leaky_relu":
            d["negative_slope"] = a.get("alpha", 0.01)
        trunk.emit(node, d)

    return handler


ACTIVATIONS = {"Relu": "relu", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
               "Abs": "abs"}

HANDLERS: dict[str, Callable[[Any, Any], None]] = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "MaxPool": _pool, "AveragePool": _pool,
    "Pad": _pad, "BatchNormalization": _batch_norm, "Identity": _skip, "Dropout": _skip,
    **{op: _activation(kind) for op, kind in ACTIVATIONS.items()},
}

_HEAD_OPS = {"Flatten", "Gemm", "MatMul", "Reshape", "GlobalAveragePool", "GlobalMaxPool", "Squeeze",
             "Softmax", "LogSoftmax"}


def unsupported_reason(op: str) -> str:
    """Why an operator without a handler ends the import."""
    if op in _HEAD_OPS:
        return f"the convolutional trunk ends here (ConvStudio has no {op} layer)"
    if op in ("Elu", "Selu", "Celu", "PRelu", "HardSigmoid", "HardSwish", "Softplus", "Softsign",
              "Gelu", "Mish", "Clip", "ThresholdedRelu"):
        return (f"ConvStudio has no {op} activation (it has "
                f"{', '.join(sorted(set(ACTIVATIONS.values())))})")
    return f"ConvStudio has no layer for {op}"
