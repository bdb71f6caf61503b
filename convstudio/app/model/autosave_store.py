"""The autosave folders on disk, without Qt: which sessions crashed, what each still holds, and
setting a session aside or discarding it.

Reading never writes, moves or deletes anything, and never raises on any content: every field of
``session.json`` is checked by type and range, and each part (the pipeline, the image, the time
saved, the selected layer) is recovered on its own. What could not be read becomes a note in
words on the :class:`CrashedSession`. The layout of a session folder and the recovery rules are
described in docs/user-guide.md ("Nothing is lost").
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convstudio.core import ConvStudioError, Pipeline

__all__ = [
    "CLAIM_FILE",
    "DAMAGED_DIR",
    "MARKER_FILE",
    "SESSION_FILE",
    "CrashedSession",
    "SessionImage",
    "claim",
    "discard",
    "find_crashed_sessions",
    "own_marker",
    "pid_alive",
    "read_session",
    "release",
    "remove_empty_sessions",
    "set_aside",
]

SESSION_FILE = "session.json"
MARKER_FILE = "running.pid"
CLAIM_FILE = "offered.pid"
"""Written into a crashed session's folder while one instance offers it, so that a second
instance started at the same time does not offer it too."""
DAMAGED_DIR = "damaged"
PREFIX = "session-"
FORMAT = "convstudio-autosave"
VERSION = 1
MAX_SESSION_BYTES = 128 * 1024 * 1024
"""A larger session.json is not read (a pipeline file is at most 128 MiB)."""
MAX_PATH_CHARS = 4096
MAX_NAME_CHARS = 200
_LATEST_TIME = 253402300799.0  # 9999-12-31 23:59:59 UTC, the last time strftime shows
_IMAGE_FILE = re.compile(r"image-([0-9]{1,9})\.npy")
_IMAGE_KINDS = ("none", "file", "array", "too-large")


# ------------------------------------------------------------------------------------- processes


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after "pid (comm) " (Linux), None elsewhere."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    return text[text.rfind(")") + 2:].split()


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks (Linux), to tell a reused PID from the original."""
    fields = _stat_fields(pid)
    # fields[0] is the state (field 3 of stat); the start time is field 22
    return fields[19] if fields is not None and len(fields) > 19 else None


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
    except (OSError, OverflowError):
        return False
    fields = _stat_fields(pid)
    if fields and fields[0] in ("Z", "X"):
        return False  # a zombie has exited
    if start is not None:
        now = process_start(pid)
        if now is not None and now != start:
            return False  # the PID was reused by another process
    return True


def own_marker() -> dict:
    """This process as the marker and claim files record it."""
    pid = os.getpid()
    return {"pid": pid, "start": process_start(pid), "host": socket.gethostname(),
            "started_at": time.time()}


def _read_small_json(path: Path, limit: int = 64 * 1024) -> Any:
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        return json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None


def _owner_alive(path: Path, fallback_pid: int = 0) -> bool:
    """Whether the process a marker or claim file names still runs (another machine's counts as
    running: it cannot be told from here)."""
    marker = _read_small_json(path)
    if isinstance(marker, dict) and type(marker.get("pid")) is int:
        start, host = marker.get("start"), marker.get("host")
        if isinstance(host, str) and host != socket.gethostname():
            return True
        return pid_alive(marker["pid"], start if isinstance(start, str) else None)
    return pid_alive(fallback_pid)


def _name_pid(folder: Path) -> int:
    try:
        return int(folder.name[len(PREFIX):].split("-")[0])
    except ValueError:
        return 0


def _is_crashed(folder: Path) -> bool:
    """A session folder whose process is gone, and that no other running instance offers now."""
    if _owner_alive(folder / MARKER_FILE, _name_pid(folder)):
        return False
    claim_file = folder / CLAIM_FILE
    if claim_file.exists():
        other = _read_small_json(claim_file)
        mine = isinstance(other, dict) and other.get("pid") == os.getpid()
        return mine or not _owner_alive(claim_file)
    return True


def _session_folders(directory: Path) -> list[Path]:
    try:
        entries = list(directory.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.name.startswith(PREFIX) and p.is_dir() and not p.is_symlink()]


def _contents(folder: Path) -> set[str]:
    try:
        return {p.name for p in folder.iterdir()}
    except OSError:
        return set()


