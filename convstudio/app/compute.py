"""Running a pipeline for the app: cancellable within a layer, incremental, with a preview scale.

No Qt here: the renderer's worker thread calls these functions, and so can tests.

The core's :class:`~convstudio.core.IncrementalRunner` can only stop *between* layers. One conv
layer with a big kernel on a large photo takes seconds to minutes, and a user who drags a value
or closes the window must not wait for it. :func:`forward_layer` therefore computes an expensive
convolution in bands of output rows (each band one call of the core's own ``ops.correlate`` on
the rows of the padded input it needs) and polls `cancelled` between bands. Layers below the
banding threshold are ``layer.forward(x)`` itself. A banded result is the same arithmetic as the
core's; it equals ``layer.forward(x)`` to float32 rounding (bit for bit while the core computes
each band the way it computes the whole, which its fast paths do not promise: a band may take
another path of its cost model). That is why :mod:`~convstudio.app.layer_export`, whose files
must equal ``convstudio apply``'s byte for byte, calls ``layer.forward`` and not this.

:class:`CachedRunner` is the core runner's caching rule (recompute from the first changed layer;
the input by identity) around this forward, with a memory budget for the cached outputs. After
a small weight edit its :meth:`~CachedRunner.update` first derives the new outputs from the cached
ones (:mod:`~convstudio.app.delta`: equal to float32 rounding, marked inexact in the cache); the
next :meth:`~CachedRunner.run` recomputes every inexact output exactly. The runner also keeps the
finite range of every channel of every cached output, so that the views need not scan a layer
on the GUI thread to find its colour levels.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from convstudio.core import ConvStudioError, Conv2d, Layer, Pipeline, PipelineError, RunCancelled
from convstudio.core import ops
from convstudio.core.layers import AvgPool2d, MaxPool2d
from convstudio.core.pipeline import first_changed_layer

from .delta import conv_weight_delta, propagate_delta

__all__ = [
    "BAND_WORK",
    "forward_layer",
    "CachedRunner",
    "RunResult",
    "channel_ranges",
    "changed_channels",
    "combined_range",
    "preview_factor",
    "downscale",
    "DEFAULT_PREVIEW_PIXELS",
]

#: Multiply-adds per band of a chunked convolution: about 20-60 ms of NumPy work, which bounds
#: how long a cancel waits.
BAND_WORK = 30_000_000
#: A convolution below this many multiply-adds runs in one call (no band bookkeeping).
_CHUNK_ABOVE = 2 * BAND_WORK
#: The depthwise path costs one NumPy call per tap and band: keep bands at least this many
#: output pixels so that the call overhead stays small next to the arithmetic.
_MIN_BAND_PIXELS = 8192

#: Images above this many pixels (per channel) are previewed downscaled, when preview is on.
DEFAULT_PREVIEW_PIXELS = 4_000_000


def memory_budget() -> int:
    """Bytes the cached layer outputs of one run may take: half the physical memory, at most
    8 GiB. Past it a layer is refused with a message instead of letting the system kill the app."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return int(min(8 << 30, max(1 << 30, total // 2)))


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def _never() -> bool:
    return False


def conv_work(layer: Conv2d, in_shape: tuple[int, int, int]) -> int:
    """Multiply-adds of `layer` on an input of `in_shape` (0 if it does not fit)."""
    try:
        cout, ho, wo = layer.output_shape(in_shape)
    except PipelineError:
        return 0
    kh, kw = layer.kernel_size
    cin_g = 1 if layer.weight is None else layer.weight.shape[1]
    return cout * ho * wo * cin_g * kh * kw


def forward_layer(layer: Layer, x: np.ndarray, *, cancelled: Callable[[], bool] | None = None,
                  band_work: int = BAND_WORK) -> np.ndarray:
    """``layer.forward(x)``, polling `cancelled` inside long convolutions (equal to the core to
    float32 rounding when banded, bit for bit otherwise).

    Raises
    ------
    RunCancelled
        `cancelled()` returned True.
    PipelineError
        The layer does not fit `x` (from the core).
    """
    cancelled = cancelled or _never
    if not layer.enabled:
        return x
    if isinstance(layer, Conv2d):
        if conv_work(layer, x.shape) > 2 * band_work:
            return _conv_in_bands(layer, x, cancelled, band_work)
        return layer.forward(x)
    if isinstance(layer, (MaxPool2d, AvgPool2d)) and x.shape[0] > 1:
        # Pooling treats channels independently: one channel at a time gives the same numbers.
        layer.output_shape(x.shape)
        parts = []
        for c in range(x.shape[0]):
            if cancelled():
                raise RunCancelled()
            parts.append(layer.forward(x[c:c + 1]))
        return np.concatenate(parts, axis=0)
    return layer.forward(x)


