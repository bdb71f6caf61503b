"""Nothing lost: the session is autosaved, and a start after a crash or a kill offers it back.

A few seconds after each change (a trailing :class:`~convstudio.app.model.throttle.Debouncer`:
a burst of edits makes one write) the current pipeline (JSON), the selected layer, the pipeline's
file and whether it has unsaved changes, and the image (its file path, or, for generated, pasted
and lesson images, the array as ``.npy`` up to :data:`MAX_ARRAY_BYTES`) are
written atomically to a folder of this session::

    <state dir>/session-<pid>-<random>/running.pid    the marker: {"pid", "start", "host"}
                                      /session.json   what to restore
                                      /image-<n>.npy  the image, when it has no file
                                      /offered.pid    after a crash: the instance offering it
    <state dir>/damaged/session-<pid>-<random>-<time>/  set aside: kept, never offered again

The state dir is ``$CONVSTUDIO_STATE_DIR`` if set, else ``autosave/`` beside the settings file when
the app runs with a settings file of its own (``--settings``, tests), else
``QStandardPaths.AppLocalDataLocation/autosave`` (``~/.local/share/ConvStudio/ConvStudio/autosave``
on Linux).

The GUI thread only takes a snapshot of these (plain references: the pipeline is frozen and the
image read-only); a :class:`~convstudio.app.model.worker.Worker` of its own writes it, since a
50 MB image and the ``fsync`` of each file took 110-170 ms, and even ``session.json`` alone 4-18 ms
on a local disk. A newer snapshot replaces one not yet written, and each carries a sequence number,
so an older one never overwrites a newer (see :class:`_SessionFiles`). :meth:`AutoSaver.save_now`,
for the exit after a SIGTERM and after a restore, writes on the calling thread and waits for a
background write in progress.

Every running instance has a folder of its own, so sessions of several instances and crashes
coexist. A clean exit removes the session's folder. A folder whose marker names a process that is
gone (crash, SIGKILL, power loss) is a crashed session: the next start (without files on the
command line, never in ``--screenshot`` mode) lists every crashed session in one dialog
(:class:`~convstudio.app.dialogs.restore.RestoreDialog`, through :meth:`AutoSaver.choose_session`,
which tests replace). Reading them (``autosave_store``) never deletes anything and recovers each
part on its own; only the sessions the user discards are deleted, a session that cannot be read
at all is moved into ``damaged/``. The chosen session's pipeline comes back at once and its image
is read in the background (:class:`~convstudio.app.model.autosave_restore.SessionRestorer`); what
follows the image waits for it. See docs/user-guide.md ("Nothing is lost").
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QSettings, QStandardPaths, Signal

from convstudio.app.i18n import tr
from convstudio.app.model.autosave_restore import SessionRestorer
from convstudio.app.model.autosave_store import (
    FORMAT,
    MARKER_FILE,
    PREFIX,
    SESSION_FILE,
    CrashedSession,
    claim,
    discard,
    find_crashed_sessions,
    own_marker,
    pid_alive,
    release,
    remove_empty_sessions,
    set_aside,
)
from convstudio.app.model.throttle import Debouncer
from convstudio.app.model.worker import Worker
from convstudio.core import Pipeline

__all__ = [
    "AutoSaver",
    "CrashedSession",
    "ENV_STATE_DIR",
    "DEFAULT_DELAY_MS",
    "MARKER_FILE",
    "MAX_ARRAY_BYTES",
    "SESSION_FILE",
    "find_crashed_sessions",
    "pid_alive",
    "state_dir",
]

ENV_STATE_DIR = "CONVSTUDIO_STATE_DIR"
DEFAULT_DELAY_MS = 2000
"""Autosave this long after the last change (a burst of edits makes one write)."""
MAX_ARRAY_BYTES = 50 * 1024 * 1024
"""Images without a file are saved as .npy up to this size; larger ones only by name."""

def state_dir(settings: QSettings | None = None) -> Path:
    """Where sessions are autosaved (see the module docstring)."""
    env = os.environ.get(ENV_STATE_DIR, "").strip()
    if env:
        return Path(env)
    if settings is not None and settings.format() == QSettings.Format.IniFormat:
        # A settings file of its own (tests, scripts): keep the autosave beside it, not the user's.
        return Path(settings.fileName()).resolve().parent / "autosave"
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    if not base:
        base = str(Path.home() / ".local" / "share" / "ConvStudio")
    return Path(base) / "autosave"


# ------------------------------------------------------------------------------------- the files


@dataclass(frozen=True, eq=False)
class _Snapshot:
    """What one autosave writes, taken on the GUI thread (references only: the pipeline is frozen,
    the document's image read-only). `seq` grows with every snapshot of a saver."""

    seq: int
    image: np.ndarray | None
    image_path: str | None
    image_name: str
    keep_alpha: bool
    pipeline: Pipeline
    pipeline_file: str | None
    dirty: bool
    selected: int
    taken_at: float


class _SessionFiles:
    """The files of one session's folder, and what is known to be in them.

    Writes go through one lock, so the autosave worker and a :meth:`AutoSaver.save_now` on the GUI
    thread never interleave, and a snapshot older than the last one written is skipped: a
    background write that was already waiting when a newer snapshot was saved directly cannot
    put the older state back. After :meth:`remove` nothing is written any more.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._written_seq = 0
        self._removed = False
        self._counter = 0
        self._image_file: str | None = None  # the .npy session.json names
        self._written_image: np.ndarray | None = None  # the array in it
        self._pipeline_json: tuple[Pipeline, str] | None = None  # (pipeline, its JSON text)

    def write(self, snap: _Snapshot) -> bool:
        """Write `snap` (the image first, then session.json, each atomically). False when it was
        skipped (a newer snapshot is written, or the folder removed). Raises OSError or
        ValueError when a file cannot be written; what was there stays consistent."""
        with self._lock:
            if self._removed or snap.seq <= self._written_seq:
                return False
            folder = self.folder
            x = snap.image
            old_image_file = None
            image: dict[str, Any]
            if x is None:
                image = {"kind": "none"}
            elif snap.image_path is not None:
                image = {"kind": "file", "path": str(Path(snap.image_path).resolve()),
                         "name": snap.image_name, "keep_alpha": snap.keep_alpha}
            elif x.nbytes <= MAX_ARRAY_BYTES:
                if x is not self._written_image or self._image_file is None:
                    self._counter += 1
                    name = f"image-{self._counter}.npy"
                    buf = io.BytesIO()
                    np.save(buf, x, allow_pickle=False)
                    _write(folder / name, buf.getbuffer())
                    old_image_file, self._image_file = self._image_file, name
                    self._written_image = x
                image = {"kind": "array", "file": self._image_file, "name": snap.image_name}
            else:
                image = {"kind": "too-large", "name": snap.image_name, "shape": list(x.shape)}
            data = {
                "format": FORMAT, "version": 1, "pid": os.getpid(), "saved_at": snap.taken_at,
                "pipeline_file": str(Path(snap.pipeline_file).resolve()) if snap.pipeline_file
                else None,
                "dirty": snap.dirty, "selected": snap.selected, "image": image,
            }
            _write(folder / SESSION_FILE, self._session_text(data, snap.pipeline).encode("utf-8"))
            self._written_seq = snap.seq
            if image.get("kind") != "array" and self._image_file is not None:
                old_image_file, self._image_file, self._written_image = self._image_file, None, None
            if old_image_file is not None:
                (folder / old_image_file).unlink(missing_ok=True)
            return True

    def _session_text(self, data: dict[str, Any], pipeline: Pipeline) -> str:
        """session.json: `data` and the pipeline, whose own JSON text is spliced in as it is
        (decoding it and encoding it again, indented, took 10 of the 18 ms a save took) and kept
        while the pipeline stays the same (a new selection, say)."""
        if self._pipeline_json is None or self._pipeline_json[0] is not pipeline:
            self._pipeline_json = (pipeline, pipeline.to_json())
        head = json.dumps(data, indent=1)  # '{ ... \n}': the pipeline goes before the brace
        return f'{head[:-2]},\n "pipeline": {self._pipeline_json[1]}\n}}'

    def remove(self) -> None:
        """Delete the folder (after a write in progress) and write nothing from now on."""
        with self._lock:
            self._removed = True
            shutil.rmtree(self.folder, ignore_errors=True)


# ------------------------------------------------------------------------------------- the saver


class AutoSaver(QObject):
    """Autosaves a main window's Document and restores a crashed session.

    Parameters
    ----------
    window
        The main window (``doc``, ``show_message``, ``report_error``).
    directory : path, optional
        The state dir (default: :func:`state_dir` of `settings`).
    settings : QSettings, optional
        Only used to find the default state dir.
    delay_ms : int
        Debounce: write this long after the last change.

    Signals
    -------
    saved(str)
        A snapshot was written (the session folder).
    restored(bool)
        A restore ended: its image arrived (True) or did not, and the session was saved.
    """

    saved = Signal(str)
    restored = Signal(bool)

    def __init__(self, window, directory: str | os.PathLike | None = None, *,
                 settings: QSettings | None = None, delay_ms: int | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.directory = Path(directory) if directory is not None else state_dir(settings)
        self.folder: Path | None = None
        self.error: str | None = None
        self._started = False
        self._files: _SessionFiles | None = None
        self._seq = 0
        self._debounce = Debouncer(DEFAULT_DELAY_MS if delay_ms is None else int(delay_ms), parent=self)
        self._debounce.triggered.connect(self._save_in_background)
        self._worker = Worker("convstudio-autosave", self)
        self._worker.done.connect(self._written)
        self._worker.failed.connect(self._write_failed)
        self._restorer = SessionRestorer(self)  # restore(): the image is read on its own thread
        self._restorer.finished.connect(self.restored)
        app = QCoreApplication.instance()
        if app is not None:  # a QThread still running when the application ends aborts it
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ lifetime
    def start(self) -> bool:
        """Create this session's folder and marker and autosave from now on (False: the state
        dir is not writable; the app goes on without autosave and says so once)."""
        if self._started:
            return self.folder is not None
        self._started = True
        d = self.doc
        for signal in (d.imageChanged, d.pipelineChanged, d.selectionChanged, d.dirtyChanged,
                       d.filePathChanged):
            signal.connect(self.schedule)
        folder = self.directory / f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        marker = own_marker()
        try:
            folder.mkdir(parents=True, exist_ok=False)
            _write(folder / MARKER_FILE, json.dumps(marker).encode("utf-8"))
        except OSError as exc:
            self._fail(f"cannot create '{folder}': {exc}")
            return False
        self.folder = folder
        self._files = _SessionFiles(folder)
        return True

    def shutdown(self) -> None:
        """Stop autosaving in the background: drop a pending write, wait for one in progress
        (at most a minute: a large image on a slow disk) and stop the thread. The folder stays;
        :meth:`save_now` still writes (on the calling thread). Safe to call twice."""
        self._debounce.cancel()
        self._restorer.shutdown()
        self._worker.shutdown(60_000)

    def finish(self, *, keep: bool = False) -> None:
        """The end of the session. A clean exit removes this session's folder (marker included):
        nothing to restore next time. ``keep=True`` (ended from outside with unsaved work: nobody
        was asked) writes the session now and keeps it, to be offered at the next start."""
        self.shutdown()
        if keep:
            self.save_now()
        folder, self.folder = self.folder, None  # schedule() does nothing from now on
        files, self._files = self._files, None
        if files is not None and not keep:
            files.remove()
        elif folder is not None and not keep:
            shutil.rmtree(folder, ignore_errors=True)

    @property
    def running(self) -> bool:
        """Whether the autosave thread runs (from the first background write to :meth:`shutdown`)."""
        return self._worker.running

    @property
    def delay_ms(self) -> int:
        return self._debounce.interval()

    def pending(self) -> bool:
        """Whether a change waits to be written (or is being written in the background)."""
        return self._debounce.pending or self._worker.busy

    # ------------------------------------------------------------------ saving
    def schedule(self, *_args) -> None:
        if self.folder is not None and not self._worker.closed:
            self._debounce.trigger()

    def _snapshot(self) -> _Snapshot:
        doc = self.doc
        self._seq += 1
        return _Snapshot(
            seq=self._seq, image=doc.image,
            image_path=str(doc.image_path) if doc.image_path is not None else None,
            image_name=doc.image_name, keep_alpha=bool(doc.keep_alpha), pipeline=doc.pipeline,
            pipeline_file=str(doc.file_path) if doc.file_path else None, dirty=bool(doc.dirty),
            selected=int(doc.selected), taken_at=time.time())

    def _save_in_background(self) -> None:
        files = self._files
        if files is None or self._worker.closed:
            return
        snap = self._snapshot()

        def write(_ctx) -> tuple[bool, str]:  # on the autosave thread
            try:
                return files.write(snap), ""
            except (OSError, ValueError) as exc:
                return False, str(exc)

        self._worker.submit(write)

    def _written(self, _token: int, result: tuple[bool, str]) -> None:
        written, problem = result
        if problem:
            self._write_failed(_token, problem)
        elif written and self.folder is not None:
            self.error = None
            self.saved.emit(str(self.folder))

    def _write_failed(self, _token: int, message: str) -> None:
        if self.folder is not None:
            self._fail(f"cannot write to '{self.folder}': {message}")

    def save_now(self) -> bool:
        """Write the snapshot now, on this thread (after a background write in progress; a
        queued one is dropped, this one is newer). False if it could not be written."""
        self._debounce.cancel()
        files = self._files
        if files is None:
            return False
        self._worker.cancel()
        try:
            written = files.write(self._snapshot())
        except (OSError, ValueError) as exc:
            self._fail(f"cannot write to '{files.folder}': {exc}")
            return False
        if not written:
            return False
        self.error = None
        self.saved.emit(str(files.folder))
        return True

    def _fail(self, text: str) -> None:
        if self.error is None:  # say it once, not on every edit
            self.window.show_message(tr("Autosave is off: {why}").format(why=text), 10000, error=True)
        self.error = text

    # ------------------------------------------------------------------ restoring
    def crashed_sessions(self) -> list[CrashedSession]:
        """Crashed sessions with something in their folder, newest first (reads only)."""
        return find_crashed_sessions(self.directory)

    def offer_restore(self) -> bool:
        """List every crashed session in one dialog; restore the one chosen.

        Sessions that hold nothing readable are moved into ``damaged/`` (and named in a message);
        the ones the user discards in the dialog are deleted; the others stay and are offered
        again at the next start. Returns True if a session was restored.
        """
        remove_empty_sessions(self.directory)
        sessions = [s for s in self.crashed_sessions() if claim(s.folder)]
        try:
            notes = self._set_aside_unreadable([s for s in sessions if not s.recoverable])
            offered = [s for s in sessions if s.recoverable]
            if not offered:
                if notes:
                    self.window.show_message(" ".join(notes), 20000, error=True)
                return False
            chosen = self.choose_session(offered, notes)
            return chosen is not None and self.restore(chosen)
        finally:
            restoring = self.restoring  # stays claimed until its image arrived
            for s in sessions:
                if restoring is None or s.folder != restoring.folder:
                    release(s.folder)  # a session still there is offered again at the next start

    def choose_session(self, sessions: Sequence[CrashedSession],
                       notes: Sequence[str] = ()) -> CrashedSession | None:
        """Show the restore dialog: the session to restore, or None (closed, or all discarded).
        Discarding in the dialog goes through :meth:`discard_session`. Tests replace this."""
        from convstudio.app.dialogs.restore import RestoreDialog

        dialog = RestoreDialog(sessions, discard=self.discard_session, notes=notes,
                               parent=self.window)
        try:
            dialog.exec()
            return dialog.chosen
        finally:
            dialog.shutdown()
            dialog.deleteLater()

    def discard_session(self, session: CrashedSession) -> str | None:
        """Delete a session the user chose to discard: None when it is gone, else why not."""
        return discard(session.folder)

    def _set_aside_unreadable(self, sessions: Sequence[CrashedSession]) -> list[str]:
        """Move sessions with nothing to restore into ``damaged/``; one sentence on each, in the
        interface's language (the store's note translated as the restore dialog does)."""
        from convstudio.app.dialogs.restore import note_text

        notes = []
        for s in sessions:
            why = note_text(s.notes[0]) if s.notes else tr("nothing in it can be read")
            try:
                where = set_aside(s.folder)
            except OSError as exc:
                notes.append(tr("An autosaved session could not be read ({why}) nor moved aside "
                                "({reason}); it stays in {folder}.").format(
                    why=why, reason=exc.strerror or exc, folder=s.folder))
            else:
                notes.append(tr("An autosaved session could not be read ({why}); it is kept in "
                                "{folder}.").format(why=why, folder=where))
        return notes

    def restore(self, session: CrashedSession) -> bool:
        """Put back what the session holds: the pipeline (or, if that could not be read, its
        file) and the selected layer at once, the image once it has been read in the background;
        then this session saves it and the old folder goes (into ``damaged/`` when a part of it
        could not be restored). False if nothing in it can be restored. ``restored`` says when
        the whole restore ended (``autosave_restore.py``)."""
        return self._restorer.restore(session)

    @property
    def restoring(self) -> CrashedSession | None:
        """The session being restored whose image is still being read, or None."""
        return self._restorer.pending

    def wait_restored(self, timeout_ms: int = 30_000) -> bool:
        """Process events until no restore waits for its image (True) or time ran out."""
        return self._restorer.wait(timeout_ms)


def _write(path: Path, data) -> None:
    from convstudio.core.imageio import atomic_write_bytes

    atomic_write_bytes(path, data)
