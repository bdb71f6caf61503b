"""Keeping the image decoders' own messages off the terminal.

libpng, libjpeg and libtiff (through OpenCV) write warnings straight to the process's stderr
(``libpng warning: IDAT: Too much image data``, ``[ WARN:0@0.03] global grfmt_tiff.cpp ...``), in
the middle of the command line's one-line errors. :func:`captured_stderr` sends file descriptor 2
to a temporary file around one decode and returns what was written, so that the caller can turn it
into its own one-line message (docs/security.md: what the decoders warn about is refused).

Redirecting fd 2 is process-wide. :data:`STDERR_LOCK` serialises the captures, and whoever writes
to stderr while decodes may run on other threads (the command line's messages) holds it too, so
that no message of ours is swallowed by a capture.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["STDERR_LOCK", "captured_stderr", "decoder_reason"]

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
