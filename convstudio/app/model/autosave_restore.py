"""Putting a crashed session back into the window, its image read in the background.

:class:`SessionRestorer` belongs to an :class:`~convstudio.app.model.autosave.AutoSaver`, whose
``restore`` it carries out. The pipeline (or its file) and the selected layer are put back at
once, so the window shows the restored pipeline as soon as the dialog closes. The image (a file,
or the ``.npy`` the autosave keeps for generated, pasted and lesson images) is read on a
:class:`~convstudio.app.model.worker.Worker` of its own, as File ▸ Open image reads one: the status
bar says "loading ..." meanwhile (``view_state.loading``) and a file too large to load whole
becomes a preview. What comes after the image, in this order, waits for it: the image becomes the
Document's, the new session is saved (:meth:`AutoSaver.save_now`), the old folder is deleted or,
when a part of it could not be restored, moved into ``damaged/``, and the status bar says how the
restore went. An image that cannot be read is one line of that message; the restored pipeline
stays. Another image put into the Document before the restored one arrived (File ▸ Open, a
lesson, a paste) is the newer choice: the read is dropped and the session ends without its image
(an autosaved ``.npy`` is then kept aside, being its only copy). The old folder stays claimed
until then, so no other instance offers it meanwhile.

The status message is made in the interface's language when the restore ends (docs/developing.md,
"Translations"): each problem is kept as an English source marked with ``tr_noop`` and its fields,
and translated then; the store's notes (Qt-free, English) are translated as the restore dialog
translates them (:func:`~convstudio.app.dialogs.restore.note_text`); reasons from the core (an
exception's text, the loader's message) stay as they are inside the translated sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from convstudio.app.i18n import tr, tr_noop
from convstudio.app.model.autosave_store import CrashedSession, discard, release, set_aside
from convstudio.app.model.big_image import read_for_window
from convstudio.app.model.worker import Worker, process_events_until
from convstudio.core import ConvStudioError, Pipeline, imageio
from convstudio.session.compute import DEFAULT_PREVIEW_PIXELS
from convstudio.session.preview import Preview

if TYPE_CHECKING:
    from convstudio.app.model.autosave import AutoSaver

__all__ = ["SessionRestorer"]

#: A problem of a restore: an English source (marked with ``tr_noop``) and its fields, translated
#: when the status message is made (:meth:`SessionRestorer._finish`).
_Problem = tuple[str, dict[str, object]]


def _problem(source: str, **fields) -> _Problem:
    return source, fields


def _problem_text(problem: _Problem) -> str:
    """`problem` in the interface's language, its fields (names, reasons) as they are."""
    source, fields = problem
    return tr(source).format(**fields)


@dataclass(eq=False)
class _Pending:
    """A restore whose image is being read: the session, what its status message will say, what
    ``view_state.loading`` names, and the loader's token of the read."""

    session: CrashedSession
    image_problems: list[_Problem]
    pipeline_problems: list[_Problem]
    shown: Path | None
    token: int = 0
    dropped: bool = False  # a newer image came first: the read is dropped, the end is due


