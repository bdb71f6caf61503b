"""Reading an ONNX model as data, safely: the file, its protobuf, its constant tensors.

Used by :mod:`convstudio.core.onnx_import`. Nothing here runs anything the file holds: the bytes
are parsed by the ``onnx`` package's protobuf classes (``onnx.load_model_from_string``), never by
``onnx.load`` (which follows external-data paths on its own), the checker or a runtime. The rules
(docs/cli.md, "import"):

* the model file is a regular file of at most ``MAX_MODEL_BYTES``; no more than that is read;
* a tensor's declared size is checked against the limits of docs/pipeline-format.md before its
  data is touched, and its data must have exactly the bytes its shape needs;
* external data (weights in a side file) is read only from a regular file inside the model's own
  folder, only for the tensors the import uses, and at most ``MAX_MODEL_BYTES`` in all.
"""

from __future__ import annotations

import math
import os
import stat
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConvStudioError
from .layerspec import MAX_WEIGHTS

__all__ = ["MAX_MODEL_BYTES", "ModelImportError", "OnnxGraph", "onnx_module", "read_model_bytes",
           "parse_model", "node_label"]

#: The largest model file read (and the most external data read for one import). A VGG-16 with
#: its classifier is about 530 MB; protobuf itself cannot hold more than 2 GiB.
MAX_MODEL_BYTES = 1 << 30

# TensorProto.DataType values (onnx.proto) this reader converts, little-endian as ONNX stores them.
_FLOAT, _UINT8, _INT8, _INT16, _INT32, _INT64, _FLOAT16, _DOUBLE = 1, 2, 3, 5, 6, 7, 10, 11
_DTYPES = {_FLOAT: "<f4", _DOUBLE: "<f8", _FLOAT16: "<f2", _INT64: "<i8", _INT32: "<i4",
           _INT16: "<i2", _INT8: "i1", _UINT8: "u1"}
_TYPE_NAMES = {_FLOAT: "float32", _DOUBLE: "float64", _FLOAT16: "float16", _INT64: "int64",
               _INT32: "int32", _INT16: "int16", _INT8: "int8", _UINT8: "uint8"}
FLOAT_TYPES = frozenset({_FLOAT, _DOUBLE, _FLOAT16})
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


class ModelImportError(ConvStudioError, ValueError):
    """A model cannot be imported: unreadable, not ONNX, malformed, or over a limit."""


def onnx_module() -> Any:
    """The ``onnx`` package, or a one-line error saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise ModelImportError('importing ONNX models needs the onnx package: '
                               'pip install "convstudio[onnx]"') from None
    return onnx


def read_model_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a model file: a regular file, at most ``MAX_MODEL_BYTES`` (never more read)."""
    from .safeio import read_bounded

    return read_bounded(path, MAX_MODEL_BYTES, error=ModelImportError)


def parse_model(data: bytes) -> Any:
    """An ``onnx.ModelProto`` from bytes; ModelImportError if they are not an ONNX model."""
    onnx = onnx_module()
    from google.protobuf.message import DecodeError

    if len(data) > MAX_MODEL_BYTES:
        raise ModelImportError(f"the model is larger than {MAX_MODEL_BYTES // 2**20} MiB")
    try:
        model = onnx.load_model_from_string(bytes(data))
    except (DecodeError, ValueError, RuntimeError):
        raise ModelImportError("not an ONNX model: the file cannot be parsed as one") from None
    if model.ir_version < 1 or not model.HasField("graph") or not len(model.graph.node):
        raise ModelImportError("not an ONNX model: it holds no graph of nodes")
    return model


def node_label(node: Any) -> str:
    """How messages name a node: its name, or its first output when it has none."""
    if node.name:
        return node.name
    out = next((o for o in node.output if o), "")
    return f"(unnamed, output '{out}')" if out else "(unnamed)"


