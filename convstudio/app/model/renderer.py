"""The renderer: turns Document changes into feature maps, off the GUI thread.

Every Document change bumps a generation counter at once (so whatever is in flight becomes
stale, and the renderer's :class:`~convstudio.app.model.worker.Worker` is told so). A
:class:`~convstudio.app.model.throttle.Throttler` hands the first change after a quiet spell to
the worker at once (leading edge); changes that follow within ``debounce_ms`` are coalesced into
one hand-over at the end of that interval (trailing edge), and so on while they keep coming, so a
single edit waits for no timer and a drag does not queue a run per step. A frozen
:class:`RenderRequest` (image, pipeline, generation, preview factor, the layer on screen) goes to
the ONE worker thread, which keeps only the newest request (older ones waiting are replaced).

The worker runs a request in two stages. After a small weight or bias edit of a conv layer it
first derives the new outputs from the cached ones (:meth:`CachedRunner.update
<convstudio.session.compute.CachedRunner.update>`, a few milliseconds: equal to the exact result to
float32 rounding) and sends them as inexact :class:`LayerUpdate` values (the GUI thread waits up
to ``HANDOVER_WAIT_S`` for this stage of an idle worker, so that the two do not slow each other
down fighting over the GIL); it then pauses for ``EXACT_DELAY_MS`` (so the GUI thread paints
them without competing for the cores; a recompute expected to take less than ``QUICK_EXACT_S``
is resumed by the GUI thread once it has painted them, and a newer request ends the pause,
:meth:`~convstudio.app.model.worker.JobContext.pause`) and recomputes from the
first changed or inexact layer on, exactly (:class:`~convstudio.session.compute.CachedRunner`),
which replaces them. It polls "is my generation still the latest?" between layers and inside
long convolutions, and sends results back through queued signals. The renderer re-checks the
generation on the GUI thread, so a stale result never reaches a view, and ``finished`` (with
:attr:`Renderer.outputs`) only ever carries exact outputs.

The jobs take the layers' outputs from the renderer's :class:`~convstudio.core.buffers.Recycler`
(:attr:`Renderer.recycler`): each run reuses the memory of the outputs the last one replaced
instead of asking the system for new pages (``core/buffers.py`` says what that costs).
``RELEASE_AFTER_MS`` after the last run, and at shutdown, the free memory goes back.

There is no synchronous mode: tests run this very thread and wait on its signals (or
:meth:`Renderer.wait_idle`), so they see the order of events that users see. ``shutdown()``
stops the thread and waits for it: call it before the app quits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from convstudio.app.model.document import Document
from convstudio.app.model.throttle import Debouncer, Throttler
from convstudio.app.model.worker import JobContext, Worker, process_events_until
from convstudio.core import Pipeline, RunCancelled, buffers, jit
from convstudio.session.compute import (
    DEFAULT_PREVIEW_PIXELS,
    CachedRunner,
    RunResult,
    changed_channels,
    channel_ranges,
    combined_range,
    downscale,
    preview_factor,
)

__all__ = ["Renderer", "RenderRequest", "LayerUpdate", "DEBOUNCE_MS", "EXACT_DELAY_MS",
           "QUICK_EXACT_S", "HANDOVER_WAIT_S", "RELEASE_AFTER_MS"]

DEBOUNCE_MS = 30
#: After inexact (delta) outputs were sent, the exact recompute starts this much later: the GUI
#: thread paints the quick result without competing for the cores, and a burst of edits
#: recomputes once at its end. When the recompute is expected to take less than QUICK_EXACT_S
#: (the layers' last times), the GUI thread ends the pause as soon as it has painted the quick
#: result: a fixed pause was most of the wait for the exact maps (at 1 MP, 60 of about 90 ms for
#: the last layer), and a burst's cancelled quick recomputes cost little.
EXACT_DELAY_MS = 60
QUICK_EXACT_S = 0.25
#: How long the GUI thread may wait for an idle worker's quick stage after handing it a request
#: (seconds; see Renderer._submit).
HANDOVER_WAIT_S = 0.005
#: The memory of replaced layer outputs is kept for the next run (see the module docstring) until
#: the renderer has been idle this long; then it goes back to the system.
RELEASE_AFTER_MS = 30_000


@dataclass(frozen=True)
class RenderRequest:
    """Everything one run needs; immutable, so it can cross threads."""

    generation: int
    image: np.ndarray
    pipeline: Pipeline
    factor: int = 1
    focus: int = 0  # the layer on screen: the fast stage updates the layers up to it only


@dataclass(frozen=True)
class LayerUpdate:
    """One layer's new output, as the renderer hands it to the views.

    output : ``(C, H, W) float32``
    exact : False for a delta update (equal to the exact output to float32 rounding); the exact
        output of the same generation follows unless a newer edit makes it stale.
    ranges : ``(C, 2) float64`` finite min / max of every channel
        (:func:`~convstudio.session.compute.channel_ranges`).
    base : the output of this layer that the worker sent before (None: none, or another
        shape), and changed: the channels in which `output` differs from it. A view that shows
        `base` needs to redraw only those.
    seconds : compute time of an exact output (0 for a delta update).
    """

    output: np.ndarray
    exact: bool
    ranges: np.ndarray
    base: np.ndarray | None = None
    changed: tuple[int, ...] | None = None
    seconds: float = 0.0

    @property
    def data_range(self) -> tuple[float, float]:
        """The finite ``(min, max)`` of the whole output."""
        return combined_range(self.ranges)


class _Compute:
    """One request's work, done on the worker thread."""

    def __init__(self) -> None:
        self.runner = CachedRunner()
        self._preview_key: tuple[int, int] | None = None
        self._preview: np.ndarray | None = None
        self._source: np.ndarray | None = None
        # The output last sent per layer index, what the next one of that layer is compared
        # with: a view that shows it redraws only the channels that changed.
        self._sent: dict[int, np.ndarray] = {}
        self._input_ranges: tuple[np.ndarray, np.ndarray] | None = None  # (input, its ranges)

    def input_for(self, req: RenderRequest) -> np.ndarray:
        if req.factor <= 1:
            return req.image
        # Keep the downscaled copy while the image and factor stay: the runner reuses its cache
        # only for the very same input array.
        if self._source is not req.image or self._preview_key != (id(req.image), req.factor):
            self._preview = downscale(req.image, req.factor)
            self._source = req.image
            self._preview_key = (id(req.image), req.factor)
        return self._preview  # type: ignore[return-value]

    def update(self, req: RenderRequest, cancelled, on_update) -> int:
        """The delta stage: `on_update(index, LayerUpdate)` per updated layer; how many."""
        x = self.input_for(req)
        runner = self.runner

        def on_layer(index: int, out: np.ndarray, changed: tuple[int, ...],
                     old: np.ndarray) -> None:
            base = self._sent.get(index)
            if base is not old:
                changed = None if base is None else changed_channels(base, out)
            self._sent[index] = out
            on_update(index, LayerUpdate(out, False, runner.ranges(index), base, changed))

        return runner.update(x, req.pipeline, upto=req.focus or None, cancelled=cancelled,
                             on_layer=on_layer)

    def run(self, req: RenderRequest, cancelled, on_update) -> tuple[np.ndarray, RunResult]:
        """The exact stage: `on_update(index, LayerUpdate)` per computed layer."""
        x = self.input_for(req)
        runner = self.runner
        if runner.input is not x:
            # A new input changes every map: comparing with what was sent would cost a pass
            # over each output for nothing.
            self._sent.clear()

        def on_layer(index: int, out: np.ndarray, seconds: float) -> None:
            base = self._sent.get(index)
            changed = None if base is None else changed_channels(base, out)
            self._sent[index] = out
            on_update(index, LayerUpdate(out, True, runner.ranges(index), base, changed,
                                         seconds))

        result = runner.run(x, req.pipeline, cancelled=cancelled, on_layer=on_layer)
        for index in [i for i in self._sent if i > len(result.outputs)]:
            del self._sent[index]  # layers that no longer exist or failed
        if self._input_ranges is None or self._input_ranges[0] is not x:
            self._input_ranges = (x, channel_ranges(x))
        result.input_ranges = self._input_ranges[1]
        return x, result


