"""Reading and writing large pipeline files in a child process, so that the app stays live.

A pipeline file stores its weights as nested JSON lists (docs/pipeline-format.md). Reading one
is ``json.loads`` plus the checks of :meth:`Pipeline.from_json`; writing one is the reverse. Both
run in CPython's interpreter lock almost all the time: ``json.loads`` of a whole file is one C call
that never lets go of it (0.7 s for a million weights, 39 s for VGG-16's trunk), so a worker
thread doing it freezes the GUI thread as surely as doing it there would.

:func:`load_pipeline` and :func:`save_pipeline` therefore hand files larger than
:data:`CHILD_ABOVE_BYTES` (a pipeline of about 50 000 weights and more) to a fresh Python
process that runs the very same :meth:`Pipeline.load` / :meth:`Pipeline.save`, so the values,
the file written and the error messages are those of the in-process call. The two sides talk in
pickles over the child's stdin and stdout (the parent's ``sys.path``, then the operation; back:
the result or the exception raised). Starting the child costs about 0.2 s, which is why small
files stay in the process. If the child cannot be started, dies, or answers with something
unreadable, the operation runs in the process after all: slower for the GUI, never wrong.

No Qt here; the window's pipeline reader and writer (``app/window/pipeline_files.py``) call
these on their worker threads and pass ``cancelled``, polled while the child runs (a cancelled
read kills it and raises :class:`~convstudio.core.RunCancelled`).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import numpy as np

from convstudio.core import Pipeline, RunCancelled

__all__ = ["CHILD_ABOVE_BYTES", "load_pipeline", "pipeline_bytes", "save_pipeline"]

#: Files (to read) and pipelines (to write: their weights' bytes) above this go to a child.
CHILD_ABOVE_BYTES = 1 << 20

#: The child's program: put the parent's import path first, run one operation, answer.
_CHILD = """\
import pickle, sys
sys.path[:0] = pickle.load(sys.stdin.buffer)
op, args = pickle.load(sys.stdin.buffer)
from convstudio.core import Pipeline
try:
    if op == "load":
        reply = ("ok", Pipeline.load(*args))
    else:
        pipeline, path = args
        pipeline.save(path)
        reply = ("ok", None)
except BaseException as exc:
    reply = ("raise", exc)
try:
    data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
except Exception:
    data = pickle.dumps(("unpicklable", repr(reply[1])))
sys.stdout.buffer.write(data)
"""

Cancelled = Callable[[], bool]


class _NoAnswer(Exception):
    """The child could not be started or gave no usable answer."""


def pipeline_bytes(pipeline: Pipeline) -> int:
    """Bytes of the arrays the layers of `pipeline` hold (what its file size grows with)."""
    return sum(v.nbytes for layer in pipeline.layers for f in fields(layer)
               if isinstance(v := getattr(layer, f.name), np.ndarray))


def load_pipeline(path: str | os.PathLike, *, cancelled: Cancelled | None = None) -> Pipeline:
    """:meth:`Pipeline.load` of `path`, in a child process when the file is larger than
    :data:`CHILD_ABOVE_BYTES` (see the module docstring). Raises what :meth:`Pipeline.load`
    raises, or :class:`~convstudio.core.RunCancelled` when `cancelled` turned true."""
    p = Path(path)
    try:
        large = p.stat().st_size > CHILD_ABOVE_BYTES
    except OSError:
        large = False  # Pipeline.load says why
    if large:
        try:
            return _in_child("load", (p,), cancelled)
        except _NoAnswer:
            pass
    return Pipeline.load(p)


def save_pipeline(pipeline: Pipeline, path: str | os.PathLike, *,
                  cancelled: Cancelled | None = None) -> None:
    """:meth:`Pipeline.save` of `pipeline` to `path` (atomic), in a child process when its
    weights are larger than :data:`CHILD_ABOVE_BYTES`. Raises what :meth:`Pipeline.save` raises.

    `cancelled` is polled, but a write is not stopped half-way: once the child runs, it writes
    (atomically) and its answer is awaited."""
    p = Path(path)
    if pipeline_bytes(pipeline) > CHILD_ABOVE_BYTES:
        try:
            _in_child("save", (pipeline, p), None)
            return
        except _NoAnswer:
            pass
    pipeline.save(p)


def _in_child(op: str, args: tuple, cancelled: Cancelled | None):
    if getattr(sys, "frozen", False) or not sys.executable:
        raise _NoAnswer("no Python to start")
    request = (pickle.dumps(sys.path, protocol=pickle.HIGHEST_PROTOCOL)
               + pickle.dumps((op, args), protocol=pickle.HIGHEST_PROTOCOL))
    try:
        # -I: no user site, no PYTHON* variables: the child imports what the parent imports
        proc = subprocess.Popen([sys.executable, "-I", "-c", _CHILD], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError as exc:
        raise _NoAnswer(str(exc)) from None
    with proc:  # (its pipes are closed whatever happens)
        out = _communicate(proc, request, cancelled)
    try:
        kind, value = pickle.loads(out)
    except Exception:  # noqa: BLE001 (any unreadable answer: the child died, or a partial one)
        raise _NoAnswer(f"exit status {proc.returncode}") from None
    if kind == "ok":
        return value
    if kind == "raise" and isinstance(value, Exception):
        raise value
    raise _NoAnswer(str(value))


def _communicate(proc: subprocess.Popen, request: bytes, cancelled: Cancelled | None) -> bytes:
    """Send `request` and read the child's answer, polling `cancelled` every 50 ms (a
    cancellation kills the child). ``communicate`` runs on a thread of its own: called again
    after a timeout it would no longer write the rest of a large request."""
    answer: dict[str, object] = {}

    def talk() -> None:
        try:
            answer["out"] = proc.communicate(request)[0]
        except BaseException as exc:  # noqa: BLE001 (reported below as no answer)
            answer["error"] = exc

    thread = threading.Thread(target=talk, name="ConvStudio pipeline child", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.05)
            if thread.is_alive() and cancelled is not None and cancelled():
                raise RunCancelled()
    except BaseException:
        proc.kill()
        thread.join()
        raise
    if "error" in answer:
        raise _NoAnswer(str(answer["error"]))
    return answer.get("out") or b""
