"""The main window's pipeline files: File ▸ Open pipeline, New, Save and Save As, and the
"unsaved changes" question.

:class:`WindowPipelineFiles` is mixed into :class:`~convstudio.app.window.main_window.MainWindow`
(beside :class:`~convstudio.app.window.files.WindowFiles`, whose recent-file lists it uses) and
works on its attributes (``doc``, ``settings``, ``busy_label``). What a pipeline file holds is
described in docs/pipeline-format.md.

Pipeline files are read on ``pipeline_reader`` (the newest file asked for wins; one overtaken by
a change of the pipeline is dropped) and written on ``pipeline_writer`` (every save asked for, in
order, each the pipeline as it was when asked: :meth:`WindowFiles.save_pipeline_to`). The
menus do not wait; with ``wait`` a save processes events until it was written (the "unsaved
changes" question needs its outcome) and an open reads the file here. Closing waits for saves.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from convstudio.app.i18n import tr, tr_noop
from convstudio.app.model.worker import Worker, process_events_until
from convstudio.core import ConvStudioError, Pipeline
from convstudio.session.pipeline_process import load_pipeline, pipeline_bytes, save_pipeline

__all__ = ["PIPELINE_FILTER", "WindowPipelineFiles", "head_start"]

PIPELINE_FILTER = tr_noop("ConvStudio pipelines (*.json);;All files (*)")

#: How long opening, saving or copying a small pipeline may hold the GUI thread (the GIL
#: released) while the job runs (``Worker.submit``'s head start): it is then read, written or
#: made before the call returns, and its result arrives at the next turn of the event loop, as
#: when the GUI thread did it. A large one gets none: its job holds the GIL in stretches of tens
#: of ms, and the GUI thread would wait for one when the head start ends (measured: 50 ms).
HEAD_START_S = 0.02
#: Small: at most this many bytes in the layers' arrays (4096 float32 numbers, serialised in
#: about 10 ms), or a file of at most this many bytes.
SMALL_BYTES = 4096 * 4
SMALL_FILE_BYTES = 128 * 1024
#: How long a waiting save waits for its write (and closing for every save).
SAVE_WAIT_MS = 120_000


@dataclass(frozen=True, eq=False)
class _OpenRequest:
    """A pipeline file being read, and the document's pipeline when it was asked for."""

    path: Path
    pipeline: Pipeline
    resets: int  # the Document's reset_count then


@dataclass(eq=False)
class _SaveRequest:
    """A save asked for: the pipeline as it was then (an immutable value) and where it goes."""

    pipeline: Pipeline
    path: Path
    resets: int  # the Document's reset_count then: a save of a document replaced since marks nothing
    done: bool = False
    ok: bool = False


def head_start(pipeline: Pipeline) -> float:
    """The head start of a job that writes `pipeline` out (a save, code): see HEAD_START_S."""
    return HEAD_START_S if pipeline_bytes(pipeline) <= SMALL_BYTES else 0.0


def _read_head_start(path: Path) -> float:
    try:
        return HEAD_START_S if path.stat().st_size <= SMALL_FILE_BYTES else 0.0
    except OSError:
        return HEAD_START_S  # (the job fails at once)


def _write_pipeline(pipeline: Pipeline, path: Path) -> Path:
    """The save job (on the pipeline writer's thread): :meth:`Pipeline.save`, atomic; for a
    large pipeline in a child process (``session/pipeline_process.py``: serialising holds the
    interpreter lock). A bare ValueError becomes a ConvStudioError, so that the worker reports
    its text as it is."""
    try:
        save_pipeline(pipeline, path)
    except ValueError as exc:
        if isinstance(exc, ConvStudioError):
            raise
        raise ConvStudioError(str(exc)) from None
    return path


