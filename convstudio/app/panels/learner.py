"""The kernel learner: gradient descent on the selected conv layer, watched live.

Learn ▸ Learn a kernel... opens a dialog for the selected conv2d layer. The user picks a target
(the output the pipeline would give with a known kernel in that layer: the tutorial's edge
detector [1, -1], a Sobel, a blur... or any image or ``.npy`` file of the last output's shape),
then Start runs gradient descent on a background :class:`~convstudio.app.model.worker.Worker`
(``app/model/learn_job.py``; never on the GUI thread). The loss curve (log scale) grows with
every report, and the layer in the Document follows the descent a few times a second, so the
kernel editor and the maps show the kernel changing. Pause stops after the current step; Step
takes one step; the learning rate (or "auto": 1 / the loss's largest curvature, see
``convstudio.core.fit``), the momentum and the steps of a Start may be changed at any time.

A target file is read on a second worker of the dialog's own (``target_loader``), so a large
photo never holds the window: meanwhile the line under the target box says which file is being
read, and Start and Step wait, greyed, for it to arrive (a run already going can still be paused).
The newest file asked for wins; choosing another target in the box drops the file being read. A
file that cannot be read leaves the previous target as it was and says why on the status line.

A run is ONE undo step: every update of the layer carries the same merge key, so the Document
merges them (``app/model/document.py``); "Undo run" (or Edit ▸ Undo) brings back the kernel from
before the run. Any other change to the pipeline or the image ends the run: the next Start
begins afresh from the layer as it then is. The numbers are defined in docs/semantics.md,
"Learning a kernel"; docs/user-guide.md, "Learn a kernel", is the user's side.

The dialog takes the size its contents ask for (at least 520 x 520: the loss plot tall enough
for its axis label, turned, in the application's font), never more than the available area of
its parent's screen (``fit_on_screen``, shared with the border-modes dialog). Where the plot is
shorter than that label (a small screen, a large font, the dialog made small) the label is
written across above the plot instead, never cut off; the tick labels never overlap
(:class:`TidyAxis`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSize
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.dialogs.fitting import FitsItsScreen, fit_on_screen
from convstudio.app.i18n import describe_layer, made_at_run_time, notifier, tr, tr_noop
from convstudio.app.model.document import PipelineCommand
from convstudio.app.model.learn_job import EDGE_KERNEL, LearnControls, LearnReport, LearnSession
from convstudio.app.model.worker import Worker
from convstudio.app.panels.loss_plot import LossPlot
from convstudio.app.views.elided_label import ElidedLabel
from convstudio.core import Conv2d, imageio
from convstudio.core.fit import DEFAULT_STEPS
from convstudio.core.kernels import PRESETS

__all__ = ["KernelLearner", "LearnerLauncher", "install_learner"]

#: Seconds between two updates of the Document's layer while learning (each one repaints).
PUSH_INTERVAL_S = 0.25
FILE_TARGET = "file"
#: The dialog's smallest preferred size (logical pixels, frame excluded); larger fonts ask for more.
PREFERRED_SIZE = QSize(520, 520)


def _target_choices() -> list[tuple[str, str, np.ndarray | None]]:
    """(id, label, kernel) of every target the combo box offers; the file target last."""
    choices = [("edge", "Edge detector [1, -1] (the tutorial's)", EDGE_KERNEL)]
    for name, preset in PRESETS.items():
        if preset.kind == "kernel":
            choices.append((name, f"{preset.label} ({preset.category})", preset.make()))
    choices.append((FILE_TARGET, "An image or .npy file...", None))
    return choices


class KernelLearner(FitsItsScreen, QDialog):
    """The learner dialog of one main window (see the module docstring)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.setObjectName("kernelLearner")
        self.setWindowTitle("Learn a kernel")
        self.doc = window.doc
        self.worker = Worker("ConvStudio kernel learner", self)
        self.worker.progressed.connect(self._on_report)
        self.worker.done.connect(self._on_report)
        self.worker.failed.connect(self._on_failed)
        self.target_loader = Worker("ConvStudio learner target", self)
        self.target_loader.done.connect(self._on_target_loaded)
        self.target_loader.failed.connect(self._on_target_failed)
        self.controls = LearnControls()
        self._choices = _target_choices()
        self._file_target: np.ndarray | None = None
        self._file_name = ""  # the name of the file _file_target came from
        self._loading: Path | None = None  # the target file being read, if any
        self._target_token = 0  # target_loader's token of that read
        self._target_outcome: tuple[Path, bool] | None = None  # the last read: (file, loaded)
        self._session: LearnSession | None = None
        self._run = 0  # merge key of the current run's undo step
        self._expected = None  # the pipeline the learner last put in the Document
        self._pushing = False
        self._running = False
        self._last_push = 0.0
        self._pending_layer: Conv2d | None = None
        self.losses: list[float] = []
        self._build()
        self.doc.pipelineChanged.connect(self._on_pipeline_changed)
        # bound methods, not lambdas: Qt disconnects them when the dialog is destroyed
        self.doc.imageChanged.connect(self._on_image_changed)
        self.doc.selectionChanged.connect(self._on_selection_changed)
        self.doc.undo_stack.indexChanged.connect(self._on_undo_index)
        notifier().languageChanged.connect(self._on_language_changed)
        self._show_layer()

    def _on_language_changed(self, _language: str) -> None:
        # (texts made here are made again: docs/developing.md, "Translations")
        self._show_layer()
        self.plot_box.label_axes()
        self._show_file()
        self.status_label.setText(self._status())

    def _on_image_changed(self) -> None:
        self._end_run(tr_noop("A new image: the next Start learns afresh."))

    def _on_selection_changed(self, _index: int) -> None:
        self._show_layer()

    def _on_undo_index(self, _index: int) -> None:
        self._update_buttons()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        self.layer_label = made_at_run_time(QLabel())  # (made again on languageChanged)
        self.layer_label.setWordWrap(True)  # (a long layer name would widen the dialog)
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("learnTarget")
        for key, label, _k in self._choices:
            self.target_combo.addItem(label, key)
        self.target_combo.setToolTip("The output to match: what the pipeline gives with this kernel "
                                     "in the layer, or a file of the last output's shape")
        self.target_combo.currentIndexChanged.connect(lambda _i: self._on_target_changed())
        self.load_button = QPushButton("Load...")
        self.load_button.clicked.connect(self._choose_file)
        # one line, a long file name shortened in the middle (the whole of it in the tooltip)
        self.file_label = made_at_run_time(ElidedLabel(), "text", "toolTip")  # (made again on languageChanged)
        self.file_label.setText(tr("no file"))
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 1_000_000)
        self.steps_spin.setValue(DEFAULT_STEPS)
        self.steps_spin.setToolTip("Steps one Start takes (Pause stops earlier)")
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(1e-6, 1e6)
        self.lr_spin.setValue(0.1)
        self.lr_auto = QCheckBox("auto")
        self.lr_auto.setChecked(True)
        self.lr_auto.setToolTip("1 / the largest curvature of the loss, estimated when a run starts")
        self.lr_auto.toggled.connect(lambda on: self.lr_spin.setEnabled(not on))
        self.lr_spin.setEnabled(False)
        self.lr_spin.valueChanged.connect(lambda _v: self._sync_controls())
        self.lr_auto.toggled.connect(lambda _on: self._sync_controls())
        self.momentum_spin = QDoubleSpinBox()
        self.momentum_spin.setRange(0.0, 0.99)
        self.momentum_spin.setSingleStep(0.05)
        self.momentum_spin.setValue(0.9)
        self.momentum_spin.setToolTip("0: plain gradient descent; 0.9 gets far faster on photos")
        self.momentum_spin.valueChanged.connect(lambda _v: self._sync_controls())

        form = QFormLayout()
        target_row = QHBoxLayout()
        target_row.addWidget(self.target_combo, 1)
        target_row.addWidget(self.load_button)
        form.addRow("Target", target_row)
        form.addRow("", self.file_label)
        lr_row = QHBoxLayout()
        lr_row.addWidget(self.lr_spin, 1)
        lr_row.addWidget(self.lr_auto)
        form.addRow("Learning rate", lr_row)
        form.addRow("Momentum", self.momentum_spin)
        form.addRow("Steps", self.steps_spin)

        self.plot_box = LossPlot()  # the loss curve (its label never cut: app/panels/loss_plot.py)
        self.plot, self.curve, self.loss_caption = self.plot_box.plot, self.plot_box.curve, self.plot_box.caption

        self.start_button = made_at_run_time(QPushButton(tr("Start")))
        self.start_button.clicked.connect(self.toggle)
        self.step_button = QPushButton("Step")
        self.step_button.clicked.connect(self.step)
        self.undo_button = QPushButton("Undo run")
        self.undo_button.setToolTip("Bring back the kernel from before the run (one undo step)")
        self.undo_button.clicked.connect(self.undo_run)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.step_button, self.undo_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        self.status_label = made_at_run_time(QLabel())
        self.status_label.setWordWrap(True)
        self._status: Callable[[], str] = str  # makes the status line, in the language shown

        layout = QVBoxLayout(self)
        layout.addWidget(self.layer_label)
        layout.addLayout(form)
        layout.addWidget(self.plot_box, 1)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self._on_target_changed()
        fit_on_screen(self, self._preferred_size(), self._screen_geometry())

    # ------------------------------------------------------------------ on screen
    def _preferred_size(self) -> QSize:
        """What the contents ask for (the plot tall enough for its loss label turned along the
        axis), at least :data:`PREFERRED_SIZE`."""
        layout = self.layout()
        layout.activate()
        size = layout.minimumSize()
        # the plot: the left axis as long as the label, the bottom axis, the plot's margins
        size.setHeight(size.height() + max(0, self.plot_box.label_height() - self.plot_box.minimumSizeHint().height()))
        return size.expandedTo(PREFERRED_SIZE)

    # ------------------------------------------------------------------ state shown
    @property
    def running(self) -> bool:
        """Whether a learning job is in flight."""
        return self._running

    def _layer_index(self) -> int:
        return self._session.index if self._session is not None else self.doc.selected

    def _show_layer(self) -> None:
        i = self._layer_index()
        layer = self.doc.pipeline.layers[i - 1] if 1 <= i <= len(self.doc.pipeline) else None
        if isinstance(layer, Conv2d) and layer.enabled:
            self.layer_label.setText(tr("Learning layer {n}: {layer}").format(n=i, layer=describe_layer(layer)))
        else:
            self.layer_label.setText(tr("Select an enabled conv2d layer to learn its kernel."))
        self._update_buttons()

    def _update_buttons(self) -> None:
        loading = self._loading is not None
        self.start_button.setText(tr("Pause") if self._running else tr("Start"))
        self.start_button.setEnabled(self._running or not loading)  # Pause stays available
        self.step_button.setEnabled(not self._running and not loading)
        self.undo_button.setEnabled(self._run_on_top())
        on_file = self.target_combo.currentData() == FILE_TARGET
        self.load_button.setEnabled(on_file and not self._running)
        self.target_combo.setEnabled(not self._running)

    def _say(self, text: str | Callable[[], str]) -> None:
        """Show a status line: an English source (translated here) or a function making the
        line in the language shown; either is made again on a language switch."""
        self._status = text if callable(text) else (lambda: tr(text))
        self.status_label.setText(self._status())

    def _sync_controls(self) -> None:
        self.controls.lr = None if self.lr_auto.isChecked() else float(self.lr_spin.value())
        self.controls.momentum = float(self.momentum_spin.value())

    # ------------------------------------------------------------------ target
    @property
    def file_target(self) -> np.ndarray | None:
        """The target read from a file (kept while another file is read, or fails to be)."""
        return self._file_target

    @property
    def target_loading(self) -> Path | None:
        """The target file being read in the background, or None."""
        return self._loading

    def _on_target_changed(self) -> None:
        if self._loading is not None and self.target_combo.currentData() != FILE_TARGET:
            self._drop_target_load()  # another target was chosen: the newer choice wins
        self._show_file()
        self._end_run(None)
        self._update_buttons()

    def _show_file(self) -> None:
        """The line under the target box: the file being read, else the file target's name and
        shape, else "no file"."""
        if self._loading is not None:
            text = tr("loading {name}…").format(name=self._loading.name)
        elif self._file_target is not None:
            text = f"{self._file_name}: {' x '.join(map(str, self._file_target.shape))}"
        else:
            text = tr("no file")
        self.file_label.setText(text)
        self.file_label.setToolTip(text)
        self.file_label.setVisible(self._loading is not None or self.target_combo.currentData() == FILE_TARGET)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Target image or array", "",
                                              "Images and arrays (*.png *.jpg *.jpeg *.tif *.tiff "
                                              "*.bmp *.webp *.npy);;All files (*)")
        if path:
            self.load_target_file(path)

    def load_target_file(self, path: str | Path, *, wait: bool = False) -> bool:
        """Read a target file (image or ``.npy``) on ``target_loader``; once it arrives it is the
        target and the file target is chosen in the box. If it cannot be read, a one-line message
        in the dialog, and the previous target stays.

        Returns at once (True: the read started) unless `wait`: then it processes events until
        the file arrived or failed (or 30 s went by) and says whether it is the target now.
        """
        p = Path(path)
        alpha = self.doc.keep_alpha  # (read here: the Document belongs to the GUI thread)
        self._loading = p
        self._target_outcome = None
        self._target_token = self.target_loader.submit(
            lambda _ctx, p=p, alpha=alpha: (p, imageio.load_image(p, keep_alpha=alpha)))
        self._show_file()
        self._update_buttons()
        if not wait:
            return True
        self.target_loader.wait_idle()
        return self._target_outcome == (p, True)

    def wait_for_target(self, timeout_ms: int = 30_000) -> bool:
        """Process events until no target file is being read (True) or time ran out."""
        return self.target_loader.wait_idle(timeout_ms) and self._loading is None

    def _drop_target_load(self) -> None:
        self.target_loader.cancel()  # (its result, if it still comes, is never delivered)
        self._loading = None
        self._show_file()
        self._update_buttons()

    def _on_target_loaded(self, token: int, result: tuple[Path, np.ndarray]) -> None:
        path, x = result
        if token != self._target_token or path != self._loading:
            return  # an older read: a newer file (or another target) was chosen since
        self._loading = None
        self._target_outcome = (path, True)
        self._file_target, self._file_name = x, path.name
        index = next(i for i, c in enumerate(self._choices) if c[0] == FILE_TARGET)
        self.target_combo.setCurrentIndex(index)  # (no signal if it is chosen already)
        self._show_file()
        self._end_run(None)  # a new target: the next Start learns afresh

    def _on_target_failed(self, token: int, message: str) -> None:
        if token != self._target_token or self._loading is None:
            return
        self._target_outcome = (self._loading, False)
        self._loading = None
        self._show_file()  # the previous target, unchanged
        self._update_buttons()
        self._say(message)

    # ------------------------------------------------------------------ running
    def _ensure_session(self) -> LearnSession | None:
        if self._session is not None:
            return self._session
        i, image = self.doc.selected, self.doc.image
        layer = self.doc.selected_layer
        if image is None or not isinstance(layer, Conv2d) or not layer.enabled:
            self._say(tr_noop("Select an enabled conv2d layer (with an image open) to learn its kernel."))
            return None
        key = self.target_combo.currentData()
        if key == FILE_TARGET:
            if self._file_target is None:
                self._say(tr_noop("Load a target file first."))
                return None
            session = LearnSession(self.doc.pipeline, image, i, target=self._file_target)
        else:
            kernel = next(k for c, _l, k in self._choices if c == key)
            session = LearnSession(self.doc.pipeline, image, i, target_kernel=kernel)
        self._session, self._expected = session, self.doc.pipeline
        self._run += 1
        self.losses = []
        self.curve.setData([], [])
        return session

    def toggle(self) -> None:
        """Start, or pause a running descent."""
        if self._running:
            self.pause()
        else:
            self.start()

    def start(self, steps: int | None = None) -> bool:
        """Run up to `steps` steps (default: the Steps box) in the background."""
        if self._running:
            return False
        if self._loading is not None:
            self._say(tr_noop("The target file is still being read; start once it has arrived."))
            return False
        session = self._ensure_session()
        if session is None:
            return False
        self._sync_controls()
        self.controls.stop.clear()
        self._running = True
        self.worker.submit(session.job(steps or self.steps_spin.value(), self.controls))
        self._say(tr_noop("Learning...") if self.controls.lr is not None else
                  tr_noop("Learning (estimating the learning rate first)..."))
        self._update_buttons()
        return True

    def step(self) -> bool:
        """Take one step."""
        return self.start(1)

    def pause(self) -> None:
        """Stop after the current step (its result is still shown and kept)."""
        self.controls.stop.set()

    def _on_report(self, _token: int, report: LearnReport) -> None:
        self.losses.extend(float(v) for v in report.losses)
        if self.losses:
            y = np.asarray(self.losses)
            floor = max(float(y.max()) * 1e-16, np.finfo(np.float64).tiny)
            self.curve.setData(np.arange(1, y.size + 1), np.maximum(y, floor))
        if self.lr_auto.isChecked():
            with _blocked(self.lr_spin):
                self.lr_spin.setValue(report.lr)
        self._pending_layer = report.layer
        if report.done or time.monotonic() - self._last_push >= PUSH_INTERVAL_S:
            self._push()
        loss = f"{self.losses[-1]:.6g}" if self.losses else "-"
        end = "" if not report.done else tr_noop(". Paused.") if self.controls.stop.is_set() else tr_noop(". Done.")
        self._say(lambda: tr("Step {n}: loss {loss} (before the step), learning rate {lr}").format(
            n=report.steps, loss=loss, lr=f"{report.lr:.4g}") + (tr(end) if end else ""))
        if report.done:
            self._running = False
            self._update_buttons()

    def _on_failed(self, _token: int, message: str) -> None:
        self._running = False
        self._push()
        self._say(message)
        self._session = None  # a diverged descent starts afresh (from the last good layer)
        self._update_buttons()

    def _push(self) -> None:
        """Put the learned layer into the Document, merged into this run's undo step."""
        layer, self._pending_layer = self._pending_layer, None
        if layer is None or self._session is None or self.doc.pipeline is not self._expected:
            return
        self._pushing = True
        try:
            self.doc.replace_layer(self._session.index, layer,
                                   text=tr("Learn the kernel of layer {n}").format(n=self._session.index),
                                   merge_key=("learn", self._run))
        finally:
            self._pushing = False
        self._expected = self.doc.pipeline
        self._last_push = time.monotonic()
        self._update_buttons()

    def _run_on_top(self) -> bool:
        stack = self.doc.undo_stack
        top = stack.command(stack.index() - 1) if stack.index() > 0 else None
        return isinstance(top, PipelineCommand) and top.merge_key is not None \
            and top.merge_key[2:] == (("learn", self._run),)

    def undo_run(self) -> None:
        """Stop, and bring back the pipeline from before the run (one undo step)."""
        if not self._run_on_top():
            return
        self.worker.cancel()
        self._running = False
        self.doc.undo_stack.undo()  # pipelineChanged ends the run (_on_pipeline_changed)

    def _on_pipeline_changed(self) -> None:
        if self._pushing or self._session is None:
            self._show_layer()
            return
        if self.doc.pipeline is not self._expected:
            self._end_run(tr_noop("The pipeline changed: the next Start learns afresh from the layer "
                                  "as it is now."))

    def _end_run(self, message: str | None) -> None:
        """Forget the run (the Document keeps what it has); a running job is dropped. `message`
        is an English source (see :meth:`_say`)."""
        if self._running:
            self.worker.cancel()
            self._running = False
        self._session = None
        self._pending_layer = None
        if message:
            self._say(message)
        self._show_layer()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.pause()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the worker thread and stop listening to the Document's undo stack and the language
        (the window calls this when it closes, before its Document goes)."""
        self.worker.shutdown()
        self.target_loader.shutdown()
        if getattr(self, "_detached", False):
            return
        self._detached = True
        for signal, slot in ((self.doc.undo_stack.indexChanged, self._on_undo_index),
                             (notifier().languageChanged, self._on_language_changed)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):  # already disconnected, or the sender is gone
                pass


class _blocked:
    def __init__(self, widget: QWidget) -> None:
        self.widget = widget

    def __enter__(self) -> None:
        self.old = self.widget.blockSignals(True)

    def __exit__(self, *exc) -> None:
        self.widget.blockSignals(self.old)


class LearnerLauncher(QObject):
    """The Learn menu's "Learn a kernel..." action and the one learner dialog of a window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.setObjectName("learnerLauncher")
        self.window = window
        self.dialog: KernelLearner | None = None
        self.action = QAction("Learn a &kernel...", window)
        self.action.setObjectName("learnKernelAction")
        tip = "Learn the selected conv layer's kernel by gradient descent, watching the loss fall"
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        self.action.triggered.connect(lambda _c=False: self.open())
        menu = getattr(getattr(window, "learn", None), "menu", None)
        if menu is not None:
            menu.addSeparator()
            menu.addAction(self.action)

    def open(self) -> KernelLearner:
        """Show the learner (made on first use) for the selected layer."""
        if self.dialog is None:
            self.dialog = KernelLearner(self.window)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.shutdown()


def install_learner(window) -> LearnerLauncher:
    """Add "Learn a kernel..." to `window`'s Learn menu; returns the launcher (``shutdown()``
    stops the learner's thread)."""
    return LearnerLauncher(window)

