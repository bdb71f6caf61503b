"""Small ONNX models built with ``onnx.helper`` for the import tests, their float64 reference,
and a float32 error bound for comparing an imported pipeline's output with it.

:class:`Net` records nodes and random weights once and writes the same model in float32 (what is
imported) or float64 (what ``onnx.reference.ReferenceEvaluator``, ONNX's own pure-NumPy
interpreter, evaluates as the reference). The weights are drawn in float32, so both models hold
exactly the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

U = 2.0 ** -24  # float32 unit roundoff


class Net:
    """A chain of ONNX nodes from the input "x" (1, C, H, W), with random float32 weights."""

    def __init__(self, c: int = 3, h: int | None = 12, w: int | None = 11, *, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.in_shape = (c, h, w)
        self.c = c
        self.nodes: list = []
        self.inits: dict[str, np.ndarray] = {}
        self.cur = "x"
        self.extra_outputs: list[str] = []
        self.count = 0

    def _name(self, op: str) -> str:
        self.count += 1
        return f"{op.lower()}{self.count}"

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits[name] = value
        return name

    def op(self, op_type: str, *inputs: str, name: str | None = None, n_out: int = 1,
           **attrs) -> str:
        name = name or self._name(op_type)
        outs = [f"{name}_out"] + [f"{name}_out{i}" for i in range(1, n_out)]
        self.nodes.append(helper.make_node(op_type, [self.cur, *inputs], outs, name=name,
                                           **{k: v for k, v in attrs.items() if v is not None}))
        self.cur = outs[0]
        return name

    def weights(self, shape, scale: float = 1.0) -> np.ndarray:
        fan_in = math.prod(shape[1:])
        return (self.rng.standard_normal(shape) * scale / math.sqrt(fan_in)).astype(np.float32)

    def conv(self, cout: int, k=(3, 3), *, group: int = 1, bias: bool = True, name=None,
             **attrs) -> str:
        name = name or self._name("conv")
        w = self.const(f"{name}.w", self.weights((cout, self.c // group, *k)))
        ins = [w]
        if bias:
            ins.append(self.const(f"{name}.b", self.rng.standard_normal(cout).astype(np.float32) * 0.1))
        self.op("Conv", *ins, name=name, group=group if group != 1 else None, **attrs)
        self.c = cout
        return name

    def conv_transpose(self, cout: int, k=(3, 3), *, group: int = 1, name=None, **attrs) -> str:
        name = name or self._name("deconv")
        w = self.const(f"{name}.w", self.weights((self.c, cout // group, *k)))
        b = self.const(f"{name}.b", self.rng.standard_normal(cout).astype(np.float32) * 0.1)
        self.op("ConvTranspose", w, b, name=name, group=group if group != 1 else None, **attrs)
        self.c = cout
        return name

    def batch_norm(self, *, name=None, epsilon=None) -> str:
        name = name or self._name("bn")
        c = self.c
        parts = [self.rng.uniform(0.5, 2.0, c), self.rng.standard_normal(c) * 0.3,
                 self.rng.standard_normal(c) * 0.3, self.rng.uniform(0.2, 3.0, c)]
        ins = [self.const(f"{name}.{k}", v.astype(np.float32))
               for k, v in zip(("scale", "B", "mean", "var"), parts)]
        return self.op("BatchNormalization", *ins, name=name, epsilon=epsilon)

    def model(self, dtype=np.float32, *, opset: int = 17, metadata: dict | None = None,
              declare_shape: bool = True):
        elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
        inits = [numpy_helper.from_array(v.astype(dtype) if v.dtype.kind == "f" else v, k)
                 for k, v in self.inits.items()]
        shape = [1, *self.in_shape] if declare_shape else None
        graph = helper.make_graph(self.nodes, "testnet",
                                  [helper.make_tensor_value_info("x", elem, shape)],
                                  [helper.make_tensor_value_info(self.cur, elem, None)], inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        for k, v in (metadata or {}).items():
            helper.set_model_props(m, {**{p.key: p.value for p in m.metadata_props}, k: v})
        return m

    def bytes(self, **kw) -> bytes:
        return self.model(**kw).SerializeToString()

    def reference(self, x: np.ndarray, *, output: str | None = None, **kw) -> np.ndarray:
        """The model evaluated in float64 by ONNX's reference interpreter; x is (C, H, W)."""
        m = self.model(np.float64, **kw)
        if output is not None:
            m.graph.output[0].name = output
        ev = ReferenceEvaluator(m)
        return ev.run(None, {"x": np.asarray(x, np.float64)[None]})[0][0]


