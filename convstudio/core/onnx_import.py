"""Importing the convolutional trunk of an ONNX model as a pipeline with its learned weights.

``import_onnx(path)`` follows the main path from the model's image input, one node at a time,
and turns each node into pipeline layers (the mapping is in :mod:`convstudio.core.onnx_ops` and
docs/cli.md, "import"): convolutions, pooling, padding, the activations ConvStudio has, batch
normalisation folded into the convolution before it, ``Identity`` and ``Dropout`` skipped. It
stops at the first node it cannot express (a branch, a join of two paths, the classifier head,
an unsupported operator or attribute) and says where and why; ``until`` stops after a named node.
An input normalisation (mean / std per channel) becomes a 1x1 convolution in front.

The model is read as data only (:mod:`convstudio.core.onnx_model`): nothing in it is run.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PipelineError
from .layers import Layer, layer_from_dict
from .onnx_model import ModelImportError, OnnxGraph, node_label, parse_model, read_model_bytes
from .onnx_ops import HANDLERS, Unsupported, unsupported_reason
from .pipeline import MAX_LAYERS, Pipeline

__all__ = ["ModelImportError", "ModelImport", "Stop", "import_onnx", "import_onnx_bytes",
           "parse_floats", "NORMALIZATION_KEYS"]

#: metadata_props keys read for the input normalisation, first found wins.
NORMALIZATION_KEYS = (("mean", "norm_mean", "input_mean"), ("std", "norm_std", "input_std"))


@dataclass(frozen=True)
class Stop:
    """Where the import ended before the graph's output, and why."""

    node: str
    op: str
    reason: str

    def __str__(self) -> str:
        return f"node '{self.node}' ({self.op}): {self.reason}"


@dataclass(frozen=True)
class ModelImport:
    """What :func:`import_onnx` made of a model.

    Attributes
    ----------
    pipeline : Pipeline
        The layers, weights included (the normalisation, if any, first).
    input_name : str
        The tensor the path started from.
    input_shape : tuple
        (C, H, W) as the model declares it, None where it leaves a size open.
    last_node : str or None
        The last node imported.
    stopped : Stop or None
        Where the path ended early; None when it reached the graph's output (or ``until``).
    notes : tuple of str
        What else the user should know (the normalisation's source, skipped nodes...).
    """

    pipeline: Pipeline
    input_name: str
    input_shape: tuple[int | None, int | None, int | None]
    last_node: str | None
    stopped: Stop | None
    notes: tuple[str, ...] = ()


def import_onnx(path: str | os.PathLike, *, input_name: str | None = None, until: str | None = None,
                mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                name: str | None = None) -> ModelImport:
    """Import the convolutional trunk of the ONNX model at `path`.

    Parameters
    ----------
    input_name : str, optional
        The tensor to start from (default: the model's one image input).
    until : str, optional
        The node (or its output tensor) to stop after, inclusive.
    mean, std : sequence of float, optional
        Input normalisation ``(x - mean) / std`` per channel (one value for every channel, or
        one per channel); by default read from the model's metadata (``mean`` / ``std``).
    name : str, optional
        The pipeline's name (default: the file's name).

    Raises
    ------
    ModelImportError
        The file cannot be read, is not an ONNX model, is malformed or over a limit, or not even
        the first node on the path can be imported. One line, meant to be shown as is.
    """
    p = Path(path)
    data = read_model_bytes(p)
    try:
        return import_onnx_bytes(data, base_dir=p.parent, input_name=input_name, until=until,
                                 mean=mean, std=std, name=name or p.name)
    except ModelImportError as exc:
        raise ModelImportError(f"{p.name}: {exc}") from None