def _render_job(compute: _Compute, req: RenderRequest, recycler: buffers.Recycler | None):
    """The worker's job for `req`: the quick (delta) stage, a pause, then the exact stage, with
    the large outputs' memory from `recycler`.

    Reports ``(generation, index, LayerUpdate)`` as progress and returns ``(generation, input
    used, RunResult)``; raises :class:`~convstudio.core.RunCancelled` once the request is stale.
    """

    def job(ctx: JobContext) -> tuple[int, np.ndarray, RunResult]:
        with buffers.recycling(recycler):
            return stages(ctx)

    def stages(ctx: JobContext) -> tuple[int, np.ndarray, RunResult]:
        g = req.generation

        def on_update(index: int, update: LayerUpdate) -> None:
            ctx.progress((g, index, update))

        try:
            updated = compute.update(req, ctx.cancelled, on_update)
        except RunCancelled:
            raise
        except Exception:  # noqa: BLE001 - the exact stage below still runs (and reports)
            updated = 0
        finally:
            ctx.release()  # the GUI thread's head start for this stage ends here
        if updated:
            if compute.runner.pending_seconds < QUICK_EXACT_S:
                ctx.progress((g, 0, None))  # "shown?": the GUI thread resumes the job once it is
            if ctx.pause(EXACT_DELAY_MS / 1000):
                raise RunCancelled()
        # The first render of a session waits here, not inside a layer's time, while the
        # core's compiled loop finishes loading (launch.py starts it as the window builds).
        jit.ready()
        try:
            x, result = compute.run(req, ctx.cancelled, on_update)
        except RunCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - a failure is a message on the layer, never a crash
            result = RunResult(error=(1, f"internal error: {exc}"))
            x = req.image
        return g, x, result

    return job


