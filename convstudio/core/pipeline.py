"""The Pipeline: an immutable stack of layers, its JSON file format, shape and receptive-field
arithmetic, and running it (all at once or incrementally).

File limits (refused before anything large is allocated): ``MAX_LAYERS`` (64) layers, files of at
most ``MAX_FILE_BYTES`` (128 MiB), and the per-layer limits of :mod:`convstudio.core.layers`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .cancel import RunCancelled, cancellable
from .cancel import current as current_question
from .errors import MemoryBudgetExceeded, PipelineError
from .layers import Layer, Shape, layer_from_dict
from .memory import array_bytes, layer_peak_bytes, save_peak_bytes
from .safeio import read_bounded

__all__ = [
    "FORMAT",
    "VERSION",
    "MAX_LAYERS",
    "MAX_FILE_BYTES",
    "Pipeline",
    "ReceptiveField",
    "LayerInfo",
    "IncrementalRunner",
    "LayerRun",
    "RunCancelled",
    "run_layers",
    "as_chw",
    "first_changed_layer",
]

FORMAT = "convstudio-pipeline"
VERSION = 1
MAX_LAYERS = 64
# A trained VGG-16 trunk in compact arrays is 75 MiB; parsing a file of nested lists this size
# holds about ten times its size in Python objects at most (docs/pipeline-format.md, "Limits").
MAX_FILE_BYTES = 128 * 1024 * 1024

_TOP_KEYS = {"format", "version", "name", "layers"}


def _check_text(d: Any) -> None:
    """Refuse a lone surrogate ("\\ud800": JSON allows the escape, UTF-8 cannot encode it) in a
    key or a string of the object `d` (its values and their lists' items), naming the key,
    so that every pipeline read can be written back (docs/pipeline-format.md)."""
    if not isinstance(d, dict):
        return
    for key, value in d.items():
        texts = [key, value] + (value if isinstance(value, list) else [])
        for text in texts:
            if isinstance(text, str) and not _encodable(text):
                raise PipelineError(f"holds '{ascii(text)[1:-1][:60]}', a lone surrogate (not Unicode "
                                    "text; it cannot be saved as UTF-8)", key=ascii(key)[1:-1][:60])


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one layer's output pixels, per axis (rows, columns).

    Output pixel i of the layer sees input rows ``start + i*jump ... start + i*jump + size - 1``.
    `start` is negative where the window reaches into padding. After a transposed convolution or
    an upsampling layer the values may be exact fractions (``fractions.Fraction``; jump 1/2: two
    output pixels per input pixel); whole values are always plain ints.
    """

    size: tuple[int | Fraction, int | Fraction] = (1, 1)
    jump: tuple[int | Fraction, int | Fraction] = (1, 1)
    start: tuple[int | Fraction, int | Fraction] = (0, 0)

    @property
    def is_integral(self) -> bool:
        """True when every value is a whole number (no layer that enlarges its input, or one
        whose steps add up to whole pixels again)."""
        return all(isinstance(v, int) for v in self.size + self.jump + self.start)

    def window(self, i: int, j: int) -> tuple[int, int, int, int]:
        """(row0, row1, col0, col1), end-exclusive, of the input window of output pixel (i, j)
        (fractions where the field has them: the input pixels in it are the whole numbers in
        [row0, row1 - 1])."""
        r0 = self.start[0] + i * self.jump[0]
        c0 = self.start[1] + j * self.jump[1]
        return (r0, r0 + self.size[0], c0, c0 + self.size[1])


@dataclass(frozen=True)
class LayerInfo:
    """What `Pipeline.analyze` knows about one layer without running it."""

    index: int
    type: str
    output_shape: Shape | None
    receptive_field: ReceptiveField
    params: int | None
    error: PipelineError | None = None
    waiting: bool = False  # an earlier layer failed, so this one has no input shape

    def to_json(self) -> dict:
        rf = self.receptive_field
        return {
            "index": self.index,
            "type": self.type,
            "output_shape": list(self.output_shape) if self.output_shape else None,
            "receptive_field": [_json_number(v) for v in rf.size],
            "jump": [_json_number(v) for v in rf.jump],
            "start": [_json_number(v) for v in rf.start],
            "params": self.params,
        }


def _exact(v: int | Fraction) -> int | Fraction:
    """A whole Fraction as a plain int, so that integral fields stay ints."""
    return int(v) if isinstance(v, Fraction) and v.denominator == 1 else v


def _json_number(v: int | Fraction) -> int | float:
    """A receptive-field value as a JSON number (a fraction as the nearest float)."""
    return v if isinstance(v, int) else float(v)


def as_chw(x: Any) -> np.ndarray:
    """(H, W) or (C, H, W) numeric array -> contiguous (C, H, W) float32."""
    a = np.asarray(x)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise PipelineError(f"the input must be (H, W) or (C, H, W), got shape {a.shape}")
    if a.dtype.kind not in "biuf":
        raise PipelineError(f"the input must be numeric, got dtype {a.dtype}")
    if 0 in a.shape:
        raise PipelineError(f"the input is empty: shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.float32)


def first_changed_layer(old: Sequence[Layer], new: Sequence[Layer]) -> int:
    """0-based index of the first layer that differs (len of the shorter if one is a prefix)."""
    n = min(len(old), len(new))
    for i in range(n):
        if old[i] is not new[i] and old[i] != new[i]:
            return i
    return n


@dataclass(frozen=True)
class Pipeline:
    """An immutable stack of layers. Edit with :meth:`replace_layer` and friends, which return new
    pipelines sharing the unchanged layers."""

    layers: tuple[Layer, ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if len(self.layers) > MAX_LAYERS:
            raise PipelineError(f"has {len(self.layers)} layers; at most {MAX_LAYERS} are allowed",
                                key="layers")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise PipelineError(f"is not a layer: {type(layer).__name__}", layer=i + 1)

    def __len__(self) -> int:
        return len(self.layers)

    # ---------------------------------------------------------------- JSON
    @classmethod
    def from_dict(cls, d: Any) -> Pipeline:
        """Build from the parsed JSON object; PipelineError naming the layer and key if malformed."""
        if not isinstance(d, dict):
            raise PipelineError("a pipeline must be a JSON object")
        _check_text(d)
        for k in d:
            if k not in _TOP_KEYS:
                raise PipelineError(f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})", key=str(k))
        if d.get("format") != FORMAT:
            raise PipelineError(f"must be \"{FORMAT}\", got {d.get('format')!r}", key="format")
        version = d.get("version")
        if isinstance(version, bool) or version != VERSION:
            raise PipelineError(f"must be {VERSION}, got {version!r}", key="version")
        name = d.get("name")
        if name is not None and not isinstance(name, str):
            raise PipelineError("must be a string", key="name")
        if "layers" not in d:
            raise PipelineError("is required", key="layers")
        raw = d["layers"]
        if not isinstance(raw, list):
            raise PipelineError("must be a list of layer objects", key="layers")
        if len(raw) > MAX_LAYERS:
            raise PipelineError(f"has {len(raw)} layers; at most {MAX_LAYERS} are allowed",
                                key="layers")
        layers = []
        for i, ld in enumerate(raw):
            try:
                _check_text(ld)
                layers.append(layer_from_dict(ld))
            except PipelineError as exc:
                raise exc.at_layer(i + 1) from None
        return cls(tuple(layers), name)

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"format": FORMAT, "version": VERSION}
        if self.name is not None:
            d["name"] = self.name
        d["layers"] = [layer.to_dict() for layer in self.layers]
        return d

    def to_json(self) -> str:
        return _dump_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes) -> Pipeline:
        if isinstance(text, bytes):
            if len(text) > MAX_FILE_BYTES:
                raise PipelineError(f"the pipeline is larger than {MAX_FILE_BYTES // 2**20} MiB")
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise PipelineError(f"the pipeline is not UTF-8 text ({exc.reason} at byte "
                                    f"{exc.start})") from None
        try:
            # NaN / Infinity tokens parse to floats here so that the layer's own validation refuses
            # them, naming the layer and the key.
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PipelineError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column "
                                f"{exc.colno}") from None
        except ValueError as exc:  # e.g. an integer literal over Python's 4300-digit limit
            raise PipelineError(f"not valid JSON: {str(exc).split(';')[0]}") from None
        except RecursionError:
            raise PipelineError("not valid JSON: nested too deeply") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Pipeline:
        """Read a pipeline file; PipelineError with a readable message on any problem."""
        p = Path(path)
        # Regular files only, never more than MAX_FILE_BYTES (a FIFO or /dev/urandom is refused).
        data = read_bounded(p, MAX_FILE_BYTES, error=PipelineError)
        try:
            return cls.from_json(data)
        except PipelineError as exc:
            raise PipelineError(f"{p.name}: {exc}") from None

    def save(self, path: str | os.PathLike) -> None:
        """Write the pipeline as JSON, atomically (a crash never leaves a half-written file)."""
        from .imageio import atomic_write_bytes  # imageio owns the one atomic writer

        atomic_write_bytes(path, self.to_json().encode("utf-8"))

    # ---------------------------------------------------------------- editing
    def replace_layer(self, index: int, layer: Layer) -> Pipeline:
        layers = list(self.layers)
        layers[index] = layer
        return Pipeline(tuple(layers), self.name)

    def insert_layer(self, index: int, layer: Layer) -> Pipeline:
        layers = list(self.layers)
        layers.insert(index, layer)
        return Pipeline(tuple(layers), self.name)

    def remove_layer(self, index: int) -> Pipeline:
        layers = list(self.layers)
        del layers[index]
        return Pipeline(tuple(layers), self.name)

    def move_layer(self, src: int, dst: int) -> Pipeline:
        layers = list(self.layers)
        layer = layers.pop(src)
        layers.insert(dst, layer)
        return Pipeline(tuple(layers), self.name)

    # ---------------------------------------------------------------- arithmetic
    def receptive_fields(self) -> list[ReceptiveField]:
        """Receptive field of every layer's output, index 0 being the input itself.

        Exact arithmetic throughout: ints, or Fractions after a layer that enlarges its input
        (docs/semantics.md, "Receptive field")."""
        rf = [ReceptiveField()]
        r, j, s = [1, 1], [1, 1], [0, 0]
        for layer in self.layers:
            steps = layer.axis_steps()
            for ax in (0, 1):
                st = steps[ax]
                r[ax] = _exact(r[ax] + (st.kernel - 1) * j[ax])
                s[ax] = _exact(s[ax] + st.shift * j[ax])
                j[ax] = _exact(j[ax] * st.stride)
            rf.append(ReceptiveField(tuple(r), tuple(j), tuple(s)))  # type: ignore[arg-type]
        return rf

    def output_shapes(self, in_shape: Iterable[int], *, limit: bool = True) -> list[Shape]:
        """Shapes of the input and every layer's output; PipelineError at the first misfit.
        `limit=False` leaves out the size limit of a layer held whole in memory (tiled runs)."""
        shapes: list[Shape] = [_as_shape(in_shape)]
        for i, layer in enumerate(self.layers):
            try:
                shapes.append(layer.output_shape(shapes[-1], limit=limit))
            except PipelineError as exc:
                raise exc.at_layer(i + 1) from None
        return shapes

    def analyze(self, in_shape: Iterable[int]) -> list[LayerInfo]:
        """Per-layer shapes, receptive fields and parameter counts, never raising on a misfit:
        the failing layer carries its error, the ones after it are marked waiting."""
        shape: Shape | None = _as_shape(in_shape)
        rfs = self.receptive_fields()
        infos = []
        failed = False
        for i, layer in enumerate(self.layers):
            err = None
            out = None
            params = None
            if not failed:
                try:
                    out = layer.output_shape(shape)  # type: ignore[arg-type]
                    params = layer.params(shape)  # type: ignore[arg-type]
                except PipelineError as exc:
                    err = exc.at_layer(i + 1)
                    failed = True
            infos.append(LayerInfo(i + 1, layer.type, out, rfs[i + 1], params, err,
                                   waiting=failed and err is None))
            shape = out
        return infos

    def params(self, in_shape: Iterable[int]) -> int:
        shapes = self.output_shapes(in_shape)
        return sum(layer.params(shapes[i]) for i, layer in enumerate(self.layers))

    def fc_params(self, in_shape: Iterable[int]) -> int:
        """Parameters of one fully connected layer mapping the whole input to the whole output."""
        shapes = self.output_shapes(in_shape)
        n_in = int(np.prod(shapes[0]))
        n_out = int(np.prod(shapes[-1]))
        return n_in * n_out + n_out

    def info(self, in_shape: Iterable[int]) -> dict:
        """The object `convstudio info --json` prints."""
        shapes = self.output_shapes(in_shape)
        return {
            "input_shape": list(shapes[0]),
            "layers": [info.to_json() for info in self.analyze(shapes[0])],
            "params": self.params(shapes[0]),
            "fc_params": self.fc_params(shapes[0]),
            "peak_bytes": self.peak_bytes(shapes[0]),
        }

    def peak_bytes(self, in_shape: Iterable[int], *, upto: int | None = None) -> int:
        """The most memory, in bytes, a whole-image ``convstudio apply`` of an input of `in_shape`
        holds at once: from the loaded ``(C, H, W) float32`` input to the written output of layer
        `upto` (default: the last).

        apply keeps only the layer being computed (:func:`run_layers` with
        ``keep_outputs=False``), so this is the largest of each layer's input + output + working
        space (:mod:`convstudio.core.memory`), and of writing the output. An upper bound, within
        a small factor of what is allocated (see docs/security.md).
        """
        shapes = self.output_shapes(in_shape)
        n = len(self.layers) if upto is None else upto
        peak = array_bytes(shapes[0])
        for i, layer in enumerate(self.layers[:n]):
            peak = max(peak, layer_peak_bytes(layer, shapes[i]))
        return max(peak, save_peak_bytes(shapes[n]))

    # ---------------------------------------------------------------- running
    def run(
        self,
        x: Any,
        *,
        upto: int | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[np.ndarray]:
        """Outputs of every layer in order, each ``(C, H, W) float32`` (the input not included).

        x is (H, W) or (C, H, W). `upto` stops after that many layers. `cancelled` is polled
        between layers and inside long ones (:mod:`convstudio.core.cancel`); RunCancelled is
        raised once it returns True.
        """
        cur = as_chw(x)
        self.output_shapes(cur.shape)  # fail fast, before any work, naming the layer
        return [r.output for r in run_layers(self.layers[:upto], cur, cancelled=cancelled)]

    def to_dask(self, array: Any, *, layer: int = -1, tile: int | tuple[int, int] = 512) -> Any:
        """Layer `layer`'s output (-1: the last, 0: the input) as a lazy ``dask.array`` with one
        chunk per output tile, equal to ``run(array)[layer - 1]`` (docs/scale.md). `array` is a
        NumPy, Dask or Zarr array of shape (C, H, W) or (H, W). Needs ``convstudio[scale]``."""
        from .tiledask import to_dask

        return to_dask(self, array, layer=layer, tile=tile)


@dataclass(frozen=True)
class LayerRun:
    """One layer's output from :func:`run_layers`.

    index : 1-based layer index. output : ``(C, H, W) float32``. seconds : compute time.
    """

    index: int
    output: np.ndarray
    seconds: float


def run_layers(
    layers: Sequence[Layer],
    x: np.ndarray,
    *,
    start: int = 0,
    cancelled: Callable[[], bool] | None = None,
    memory_budget: int | None = None,
    held: int = 0,
    keep_outputs: bool = True,
) -> Iterator[LayerRun]:
    """The one loop that runs layers, used by ``Pipeline.run``, the command line, the app's
    renderer, the cross-check and layer export, so that all of them compute the same bits.

    Parameters
    ----------
    layers : sequence of Layer
        The whole stack; computing starts at ``layers[start]``.
    x : (C, H, W) float32
        The input of ``layers[start]`` (the image, or the cached output of layer `start`).
    start : int
        0-based index of the first layer to compute.
    cancelled : callable, optional
        Asked between layers and inside long layers (row strips, FFT tiles, thread-pool tasks:
        see :mod:`convstudio.core.cancel`); RunCancelled is raised once it returns True. None:
        the question of the enclosing :func:`~convstudio.core.cancel.cancellable` block, if any
        (a job of the app's workers runs in one), else the run goes to the end.
    memory_budget : int, optional
        Bytes the outputs may take together, `held` bytes being taken already. A layer whose
        output would exceed it raises MemoryBudgetExceeded (a PipelineError naming the layer)
        before anything is allocated.
    keep_outputs : bool
        False when the caller keeps only the latest output (``convstudio apply``): the budget
        then bounds what one layer holds while it runs, its input, output and working space
        (:func:`convstudio.core.memory.layer_peak_bytes`), instead of the sum of the outputs.

    Overflow in float32 is not an error: a value beyond the float32 range becomes +-inf and
    ``inf - inf`` NaN, as IEEE 754 defines them (docs/semantics.md), without a warning.

    Yields
    ------
    LayerRun
        After each layer, in order. A layer that does not fit its input raises PipelineError
        attributed to it (1-based); the outputs yielded before stay valid.
    """
    cur = x
    del x  # a caller that keeps only the latest output frees the input after the first layer
    if cancelled is None:  # (cancellable(None) below would silence the enclosing question)
        cancelled = current_question()
    for i in range(start, len(layers)):
        if cancelled is not None and cancelled():
            raise RunCancelled()
        layer = layers[i]
        if memory_budget is not None and layer.enabled:
            held = _check_budget(layer, i + 1, cur.shape, memory_budget, held, keep_outputs)
        t0 = time.perf_counter()
        try:
            with cancellable(cancelled), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                cur = layer.forward(cur)
        except PipelineError as exc:
            raise exc.at_layer(i + 1) from None
        yield LayerRun(i + 1, cur, time.perf_counter() - t0)


def _check_budget(layer: Layer, index: int, in_shape: Shape, budget: int, held: int,
                  keep_outputs: bool) -> int:
    """Raise MemoryBudgetExceeded if running `layer` would go over `budget`; the bytes held after."""
    try:
        if keep_outputs:
            need = array_bytes(layer.output_shape(in_shape))
        else:
            need = layer_peak_bytes(layer, in_shape)
    except PipelineError as exc:
        raise exc.at_layer(index) from None
    if keep_outputs:
        if held + need > budget:
            raise MemoryBudgetExceeded(need, budget, layer=index)
        return held + need
    if need > budget:
        raise MemoryBudgetExceeded(need, budget, layer=index, running=True)
    return held


def _dump_json(d: dict) -> str:
    """Readable JSON, indented by two, with every list of plain numbers (a kernel row, a bias, a
    pair) on one line, so that kernels read one row per line.

    Written as a small emitter rather than by post-processing json.dumps' text, which cannot tell
    a list from the inside of a string.
    """

    def flat(v: Any) -> bool:
        return all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in v)

    def emit(v: Any, level: int) -> str:
        inner, outer = "  " * (level + 1), "  " * level
        if isinstance(v, list) and v and not flat(v):
            items = ",\n".join(inner + emit(e, level + 1) for e in v)
            return f"[\n{items}\n{outer}]"
        if isinstance(v, dict) and v:
            items = ",\n".join(f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {emit(e, level + 1)}"
                               for k, e in v.items())
            return f"{{\n{items}\n{outer}}}"
        return json.dumps(v, ensure_ascii=False, allow_nan=False)

    return emit(d, 0) + "\n"