def _conv_in_bands(layer: Conv2d, x: np.ndarray, cancelled: Callable[[], bool],
                   band_work: int) -> np.ndarray:
    cout, ho, wo = layer.output_shape(x.shape)
    c = x.shape[0]
    weight = layer.effective_weight(c)
    bias = layer.effective_bias(c)
    groups = layer.effective_groups(c)
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
    cin_g = weight.shape[1]
    depthwise = cin_g == 1 and cout // groups == 1
    row_work = max(1, cout * wo * cin_g * kh * kw)
    rows = max(1, band_work // row_work)
    if depthwise:
        rows = max(rows, -(-_MIN_BAND_PIXELS // max(1, wo)))
    else:
        # Whole strips of the core's generic im2col loop, so that its GEMMs are the same ones.
        strip = max(1, min(ho, getattr(ops, "_STRIP_ELEMS", 1 << 20)
                           // max(1, cin_g * kh * kw * wo)))
        rows = -(-rows // strip) * strip
    if cancelled():
        raise RunCancelled()
    xp = ops.pad(x, layer.pads, mode=layer.padding_mode)
    out = np.empty((cout, ho, wo), dtype=np.float32)
    for r0 in range(0, ho, rows):
        if cancelled():
            raise RunCancelled()
        n = min(rows, ho - r0)
        band = xp[:, r0 * sh:(r0 + n - 1) * sh + dh * (kh - 1) + 1]
        out[:, r0:r0 + n] = ops.correlate(band, weight, bias=bias, stride=(sh, sw),
                                          dilation=(dh, dw), groups=groups)
    return out


def channel_ranges(x: np.ndarray, channels: Iterable[int] | None = None, *,
                   out: np.ndarray | None = None) -> np.ndarray:
    """``(C, 2) float64``: the finite min and max of every channel of ``(C, H, W)`` `x`
    (``(inf, -inf)`` for a channel without finite values).

    With `channels` only those rows are computed, into `out` (a copy of the old ranges, say).
    """
    c = x.shape[0]
    if out is None:
        out = np.empty((c, 2), np.float64)
        channels = range(c) if channels is None else channels
    elif channels is None:
        channels = range(c)
    for k in channels:
        ch = x[k]
        if ch.size == 0:
            out[k] = (np.inf, -np.inf)
            continue
        lo, hi = float(ch.min()), float(ch.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            finite = ch[np.isfinite(ch)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size \
                else (np.inf, -np.inf)
        out[k] = (lo, hi)
    return out


def changed_channels(old: np.ndarray, new: np.ndarray) -> tuple[int, ...] | None:
    """The channels in which two ``(C, H, W)`` arrays differ (NaN equals NaN); None if the
    shapes differ."""
    if old.shape != new.shape:
        return None
    return tuple(k for k in range(new.shape[0])
                 if not np.array_equal(old[k], new[k], equal_nan=True))


def combined_range(ranges: np.ndarray) -> tuple[float, float]:
    """The finite range of a whole layer from :func:`channel_ranges` (``(0, 0)`` if none),
    as :func:`convstudio.app.colormaps.finite_range` computes it from the data."""
    if len(ranges) == 0:
        return 0.0, 0.0
    lo, hi = float(ranges[:, 0].min()), float(ranges[:, 1].max())
    if lo > hi:
        return 0.0, 0.0
    return lo, hi


@dataclass
class RunResult:
    """What one run produced.

    outputs : list of ``(C, H, W) float32``, one per layer up to (not including) a failing layer.
    times : seconds per layer in `outputs` (cached layers keep the time of their last run).
    reused : how many leading outputs came from the cache.
    error : (1-based layer index, message) of the first layer that failed, if any.
    ranges : ``(C, 2)`` finite min / max per channel of each output (:func:`channel_ranges`).
    input_ranges : the same for the input, when the caller measured it.
    """

    outputs: list[np.ndarray] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    reused: int = 0
    error: tuple[int, str] | None = None
    ranges: list[np.ndarray] = field(default_factory=list)
    input_ranges: np.ndarray | None = None


class CachedRunner:
    """Runs pipelines, reusing the outputs of the previous run up to the first changed layer.

    The input is compared by identity (the app hands the same read-only array until the image
    changes). One runner belongs to one thread.

    :meth:`update` (the fast stage after a weight edit) stores delta outputs marked inexact;
    :meth:`run` reuses only exact outputs, so it recomputes those. :meth:`ranges` gives the
    per-channel finite ranges of a cached output.
    """

    def __init__(self, *, budget: int | None = None) -> None:
        self.budget = memory_budget() if budget is None else int(budget)
        self._input: np.ndarray | None = None
        self._layers: tuple[Layer, ...] = ()
        self._outputs: list[np.ndarray] = []
        self._times: list[float] = []
        self._exact: list[bool] = []
        self._ranges: list[np.ndarray] = []

    def clear(self) -> None:
        self._input, self._layers = None, ()
        self._outputs, self._times, self._exact, self._ranges = [], [], [], []

    def reusable(self, x: np.ndarray, pipeline: Pipeline) -> int:
        """How many leading cached outputs are valid and exact for (x, pipeline)."""
        if self._input is None or x is not self._input:
            return 0
        keep = min(first_changed_layer(self._layers, pipeline.layers), len(self._outputs))
        return next((i for i in range(keep) if not self._exact[i]), keep)

    def ranges(self, index: int) -> np.ndarray:
        """``(C, 2)`` finite min / max per channel of the cached output of layer `index`
        (1-based), as :func:`channel_ranges` gives them."""
        return self._ranges[index - 1]

    def is_exact(self, index: int) -> bool:
        """Whether the cached output of layer `index` (1-based) is a full recompute."""
        return self._exact[index - 1]

    def _truncate(self, n: int) -> None:
        del self._outputs[n:], self._times[n:], self._exact[n:], self._ranges[n:]
        self._layers = self._layers[:n]

    def update(self, x: np.ndarray, pipeline: Pipeline, *, upto: int | None = None,
               cancelled: Callable[[], bool] | None = None,
               on_layer: Callable[[int, np.ndarray, tuple[int, ...], np.ndarray], None]
               | None = None) -> int:
        """The fast stage after a small weight or bias edit of one conv layer.

        When `pipeline` differs from the cached run (same input `x`, every layer computed) in the
        weights of one conv layer only, derive that layer's new output and the following ones
        from the cached outputs (:mod:`~convstudio.app.delta`) and cache them as inexact.
        `on_layer(index, output, changed_channels, old_output)` is called for each (1-based
        index; `changed_channels` are those that differ from `old_output`). Stops after layer
        `upto` (1-based; the one on screen: the exact stage recomputes the rest anyway) or at
        the first layer that a delta would not make cheaper; the layers after it are dropped from
        the cache.

        Returns
        -------
        int
            How many layers were updated (0: not applicable; :meth:`run` does everything).

        Raises
        ------
        RunCancelled
            `cancelled()` returned True; what was updated stays cached (inexact).
        """
        cancelled = cancelled or _never
        layers = pipeline.layers
        n = len(layers)
        if self._input is None or x is not self._input or len(self._layers) != n \
                or len(self._outputs) != n:
            return 0
        i = first_changed_layer(self._layers, layers)
        if i >= n or any(a is not b and a != b
                         for a, b in zip(self._layers[i + 1:], layers[i + 1:])):
            return 0
        x_in = self._outputs[i - 1] if i else x
        try:
            res = conv_weight_delta(self._layers[i], layers[i], x_in, self._outputs[i])
        except (ConvStudioError, ValueError, FloatingPointError, MemoryError):
            res = None
        if res is None:
            return 0
        old_outputs, old_times, old_ranges = list(self._outputs), list(self._times), \
            list(self._ranges)
        self._truncate(i)  # from here on the cache holds only what is consistent
        k = i
        while True:
            out, changed = res
            rng = old_ranges[k].copy()
            channel_ranges(out, changed, out=rng)
            self._outputs.append(out)
            self._times.append(old_times[k])
            self._exact.append(False)
            self._ranges.append(rng)
            self._layers = layers[:k + 1]
            if on_layer is not None:
                on_layer(k + 1, out, changed, old_outputs[k])
            k += 1
            if k >= n or (upto is not None and k >= upto):
                break
            if cancelled():
                raise RunCancelled()
            try:
                res = propagate_delta(layers[k], old_outputs[k - 1], out, changed, old_outputs[k])
            except (ConvStudioError, ValueError, FloatingPointError, MemoryError):
                res = None
            if res is None:
                break
        return k - i

    def run(self, x: np.ndarray, pipeline: Pipeline, *,
            cancelled: Callable[[], bool] | None = None,
            on_layer: Callable[[int, np.ndarray, float], None] | None = None,
            band_work: int = BAND_WORK) -> RunResult:
        """Run `pipeline` on `x` ``(C, H, W) float32``, exactly.

        `on_layer(index, output, seconds)` (1-based index) is called after each computed layer.
        A layer that does not fit or fails stops the run; its message is in ``result.error``.

        Raises
        ------
        RunCancelled
            `cancelled()` returned True; the finished layers stay cached.
        """
        cancelled = cancelled or _never
        keep = self.reusable(x, pipeline)
        self._input = x
        self._truncate(keep)
        self._layers = pipeline.layers[:keep]
        result = RunResult(reused=keep)
        cur = self._outputs[-1] if self._outputs else x
        held = sum(o.nbytes for o in self._outputs if o is not x)
        for i in range(keep, len(pipeline.layers)):
            if cancelled():
                raise RunCancelled()
            layer = pipeline.layers[i]
            t0 = time.perf_counter()
            try:
                need = 4 * math.prod(layer.output_shape(cur.shape)) if layer.enabled else 0
                if held + need > self.budget:
                    result.error = (i + 1, (
                        f"its output needs {_gib(need)}; with the layers before it that is more "
                        f"than the {_gib(self.budget)} set aside for feature maps (turn on View ▸ "
                        "Preview, or use a smaller image)"))
                    break
                held += need
                cur = forward_layer(layer, cur, cancelled=cancelled, band_work=band_work)
            except RunCancelled:
                raise
            except PipelineError as exc:
                result.error = (i + 1, exc.reason)
                break
            except MemoryError:
                result.error = (i + 1, "not enough memory for this layer's output")
                break
            except (ConvStudioError, ValueError, FloatingPointError) as exc:
                result.error = (i + 1, str(exc))
                break
            dt = time.perf_counter() - t0
            rng = channel_ranges(cur)
            self._outputs.append(cur)
            self._times.append(dt)
            self._exact.append(True)
            self._ranges.append(rng)
            self._layers = pipeline.layers[: i + 1]
            if on_layer is not None:
                on_layer(i + 1, cur, dt)
        result.outputs = list(self._outputs)
        result.times = list(self._times)
        result.ranges = list(self._ranges)
        return result


def preview_factor(shape: tuple[int, ...], max_pixels: int | None) -> int:
    """Integer downscale factor that brings H x W to at most `max_pixels` (1: full size)."""
    if not max_pixels:
        return 1
    h, w = shape[-2], shape[-1]
    if h * w <= max_pixels:
        return 1
    f = max(2, math.ceil(math.sqrt(h * w / max_pixels)))
    while (h // f) * (w // f) > max_pixels:
        f += 1
    return min(f, max(1, min(h, w)))


def downscale(x: np.ndarray, factor: int) -> np.ndarray:
    """``(C, H, W) float32`` shrunk by an integer factor with area averaging (cv2 INTER_AREA),
    to ``(C, H // factor, W // factor)``, read-only."""
    if factor <= 1:
        return x
    import cv2

    c, h, w = x.shape
    size = (max(1, w // factor), max(1, h // factor))
    out = np.empty((c, size[1], size[0]), dtype=np.float32)
    for ch in range(c):  # cv2 handles at most 512 channels at once; one by one is as fast
        out[ch] = cv2.resize(x[ch], size, interpolation=cv2.INTER_AREA)
    out.setflags(write=False)
    return out