# ------------------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class SessionImage:
    """The image part of a session, checked.

    ``kind``: ``"none"`` (no image), ``"file"`` (``path``, ``keep_alpha``), ``"array"`` (``file``,
    a ``.npy`` in the session folder), ``"too-large"`` (only ``name`` and ``shape``) or
    ``"lost"`` (it could not be read).
    """

    kind: str
    name: str = ""
    path: Path | None = None
    file: Path | None = None
    keep_alpha: bool = False
    shape: tuple[int, ...] | None = None

    @property
    def restorable(self) -> bool:
        return self.kind in ("file", "array")


@dataclass(frozen=True)
class CrashedSession:
    """What a crashed session's folder still holds, each part checked on its own.

    ``pipeline`` is None when the autosaved pipeline could not be read; ``pipeline_file`` (the
    file it came from) may then still be opened. ``notes`` says, in words, every part that could
    not be read.
    """

    folder: Path
    pid: int
    saved_at: float
    pipeline: Pipeline | None
    pipeline_file: str | None
    dirty: bool
    selected: int
    image: SessionImage
    notes: tuple[str, ...] = field(default=())

    @property
    def recoverable(self) -> bool:
        """Whether anything can be restored: the pipeline (or its file) or the image."""
        return self.pipeline is not None or bool(self.pipeline_file) or self.image.restorable

    @property
    def damaged(self) -> bool:
        return bool(self.notes)

    def saved_text(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved_at))

    def pipeline_summary(self) -> str:
        """Layer count and types, the pipeline's file and whether it had unsaved changes."""
        p = self.pipeline
        if p is None:
            if self.pipeline_file:
                return f"pipeline: only its file {Path(self.pipeline_file).name}"
            return "no pipeline"
        n = len(p)
        text = f"{n} layer{'' if n == 1 else 's'}"
        if n:
            text += " (" + ", ".join(layer.type for layer in p.layers) + ")"
        where = f"{Path(self.pipeline_file).name}" if self.pipeline_file else "untitled"
        if p.name:
            where += f" '{_clean(p.name, 60)}'"
        if self.dirty:
            where += ", unsaved changes"
        return f"{text}; {where}"

    def image_summary(self) -> str:
        img = self.image
        if img.kind == "none":
            return "no image"
        if img.kind == "lost":
            return "image lost"
        name = img.name or (img.path.name if img.path is not None else "")
        if img.kind == "too-large":
            return f"image '{name}' (too large to autosave: open it again)"
        return f"image '{name}'"

    def state_text(self) -> str:
        """What could not be read and what is intact, or "" when nothing is damaged."""
        if not self.notes:
            return ""
        intact = []
        if self.pipeline is not None:
            intact.append("the pipeline is intact")
        if self.image.restorable:
            intact.append("the image is intact")
        return "; ".join(self.notes + tuple(intact))

    def describe(self) -> str:
        """One paragraph: when, the pipeline, the image and what is damaged."""
        text = f"Autosaved at {self.saved_text()}: {self.pipeline_summary()}; {self.image_summary()}."
        state = self.state_text()
        return f"{text} {state[:1].upper()}{state[1:]}." if state else text


def _clean(text: str, limit: int) -> str:
    """Text as it can be shown: no lone surrogates or control characters, at most `limit` chars."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _path_text(v: Any) -> str | None:
    """A usable file path string (no NUL, encodable, of sane length), else None."""
    if not isinstance(v, str) or not v or len(v) > MAX_PATH_CHARS or "\0" in v:
        return None
    try:
        os.fsencode(v)
    except UnicodeError:
        return None
    return v


def _orphan_image(folder: Path, names: set[str]) -> Path | None:
    """The newest ``image-<n>.npy`` in the folder (written before session.json), if any."""
    found = [(int(m.group(1)), n) for n in names if (m := _IMAGE_FILE.fullmatch(n))]
    return folder / max(found)[1] if found else None


def _read_data(path: Path) -> tuple[Any, str | None]:
    """session.json parsed, or (None, why not)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return None, "session.json is not a regular file"
        if st.st_size > MAX_SESSION_BYTES:
            return None, f"session.json is larger than {MAX_SESSION_BYTES // 2**20} MiB"
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, "session.json is missing"
    except OSError as exc:
        return None, f"session.json cannot be read ({exc.strerror or exc})"
    try:
        return json.loads(raw.decode("utf-8")), None
    except UnicodeDecodeError as exc:
        return None, f"session.json is not UTF-8 text ({exc.reason} at byte {exc.start})"
    except json.JSONDecodeError as exc:
        return None, f"session.json is not valid JSON ({exc.msg} at line {exc.lineno})"
    except (ValueError, RecursionError):
        return None, "session.json is not valid JSON (too deeply nested or too large a number)"


