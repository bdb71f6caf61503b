"""File ▸ Export feature maps: the dialog and the background job.

The numbers come from :func:`convstudio.session.layer_export.export_layer` (the core's ``Pipeline``
arithmetic and ``save_image``, at full resolution), run on the app's
:class:`~convstudio.app.model.worker.Worker` behind a progress dialog so that the window stays
responsive and the export can be cancelled.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.model.worker import JobContext, Worker, process_events_until
from convstudio.app.panels.layer_list import shape_text
from convstudio.core import Pipeline, RunCancelled
from convstudio.core.normalization import NORMALIZE_MODES
from convstudio.session.layer_export import EXPORT_FORMATS, export_layer

__all__ = ["ExportOptions", "ExportDialog", "ExportJob", "run_export", "export_layer"]

_MODE_TIPS = {
    "clip": "clip: values below 0 are black, above 1 white",
    "minmax": "min-max: the smallest value is black, the largest white",
    "abs": "abs: |x|, then clip to [0, 1]",
    "signed": "signed: 0 is mid-grey, ±max|x| black / white",
}
#: The dialog's choices: "auto", then the modes every writer knows (one list, in the core).
NORMALIZE_TIPS = {
    "auto": "auto: signed for feature maps that hold negative values, clip otherwise "
            "(convstudio apply clips unless --normalize says otherwise)",
    **{mode: _MODE_TIPS[mode] for mode in NORMALIZE_MODES},
}


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how."""

    layer: int
    path: Path
    normalize: str | None = None  # None: auto (convstudio.core.channels.auto_normalize)
    depth: int = 8
    channel: int | None = None
    channels: str = "auto"  # "auto" or "split", as convstudio apply --channels


