"""File ▸ Import model…: the convolutional trunk of an ONNX model as the document's pipeline.

The file dialog runs on the GUI thread; the import itself (reading and parsing the model,
converting and folding its weights: seconds for a large model) runs on a
:class:`~convstudio.app.model.worker.Worker` of its own. The result replaces the pipeline as one
undo step; an error is shown in a message box and changes nothing. What is imported and how is
described in docs/user-guide.md, "Importing a trained model", and docs/cli.md, "import".
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from convstudio.app.i18n import tr, tr_noop
from convstudio.app.model.worker import Worker, process_events_until

__all__ = ["ModelImporter", "MODEL_FILTER"]

MODEL_FILTER = tr_noop("ONNX models (*.onnx);;All files (*)")


# Workers with a job in flight or a thread still to stop. A worker belongs to the application,
# not to the window, so that closing the window during an import never destroys a running
# thread; it stops its thread once it has delivered (or when the application quits) and is then
# deleted by Qt on the GUI thread.
_LIVE: set[Worker] = set()


def _import(path: Path):  # worker thread
    from convstudio.core.onnx_import import import_onnx

    return import_onnx(path)


def _retire(worker: Worker) -> None:
    """Stop `worker`'s thread once the delivery that calls this has returned."""
    def stop() -> None:
        worker.shutdown()
        worker.deleteLater()
        _LIVE.discard(worker)

    QTimer.singleShot(0, stop)


def _shutdown_all() -> None:
    for worker in list(_LIVE):
        worker.shutdown()
    _LIVE.clear()


class ModelImporter(QObject):
    """The import action's logic for one main window (made on first use, see :meth:`of`).

    Signals
    -------
    imported(object)
        The :class:`~convstudio.core.onnx_import.ModelImport` now in the document.
    failed(str)
        The one-line message shown to the user.
    """

    imported = Signal(object)
    failed = Signal(str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.setObjectName("modelImporter")
        self.window = window
        self._worker: Worker | None = None
        self._path: Path | None = None
        app = QCoreApplication.instance()
        if app is not None and not app.property("convstudioImportHooked"):
            app.aboutToQuit.connect(_shutdown_all)
            app.setProperty("convstudioImportHooked", True)

    @classmethod
    def of(cls, window) -> ModelImporter:
        """The window's importer, made on first use."""
        found = window.findChild(cls, "modelImporter")
        return found if found is not None else cls(window)

    @property
    def busy(self) -> bool:
        """Whether an import is running, or its thread not stopped yet."""
        return self._worker is not None or bool(_LIVE)

    def ask(self) -> None:
        """Choose a model file and import it."""
        folder = self.window.settings.value("import/folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self.window, tr("Import model"), str(folder), tr(MODEL_FILTER))
        if path:
            self.start(path)

    def start(self, path: str | Path) -> bool:
        """Import `path` in the background; False (and a message) if an import is running."""
        if self._worker is not None:
            self.window.show_message(tr("Still importing {name}…").format(name=self._path.name))
            return False
        self._path = Path(path)
        self.window.settings.setValue("import/folder", str(self._path.parent))
        worker = self._worker = Worker("ConvStudio model import", QCoreApplication.instance())
        _LIVE.add(worker)
        worker.done.connect(lambda _token, _result, w=worker: _retire(w))
        worker.failed.connect(lambda _token, _message, w=worker: _retire(w))
        worker.done.connect(self._on_done)  # (bound: nothing is delivered once the window is gone)
        worker.failed.connect(self._on_failed)
        self.window.busy_label.setText(tr("importing {name}…").format(name=self._path.name))
        worker.submit(lambda _ctx, p=self._path: _import(p))
        return True

    def wait_idle(self, timeout_ms: int = 60_000) -> bool:
        """Process events until the import is delivered (True) or time ran out."""
        return process_events_until(lambda: not self.busy, timeout_ms)

    def shutdown(self) -> None:
        """Stop every import thread (the application is quitting): nothing more is delivered."""
        self._worker = None
        _shutdown_all()

    # ---------------------------------------------------------------- results (GUI thread)
    def _on_done(self, _token: int, result) -> None:
        if not self._deliver():
            return
        pipeline = result.pipeline
        name = self._path.name
        self.window.doc.set_pipeline(pipeline, text=tr("Import {name}").format(name=name), select=len(pipeline))
        n = len(pipeline)
        text = (tr("Imported 1 layer from {name}") if n == 1 else tr("Imported {n} layers from {name}")).format(
            n=n, name=name)
        stop = result.stopped
        if stop is not None:  # (the reason is the core's, in English: docs/developing.md, "Translations")
            text += tr("; stopped at node '{node}' ({op}): {reason}").format(node=stop.node, op=stop.op,
                                                                            reason=stop.reason)
        self.window.show_message(text, 15_000)
        self.imported.emit(result)

    def _on_failed(self, _token: int, message: str) -> None:
        if not self._deliver():
            return
        self.window.report_error(tr("Cannot import model"), message)
        self.failed.emit(message)

    def _deliver(self) -> bool:
        """Whether the result comes from this importer's current job (then it is no longer busy)."""
        if self._worker is None or self.sender() is not self._worker:
            return False
        self._worker = None
        self.window.busy_label.setText("")
        return True