def import_onnx_bytes(data: bytes, *, base_dir: str | os.PathLike | None = None,
                      input_name: str | None = None, until: str | None = None,
                      mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                      name: str | None = None) -> ModelImport:
    """:func:`import_onnx` on the bytes of a model. External weight files are read only from
    `base_dir` (without one, a model that has them is refused)."""
    model = parse_model(data)
    graph = OnnxGraph(model, Path(base_dir) if base_dir is not None else None)
    start = _input_tensor(graph, input_name)
    target = None
    if until is not None:
        target = graph.find_node(until)
        if target is None:
            raise ModelImportError(f"there is no node named '{until}' in the model")
    trunk = _Trunk(graph, start)
    norm = _normalization(graph, mean, std)
    if norm is not None:
        trunk.emit_normalization(*norm)
    trunk.walk(target)
    if target is not None and trunk.last is not target:
        why = f": stopped at {trunk.stopped}" if trunk.stopped else ""
        raise ModelImportError(f"the path from '{start}' does not reach node '{until}'{why}")
    if trunk.imported == 0:
        why = f"stopped at {trunk.stopped}" if trunk.stopped else "the path has no node"
        raise ModelImportError(f"nothing to import from '{start}': {why}")
    pipeline = Pipeline(tuple(trunk.layers), name or (graph.model.graph.name or None))
    last = node_label(trunk.last) if trunk.last is not None else None
    return ModelImport(pipeline, start, trunk.input_shape, last, trunk.stopped, tuple(trunk.notes))


# ------------------------------------------------------------------------------------------ input


def _input_tensor(graph: OnnxGraph, name: str | None) -> str:
    if name is not None:
        if name in graph.initializers:
            raise ModelImportError(f"'{name}' is a weight of the model, not an input")
        if not any(i.name == name for i in graph.inputs) and name not in graph.producers:
            names = ", ".join(i.name for i in graph.inputs) or "none"
            raise ModelImportError(f"there is no tensor named '{name}' in the model (inputs: {names})")
        return name
    if not graph.inputs:
        raise ModelImportError("the model has no input")
    if len(graph.inputs) == 1:
        return graph.inputs[0].name
    # several inputs: the one declared as an image (N, C, H, W), if only one is
    images = [i.name for i in graph.inputs if len(graph.shape_of(i.name) or ()) == 4]
    if len(images) == 1:
        return images[0]
    names = ", ".join(i.name for i in graph.inputs)
    raise ModelImportError(f"the model has {len(graph.inputs)} inputs ({names}): choose one with --input")


def parse_floats(text: str, what: str) -> tuple[float, ...]:
    """``"0.485,0.456,0.406"`` or ``"[0.485, 0.456, 0.406]"`` -> floats; ModelImportError if not."""
    s = text.strip()
    try:
        values = json.loads(s) if s.startswith("[") else [float(v) for v in s.split(",")]
        out = tuple(float(v) for v in (values if isinstance(values, list) else [values]))
    except (ValueError, TypeError):
        raise ModelImportError(f"{what} must be numbers separated by commas, got {text[:60]!r}") from None
    if not out or len(out) > 4096 or not all(math.isfinite(v) for v in out):
        raise ModelImportError(f"{what} must be 1 to 4096 finite numbers, got {text[:60]!r}")
    return out


