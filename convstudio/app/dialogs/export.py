"""File ▸ Export feature maps: the dialog and the background job.

The numbers come from :func:`convstudio.session.layer_export.export_layer` (the core's ``Pipeline``
arithmetic and ``save_image``, at full resolution), run on the app's
:class:`~convstudio.app.model.worker.Worker` behind a progress dialog so that the window stays
responsive and the export can be cancelled. An image too large to load whole (the window shows a
preview of it) is exported from its file by :func:`convstudio.session.tiled_export.export_tiled`,
tile by tile, as ``convstudio apply --tile`` writes it; the progress dialog counts the tiles
(docs/scale.md).
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

from convstudio.app.i18n import made_at_run_time, tr, tr_noop
from convstudio.app.model.worker import JobContext, Worker, process_events_until
from convstudio.app.panels.layer_list import shape_text
from convstudio.core import Pipeline, RunCancelled
from convstudio.core.normalization import NORMALIZE_MODES
from convstudio.session.layer_export import EXPORT_FORMATS, export_layer
from convstudio.session.tiled_export import TiledSource, export_tiled

__all__ = ["ExportOptions", "ExportDialog", "ExportJob", "run_export", "export_layer"]

_MODE_TIPS = {
    "clip": tr_noop("clip: values below 0 are black, above 1 white"),
    "minmax": tr_noop("min-max: the smallest value is black, the largest white"),
    "abs": tr_noop("abs: |x|, then clip to [0, 1]"),
    "signed": tr_noop("signed: 0 is mid-grey, ±max|x| black / white"),
}
#: The dialog's choices: "auto", then the modes every writer knows (one list, in the core).
NORMALIZE_TIPS = {
    "auto": tr_noop("auto: signed for feature maps that hold negative values, clip otherwise "
                    "(convstudio apply clips unless --normalize says otherwise)"),
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
    tile: int | None = None  # tiled export only: the output tile side, as apply --tile (None: chosen)


class ExportDialog(QDialog):
    """Choose the layer, the channels, the file and its normalisation / depth."""

    def __init__(self, pipeline: Pipeline, shapes: list[tuple | None], *, layer: int,
                 folder: Path, stem: str, parent: QWidget | None = None,
                 formats: dict[str, str] | None = None) -> None:
        """`formats`: the extensions offered, with their names (default ``EXPORT_FORMATS``); the
        tiled ones (``tiled_export_formats()``) for an image exported tile by tile."""
        super().__init__(parent)
        self.setWindowTitle("Export feature maps")
        self._pipeline = pipeline
        self._shapes = shapes
        self._folder = folder
        self._stem = stem
        self._formats = EXPORT_FORMATS if formats is None else dict(formats)
        self._tiled = formats is not None

        self.layer = QSpinBox()
        self.layer.setRange(0, len(pipeline))
        self.layer.setValue(layer)
        self.layer.setToolTip("0 is the input; the maps are computed at full resolution")
        self.shape_note = QLabel()
        self.shape_note.setEnabled(False)
        made_at_run_time(self.shape_note)
        self.channels = made_at_run_time(QComboBox(), "items")
        self.files = QComboBox()
        self.files.addItem("auto: an image as one file, feature maps one file each", "auto")
        self.files.addItem("one gray file per channel", "split")
        self.files.setToolTip(
            "An output is an image while every layer so far filters each channel alone "
            "(kernel-form convs, pooling, pad, stride, activations); after a conv with a "
            "weight its channels are feature maps, written one gray file each")
        self.format = QComboBox()
        for ext, label in self._formats.items():
            self.format.addItem(label, ext)
        self.normalize = QComboBox()
        for mode, tip in NORMALIZE_TIPS.items():
            self.normalize.addItem(mode, None if mode == "auto" else mode)
            self.normalize.setItemData(self.normalize.count() - 1, tr(tip), Qt.ItemDataRole.ToolTipRole)
        self.depth = QComboBox()
        self.depth.addItem("8 bit", 8)
        self.depth.addItem("16 bit", 16)
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.files_note = made_at_run_time(QLabel())
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
        how = tr("full resolution, tile by tile from the file") if self._tiled else tr("full resolution")
        self.shape_note.setText(tr("{shape} (C×H×W, {how})").format(shape=shape_text(shape), how=how) if shape
                                else tr("this layer does not fit its input"))
        self.channels.blockSignals(True)
        self.channels.clear()
        self.channels.addItem(tr("all channels"), None)
        for c in range(shape[0] if shape else 0):
            self.channels.addItem(tr("channel {c}").format(c=c), c)
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
        kind = tr("an image") if image else tr("feature maps")
        self.files.setEnabled(ext not in (".npy", ".zarr") and self.channels.currentData() is None)
        if ext == ".npy":
            self.files_note.setText(tr("the float32 (C, H, W) array, exactly"))
        elif ext == ".zarr":
            self.files_note.setText(tr("one float32 (C, H, W) Zarr array, one chunk per tile"))
        elif c > 0 and len(output_paths(path, c, split=split)) > 1:
            self.files_note.setText(tr("{kind}, {c} channels: one gray file per channel ({first} …)").format(
                kind=kind, c=c, first=f"{path.stem}_c00{ext}"))
        else:
            one = {1: tr("one gray image"), 3: tr("one RGB image"), 4: tr("one RGBA image")}.get(c, "")
            self.files_note.setText(tr("{kind}: {what}").format(kind=kind, what=one))

    def _browse(self) -> None:
        filters = ";;".join(f"{label} (*{ext})" for ext, label in self._formats.items())
        path, _ = QFileDialog.getSaveFileName(self, tr("Export to"), self.path.text(), filters)
        if path:
            self.path.setText(path)


class ExportJob(QObject):
    """One export off the GUI thread, on a :class:`~convstudio.app.model.worker.Worker` of its own.

    :meth:`start` begins it; ``progressed(done, total)`` follows the layers (the tiles, when
    `image` is a :class:`~convstudio.session.tiled_export.TiledSource`); ``finished`` comes once
    the outcome is known, in ``paths`` (the files written), ``error`` (a one-line message) or
    ``was_cancelled`` (:meth:`cancel` stopped it before anything was written). The worker thread
    ends with the job: nothing is left running once ``finished`` was emitted.
    """

    progressed = Signal(int, int)
    finished = Signal()

    def __init__(self, pipeline: Pipeline, image: np.ndarray | TiledSource, options: ExportOptions,
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

        def stop() -> bool:
            return self._stop.is_set() or ctx.cancelled()

        try:
            if isinstance(self._image, TiledSource):
                return export_tiled(self._pipeline, self._image, o.layer, o.path, channel=o.channel,
                                    channels=o.channels, tile=o.tile, cancelled=stop,
                                    progress=lambda d, t: ctx.progress((d, t)))
            return export_layer(self._pipeline, self._image, o.layer, o.path,
                                normalize=o.normalize, depth=o.depth, channel=o.channel,
                                channels=o.channels, cancelled=stop,
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


def run_export(pipeline: Pipeline, image: np.ndarray | TiledSource, options: ExportOptions, *,
               parent: QWidget | None = None, progress_after_ms: int = 400) -> ExportJob:
    """Run an export in a worker thread with a (delayed) progress dialog; returns the finished
    job (its thread has stopped). The dialog counts layers, or tiles for a :class:`TiledSource`."""
    job = ExportJob(pipeline, image, options)
    tiled = isinstance(image, TiledSource)
    what = tr("at full resolution, tile by tile") if tiled else tr("at full resolution")
    dialog = QProgressDialog(tr("Exporting layer {n} {what}…").format(n=options.layer, what=what), tr("Cancel"),
                             0, max(1, options.layer), parent)
    label = dialog.findChild(QLabel)
    if label is not None:
        made_at_run_time(label)  # (its text is formatted here; the dialog is modal)
    dialog.setWindowTitle(tr("Export"))
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(progress_after_ms)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setValue(0)
    def on_progress(done: int, total: int) -> None:
        dialog.setMaximum(max(1, total))
        dialog.setValue(done)
        if tiled:
            dialog.setLabelText(tr("Exporting layer {n} {what}: tile {done} of {total}").format(
                n=options.layer, what=what, done=done, total=total))

    job.progressed.connect(on_progress)
    dialog.canceled.connect(job.cancel)
    loop = QEventLoop()
    job.finished.connect(loop.quit)
    job.start()
    if not job.is_finished:
        loop.exec()
    dialog.close()
    dialog.deleteLater()
    return job
