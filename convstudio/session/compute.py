"""Running a pipeline for the app: through the core's own layer loop, cached, with a preview scale.

No Qt here: the renderer's worker thread calls these functions, and so can tests.

Every exact output is computed by :func:`convstudio.core.run_layers`, the loop that
``Pipeline.run`` and ``convstudio apply`` use, so the window shows the very bits that the command
line writes. That loop polls `cancelled` between layers and inside long ones (row strips, FFT
tiles, thread-pool tasks), so a user who drags a value or closes the window does not wait for a
big convolution to finish.

:class:`CachedRunner` adds the app's caching rule (recompute from the first changed layer; the
input by identity) and a memory budget for the cached outputs. After a small weight edit its
:meth:`~CachedRunner.update` first derives the new outputs from the cached ones
(:mod:`~convstudio.session.delta`: equal to float32 rounding, marked inexact in the cache); the next
:meth:`~CachedRunner.run` recomputes every inexact output exactly. The runner also keeps the
finite range of every channel of every cached output, so that the views need not scan a layer
on the GUI thread to find its colour levels.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from convstudio.core import (
    ConvStudioError,
    Layer,
    MemoryBudgetExceeded,
    Pipeline,
    PipelineError,
    RunCancelled,
    fastpaths,
    run_layers,
)
from convstudio.core.pipeline import first_changed_layer
from convstudio.session.delta import conv_weight_delta, propagate_delta

__all__ = [
    "CachedRunner",
    "RunResult",
    "channel_ranges",
    "changed_channels",
    "combined_range",
    "preview_factor",
    "downscale",
    "memory_budget",
    "DEFAULT_PREVIEW_PIXELS",
]

#: Images above this many pixels (per channel) are previewed downscaled, when preview is on.
DEFAULT_PREVIEW_PIXELS = 4_000_000


def memory_budget() -> int:
    """Bytes the cached layer outputs of one run may take: half the physical memory, at most
    8 GiB, and no more than the address space a limit (``ulimit -v``, RLIMIT_AS) leaves this
    process. Past it a layer is refused with a message instead of letting the system kill the
    app (docs/security.md)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    budget = min(8 << 30, max(1 << 30, total // 2))
    left = _address_space_left()
    return int(budget if left is None else max(0, min(budget, left)))


def _address_space_left() -> int | None:
    """Bytes of address space this process may still map under RLIMIT_AS; None without a limit."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm", encoding="ascii") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError, IndexError):
        return None
    return soft - used


def _never() -> bool:
    return False


#: Values per task when a layer is scanned on the core's threads (whole rows of one channel).
_SCAN_BLOCK = 1 << 22


def _scan_blocks(x: np.ndarray, channels: Iterable[int]) -> list[tuple[int, int, int]]:
    """(channel, first row, end row) blocks of about _SCAN_BLOCK values covering `channels`."""
    _, h, w = x.shape
    rows = max(1, _SCAN_BLOCK // max(1, w))
    return [(k, r, min(h, r + rows)) for k in channels for r in range(0, h, rows)]


def _finite_min_max(a: np.ndarray) -> tuple[float, float]:
    lo, hi = float(a.min()), float(a.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (np.inf, -np.inf)
    return lo, hi


def channel_ranges(x: np.ndarray, channels: Iterable[int] | None = None, *,
                   out: np.ndarray | None = None) -> np.ndarray:
    """``(C, 2) float64``: the finite min and max of every channel of ``(C, H, W)`` `x`
    (``(inf, -inf)`` for a channel without finite values).

    With `channels` only those rows are computed, into `out` (a copy of the old ranges, say).
    A large layer is scanned in blocks of rows on the core's threads
    (:func:`convstudio.core.fastpaths.parallel`).
    """
    c = x.shape[0]
    if out is None:
        out = np.empty((c, 2), np.float64)
    channels = list(range(c) if channels is None else channels)
    out[channels] = (np.inf, -np.inf)
    if x.size == 0 or not channels:
        return out
    blocks = _scan_blocks(x, channels)
    found: list[tuple[int, float, float]] = []

    def task(k: int, r0: int, r1: int) -> None:
        found.append((k, *_finite_min_max(x[k, r0:r1])))  # (list.append is atomic)

    fastpaths.parallel([lambda b=b: task(*b) for b in blocks])
    for k, lo, hi in found:
        out[k, 0] = min(out[k, 0], lo)
        out[k, 1] = max(out[k, 1], hi)
    return out


def changed_channels(old: np.ndarray, new: np.ndarray) -> tuple[int, ...] | None:
    """The channels in which two ``(C, H, W)`` arrays differ; None if the shapes differ.

    Compared bit for bit (so NaN equals NaN; a 0 that became -0 counts as a change, which only
    costs a redraw), in blocks of rows on the core's threads.
    """
    if old.shape != new.shape:
        return None
    if old.dtype != new.dtype:
        return tuple(k for k in range(new.shape[0])
                     if not np.array_equal(old[k], new[k], equal_nan=True))
    bits = np.dtype(f"u{new.dtype.itemsize}")
    ov, nv = old.view(bits), new.view(bits)
    differ: set[int] = set()

    def task(k: int, r0: int, r1: int) -> None:
        if k not in differ and not np.array_equal(ov[k, r0:r1], nv[k, r0:r1]):
            differ.add(k)

    fastpaths.parallel([lambda b=b: task(*b) for b in _scan_blocks(new, range(new.shape[0]))])
    return tuple(sorted(differ))


def combined_range(ranges: np.ndarray) -> tuple[float, float]:
    """The finite range of a whole layer from :func:`channel_ranges` (``(0, 0)`` if none),
    as :func:`convstudio.app.views.colormaps.finite_range` computes it from the data."""
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
    pipeline : the pipeline these outputs belong to.
    """

    outputs: list[np.ndarray] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    reused: int = 0
    error: tuple[int, str] | None = None
    ranges: list[np.ndarray] = field(default_factory=list)
    input_ranges: np.ndarray | None = None
    pipeline: Pipeline | None = None


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
        #: Seconds the layers from the one :meth:`update` last changed to the end took when
        #: they were last computed exactly: about what the exact recompute after it will take.
        self.pending_seconds = 0.0

    def clear(self) -> None:
        self._input, self._layers = None, ()
        self._outputs, self._times, self._exact, self._ranges = [], [], [], []

    @property
    def input(self) -> np.ndarray | None:
        """The input of the cached outputs (None: nothing cached)."""
        return self._input

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
        from the cached outputs (:mod:`~convstudio.session.delta`) and cache them as inexact.
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
        self.pending_seconds = float(sum(old_times[i:]))
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
            on_layer: Callable[[int, np.ndarray, float], None] | None = None) -> RunResult:
        """Run `pipeline` on `x` ``(C, H, W) float32``, exactly.

        `on_layer(index, output, seconds)` (1-based index) is called after each computed layer.
        A layer that does not fit or fails stops the run; its message is in ``result.error``.

        Raises
        ------
        RunCancelled
            `cancelled()` returned True; the finished layers stay cached.
        """
        keep = self.reusable(x, pipeline)
        self._input = x
        self._truncate(keep)
        self._layers = pipeline.layers[:keep]
        result = RunResult(reused=keep, pipeline=pipeline)
        cur = self._outputs[-1] if self._outputs else x
        held = sum(o.nbytes for o in self._outputs if o is not x)
        steps = run_layers(pipeline.layers, cur, start=keep, cancelled=cancelled,
                           memory_budget=self.budget, held=held)
        while True:
            try:
                step = next(steps, None)
            except RunCancelled:
                raise
            except MemoryBudgetExceeded as exc:
                result.error = (exc.layer, f"{exc.reason} (turn on View ▸ Preview, or use a "
                                           "smaller image)")
                break
            except PipelineError as exc:
                result.error = (exc.layer or len(self._outputs) + 1, exc.reason)
                break
            except MemoryError:
                result.error = (len(self._outputs) + 1, "not enough memory for this layer's output")
                break
            except (ConvStudioError, ValueError, FloatingPointError) as exc:
                result.error = (len(self._outputs) + 1, str(exc))
                break
            if step is None:
                break
            out = step.output
            ranges = channel_ranges(out)  # (first: it may raise RunCancelled)
            self._outputs.append(out)
            self._times.append(step.seconds)
            self._exact.append(True)
            self._ranges.append(ranges)
            self._layers = pipeline.layers[:step.index]
            if on_layer is not None:
                on_layer(step.index, out, step.seconds)
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