class SessionRestorer(QObject):
    """Restores crashed sessions into its saver's window (see the module docstring).

    Signals
    -------
    finished(bool)
        A restore ended (the image arrived, could not be read, was replaced, or there was none
        to read) and its session was saved; True when the session's image is the Document's.
    """

    finished = Signal(bool)

    def __init__(self, saver: AutoSaver) -> None:
        super().__init__(saver)
        self.saver = saver
        self.window = saver.window
        self.doc = saver.doc
        self.loader = Worker("convstudio-restore-image", self)
        self.loader.done.connect(self._on_loaded)
        self.loader.failed.connect(self._on_failed)
        self.loader.progressed.connect(self._on_progress)
        self._pending: _Pending | None = None
        self._setting = False  # the restored image is being put into the Document
        self.doc.imageChanged.connect(self._on_image_changed)

    # ------------------------------------------------------------------ state
    @property
    def pending(self) -> CrashedSession | None:
        """The session whose image is still being read, or None."""
        return None if self._pending is None else self._pending.session

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Process events until no restore waits for its image (True) or time ran out."""
        return process_events_until(lambda: self._pending is None, timeout_ms)

    def shutdown(self) -> None:
        """Stop the reading thread. A restore still waiting for its image ends here: its old
        folder is left as it is (no longer claimed), to be offered again at the next start."""
        self.loader.shutdown()
        pending, self._pending = self._pending, None
        if pending is not None:
            self._show_loading_done(pending)
            release(pending.session.folder)

    # ------------------------------------------------------------------ restoring
    def restore(self, session: CrashedSession) -> bool:
        """Put back what the session holds (see the module docstring); False if nothing in it
        can be restored. The image, if any, arrives later: ``finished`` says when."""
        w = self.window
        if not session.recoverable:
            from convstudio.app.dialogs.restore import state_text

            w.report_error(tr("Cannot restore the session"),
                           state_text(session) or tr("nothing in it can be read"))
            return False
        earlier = self._pending
        if earlier is not None:  # an earlier restore has not ended: this one is newer
            if not earlier.dropped:
                self._drop_read(earlier, _problem(tr_noop("another session was restored before its image arrived")))
            self._finish(earlier, image_ok=False)
        cancel = getattr(w, "cancel_image_load", None)
        if callable(cancel):
            cancel()  # an image the window is still reading must not replace the restored one
        image_problems: list[_Problem] = []
        pipeline_problems: list[_Problem] = []
        self._restore_pipeline(session, pipeline_problems)
        self.doc.select(max(0, min(session.selected, len(self.doc.pipeline))))
        pending = self._start_reading(session, image_problems, pipeline_problems)
        if pending is None:
            self._finish(_Pending(session, image_problems, pipeline_problems, None), image_ok=True)
        return True

    def _start_reading(self, session: CrashedSession, image_problems: list[_Problem],
                       pipeline_problems: list[_Problem]) -> _Pending | None:
        """Hand the session's image to the loader (None: there is nothing to read)."""
        img = session.image
        if img.kind == "file" and img.path is not None:
            path, alpha = img.path, img.keep_alpha
            renderer = getattr(self.window, "renderer", None)
            limit = int(getattr(renderer, "preview_pixels", DEFAULT_PREVIEW_PIXELS))
            shown = path

            def job(ctx):  # worker thread: the whole image, or a preview of one too large
                return read_for_window(ctx, path, alpha, limit)
        elif img.kind == "array" and img.file is not None:
            file = img.file
            shown = Path(img.name) if img.name and Path(img.name).name == img.name else file

            def job(_ctx):  # worker thread: the autosaved pixels (checked: finite, (C, H, W))
                return imageio.load_image(file)
        else:
            if img.kind == "too-large":
                image_problems.append(_problem(tr_noop("the image '{name}' was too large to autosave; open it again"),
                                               name=img.name))
            return None
        pending = self._pending = _Pending(session, image_problems, pipeline_problems, shown)
        pending.token = self.loader.submit(job)
        vs = getattr(self.window, "view_state", None)
        if vs is not None:
            vs.set_loading(shown)
        return pending

    def _restore_pipeline(self, session: CrashedSession, problems: list[_Problem]) -> None:
        doc, pipeline, file = self.doc, session.pipeline, session.pipeline_file
        opened = False
        if file:
            try:
                doc.open_pipeline(file)
                opened = True
            except (ConvStudioError, OSError) as exc:
                problems.append(_problem(
                    tr_noop("the pipeline's file could not be read ({why}); the pipeline is untitled")
                    if pipeline is not None else tr_noop("the pipeline's file could not be read either ({why})"),
                    why=exc))
        if pipeline is None:
            if opened:
                problems.append(_problem(tr_noop("the pipeline was opened from its file {name}"),
                                         name=Path(file).name))
            return
        if opened:
            if doc.pipeline != pipeline:
                doc.set_pipeline(pipeline, text=tr("Restore autosaved changes"))
        elif session.dirty or file:
            # Unsaved work stays unsaved: the window asks before it is lost again.
            doc.new_pipeline(Pipeline())
            doc.set_pipeline(pipeline, text=tr("Restore autosaved pipeline"))
        else:
            doc.new_pipeline(pipeline)

    # ------------------------------------------------------------------ the image arrives
    def _on_loaded(self, token: int, result) -> None:
        pending = self._pending
        if pending is None or token != pending.token or pending.dropped:
            return
        img = pending.session.image
        self._setting = True
        try:
            if img.kind == "file":
                path, x = result
                if self.doc.keep_alpha != img.keep_alpha:
                    self.doc.set_keep_alpha(img.keep_alpha, reload=False)  # (read with it already)
                big = getattr(self.window, "big_image", None)
                if isinstance(x, Preview) and big is not None:
                    big.show(x)
                elif isinstance(x, Preview):
                    self.doc.set_image_array(x.array, x.name)
                else:
                    self.doc.set_loaded_image(x, path)
            else:
                # load_image made this array for us alone, finite and (C, H, W) float32
                self.doc.set_converted_image(result, img.name)
        finally:
            self._setting = False
        self._finish(pending, image_ok=True)

    def _on_failed(self, token: int, message: str) -> None:
        pending = self._pending
        if pending is None or token != pending.token or pending.dropped:
            return
        if pending.session.image.kind == "file":
            pending.image_problems.append(_problem(tr_noop("the image could not be opened again ({why})"),
                                                   why=message))
        else:
            pending.image_problems.append(_problem(tr_noop("the autosaved image is unreadable ({why})"),
                                                   why=message))
        self._finish(pending, image_ok=False)

    def _on_progress(self, token: int, done_total) -> None:
        """A preview is read: the window's progress bar follows it, as for File ▸ Open image."""
        pending = self._pending
        show = getattr(self.window, "_on_image_load_progress", None)
        vs = getattr(self.window, "view_state", None)
        if pending is not None and token == pending.token and callable(show) and vs is not None \
                and vs.loading == pending.shown:
            show(token, done_total)

    def _on_image_changed(self) -> None:
        pending = self._pending
        if pending is not None and not self._setting and not pending.dropped:
            # Another image came first (File ▸ Open, a lesson, a paste): the newer choice wins.
            # The restore ends on the next turn, so that its message comes after the window's
            # own about that image.
            self._drop_read(pending, _problem(tr_noop("another image was opened before the autosaved one arrived")))
            QTimer.singleShot(0, self._finish_dropped)

    def _drop_read(self, pending: _Pending, why: _Problem) -> None:
        pending.dropped = True
        self.loader.cancel()  # (its result, if it still comes, is never delivered)
        pending.image_problems.append(why)

    def _finish_dropped(self) -> None:
        pending = self._pending
        if pending is not None and pending.dropped:
            self._finish(pending, image_ok=False)

    # ------------------------------------------------------------------ the end of a restore
    def _show_loading_done(self, pending: _Pending) -> None:
        vs = getattr(self.window, "view_state", None)
        if vs is not None and vs.loading == pending.shown:  # (not a file the window reads since)
            vs.set_loading(None)

    def _finish(self, pending: _Pending, *, image_ok: bool) -> None:
        """Once the image is in (or is not coming): the new session is saved, the old folder goes
        (or is kept aside when a part of it was not restored), and the status bar says so, in the
        interface's language of this moment."""
        from convstudio.app.dialogs.restore import note_text

        if self._pending is pending:
            self._pending = None
        self._show_loading_done(pending)
        session, saver = pending.session, self.saver
        problems = [*pending.image_problems, *pending.pipeline_problems]
        text = tr("Restored the autosaved session")
        if session.notes or problems:
            intact = ([tr("the image is intact")] if session.image.restorable and image_ok else []) \
                + ([tr("the pipeline is intact")] if session.pipeline is not None else [])
            parts = [*(note_text(n) for n in session.notes), *(_problem_text(p) for p in problems), *intact]
            text = tr("Restored the autosaved session: {problems}").format(problems="; ".join(parts))
        image_lost = not image_ok and session.image.kind == "array"  # its only copy is there
        try:
            if saver.folder is not None and saver.save_now():  # protected again before the old copy goes
                if session.damaged or image_lost:
                    try:
                        text = tr("{message}. The original is kept in {folder}").format(
                            message=text, folder=set_aside(session.folder))
                    except OSError:
                        pass  # it stays where it was and is offered again
                else:
                    discard(session.folder)
        finally:
            release(session.folder)  # (if it is still there: offered again at the next start)
        self.window.show_message(text, 20000, error=bool(session.notes or problems))
        self.finished.emit(image_ok)