class ExportDialog(QDialog):
    """Choose the layer, the channels, the file and its normalisation / depth."""

    def __init__(self, pipeline: Pipeline, shapes: list[tuple | None], *, layer: int,
                 folder: Path, stem: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export feature maps")
        self._pipeline = pipeline
        self._shapes = shapes
        self._folder = folder
        self._stem = stem

        self.layer = QSpinBox()
        self.layer.setRange(0, len(pipeline))
        self.layer.setValue(layer)
        self.layer.setToolTip("0 is the input; the maps are computed at full resolution")
        self.shape_note = QLabel()
        self.shape_note.setEnabled(False)
        self.channels = QComboBox()
        self.files = QComboBox()
        self.files.addItem("auto: an image as one file, feature maps one file each", "auto")
        self.files.addItem("one gray file per channel", "split")
        self.files.setToolTip(
            "An output is an image while every layer so far filters each channel alone "
            "(kernel-form convs, pooling, pad, stride, activations); after a conv with a "
            "weight its channels are feature maps, written one gray file each")
        self.format = QComboBox()
        for ext, label in EXPORT_FORMATS.items():
            self.format.addItem(label, ext)
        self.normalize = QComboBox()
        for mode, tip in NORMALIZE_TIPS.items():
            self.normalize.addItem(mode, None if mode == "auto" else mode)
            self.normalize.setItemData(self.normalize.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.depth = QComboBox()
        self.depth.addItem("8 bit", 8)
        self.depth.addItem("16 bit", 16)
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.files_note = QLabel()
        self.files_note.setWordWrap(True)
        self.files_note.setEnabled(False)

        form = QFormLayout()
        form.addRow("Layer", self.layer)
        form.addRow("", self.shape_note)
        form.addRow("Channels", self.channels)
        form.addRow("Files", self.files)
        form.addRow("Format", self.format)
        form.addRow("Normalise", self.normalize)
        form.addRow("Depth", self.depth)
        form.addRow("File", path_row)
        form.addRow("", self.files_note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)

        self.layer.valueChanged.connect(self._on_layer_changed)
        self.format.currentIndexChanged.connect(self._on_format_changed)
        self.channels.currentIndexChanged.connect(self._update_note)
        self.files.currentIndexChanged.connect(self._update_note)
        self.path.textChanged.connect(self._update_note)
        self._on_layer_changed(layer)
        self._on_format_changed(0)

    def options(self) -> ExportOptions:
        return ExportOptions(layer=self.layer.value(), path=Path(self.path.text()),
                             normalize=self.normalize.currentData(), depth=self.depth.currentData(),
                             channel=self.channels.currentData(),
                             channels=self.files.currentData())

    def _default_path(self) -> str:
        ext = self.format.currentData()
        return str(self._folder / f"{self._stem}_layer{self.layer.value()}{ext}")

    def _on_layer_changed(self, layer: int) -> None:
        shape = self._shapes[layer] if layer < len(self._shapes) else None
        self.shape_note.setText(f"{shape_text(shape)} (C×H×W, full resolution)" if shape
                                else "this layer does not fit its input")
        self.channels.blockSignals(True)
        self.channels.clear()
        self.channels.addItem("all channels", None)
        for c in range(shape[0] if shape else 0):
            self.channels.addItem(f"channel {c}", c)
        self.channels.blockSignals(False)
        self.path.setText(self._default_path())

    def _on_format_changed(self, _index: int) -> None:
        ext = self.format.currentData()
        p = Path(self.path.text() or self._default_path())
        self.path.setText(str(p.with_suffix(ext)))
        image = ext == ".png"
        self.normalize.setEnabled(image)
        self.depth.setEnabled(image)
        self._update_note()

    def _update_note(self, *_args) -> None:
        from convstudio.core.channels import output_is_image, output_paths

        layer = self.layer.value()
        shape = self._shapes[layer] if layer < len(self._shapes) else None
        c = 1 if self.channels.currentData() is not None else (shape[0] if shape else 0)
        path = Path(self.path.text())
        ext = path.suffix.lower()
        image = output_is_image(self._pipeline, layer)
        split = self.files.currentData() == "split" or not image
        kind = "an image" if image else "feature maps"
        self.files.setEnabled(ext != ".npy" and self.channels.currentData() is None)
        if ext == ".npy":
            self.files_note.setText("the float32 (C, H, W) array, exactly")
        elif c > 0 and len(output_paths(path, c, split=split)) > 1:
            self.files_note.setText(f"{kind}, {c} channels: one gray file per channel "
                                    f"({path.stem}_c00{ext} …)")
        else:
            self.files_note.setText(f"{kind}: " + {1: "one gray image", 3: "one RGB image",
                                                    4: "one RGBA image"}.get(c, ""))

    def _browse(self) -> None:
        filters = ";;".join(f"{label} (*{ext})" for ext, label in EXPORT_FORMATS.items())
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(), filters)
        if path:
            self.path.setText(path)


class ExportJob(QObject):
    """One export off the GUI thread, on a :class:`~convstudio.app.model.worker.Worker` of its own.

    :meth:`start` begins it; ``progressed(done, total)`` follows the layers; ``finished`` comes once
    the outcome is known, in ``paths`` (the files written), ``error`` (a one-line message) or
    ``was_cancelled`` (:meth:`cancel` stopped it before anything was written). The worker thread
    ends with the job: nothing is left running once ``finished`` was emitted.
    """

    progressed = Signal(int, int)
    finished = Signal()

    def __init__(self, pipeline: Pipeline, image: np.ndarray, options: ExportOptions,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pipeline = pipeline
        self._image = image
        self._options = options
        # Cancel asks the export to stop but, unlike Worker.cancel, still wants its outcome: the
        # user must learn whether files were written. (A plain Event: it crosses threads.)
        self._stop = threading.Event()
        self._worker = Worker("ConvStudio export", self)
        self._worker.progressed.connect(self._on_progress)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._finished = False
        self.paths: list[Path] = []
        self.error: str | None = None
        self.was_cancelled = False

    @property
    def is_finished(self) -> bool:
        return self._finished

    @property
    def running(self) -> bool:
        """Whether the worker thread still runs."""
        return self._worker.running

    def start(self) -> None:
        self._worker.submit(self._run)

    def cancel(self) -> None:
        """Stop at the next layer boundary (or inside a long layer); nothing is written."""
        self._stop.set()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Process events until the outcome arrived (True) or time ran out."""
        return process_events_until(lambda: self._finished, timeout_ms)

    def _run(self, ctx: JobContext) -> list[Path] | None:  # worker thread
        o = self._options
        try:
            return export_layer(self._pipeline, self._image, o.layer, o.path,
                                normalize=o.normalize, depth=o.depth, channel=o.channel,
                                channels=o.channels,
                                cancelled=lambda: self._stop.is_set() or ctx.cancelled(),
                                progress=lambda d, t: ctx.progress((d, t)))
        except RunCancelled:
            if ctx.cancelled():
                raise  # the worker shuts down: nobody waits for the outcome
            return None

    def _on_progress(self, _token: int, done_total: tuple[int, int]) -> None:
        self.progressed.emit(*done_total)

    def _on_done(self, _token: int, paths: list[Path] | None) -> None:
        if paths is None:
            self.was_cancelled = True
        else:
            self.paths = list(paths)
        self._finish()

    def _on_failed(self, _token: int, message: str) -> None:
        self.error = message
        self._finish()

    def _finish(self) -> None:
        self._finished = True
        self._worker.shutdown()  # its one job is over: the thread ends at once
        self.finished.emit()


def run_export(pipeline: Pipeline, image: np.ndarray, options: ExportOptions, *,
               parent: QWidget | None = None, progress_after_ms: int = 400) -> ExportJob:
    """Run an export in a worker thread with a (delayed) progress dialog; returns the finished
    job (its thread has stopped)."""
    job = ExportJob(pipeline, image, options)
    dialog = QProgressDialog(f"Exporting layer {options.layer} at full resolution…", "Cancel",
                             0, max(1, options.layer), parent)
    dialog.setWindowTitle("Export")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(progress_after_ms)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setValue(0)
    job.progressed.connect(lambda done, _total: dialog.setValue(done))
    dialog.canceled.connect(job.cancel)
    loop = QEventLoop()
    job.finished.connect(loop.quit)
    job.start()
    if not job.is_finished:
        loop.exec()
    dialog.close()
    dialog.deleteLater()
    return job