def _read_pipeline(value: Any) -> tuple[Pipeline | None, str | None]:
    if value is None:
        return None, "the pipeline could not be read: it is missing"
    try:
        p = Pipeline.from_dict(value)
        p.to_json().encode("utf-8")  # it must be savable again (no lone surrogates in its names)
    except ConvStudioError as exc:
        return None, f"the pipeline could not be read: {_clean(str(exc), 300)}"
    except UnicodeError:
        return None, "the pipeline could not be read: its names hold invalid characters"
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        return None, f"the pipeline could not be read: {type(exc).__name__}"
    return p, None


def _read_image(value: Any, folder: Path, names: set[str]) -> tuple[SessionImage, str | None]:
    """The image part; when it cannot be read, the newest .npy left in the folder stands in."""
    why = _image_problem(value, names)
    if why is None:
        kind = value["kind"]
        name = _clean(value["name"], MAX_NAME_CHARS) if isinstance(value.get("name"), str) else ""
        if kind == "file":
            return SessionImage("file", name, path=Path(value["path"]),
                                keep_alpha=value.get("keep_alpha") is True), None
        if kind == "array":
            return SessionImage("array", name or "restored image", file=folder / value["file"]), None
        if kind == "too-large":
            shape = value.get("shape")
            ok = isinstance(shape, list) and len(shape) in (2, 3) \
                and all(type(v) is int and 0 < v < 2**31 for v in shape)
            return SessionImage("too-large", name, shape=tuple(shape) if ok else None), None
        return SessionImage("none"), None
    orphan = _orphan_image(folder, names)
    if orphan is not None:
        return (SessionImage("array", "recovered image", file=orphan),
                f"the image record could not be read ({why}); {orphan.name} is used")
    return SessionImage("lost"), f"the image could not be read: {why}"


def _image_problem(value: Any, names: set[str]) -> str | None:
    """Why the image record is unusable, or None."""
    if not isinstance(value, dict):
        return "it is missing" if value is None else "it is not an object"
    kind = value.get("kind")
    if kind not in _IMAGE_KINDS:
        return f"unknown kind {_clean(repr(kind), 40)}"
    if "name" in value and not isinstance(value["name"], str):
        return "its name is not text"
    if "keep_alpha" in value and not isinstance(value["keep_alpha"], bool):
        return "keep_alpha is not true or false"
    if kind == "file" and _path_text(value.get("path")) is None:
        return "its file path is not a path"
    if kind == "array":
        file = value.get("file")
        if not isinstance(file, str) or not _IMAGE_FILE.fullmatch(file):
            return "its array file is not an image-<n>.npy of the session"
        if file not in names:
            return f"{file} is missing"
    return None


def _read_time(value: Any, folder: Path) -> tuple[float, str | None]:
    if _is_number(value) and math.isfinite(value) and 0 < value <= _LATEST_TIME:
        return float(value), None
    for name in (SESSION_FILE, MARKER_FILE):
        try:
            return (folder / name).stat().st_mtime, "the time saved could not be read (the file's time is shown)"
        except OSError:
            continue
    return 0.0, "the time saved could not be read"


