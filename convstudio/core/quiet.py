"""Keeping the image decoders' own messages off the terminal.

libpng, libjpeg and libtiff (through OpenCV) write warnings straight to the process's stderr
(``libpng warning: IDAT: Too much image data``, ``[ WARN:0@0.03] global grfmt_tiff.cpp ...``), in
the middle of the command line's one-line errors. :func:`captured_stderr` sends file descriptor 2
to a temporary file around one decode and returns what was written, so that the caller can turn it
into its own one-line message (docs/security.md: what the decoders warn about is refused).

Redirecting fd 2 is process-wide. :data:`STDERR_LOCK` serialises the captures, and whoever writes
to stderr while decodes may run on other threads (the command line's messages) holds it too, so
that no message of ours is swallowed by a capture.

Python libraries that report through :mod:`logging` (tifffile, which the region-by-region reader
and the tiled writer use) are kept off stderr by :func:`silence_logger` / :func:`captured_log`: their
warnings become the reason of our one-line error instead of a line of their own.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["STDERR_LOCK", "captured_stderr", "decoder_reason", "captured_log", "silence_logger"]

#: Held around every capture of fd 2, and by writers of stderr that must not be captured.
STDERR_LOCK = threading.RLock()

_MAX_CAPTURED = 8192
# "[ WARN:0@0.032] global grfmt_tiff.cpp:123 TIFF_Warning " and the like, before the reason itself
_OPENCV_PREFIX = re.compile(r"^\[\s*\w+:\d+@[\d.]+\]\s+(global\s+)?\S+:\d+\s+(\w+\s+)?")
_LIB_PREFIX = re.compile(r"^(libpng (warning|error)|libtiff|TIFF\w*|Corrupt JPEG data)\s*:?\s*")
# Messages that say nothing wrong about the pixels: libtiff's warnings are notes on metadata it
# repairs or skips (an unknown GeoTIFF tag, ExtraSamples missing from files OpenCV itself writes),
# after the sizes were checked; libtiff's errors, and every libpng / libjpeg warning, refuse.
_HARMLESS = (re.compile(r"\bTIFF_Warning\b"), re.compile(r"Unknown field with tag \d+"))


def _flush_stderr() -> None:
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


@contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Within the block, whatever the process writes to fd 2 is kept, not shown; the list it
    yields is filled, once the block ends, with the non-empty lines written (at most 8 KiB).

    Falls back to discarding the output if no temporary file can be made.
    """
    lines: list[str] = []
    with STDERR_LOCK:
        _flush_stderr()
        try:
            sink = tempfile.TemporaryFile()
        except OSError:
            sink = open(os.devnull, "w+b")  # noqa: SIM115 - closed below
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 at all: nothing can reach a terminal
            sink.close()
            yield lines
            return
        try:
            os.dup2(sink.fileno(), 2)
            try:
                yield lines
            finally:
                os.dup2(saved, 2)
            sink.seek(0)
            text = sink.read(_MAX_CAPTURED).decode("utf-8", "replace")
            lines.extend(line.strip() for line in text.splitlines() if line.strip())
        finally:
            os.close(saved)
            sink.close()


def decoder_reason(lines: list[str]) -> str | None:
    """The first line that matters among a decoder's messages, without the library's prefix;
    None when there is none (nothing written, or only harmless notes)."""
    for line in lines:
        if any(p.search(line) for p in _HARMLESS):
            continue
        text = _LIB_PREFIX.sub("", _OPENCV_PREFIX.sub("", line)).strip()
        if text:
            text = " ".join(text.split())
            return text if len(text) <= 160 else text[:157] + "..."
    return None


# ---------------------------------------------------------------------------------- Python logging
# tifffile reports what it skips or repairs in a file (a tag of a wrong type, a bad offset) through
# the `logging` logger 'tifffile'; left alone, those lines reach stderr through logging's last-resort
# handler, next to our one-line error. `captured_log` keeps them as the reason of that error instead.

_MAX_RECORDS = 64


class _ThreadCapture(logging.Handler):
    """Keeps a logger's records for the thread that asked (inside `captured_log`); drops the others."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self._local, "lines", None)
        if lines is None or len(lines) >= _MAX_RECORDS or record.levelno < logging.WARNING:
            return
        try:
            text = " ".join(record.getMessage().split())
        except Exception:  # noqa: BLE001 - a record whose arguments do not format is still a warning
            text = " ".join(str(record.msg).split())
        lines.append(text)


_HANDLERS: dict[str, _ThreadCapture] = {}
_HANDLERS_LOCK = threading.Lock()


def silence_logger(name: str) -> _ThreadCapture:
    """Keep the logger `name` off stderr for good: it stops propagating to the root logger and its
    records go to a handler that keeps them only inside :func:`captured_log` (idempotent)."""
    with _HANDLERS_LOCK:
        handler = _HANDLERS.get(name)
        if handler is None:
            handler = _HANDLERS[name] = _ThreadCapture()
            logger = logging.getLogger(name)
            logger.addHandler(handler)  # a handler: logging's last resort never prints its records
            logger.propagate = False
        return handler


@contextmanager
def captured_log(name: str = "tifffile") -> Iterator[list[str]]:
    """Within the block, the warnings the logger `name` records on this thread are appended to the
    list it yields (at most 64), one line each; nothing reaches stderr. Nested blocks each get their
    own list."""
    local = silence_logger(name)._local
    saved = getattr(local, "lines", None)
    lines: list[str] = []
    local.lines = lines
    try:
        yield lines
    finally:
        local.lines = saved
