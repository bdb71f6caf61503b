"""What keeps the command line's promise when the world misbehaves (docs/security.md): a full
disk or a closed pipe on stdout, a folder that cannot be made, SIGTERM, and a layer loop that
keeps only what it writes.

Used by :mod:`convstudio.cli`; nothing here prints, except :func:`say`, the one writer of the
command line's messages.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .core.quiet import STDERR_LOCK
from .core.safeio import os_reason

__all__ = ["EXIT_TERMINATED", "OutputError", "Terminated", "compute_layer", "handle_sigterm",
           "make_folder", "os_error_line", "say", "write_stdout", "flush_stdout"]

#: Exit status after SIGTERM, as a shell reports a process ended by it (128 + 15).
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl+C's KeyboardInterrupt, so that the same
    clean-up runs (temporary files removed, other jobs cancelled)."""


class OutputError(OSError):
    """Standard output or an output folder cannot be written; the message is the one line to
    show (built from a single argument, so that str() adds no ``[Errno N]``)."""


def say(line: str) -> None:
    """Write one message line to stderr, never while a decoder's stderr is being captured."""
    with STDERR_LOCK:
        try:
            print(line, file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass  # stderr itself is gone: nothing left to tell


def os_error_line(exc: OSError) -> str:
    """``cannot write 'PATH': REASON`` (or read, or use) for an OSError, in one line."""
    if isinstance(exc, OutputError):
        return str(exc)
    path = exc.filename if exc.filename is not None else exc.filename2
    reason = os_reason(exc)
    return f"'{os.fsdecode(path)}': {reason}" if path is not None else reason


@contextmanager
def handle_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread (outside the main
    thread signals cannot be handled, and the block does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum, frame):  # noqa: ARG001 - the signal module's signature
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, raise_terminated)
    except (ValueError, OSError):  # an embedding that forbids it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _silence_stdout() -> None:
    """Point fd 1 at the null device, so that the interpreter's last flush of what is still
    buffered cannot fail again (and print a second, unformatted error) at exit."""
    try:
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
    except (AttributeError, OSError, ValueError):
        return
    try:
        os.dup2(null, fd)
    except OSError:
        pass
    finally:
        os.close(null)


def _stdout_failed(exc: OSError) -> OutputError:
    _silence_stdout()
    reason = "the reader closed the pipe" if exc.errno == errno.EPIPE else os_reason(exc)
    return OutputError(f"cannot write to standard output: {reason}")


def write_stdout(text: str, end: str = "\n") -> None:
    """``print(text, end=end)``; an OSError becomes :class:`OutputError` with a one-line message."""
    try:
        print(text, end=end)
    except OSError as exc:
        raise _stdout_failed(exc) from None


def flush_stdout() -> None:
    """Flush stdout now, inside the error handling, rather than at interpreter exit."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        raise _stdout_failed(exc) from None
    except (AttributeError, ValueError):
        pass


def make_folder(path: str | os.PathLike) -> Path:
    """Create `path` and its parents; an OSError becomes one line naming the folder."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot create the folder '{folder}': a file of that name is in the "
                          "way") from None
    except OSError as exc:
        raise OutputError(f"cannot create the folder '{folder}': {os_reason(exc)}") from None
    return folder


def compute_layer(pipeline, layer: int, x: np.ndarray | list, *, budget: int,
                  cancelled: Callable[[], bool] | None = None) -> np.ndarray:
    """The output of layer `layer` (0: the input itself), keeping only the layer being computed.

    `x` is the input, or a one-item list holding it that is emptied here: then no reference of
    the caller keeps the input alive once the first layer is done (``Pipeline.peak_bytes``
    counts it that way). Each layer is checked against `budget` before it allocates
    (MemoryBudgetExceeded names it).
    """
    from .core import run_layers

    if isinstance(x, list):
        x = x.pop()
    if layer == 0:
        return x
    pipeline.output_shapes(x.shape)  # a misfit is reported before any work, naming its layer
    steps = run_layers(pipeline.layers[:layer], x, cancelled=cancelled, memory_budget=budget,
                       keep_outputs=False)
    del x
    y = None
    for step in steps:
        y = step.output
    return y