def read_session(folder: str | os.PathLike) -> CrashedSession:
    """Read a session folder: every field checked, each part recovered on its own. Never raises,
    never writes; what could not be read is in the result's ``notes``."""
    folder = Path(folder)
    names = _contents(folder)
    data, why = _read_data(folder / SESSION_FILE)
    if why is None and not isinstance(data, dict):
        why = "session.json does not hold an object"
    readable = why is None
    if not readable:
        data = {}
    notes: list[str] = [why] if why is not None else []
    if readable and (data.get("format") != FORMAT or type(data.get("version")) is not int
                     or data.get("version") != VERSION):
        notes.append("session.json is not marked as a version 1 autosave (read anyway)")

    pipeline, pipeline_note = _read_pipeline(data.get("pipeline")) if readable else (None, None)
    pipeline_file = _path_text(data.get("pipeline_file"))
    if data.get("pipeline_file") is not None and pipeline_file is None:
        notes.append("the pipeline's file name could not be read")
    if pipeline_note is not None and pipeline_file:
        pipeline_note += f"; its file {_clean(Path(pipeline_file).name, 80)} can be opened instead"

    image, image_note = _read_image(data.get("image"), folder, names)
    if not readable and image.file is not None:
        image_note = f"the image is taken from {image.file.name}"
    saved_at, time_note = _read_time(data.get("saved_at"), folder)
    if not readable:
        time_note = None  # the file's time is shown; the first note says why

    dirty = data.get("dirty")
    if not isinstance(dirty, bool):
        if readable:
            notes.append("whether it had unsaved changes could not be read (kept as unsaved)")
        dirty = True  # unsaved work stays unsaved: the window asks before it is lost again
    selected = data.get("selected", 0)
    if type(selected) is not int or not 0 <= selected <= (len(pipeline) if pipeline else 0):
        if pipeline is not None:
            notes.append("the selected layer could not be read (the input is selected)")
        selected = 0
    notes.extend(n for n in (pipeline_note, image_note, time_note) if n is not None)
    pid = data.get("pid")
    return CrashedSession(folder, pid if type(pid) is int and pid > 0 else _name_pid(folder),
                          saved_at, pipeline, pipeline_file, dirty, selected, image, tuple(notes))


def find_crashed_sessions(directory: str | os.PathLike) -> list[CrashedSession]:
    """Every crashed session under `directory` with something in its folder, newest first,
    recoverable or not (see :attr:`CrashedSession.recoverable`). Reads only."""
    found = []
    for folder in _session_folders(Path(directory)):
        if _contents(folder) - {MARKER_FILE, CLAIM_FILE} and _is_crashed(folder):
            found.append(read_session(folder))
    found.sort(key=lambda s: s.saved_at, reverse=True)
    return found


def remove_empty_sessions(directory: str | os.PathLike) -> None:
    """Remove the folders of crashed sessions that hold nothing but their marker (a crash before
    the first change): nothing of the user's is in them."""
    for folder in _session_folders(Path(directory)):
        if not _contents(folder) - {MARKER_FILE, CLAIM_FILE} and _is_crashed(folder):
            for name in (MARKER_FILE, CLAIM_FILE):
                (folder / name).unlink(missing_ok=True)
            try:
                folder.rmdir()
            except OSError:
                pass  # something arrived meanwhile: leave it


# ------------------------------------------------------------------------------------- acting


def claim(folder: Path) -> bool:
    """Mark a crashed session as offered by this process (False: another running instance offers
    it). A folder that cannot be written to is offered anyway."""
    path = folder / CLAIM_FILE
    text = json.dumps(own_marker()).encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        if not _is_crashed(folder):
            return False
        from convstudio.core.imageio import atomic_write_bytes

        try:
            atomic_write_bytes(path, text)  # the claim of a process that is gone
        except OSError:
            return True
        mine = _read_small_json(path)
        return isinstance(mine, dict) and mine.get("pid") == os.getpid()
    except OSError:
        return True
    with os.fdopen(fd, "wb") as f:
        f.write(text)
    return True


def release(folder: Path) -> None:
    """Withdraw this process's claim on a session (it is offered again at the next start)."""
    path = folder / CLAIM_FILE
    mine = _read_small_json(path)
    if isinstance(mine, dict) and mine.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def set_aside(folder: Path) -> Path:
    """Move a session folder into ``damaged/`` beside it, named with the time; return where.
    Raises OSError when it cannot be moved (it then stays where it was)."""
    release(folder)
    target_dir = folder.parent / DAMAGED_DIR
    target_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = target_dir / f"{folder.name}-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = target_dir / f"{folder.name}-{stamp}-{n}"
    os.replace(folder, target)
    return target


def discard(folder: Path) -> str | None:
    """Delete a session folder; None when it is gone, else why not."""
    errors: list[str] = []

    def failed(_function, path, exc) -> None:
        errors.append(f"{Path(path).name}: {exc[1] if isinstance(exc, tuple) else exc}")

    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=failed)
    else:  # pragma: no cover - onerror is deprecated from 3.12 on
        shutil.rmtree(folder, onerror=failed)
    if errors and folder.exists():
        return "; ".join(errors)
    return None