def gamma(n: int) -> float:
    return n * U / (1 - n * U)


def float32_bound(pipeline, outputs: list[np.ndarray]) -> float:
    """A bound on max|pipeline output - exact output| for float32 arithmetic, from the float32
    input (exact) through every layer (docs/semantics.md, "How exact the numbers are", applied
    per layer and propagated in the max norm):

    E_L = lip_L * E_{L-1} + local_L, with local_L the rounding of layer L's own sums
    (gamma(n) * sum |w x| + u |y|) plus u for weights rounded to float32 when folded, and lip_L
    the layer's Lipschitz constant in the max norm (for a conv: max over outputs of sum |w|).
    Magnitudes come from the pipeline's own outputs, padded by 1e-3 (rounding-level slack).
    """
    e = 0.0
    prev = float(np.max(np.abs(outputs[0]))) * 1.001
    for layer, y in zip(pipeline.layers, outputs[1:]):
        m_out = float(np.max(np.abs(y))) * 1.001
        t = layer.type
        if t in ("conv2d", "conv_transpose2d"):
            w = np.abs(np.asarray(layer.weight if layer.weight is not None else layer.kernel[None, None],
                                  np.float64))
            if t == "conv2d":
                lip = float(w.reshape(w.shape[0], -1).sum(1).max())
                n = w[0].size + 1
            else:  # [in][out/g]: an output sums over every input channel of its group and tap
                lip = float(w.sum(axis=(0, 2, 3)).max())
                n = w.shape[0] * w.shape[2] * w.shape[3] + 1
            b = float(np.max(np.abs(layer.bias))) if layer.bias is not None else 0.0
            local = (gamma(n) + 2 * U) * (lip * prev + b) + U * m_out
        elif t == "avgpool2d":
            k = layer.kernel_size[0] * layer.kernel_size[1]
            lip, local = 1.0, gamma(k + 2) * prev + U * m_out
        elif t in ("maxpool2d", "pad", "relu", "abs", "stride"):
            lip, local = 1.0, 0.0
        elif t == "leaky_relu":
            lip, local = max(1.0, abs(layer.negative_slope)), U * m_out
        elif t in ("sigmoid", "tanh"):  # float32 exp / tanh: a few ulps
            lip, local = 1.0, 8 * U * max(m_out, 1.0)
        else:
            raise AssertionError(f"no bound for {t}")
        e = lip * e + local
        prev = m_out
    return e


def onnx_version() -> tuple[int, ...]:
    return tuple(int(p) for p in onnx.__version__.split(".")[:2])


def conv_transpose_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray, *, strides, dilations,
                             group: int, begin, end, output_padding) -> np.ndarray:
    """ONNX ConvTranspose from its definition, in float64: every input pixel scatters its
    weighted kernel into the full output (size (n - 1) * s + d * (k - 1) + 1 + output_padding),
    which is then cropped by `begin` / `end` per axis. x: (C, H, W); w: [in][out/group][kh][kw]."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    cin, h, wd = x.shape
    cin_g, cout_g, kh, kw = w.shape[0] // group, w.shape[1], w.shape[2], w.shape[3]
    (sh, sw), (dh, dw) = strides, dilations
    full = np.zeros((cout_g * group, (h - 1) * sh + dh * (kh - 1) + 1 + output_padding[0],
                     (wd - 1) * sw + dw * (kw - 1) + 1 + output_padding[1]))
    for g in range(group):
        xg, wg = x[g * cin_g:(g + 1) * cin_g], w[g * cin_g:(g + 1) * cin_g]
        for a in range(kh):
            for c in range(kw):
                full[g * cout_g:(g + 1) * cout_g, a * dh:a * dh + (h - 1) * sh + 1:sh,
                     c * dw:c * dw + (wd - 1) * sw + 1:sw] += np.einsum("chw,co->ohw", xg, wg[:, :, a, c])
    out = full[:, begin[0]:full.shape[1] - end[0], begin[1]:full.shape[2] - end[1]]
    return out + np.asarray(b, np.float64)[:, None, None]


def batch_norm_reference(x: np.ndarray, net: Net, name: str, eps: float = 1e-5) -> np.ndarray:
    p = {k: net.inits[f"{name}.{k}"].astype(np.float64)[:, None, None] for k in ("scale", "B", "mean", "var")}
    return p["scale"] * (np.asarray(x, np.float64) - p["mean"]) / np.sqrt(p["var"] + eps) + p["B"]