def _normalization(graph: OnnxGraph, mean: Sequence[float] | None,
                   std: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(mean, std, where from) for the first layer, from the arguments or the model's metadata."""
    source = "given"
    if mean is None and std is None:
        meta = {p.key: p.value for p in graph.model.metadata_props}
        found = [next((meta[k] for k in keys if k in meta), None) for keys in NORMALIZATION_KEYS]
        if found == [None, None]:
            return None
        mean = parse_floats(found[0], "the model's 'mean'") if found[0] is not None else (0.0,)
        std = parse_floats(found[1], "the model's 'std'") if found[1] is not None else (1.0,)
        source = "from the model's metadata"
    m = np.asarray(mean if mean is not None else (0.0,), np.float64).reshape(-1)
    s = np.asarray(std if std is not None else (1.0,), np.float64).reshape(-1)
    if not (np.isfinite(m).all() and np.isfinite(s).all()):
        raise ModelImportError("the normalisation's mean and std must be finite numbers")
    if np.any(s == 0):
        raise ModelImportError("the normalisation's std must not be 0")
    if m.size != s.size and 1 not in (m.size, s.size):
        raise ModelImportError(f"the normalisation has {m.size} means but {s.size} standard deviations")
    return m, s, source


# ------------------------------------------------------------------------------------------ walk


@dataclass(eq=False)
class _Entry:
    """One emitted layer with the JSON object it was built from (kept for folding)."""

    layer: Layer
    spec: dict
    foldable: bool


@dataclass(eq=False)
class _Trunk:
    """The layers made so far and where the walk is; the handlers of onnx_ops call back here."""

    graph: OnnxGraph
    current: str
    entries: list[_Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: Stop | None = None
    last: Any = None
    imported: int = 0  # model nodes made into layers or skipped
    node: Any = None  # the node being imported
    channels: int | None = None
    hw: list[int | None] = field(default_factory=lambda: [None, None])
    input_shape: tuple[int | None, int | None, int | None] = (None, None, None)

    def __post_init__(self) -> None:
        shape = self.graph.shape_of(self.current)
        if shape is not None and len(shape) != 4:
            raise ModelImportError(f"input '{self.current}' has {len(shape)} dimensions; an image "
                                   "input (N, C, H, W) has 4")
        if shape is not None:
            self.channels, self.hw = shape[1], [shape[2], shape[3]]
        self.input_shape = (self.channels, self.hw[0], self.hw[1])

    @property
    def layers(self) -> list[Layer]:
        return [e.layer for e in self.entries]

    # -- what handlers ask
    def size(self, axis: int) -> int | None:
        return self.hw[axis]

    def used(self, tensor: str) -> bool:
        return bool(self.graph.consumers.get(tensor)) or tensor in self.graph.outputs

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- walking
    def walk(self, target: Any) -> None:
        """Follow the path from ``current`` until the graph's output, `target` or a stop."""
        seen: set[int] = set()
        while True:
            users = self.graph.consumers.get(self.current, [])
            if not users:
                return
            node, slot = users[0]
            if id(node) in seen:
                raise ModelImportError(f"the graph has a cycle through node '{node_label(node)}'")
            seen.add(id(node))
            if len(users) > 1:
                return self._stop(node, f"its input '{self.current}' also feeds "
                                        f"{len(users) - 1} other node(s): the path branches")
            handler = HANDLERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
            if slot != 0:
                return self._stop(node, f"the path enters it as input {slot + 1}, not as its data input")
            if handler is None:  # (a handler's other inputs are its constant parameters)
                return self._stop(node, self._join(node) or unsupported_reason(node.op_type))
            if len(self.entries) >= MAX_LAYERS and node.op_type not in ("Identity", "Dropout"):
                return self._stop(node, f"the pipeline is full ({MAX_LAYERS} layers at most)")
            self.node = node
            try:
                handler(self, node)
            except Unsupported as exc:
                return self._stop(node, str(exc))
            except ModelImportError as exc:
                raise ModelImportError(f"node '{node_label(node)}' ({node.op_type}): {exc}") from None
            self.last, self.imported = node, self.imported + 1
            self.current = node.output[0]
            if node is target:
                return

    def _join(self, node: Any) -> str | None:
        for other in node.input[1:]:
            if other and not self.graph.is_constant(other):
                return f"it joins the path with another tensor, '{other}', computed by the graph"
        return None

    def _stop(self, node: Any, reason: str) -> None:
        self.stopped = Stop(node_label(node), node.op_type, reason)

    # -- building
    def emit(self, node: Any, spec: dict, *, foldable: bool = False) -> None:
        """Add the layer `spec` describes; Unsupported if ConvStudio cannot hold it."""
        if node is not None and node.name:
            spec = {**spec, "name": node.name}
        layer = self._build(spec)
        self.entries.append(_Entry(layer, spec, foldable))

    def _build(self, spec: dict) -> Layer:
        try:
            layer = layer_from_dict(spec)
            channels = _channels_after(spec, self.channels)
            if self.channels is not None and None not in self.hw:
                _, h, w = layer.output_shape((self.channels, self.hw[0], self.hw[1]))
                self.hw = [h, w]
            else:
                self.hw = [None, None]
            self.channels = channels
        except PipelineError as exc:
            raise Unsupported(f"as a {spec['type']} layer: {exc}") from None
        return layer

    def skip(self, node: Any) -> None:
        self.note(f"skipped {node.op_type} nodes (they pass their input on at inference)")

    def fold_affine(self, node: Any, scale: np.ndarray, shift: np.ndarray) -> None:
        """``y = scale * x + shift`` per channel: folded into the convolution just before (exact
        in float64, then rounded once to float32), or else a per-channel 1x1 convolution."""
        c = scale.shape[0]
        prev = self.entries[-1] if self.entries else None
        if prev is not None and prev.foldable and self.last is not None:
            spec = dict(prev.spec)
            w = np.asarray(spec["weight"], np.float64)
            if spec["type"] == "conv2d" and w.shape[0] == c:
                spec["weight"] = (w * scale[:, None, None, None]).astype(np.float32)
            elif spec["type"] == "conv_transpose2d" and w.shape[1] * spec.get("groups", 1) == c:
                g = spec.get("groups", 1)  # weight [in][out/groups]; output o = group * (out/g) + j
                wg = w.reshape(g, w.shape[0] // g, w.shape[1], *w.shape[2:])
                spec["weight"] = (wg * scale.reshape(g, 1, -1, 1, 1)).reshape(w.shape).astype(np.float32)
            else:
                raise ModelImportError(f"BatchNormalization has {c} channels; its input has "
                                       f"{w.shape[0]}")
            bias = np.asarray(spec.get("bias", np.zeros(c)), np.float64)
            spec["bias"] = (bias * scale + shift).astype(np.float32)
            self.entries[-1] = replace(prev, layer=layer_from_dict(spec), spec=spec)
            self.note("folded BatchNormalization into the convolution before it")
            return
        if self.channels is not None and self.channels != c:
            raise ModelImportError(f"BatchNormalization has {c} channels; its input has {self.channels}")
        self.emit(node, {"type": "conv2d", "weight": scale.astype(np.float32).reshape(c, 1, 1, 1),
                         "bias": shift.astype(np.float32), "groups": c})

    def emit_normalization(self, mean: np.ndarray, std: np.ndarray, source: str) -> None:
        """``(x - mean) / std`` as a 1x1 convolution, before any layer of the model."""
        n = max(mean.size, std.size)
        m = np.broadcast_to(mean, (n,))
        s = np.broadcast_to(std, (n,))
        spec: dict[str, Any]
        if n == 1:  # one value for every channel, whatever their number
            spec = {"type": "conv2d", "kernel": np.array([[1.0 / s[0]]], np.float32),
                    "bias": float(np.float32(-m[0] / s[0]))}
        else:
            spec = {"type": "conv2d", "weight": (1.0 / s).astype(np.float32).reshape(n, 1, 1, 1),
                    "bias": (-m / s).astype(np.float32), "groups": n}
        spec["name"] = "input normalisation"
        if self.channels is not None and n > 1 and self.channels != n:
            raise ModelImportError(f"the normalisation has {n} values but input '{self.current}' has "
                                   f"{self.channels} channels")
        try:
            self.entries.append(_Entry(self._build(spec), spec, False))
        except Unsupported as exc:
            raise ModelImportError(f"the normalisation: {exc}") from None
        self.note(f"input normalisation {source}: mean {_fmt(m)}, std {_fmt(s)}")
        if np.max(np.abs(m)) > 1.0:
            self.note("the normalisation's mean is over 1: ConvStudio's images are in [0, 1], "
                      "so a mean for 0..255 pixel values does not fit them")


def _channels_after(spec: dict, c: int | None) -> int | None:
    """The channels after the layer `spec`; PipelineError if its weight does not fit `c`."""
    if "weight" not in spec:
        return c
    w, g = spec["weight"], spec.get("groups", 1)
    cin, cout = (w.shape[1] * g, w.shape[0]) if spec["type"] == "conv2d" else (w.shape[0], w.shape[1] * g)
    if c is not None and cin != c:
        raise PipelineError(f"expects {cin} input channels but its input has {c}", key="weight")
    return cout


def _fmt(values: np.ndarray) -> str:
    return ",".join(f"{v:.6g}" for v in values)