class WindowPipelineFiles:
    """Pipeline files in and out of the window (a mixin of ``MainWindow``)."""

    # ================================================================== pipelines
    def _init_pipeline_files(self) -> None:
        """The two workers of pipeline files and what they are doing (called by ``__init__``).

        Two, because they keep different promises: the reader's newest file asked for wins (an
        older one is dropped), while every save asked for is written, in order (``_saves``, a
        queue of which only the first is on the writer at a time).
        """
        self.pipeline_reader = Worker("ConvStudio pipeline reader", self)
        self.pipeline_writer = Worker("ConvStudio pipeline writer", self)
        self._open_request: _OpenRequest | None = None
        self._saves: deque[_SaveRequest] = deque()
        self._pipeline_work_shown = ""  # what _show_pipeline_work put in the busy label
        self.pipeline_reader.done.connect(self._on_pipeline_read)
        self.pipeline_reader.failed.connect(self._on_pipeline_read_failed)
        self.pipeline_writer.done.connect(self._on_pipeline_written)
        self.pipeline_writer.failed.connect(self._on_pipeline_write_failed)

    @property
    def pipeline_files_busy(self) -> bool:
        """Whether a pipeline file is being read, or a save has not been written yet."""
        return self.pipeline_reader.busy or bool(self._saves)

    def open_pipeline(self, path: str | Path, *, ask: bool = True, wait: bool = True) -> bool:
        """Open a pipeline file (asking first if the current one has unsaved changes).

        With ``wait=False`` (the menus, drops and recent files) the file is read and checked on
        the pipeline reader's thread (a model trunk with a million weights takes over a second)
        and the pipeline is made current here when it arrives; the call returns once reading
        started, and the newest file asked for wins. If the pipeline changes while the file is
        read (an edit, an undo, New, a lesson), the file's pipeline is dropped and the status bar
        says so: nothing the user did after asking is replaced without asking again.

        With ``wait`` (the command line, scripts) the file is read here and the outcome returned,
        as ``open_image`` does; a file being read in the background is dropped (this one is
        newer). Either way a save to the same file still being written is waited for first.
        """
        if ask and self.doc.dirty and not self.confirm_discard():
            return False
        if self.pipeline_reader.closed:
            return False
        path = Path(path)
        if any(r.path.resolve() == path.resolve() for r in self._saves):
            self.wait_for_saves()  # a save to that file comes first: read what it wrote
        if wait:
            self.cancel_pipeline_open()
            try:
                pipeline = Pipeline.load(path)
            except ConvStudioError as exc:
                self.report_error(tr("Cannot open pipeline"), str(exc))
                return False
            self._adopt_opened(pipeline, path)
            return True
        self._open_request = _OpenRequest(path, self.doc.pipeline, self.doc.reset_count)
        self._show_pipeline_work()
        # (a large file is parsed in a child process: json.loads holds the interpreter lock)
        self.pipeline_reader.submit(lambda ctx, p=path: load_pipeline(p, cancelled=ctx.cancelled),
                                    head_start_s=_read_head_start(path))
        return True

    def cancel_pipeline_open(self) -> None:
        """Drop the pipeline file being read (the user chose another pipeline meanwhile)."""
        if self._open_request is not None:
            self.pipeline_reader.cancel()
            self._open_request = None
            self._show_pipeline_work()

    def _on_pipeline_read(self, _token: int, pipeline: Pipeline) -> None:
        # (the reader delivers the newest request only)
        request, self._open_request = self._open_request, None
        self._show_pipeline_work()
        if request is None:
            return
        if self.doc.reset_count != request.resets or self.doc.pipeline is not request.pipeline:
            self.show_message(tr("Did not open {name}: the pipeline changed while the file was read. "
                                 "Open it again to replace the pipeline.").format(name=request.path.name),
                              10_000, error=True)
            return
        self._adopt_opened(pipeline, request.path)

    def _adopt_opened(self, pipeline: Pipeline, path: Path) -> None:
        self.doc.adopt_pipeline(pipeline, path)
        self._add_recent("pipelines", path)
        if self.doc.selected == 0 and len(self.doc.pipeline):
            self.doc.select(len(self.doc.pipeline))
        self.show_message(tr("Opened pipeline {name}").format(name=path.name))

    def _on_pipeline_read_failed(self, _token: int, message: str) -> None:
        self._open_request = None
        self._show_pipeline_work()
        self.report_error(tr("Cannot open pipeline"), message)

    def open_pipeline_dialog(self) -> None:
        if self.doc.dirty and not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, tr("Open pipeline"), self._last_folder("pipelines"),
                                              tr(PIPELINE_FILTER))
        if path:
            self.open_pipeline(path, ask=False, wait=False)

    def import_model_dialog(self) -> None:
        """File > Import model…: an ONNX model's trunk as the pipeline (window/model_import.py)."""
        from convstudio.app.window.model_import import ModelImporter

        ModelImporter.of(self).ask()

    def new_pipeline(self) -> None:
        if self.doc.dirty and not self.confirm_discard():
            return
        self.cancel_pipeline_open()
        self.doc.new_pipeline(Pipeline())
        self.show_message(tr("New empty pipeline: add layers with Layer ▸ Add"))

    def save_pipeline(self, *, wait: bool = True) -> bool:
        """Save to the pipeline's file (see :meth:`save_pipeline_to`), or ask for one."""
        path = self._save_target()
        if path is None:
            return self.save_pipeline_as(wait=wait)
        return self.save_pipeline_to(path, wait=wait)

    def save_pipeline_as(self, *, wait: bool = True) -> bool:
        """Ask for a file and save to it (see :meth:`save_pipeline_to`)."""
        target = self._save_target()
        start = str(target) if target else str(Path(self._last_folder("pipelines")) / "pipeline.json")
        path, _ = QFileDialog.getSaveFileName(self, tr("Save pipeline"), start, tr(PIPELINE_FILTER))
        if not path:
            return False
        if not Path(path).suffix:
            path += ".json"
        return self.save_pipeline_to(path, wait=wait)

    def save_pipeline_to(self, path: str | Path, *, wait: bool = True) -> bool:
        """Write the pipeline as it is now to `path`.

        The pipeline (an immutable value) is taken now and written on the pipeline writer's
        thread, atomically (a temporary file renamed over `path`); saves are written one after
        another, in the order asked. Once written, the document is marked saved for that
        pipeline: unmodified if it was not edited meanwhile, else still modified
        (:meth:`Document.mark_saved`). A failure is reported and leaves the document modified.

        With ``wait=False`` (the menus) the call returns at once, True; with ``wait`` it
        processes events until this save was written and returns whether it was (Save in the
        "unsaved changes" question needs to know before it goes on).
        """
        if self.pipeline_writer.closed:
            return False
        request = self._queue_save(Path(path))
        if not wait:
            return True
        process_events_until(lambda: request.done, SAVE_WAIT_MS)
        return request.ok

    def wait_for_saves(self, timeout_ms: int = SAVE_WAIT_MS) -> bool:
        """Process events until every save asked for was written or failed (True), or time ran
        out (False). Without saves it returns at once, events untouched."""
        return not self._saves or process_events_until(lambda: not self._saves, timeout_ms)

    def _save_target(self) -> Path | None:
        """Where Save writes: the file of a Save As still being written, else the pipeline's."""
        resets = self.doc.reset_count
        pending = [r.path for r in self._saves if r.resets == resets]
        return pending[-1] if pending else self.doc.file_path

    def _queue_save(self, path: Path) -> _SaveRequest:
        snapshot, resets = self.doc.pipeline, self.doc.reset_count
        last = self._saves[-1] if len(self._saves) > 1 else None  # (the first is being written)
        if last is not None and last.path == path and last.resets == resets:
            last.pipeline = snapshot  # not started yet: it writes the newer pipeline instead
            return last
        request = _SaveRequest(snapshot, path, resets)
        self._saves.append(request)
        if len(self._saves) == 1:
            self._write_next()
        return request

    def _write_next(self) -> None:
        if self._saves:
            r = self._saves[0]
            self.pipeline_writer.submit(lambda _ctx, p=r.pipeline, path=r.path: _write_pipeline(p, path),
                                        head_start_s=head_start(r.pipeline))
        self._show_pipeline_work()

    def _on_pipeline_written(self, _token: int, _result: object) -> None:
        request = self._saves.popleft()
        request.done = request.ok = True
        clean = True
        if request.resets == self.doc.reset_count:  # (else New or Open replaced that document)
            clean = self.doc.mark_saved(request.pipeline, request.path)
        self._add_recent("pipelines", request.path)
        text = tr("Saved {name}") if clean else \
            tr("Saved {name}; the changes made while it was being written are not saved yet")
        self.show_message(text.format(name=request.path.name))
        self._write_next()

    def _on_pipeline_write_failed(self, _token: int, message: str) -> None:
        request = self._saves.popleft()
        request.done = True
        self.report_error(tr("Cannot save pipeline"), message)
        self._write_next()

    def _show_pipeline_work(self) -> None:
        """The busy label names the pipeline file being written or read (and is cleared after,
        unless something else wrote to it meanwhile)."""
        if self._saves:
            text = tr("saving {name}…").format(name=self._saves[0].path.name)
        elif self._open_request is not None:
            text = tr("opening {name}…").format(name=self._open_request.path.name)
        else:
            text = ""
        if text or self.busy_label.text() == self._pipeline_work_shown:
            self.busy_label.setText(text)
        self._pipeline_work_shown = text

    def confirm_discard(self) -> bool:
        """The pipeline has unsaved changes: Save / Discard / Cancel. True means go on.

        Tests replace this method to answer without a dialog.
        """
        box = QMessageBox(QMessageBox.Icon.Warning, tr("Unsaved changes"),
                          tr("The pipeline has changes that are not saved."),
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText(tr("Save them first?"))
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return self.save_pipeline(wait=True)
        return answer == QMessageBox.StandardButton.Discard