def _as_shape(s: Iterable[int]) -> Shape:
    t = tuple(int(v) for v in s)
    if len(t) == 2:
        t = (1,) + t
    if len(t) != 3 or min(t) < 1:
        raise PipelineError(f"an input shape must be C, H, W with each at least 1, got {t}")
    return t  # type: ignore[return-value]


@dataclass
class IncrementalRunner:
    """Keeps the outputs of the last run so that the next one recomputes only from the first
    layer that changed. One runner belongs to one thread at a time.
    """

    _input: np.ndarray | None = None
    _layers: tuple[Layer, ...] = ()
    _outputs: list[np.ndarray] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def clear(self) -> None:
        with self._lock:
            self._input, self._layers, self._outputs = None, (), []

    def reusable(self, x: np.ndarray, pipeline: Pipeline) -> int:
        """How many leading layer outputs of the cache are valid for (x, pipeline)."""
        if self._input is None or x is not self._input:
            return 0
        return min(first_changed_layer(self._layers, pipeline.layers), len(self._outputs))

    def run(
        self,
        x: np.ndarray,
        pipeline: Pipeline,
        *,
        cancelled: Callable[[], bool] | None = None,
        on_layer: Callable[[int, np.ndarray, float], None] | None = None,
    ) -> tuple[list[np.ndarray], int]:
        """Run `pipeline` on `x` (already (C, H, W) float32; identity decides input reuse).

        Returns the outputs of every layer up to the first failing one and the number of layers
        taken from the cache. A layer error is raised as PipelineError after the outputs before it
        are cached; on cancel RunCancelled is raised and the cache keeps what was finished.
        `on_layer(index0, output, seconds)` is called after each computed layer.
        """
        with self._lock:
            keep = self.reusable(x, pipeline)
            outputs = self._outputs[:keep]
            self._input, self._layers, self._outputs = x, pipeline.layers[:keep], outputs
            cur = outputs[-1] if outputs else x
            for step in run_layers(pipeline.layers, cur, start=keep, cancelled=cancelled):
                outputs.append(step.output)
                self._layers = pipeline.layers[:step.index]
                if on_layer is not None:
                    on_layer(step.index - 1, step.output, step.seconds)
            return list(outputs), keep
