"""Nothing lost: the session is autosaved, and a start after a crash or a kill offers it back.

A few seconds after each change (debounced with a QTimer) the current pipeline (JSON), the selected
layer, the pipeline's file and whether it has unsaved changes, and the image (its file path, or,
for generated, pasted and lesson images, the array as ``.npy`` up to :data:`MAX_ARRAY_BYTES`) are
written atomically to a folder of this session::

    <state dir>/session-<pid>-<random>/running.pid    the marker: {"pid", "start", "host"}
                                      /session.json   what to restore
                                      /image-<n>.npy  the image, when it has no file

The state dir is ``$CONVSTUDIO_STATE_DIR`` if set, else ``autosave/`` beside the settings file when
the app runs with a settings file of its own (``--settings``, tests), else
``QStandardPaths.AppLocalDataLocation/autosave`` (``~/.local/share/ConvStudio/ConvStudio/autosave``
on Linux).

A clean exit removes the session's folder. A folder whose marker names a process that is gone
(crash, SIGKILL, power loss) is a crashed session: the next start (without files on the command
line, never in ``--screenshot`` mode) asks whether to restore it (:meth:`AutoSaver.ask_restore`,
replaced by tests) and then restores it or discards it.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QSettings, QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import QMessageBox

from convstudio.core import ConvStudioError, Pipeline

__all__ = [
    "AutoSaver",
    "CrashedSession",
    "ENV_STATE_DIR",
    "DEFAULT_DELAY_MS",
    "MAX_ARRAY_BYTES",
    "find_crashed_sessions",
    "pid_alive",
    "state_dir",
]

ENV_STATE_DIR = "CONVSTUDIO_STATE_DIR"
DEFAULT_DELAY_MS = 2000
"""Autosave this long after the last change (a burst of edits makes one write)."""
MAX_ARRAY_BYTES = 50 * 1024 * 1024
"""Images without a file are saved as .npy up to this size; larger ones only by name."""

SESSION_FILE = "session.json"
MARKER_FILE = "running.pid"
_PREFIX = "session-"
_FORMAT = "convstudio-autosave"


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


# ------------------------------------------------------------------------------------- processes


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks (Linux), to tell a reused PID from the original."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) "
    # fields[0] is the state (field 3); the start time is field 22
    return fields[19] if len(fields) > 19 else None


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    rest = stat[stat.rfind(")") + 2:]
    return rest[:1] in ("Z", "X")


def pid_alive(pid: int, start: str | None = None) -> bool:
    """Whether process `pid` is running (and, if `start` is known, is the same process)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - the app is developed and tested on Linux
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x100000, False, pid)  # SYNCHRONIZE
        if not handle:
            return False
        try:
            return ctypes.windll.kernel32.WaitForSingleObject(handle, 0) == 0x102  # WAIT_TIMEOUT
        finally:
            ctypes.windll.kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    except OSError:
        return False
    if _is_zombie(pid):
        return False
    if start is not None:
        now = _process_start(pid)
        if now is not None and now != start:
            return False  # the PID was reused by another process
    return True


# ------------------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class CrashedSession:
    """A session folder left behind by a process that is gone, with its autosaved state."""

    folder: Path
    pid: int
    data: dict

    @property
    def saved_at(self) -> float:
        return float(self.data.get("saved_at", 0.0))

    def describe(self) -> str:
        """One paragraph for the restore question."""
        d = self.data
        img = d.get("image") or {}
        layers = len((d.get("pipeline") or {}).get("layers", []))
        name = (d.get("pipeline") or {}).get("name") or ""
        pfile = d.get("pipeline_file")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved_at))
        pipeline = f"pipeline {Path(pfile).name}" if pfile else "an untitled pipeline"
        if name:
            pipeline += f" ('{name}')"
        if d.get("dirty"):
            pipeline += " with unsaved changes"
        image = img.get("name") or img.get("path") or "no image"
        return (f"Autosaved at {when}: {pipeline}, {layers} layer{'s' if layers != 1 else ''}; "
                f"image: {image}.")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _folder_owner(folder: Path) -> tuple[int, str | None, str | None]:
    """(pid, start, host) of the process that owns a session folder (marker, else the name)."""
    marker = _read_json(folder / MARKER_FILE)
    if isinstance(marker, dict) and isinstance(marker.get("pid"), int):
        start = marker.get("start")
        host = marker.get("host")
        return marker["pid"], start if isinstance(start, str) else None, \
            host if isinstance(host, str) else None
    try:
        return int(folder.name[len(_PREFIX):].split("-")[0]), None, None
    except ValueError:
        return 0, None, None


