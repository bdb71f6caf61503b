"""The renderer: turns Document changes into feature maps, off the GUI thread.

Every Document change bumps a generation counter at once (so whatever is in flight becomes stale)
and (re)starts a short single-shot timer; when the timer fires, a frozen :class:`RenderRequest`
(image, pipeline, generation, preview factor) goes to ONE worker thread. The worker keeps only the
newest request (older ones waiting are replaced), recomputes from the first changed layer on
(:class:`~convstudio.app.compute.CachedRunner`), polls "is my generation still the latest?" between
layers and inside long convolutions, and sends results back through queued signals. The renderer
re-checks the generation on the GUI thread, so a stale result never reaches a view.

``set_sync(True)`` computes on the calling thread, at once, for deterministic tests.
``shutdown()`` stops the thread and waits for it: call it before the app quits.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal

from convstudio.core import Pipeline, RunCancelled

from .compute import DEFAULT_PREVIEW_PIXELS, CachedRunner, RunResult, downscale, preview_factor
from .document import Document

__all__ = ["Renderer", "RenderRequest", "DEBOUNCE_MS"]

DEBOUNCE_MS = 30


@dataclass(frozen=True)
class RenderRequest:
    """Everything one run needs; immutable, so it can cross threads."""

    generation: int
    image: np.ndarray
    pipeline: Pipeline
    factor: int = 1


class _Compute:
    """One request's work, shared by the worker thread and sync mode."""

    def __init__(self) -> None:
        self.runner = CachedRunner()
        self._preview_key: tuple[int, int] | None = None
        self._preview: np.ndarray | None = None
        self._source: np.ndarray | None = None

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

    def run(self, req: RenderRequest, cancelled, on_layer) -> tuple[np.ndarray, RunResult]:
        x = self.input_for(req)
        return x, self.runner.run(x, req.pipeline, cancelled=cancelled, on_layer=on_layer)