class OnnxGraph:
    """The main graph of a model, indexed for walking it: who produces and who consumes each
    tensor, its constants (initializers and ``Constant`` nodes) and its inputs' shapes."""

    def __init__(self, model: Any, base_dir: Path | None) -> None:
        g = model.graph
        self.model = model
        self.base_dir = base_dir
        self.initializers = {t.name: t for t in g.initializer}
        self.producers: dict[str, Any] = {}
        self.consumers: dict[str, list[tuple[Any, int]]] = defaultdict(list)
        self.by_name: dict[str, Any] = {}
        for node in g.node:
            for out in node.output:
                if out:
                    self.producers[out] = node
            for slot, name in enumerate(node.input):
                if name:
                    self.consumers[name].append((node, slot))
            if node.name:
                self.by_name.setdefault(node.name, node)
        self.inputs = [i for i in g.input if i.name not in self.initializers]
        self.value_info = {v.name: v for v in list(g.value_info) + list(g.input) + list(g.output)}
        self.outputs = {o.name for o in g.output}
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self._external_read = 0

    def find_node(self, name: str) -> Any | None:
        """The node named `name`, or else the node whose output tensor is named so."""
        return self.by_name.get(name) or self.producers.get(name)

    def shape_of(self, name: str) -> tuple[int | None, ...] | None:
        """The declared shape of a tensor (None per unknown dimension), or None if undeclared."""
        info = self.value_info.get(name)
        if info is None or not info.type.HasField("tensor_type"):
            return None
        tt = info.type.tensor_type
        if not tt.HasField("shape"):
            return None
        return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                     for d in tt.shape.dim)

    def is_constant(self, name: str) -> bool:
        """Whether a tensor is an initializer or a ``Constant`` node's (through ``Identity``s)."""
        for _ in range(64):
            if name in self.initializers:
                return True
            node = self.producers.get(name)
            if node is None or node.op_type not in ("Identity", "Constant"):
                return False
            if node.op_type == "Constant":
                return True
            name = node.input[0] if node.input else ""
        return False

    def constant(self, name: str, *, what: str, max_elements: int = MAX_WEIGHTS) -> np.ndarray:
        """The value of a constant tensor (an initializer, a ``Constant`` node, or either through
        ``Identity`` nodes); ModelImportError if a node computes it or it breaks a limit."""
        seen = 0
        while name not in self.initializers:
            node = self.producers.get(name)
            if node is not None and node.op_type == "Identity" and seen < 64:
                name, seen = node.input[0], seen + 1
                continue
            if node is not None and node.op_type == "Constant":
                return self._constant_node(node, what=what, max_elements=max_elements)
            if node is not None:
                raise ModelImportError(
                    f"{what} '{name}' is computed by node '{node_label(node)}' ({node.op_type}); only "
                    "constant weights (initializers) can be imported")
            raise ModelImportError(f"{what} '{name}' is not a constant of the model (it is an input "
                                   "or missing); only constant weights can be imported")
        return self.tensor_array(self.initializers[name], what=what, max_elements=max_elements)

    def _constant_node(self, node: Any, *, what: str, max_elements: int) -> np.ndarray:
        for a in node.attribute:
            if a.name == "value" and a.HasField("t"):
                return self.tensor_array(a.t, what=what, max_elements=max_elements)
            if a.name == "value_float":
                return np.array(a.f, dtype=np.float32)
            if a.name in ("value_floats",):
                return _bounded(np.array(list(a.floats[:max_elements + 1]), np.float32), what,
                                max_elements)
            if a.name == "value_int":
                return np.array(a.i, dtype=np.int64)
            if a.name == "value_ints":
                return _bounded(np.array(list(a.ints[:max_elements + 1]), np.int64), what,
                                max_elements)
        raise ModelImportError(f"{what}: Constant node '{node_label(node)}' holds no numeric value")

    def tensor_array(self, t: Any, *, what: str, max_elements: int = MAX_WEIGHTS) -> np.ndarray:
        """A TensorProto as a NumPy array, every size checked before its data is read."""
        dims = list(t.dims)
        if any(d < 0 for d in dims):
            raise ModelImportError(f"{what} '{t.name}' has a negative dimension: {dims}")
        n = math.prod(dims)
        if n > max_elements:
            raise ModelImportError(f"{what} '{t.name}' declares shape {dims} ({n} numbers), over the "
                                   f"limit of {max_elements}")
        if t.data_type not in _DTYPES:
            raise ModelImportError(f"{what} '{t.name}' has data type {t.data_type}, which ConvStudio "
                                   f"does not read (it reads {', '.join(_TYPE_NAMES.values())})")
        if t.HasField("segment"):
            raise ModelImportError(f"{what} '{t.name}' is split into segments, which is not supported")
        dtype = np.dtype(_DTYPES[t.data_type])
        if t.data_location == _EXTERNAL:
            arr = np.frombuffer(self._external(t, n * dtype.itemsize, what), dtype=dtype)
        elif t.raw_data or n == 0:
            if len(t.raw_data) != n * dtype.itemsize:
                raise ModelImportError(f"{what} '{t.name}' holds {len(t.raw_data)} bytes where shape "
                                       f"{dims} needs {n * dtype.itemsize}")
            arr = np.frombuffer(t.raw_data, dtype=dtype)
        else:
            arr = self._typed_field(t, n, dtype, what)
        return arr.reshape(dims)

    @staticmethod
    def _typed_field(t: Any, n: int, dtype: np.dtype, what: str) -> np.ndarray:
        field = {_FLOAT: t.float_data, _DOUBLE: t.double_data, _INT64: t.int64_data}.get(
            t.data_type, t.int32_data)  # int32_data holds the smaller ints and float16's bits
        if len(field) != n:
            raise ModelImportError(f"{what} '{t.name}' holds {len(field)} numbers where shape "
                                   f"{list(t.dims)} needs {n}")
        if t.data_type == _FLOAT16:
            return np.array(field, dtype=np.uint16).view(np.float16)
        return np.array(field, dtype=dtype.newbyteorder("="))

    def _external(self, t: Any, nbytes: int, what: str) -> bytes:
        """The bytes of a tensor kept in a side file, read only inside the model's folder."""
        info = {e.key: e.value for e in t.external_data}
        where = f"{what} '{t.name}'"
        if self.base_dir is None:
            raise ModelImportError(f"{where} keeps its data in an external file; import the model "
                                   "from its file so that its folder is known")
        loc = info.get("location", "")
        base = self.base_dir.resolve()
        target = (base / loc).resolve() if loc else base
        if not loc or Path(loc).is_absolute() or target == base or base not in target.parents:
            raise ModelImportError(f"{where}: external data location {loc!r} is not a file inside "
                                   "the model's folder")
        try:
            offset = int(info.get("offset", "0"))
            length = int(info.get("length", str(nbytes)))
        except ValueError:
            raise ModelImportError(f"{where}: external data offset or length is not a number") from None
        if offset < 0 or length != nbytes:
            raise ModelImportError(f"{where}: external data of {length} bytes at offset {offset} "
                                   f"where its shape needs {nbytes} bytes")
        if self._external_read + nbytes > MAX_MODEL_BYTES:
            raise ModelImportError(f"{where}: more than {MAX_MODEL_BYTES // 2**20} MiB of external "
                                   "data")
        try:
            st = os.stat(target)
            if not stat.S_ISREG(st.st_mode):
                raise ModelImportError(f"{where}: external data '{loc}' is not a regular file")
            if offset + nbytes > st.st_size:
                raise ModelImportError(f"{where}: external data '{loc}' is {st.st_size} bytes, too "
                                       f"short for {nbytes} bytes at offset {offset}")
            with open(target, "rb") as f:
                f.seek(offset)
                data = f.read(nbytes)
        except OSError as exc:
            raise ModelImportError(f"{where}: cannot read external data '{loc}': "
                                   f"{exc.strerror or exc}") from None
        if len(data) != nbytes:
            raise ModelImportError(f"{where}: external data '{loc}' ended early")
        self._external_read += nbytes
        return data


def _bounded(a: np.ndarray, what: str, max_elements: int) -> np.ndarray:
    if a.size > max_elements:
        raise ModelImportError(f"{what} has more than {max_elements} numbers")
    return a