def _is_crashed(folder: Path) -> bool:
    pid, start, host = _folder_owner(folder)
    if host is not None and host != socket.gethostname():
        return False  # another machine's session (shared home): cannot tell, leave it
    return not pid_alive(pid, start)


def find_crashed_sessions(directory: str | os.PathLike) -> list[CrashedSession]:
    """Crashed sessions under `directory` that have something to restore, newest first.

    Folders of crashed processes with nothing saved (a crash before the first change) are
    removed on the way.
    """
    root = Path(directory)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if not folder.is_dir() or not folder.name.startswith(_PREFIX) or not _is_crashed(folder):
            continue
        data = _read_json(folder / SESSION_FILE)
        if not isinstance(data, dict) or data.get("format") != _FORMAT \
                or not isinstance(data.get("pipeline"), dict):
            shutil.rmtree(folder, ignore_errors=True)
            continue
        pid, _start, _host = _folder_owner(folder)
        found.append(CrashedSession(folder, pid, data))
    found.sort(key=lambda s: s.saved_at, reverse=True)
    return found


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
    """

    saved = Signal(str)

    def __init__(self, window, directory: str | os.PathLike | None = None, *,
                 settings: QSettings | None = None, delay_ms: int | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.directory = Path(directory) if directory is not None else state_dir(settings)
        self.folder: Path | None = None
        self.error: str | None = None
        self._started = False
        self._written_image: np.ndarray | None = None
        self._image_file: str | None = None
        self._counter = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEFAULT_DELAY_MS if delay_ms is None else int(delay_ms))
        self._timer.timeout.connect(self.save_now)

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
        pid = os.getpid()
        folder = self.directory / f"{_PREFIX}{pid}-{secrets.token_hex(4)}"
        marker = {"pid": pid, "start": _process_start(pid), "host": socket.gethostname(),
                  "started_at": time.time()}
        try:
            folder.mkdir(parents=True, exist_ok=False)
            _write(folder / MARKER_FILE, json.dumps(marker).encode("utf-8"))
        except OSError as exc:
            self._fail(f"cannot create '{folder}': {exc}")
            return False
        self.folder = folder
        return True

    def finish(self) -> None:
        """A clean exit: stop, and remove this session's folder (marker included)."""
        self._timer.stop()
        folder, self.folder = self.folder, None  # schedule() does nothing from now on
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    @property
    def delay_ms(self) -> int:
        return self._timer.interval()

    def pending(self) -> bool:
        """Whether a change waits to be written."""
        return self._timer.isActive()

    # ------------------------------------------------------------------ saving
    def schedule(self, *_args) -> None:
        if self.folder is not None:
            self._timer.start()

    def save_now(self) -> bool:
        """Write the snapshot now (atomically: the image first, then session.json)."""
        self._timer.stop()
        folder = self.folder
        doc = self.doc
        if folder is None:
            return False
        try:
            image: dict[str, Any]
            x = doc.image
            old_image_file = None
            if x is None:
                image = {"kind": "none"}
            elif doc.image_path is not None:
                image = {"kind": "file", "path": str(Path(doc.image_path).resolve()),
                         "name": doc.image_name, "keep_alpha": bool(doc.keep_alpha)}
            elif x.nbytes <= MAX_ARRAY_BYTES:
                if x is not self._written_image or self._image_file is None:
                    self._counter += 1
                    name = f"image-{self._counter}.npy"
                    buf = io.BytesIO()
                    np.save(buf, x, allow_pickle=False)
                    _write(folder / name, buf.getbuffer())
                    old_image_file, self._image_file = self._image_file, name
                    self._written_image = x
                image = {"kind": "array", "file": self._image_file, "name": doc.image_name}
            else:
                image = {"kind": "too-large", "name": doc.image_name, "shape": list(x.shape)}
            data = {
                "format": _FORMAT, "version": 1, "pid": os.getpid(), "saved_at": time.time(),
                "pipeline": json.loads(doc.pipeline.to_json()),
                "pipeline_file": str(Path(doc.file_path).resolve()) if doc.file_path else None,
                "dirty": bool(doc.dirty), "selected": int(doc.selected), "image": image,
            }
            _write(folder / SESSION_FILE, json.dumps(data, indent=1).encode("utf-8"))
            if image.get("kind") != "array" and self._image_file is not None:
                old_image_file, self._image_file, self._written_image = self._image_file, None, None
            if old_image_file is not None:
                (folder / old_image_file).unlink(missing_ok=True)
        except (OSError, ValueError) as exc:
            self._fail(f"cannot write to '{folder}': {exc}")
            return False
        self.error = None
        self.saved.emit(str(folder))
        return True

    def _fail(self, text: str) -> None:
        if self.error is None:  # say it once, not on every edit
            self.window.show_message(f"Autosave is off: {text}", 10000, error=True)
        self.error = text

    # ------------------------------------------------------------------ restoring
    def crashed_sessions(self) -> list[CrashedSession]:
        return find_crashed_sessions(self.directory)

    def ask_restore(self, session: CrashedSession) -> bool:
        """Ask the user (Yes / No). Tests replace this method."""
        box = QMessageBox(QMessageBox.Icon.Question, "Restore the last session?",
                          "ConvStudio did not close properly last time (it crashed or was "
                          "stopped). Restore the image and pipeline it was working on?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                          self.window)
        box.setInformativeText(session.describe() + "\n\nNo discards them.")
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        return box.exec() == QMessageBox.StandardButton.Yes

    def offer_restore(self) -> bool:
        """If a crashed session left something, ask, then restore it or discard it.

        Only the newest is offered; older ones (several windows crashed together) are offered on
        the next starts. Returns True if something was restored.
        """
        sessions = self.crashed_sessions()
        if not sessions:
            return False
        session = sessions[0]
        restored = False
        if self.ask_restore(session):
            restored = self.restore(session)
            if restored and self.folder is not None:
                self.save_now()  # protected again before the old copy goes
        # Restored, declined, or too damaged to restore: either way it is dealt with.
        shutil.rmtree(session.folder, ignore_errors=True)
        return restored

    def restore(self, session: CrashedSession) -> bool:
        """Put the session's image, pipeline and selection back (False if the pipeline cannot be
        read). A missing image file is reported; the pipeline is restored anyway."""
        from convstudio.core.imageio import load_image

        doc, w = self.doc, self.window
        data = session.data
        try:
            pipeline = Pipeline.from_dict(data["pipeline"])
        except (ConvStudioError, KeyError, TypeError, ValueError) as exc:
            w.report_error("Cannot restore the session", f"The autosaved pipeline is damaged: {exc}")
            return False
        problems = []
        img = data.get("image") if isinstance(data.get("image"), dict) else {}
        kind = img.get("kind")
        if hasattr(w, "_load_token"):
            w._load_token += 1  # a background load from the command line must not win
        if kind == "file":
            path = Path(str(img.get("path", "")))
            try:
                if bool(img.get("keep_alpha")) != doc.keep_alpha:
                    doc.set_keep_alpha(bool(img.get("keep_alpha")))
                doc.load_image(path)
            except (ConvStudioError, OSError) as exc:
                problems.append(f"the image could not be opened again ({exc})")
        elif kind == "array":
            try:
                x = load_image(session.folder / str(img.get("file")))
                doc.set_image_array(x, str(img.get("name") or "restored image"))
            except (ConvStudioError, OSError, ValueError) as exc:
                problems.append(f"the autosaved image is unreadable ({exc})")
        elif kind == "too-large":
            problems.append(f"the image '{img.get('name', '')}' was too large to autosave; "
                            "open it again")

        file = data.get("pipeline_file")
        opened = False
        if isinstance(file, str) and file:
            try:
                doc.open_pipeline(file)
                opened = True
            except (ConvStudioError, OSError):
                problems.append(f"its file '{file}' could not be read; the pipeline is untitled")
        if opened:
            if doc.pipeline != pipeline:
                doc.set_pipeline(pipeline, text="Restore autosaved changes")
        elif data.get("dirty") or (isinstance(file, str) and file):
            # Unsaved work stays unsaved: the window asks before it is lost again.
            doc.new_pipeline(Pipeline())
            doc.set_pipeline(pipeline, text="Restore autosaved pipeline")
        else:
            doc.new_pipeline(pipeline)
        sel = data.get("selected", 0)
        doc.select(max(0, min(int(sel) if isinstance(sel, int) else 0, len(doc.pipeline))))
        text = "Restored the autosaved session"
        if problems:
            text += ": " + "; ".join(problems)
        w.show_message(text, 10000, error=bool(problems))
        return True


def _write(path: Path, data) -> None:
    from convstudio.core.imageio import atomic_write_bytes

    atomic_write_bytes(path, data)