class _RenderThread(QThread):
    """The worker: a loop over a one-slot mailbox, so only the newest request is ever run."""

    layerDone = Signal(int, int, object, float)
    runDone = Signal(int, object, object)  # generation, input actually used, RunResult

    def __init__(self, latest, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConvStudio renderer")
        self._latest = latest
        self._cond = threading.Condition()
        self._pending: RenderRequest | None = None
        self._stop = False
        self._compute = _Compute()

    def submit(self, req: RenderRequest) -> None:
        with self._cond:
            self._pending = req
            self._cond.notify()

    def request_stop(self) -> None:
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify()

    def run(self) -> None:  # runs in the worker thread
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                req, self._pending = self._pending, None
            if req.generation != self._latest():
                continue

            def cancelled(g=req.generation) -> bool:
                return self._stop or g != self._latest()

            def on_layer(index: int, out: np.ndarray, seconds: float, g=req.generation) -> None:
                if not cancelled():
                    self.layerDone.emit(g, index, out, seconds)

            try:
                x, result = self._compute.run(req, cancelled, on_layer)
            except RunCancelled:
                continue
            except Exception as exc:  # noqa: BLE001 - a worker must never die; report instead
                result = RunResult(error=(1, f"internal error: {exc}"))
                x = req.image
            if not cancelled():
                self.runDone.emit(req.generation, x, result)


class Renderer(QObject):
    """Computes every layer's output for the Document's image and pipeline.

    Signals (always for the latest generation only)
    -------
    started(int generation)
        A run was handed to the worker.
    layerComputed(int generation, int index, object array, float seconds)
        Layer `index` (1-based) has a new output ``(C, H, W) float32``.
    layerFailed(int generation, int index, str message)
        Layer `index` does not fit or failed; the layers after it wait.
    finished(int generation, object outputs, object errors)
        The run is complete: `outputs` is the list of every layer's output up to the first
        failing one; `errors` maps a 1-based layer index to its message.
    """

    started = Signal(int)
    layerComputed = Signal(int, int, object, float)
    layerFailed = Signal(int, int, str)
    finished = Signal(int, object, object)

    def __init__(self, document: Document, parent: QObject | None = None, *,
                 sync: bool = False, debounce_ms: int = DEBOUNCE_MS,
                 preview_pixels: int = DEFAULT_PREVIEW_PIXELS) -> None:
        super().__init__(parent)
        self._doc = document
        self._sync = bool(sync)
        self._latest = 0
        self._done_generation = 0
        self._preview_enabled = True
        self._preview_pixels = int(preview_pixels)
        self._thread: _RenderThread | None = None
        self._sync_compute: _Compute | None = None
        self._closed = False
        self._busy = False

        self.outputs: list[np.ndarray] = []
        self.times: list[float] = []
        self.errors: dict[int, str] = {}
        self.input: np.ndarray | None = None  # what the layers were computed from (maybe preview)
        self.factor = 1

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(debounce_ms))
        self._timer.timeout.connect(self._submit)

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

    def is_sync(self) -> bool:
        return self._sync

    def set_sync(self, sync: bool) -> None:
        """Compute on the calling thread, at once (tests). Switching renders the current state."""
        sync = bool(sync)
        if sync == self._sync:
            return
        self._sync = sync
        if sync:
            self._stop_thread()
        self.request()

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
        """Something changed: make every in-flight result stale and schedule a run."""
        if self._closed:
            return
        self._latest += 1
        if self._sync:
            self._submit()
        else:
            self._timer.start()

    def flush(self) -> None:
        """Submit a pending (debounced) request now."""
        if self._timer.isActive():
            self._timer.stop()
            self._submit()

    def wait_idle(self, timeout_ms: int = 60_000) -> bool:
        """Process events until the latest generation finished (True) or time ran out."""
        from PySide6.QtCore import QDeadlineTimer, QEventLoop

        deadline = QDeadlineTimer(timeout_ms)
        app = QCoreApplication.instance()
        while self.busy and not deadline.hasExpired():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            if self.busy:
                QThread.msleep(2)
        return not self.busy

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
            self.outputs, self.times, self.errors, self.input = [], [], {}, None
            self.finished.emit(self._latest, [], {})
            return
        factor = self.preview_factor_for(image.shape)
        req = RenderRequest(self._latest, image, self._doc.pipeline, factor)
        self.factor = factor
        self.started.emit(req.generation)
        if self._sync:
            self._run_sync(req)
        else:
            self._ensure_thread().submit(req)

    def _run_sync(self, req: RenderRequest) -> None:
        if self._sync_compute is None:
            self._sync_compute = _Compute()

        def on_layer(index: int, out: np.ndarray, seconds: float) -> None:
            self._on_layer_done(req.generation, index, out, seconds)

        x, result = self._sync_compute.run(req, None, on_layer)
        self._on_run_done(req.generation, x, result)

    def _ensure_thread(self) -> _RenderThread:
        if self._thread is None:
            self._thread = _RenderThread(lambda: self._latest, self)
            self._thread.layerDone.connect(self._on_layer_done)
            self._thread.runDone.connect(self._on_run_done)
            self._thread.start()
        return self._thread

    # ------------------------------------------------------------------ results (GUI thread)
    def _on_layer_done(self, generation: int, index: int, out: np.ndarray, seconds: float) -> None:
        if generation != self._latest:
            return
        self.layerComputed.emit(generation, index, out, seconds)

    def _on_run_done(self, generation: int, x: np.ndarray, result: RunResult) -> None:
        if generation != self._latest:
            return
        self.input = x
        self.outputs = result.outputs
        self.times = result.times
        self.errors = {}
        if result.error is not None:
            index, message = result.error
            self.errors[index] = message
            self.layerFailed.emit(generation, index, message)
        self._done_generation = generation
        self.finished.emit(generation, list(self.outputs), dict(self.errors))

    # ------------------------------------------------------------------ teardown
    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop the worker and wait for it (True if it stopped). Safe to call twice."""
        self._closed = True
        self._timer.stop()
        return self._stop_thread(timeout_ms)

    def _stop_thread(self, timeout_ms: int = 10_000) -> bool:
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.request_stop()
        ok = thread.wait(timeout_ms)
        thread.layerDone.disconnect(self._on_layer_done)
        thread.runDone.disconnect(self._on_run_done)
        return bool(ok)