class Renderer(QObject):
    """Computes every layer's output for the Document's image and pipeline.

    Signals (always for the latest generation only)
    -------
    started(int generation)
        A run was handed to the worker.
    layerUpdated(int generation, int index, object update)
        Layer `index` (1-based) has a new output, a :class:`LayerUpdate`: inexact (a delta
        update, shown at once) or exact. What the views show.
    layerComputed(int generation, int index, object array, float seconds)
        Layer `index` (1-based) has a new exact output ``(C, H, W) float32`` (right after its
        ``layerUpdated``).
    layerFailed(int generation, int index, str message)
        Layer `index` does not fit or failed; the layers after it wait.
    finished(int generation, object outputs, object errors)
        The run is complete: `outputs` is the list of every layer's output up to the first
        failing one; `errors` maps a 1-based layer index to its message.
    """

    started = Signal(int)
    layerUpdated = Signal(int, int, object)
    layerComputed = Signal(int, int, object, float)
    layerFailed = Signal(int, int, str)
    finished = Signal(int, object, object)

    def __init__(self, document: Document, parent: QObject | None = None, *,
                 debounce_ms: int = DEBOUNCE_MS,
                 preview_pixels: int = DEFAULT_PREVIEW_PIXELS) -> None:
        super().__init__(parent)
        self._doc = document
        self._latest = 0
        self._done_generation = 0
        self._preview_enabled = True
        self._preview_pixels = int(preview_pixels)
        self._compute = _Compute()  # used by the worker's jobs only, one at a time
        self.worker = Worker("ConvStudio renderer", self)
        self.worker.progressed.connect(self._on_layer_done)
        self.worker.done.connect(self._on_run_done)
        self.worker.failed.connect(self._on_run_failed)
        self._closed = False
        self._busy = False

        self.outputs: list[np.ndarray] = []
        self.times: list[float] = []
        self.ranges: list[np.ndarray] = []  # (C, 2) finite min / max per channel of each output
        self.errors: dict[int, str] = {}
        self.input: np.ndarray | None = None  # what the layers were computed from (maybe preview)
        self.pipeline: Pipeline | None = None  # the pipeline that :attr:`outputs` belong to
        self.factor = 1
        self._input_range: tuple[float, float] | None = None
        self._input_channel_ranges: np.ndarray | None = None

        # The first request after a quiet interval goes out at once, the others at its end.
        self.throttle = Throttler(int(debounce_ms), leading=True, parent=self)
        self.throttle.triggered.connect(self._submit)

        self.recycler: buffers.Recycler | None = buffers.Recycler()
        self._release = Debouncer(RELEASE_AFTER_MS, parent=self)
        self._release.triggered.connect(self._release_memory)

        document.imageChanged.connect(self._on_image_changed)
        document.pipelineChanged.connect(self._on_pipeline_changed)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ settings
    @property
    def generation(self) -> int:
        """The latest generation (bumped by every Document change)."""
        return self._latest

    @property
    def busy(self) -> bool:
        """Whether the latest generation is not finished yet."""
        return self._done_generation != self._latest

    def preview_enabled(self) -> bool:
        return self._preview_enabled

    def set_preview_enabled(self, enabled: bool) -> None:
        """Preview (downscale images above the pixel limit) or compute at full resolution."""
        if bool(enabled) != self._preview_enabled:
            self._preview_enabled = bool(enabled)
            self.request()

    @property
    def preview_pixels(self) -> int:
        return self._preview_pixels

    def set_preview_pixels(self, n: int) -> None:
        if int(n) != self._preview_pixels:
            self._preview_pixels = int(n)
            self.request()

    def preview_factor_for(self, shape) -> int:
        return preview_factor(shape, self._preview_pixels if self._preview_enabled else None)

    # ------------------------------------------------------------------ requests
    def request(self) -> None:
        """Something changed: make every in-flight result stale and schedule a run.

        The first request after a quiet interval is submitted at once; later ones within the
        interval are submitted together when it ends.
        """
        if self._closed:
            return
        self._latest += 1
        self.worker.cancel()  # whatever runs or waits is stale from now on
        self.throttle.trigger()

    def flush(self) -> None:
        """Submit a pending (coalesced) request now."""
        self.throttle.flush()

    def data_range(self, index: int, output: np.ndarray) -> tuple[float, float] | None:
        """The finite (min, max) of `output` if it is layer `index`'s output in
        :attr:`outputs` (the worker measured it), else None (the caller measures)."""
        ranges = self.channel_ranges(index, output)
        return None if ranges is None else combined_range(ranges)

    def channel_ranges(self, index: int, output: np.ndarray) -> np.ndarray | None:
        """The ``(C, 2)`` finite (min, max) of every channel of `output` if it is layer
        `index`'s output in :attr:`outputs`, else None."""
        if 1 <= index <= min(len(self.outputs), len(self.ranges)) \
                and self.outputs[index - 1] is output:
            return self.ranges[index - 1]
        return None

    def input_range(self) -> tuple[float, float] | None:
        """The finite (min, max) of :attr:`input` (measured by the worker), if known."""
        return self._input_range

    def input_channel_ranges(self) -> np.ndarray | None:
        """``(C, 2)``: the finite (min, max) of every channel of :attr:`input`, if known."""
        return self._input_channel_ranges if self._input_range is not None else None

    def wait_idle(self, timeout_ms: int = 60_000) -> bool:
        """Process events until the latest generation finished (True) or time ran out."""
        return process_events_until(lambda: not self.busy, timeout_ms)

    def _on_image_changed(self) -> None:
        self.request()

    def _on_pipeline_changed(self) -> None:
        self.request()

    def _submit(self) -> None:
        if self._closed:
            return
        image = self._doc.image
        if image is None:
            self._done_generation = self._latest
            self.outputs, self.times, self.ranges, self.errors, self.input = [], [], [], {}, None
            self.pipeline = None
            self._input_range = None
            self.finished.emit(self._latest, [], {})
            return
        factor = self.preview_factor_for(image.shape)
        req = RenderRequest(self._latest, image, self._doc.pipeline, factor, self._doc.selected)
        self.factor = factor
        self.started.emit(req.generation)
        # Give an idle worker the quick stage to itself before the GUI thread goes on with the
        # other handlers of the same change. Both need the GIL: run side by side, each of the
        # delta's NumPy calls waited for the GUI thread's Qt code to let go of it, and a 2 ms
        # update took 8 to 10, arriving after the window had repainted once already. The wait
        # releases the GIL and is bounded (a large delta, or no delta at all, lets the GUI
        # thread go on at once or after HANDOVER_WAIT_S).
        self.worker.submit(_render_job(self._compute, req, self.recycler), head_start_s=HANDOVER_WAIT_S)

    # ------------------------------------------------------------------ results (GUI thread)
    def _on_layer_done(self, _token: int, payload: tuple[int, int, LayerUpdate]) -> None:
        generation, index, update = payload
        if generation != self._latest:
            return
        if update is None:
            # The quick stage's outputs were handed to the views (this signal follows theirs):
            # let the job go on once they are painted, on the next turn of the event loop.
            QTimer.singleShot(0, lambda t=_token: self.worker.resume(t))
            return
        self.layerUpdated.emit(generation, index, update)
        if update.exact and generation == self._latest:  # a slot above may have edited again
            self.layerComputed.emit(generation, index, update.output, update.seconds)

    def _on_run_failed(self, _token: int, message: str) -> None:
        # (the job reports its own failures in a RunResult; this is a job that stopped itself)
        self._on_run_done(_token, (self._latest, self._doc.image, RunResult(error=(1, message))))

    def _on_run_done(self, _token: int, payload: tuple[int, np.ndarray, RunResult]) -> None:
        generation, x, result = payload
        if generation != self._latest:
            return
        self.input = x
        self.pipeline = result.pipeline
        self.outputs = result.outputs
        self.times = result.times
        self.ranges = result.ranges
        self._input_channel_ranges = result.input_ranges
        self._input_range = None if result.input_ranges is None else \
            combined_range(result.input_ranges)
        self.errors = {}
        if result.error is not None:
            index, message = result.error
            self.errors[index] = message
            self.layerFailed.emit(generation, index, message)
        self._done_generation = generation
        self._release.trigger()
        self.finished.emit(generation, list(self.outputs), dict(self.errors))

    def _release_memory(self) -> None:
        """Idle for RELEASE_AFTER_MS: give the free memory of replaced outputs back."""
        if self.busy:
            self._release.trigger()  # once this run is done
        elif self.recycler is not None:
            self.recycler.release()

    # ------------------------------------------------------------------ teardown
    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop the worker and wait for it (True if it stopped). Safe to call twice."""
        self._closed = True
        self.throttle.cancel()
        self._release.cancel()
        stopped = self.worker.shutdown(timeout_ms)
        if self.recycler is not None:
            self.recycler.release()  # nothing left to recompute here
        return stopped
