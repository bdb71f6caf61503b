"""Reading input files within a bound, and never writing over an input.

Every file ConvStudio reads (a pipeline, an image, a ``.npy``) goes through :func:`read_bounded`:
only regular files are read (a FIFO would block forever, ``/dev/urandom`` never ends), and never
more than the caller's limit, however large the file claims or grows to be. Every file it writes
is first checked with :func:`check_not_input` against the files it read. The limits themselves
are listed in docs/security.md.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Union

from .errors import ConvStudioError
from .formatting import format_bytes

__all__ = ["read_bounded", "open_regular", "same_file", "check_not_input", "InputSet", "os_reason"]

PathArg = Union[str, "os.PathLike[str]"]

_CHUNK = 1 << 20  # read in pieces of 1 MiB past the size the file had when opened


def os_reason(exc: OSError) -> str:
    """The reason of an OSError in a few words, for a one-line message."""
    if isinstance(exc, FileNotFoundError):
        return "no such file or folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    if isinstance(exc, NotADirectoryError):
        return "a part of the path is not a folder"
    return " ".join((exc.strerror or str(exc) or type(exc).__name__).rstrip(".").split())


def _name(path: PathArg) -> str:
    name = os.fspath(path)
    return os.fsdecode(name) if isinstance(name, bytes) else name


def open_regular(path: PathArg, *, error: type[ConvStudioError] = ConvStudioError):
    """`path` opened for reading as an unbuffered binary file, if it is a regular file.

    Opened without blocking (a FIFO cannot stall the caller) and checked on the open descriptor,
    so a path swapped between a check and the read cannot slip through. Raises `error` (one line,
    ``cannot read 'PATH': REASON``) for a folder, a pipe, a device, a socket, or an OS error.
    The caller closes the file.
    """
    name = _name(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"cannot read '{name}': {os_reason(exc)}") from None
    try:
        f = os.fdopen(fd, "rb", buffering=0)
    except OSError as exc:
        os.close(fd)
        raise error(f"cannot read '{name}': {os_reason(exc)}") from None
    try:
        mode = os.fstat(f.fileno()).st_mode
    except OSError as exc:
        f.close()
        raise error(f"cannot read '{name}': {os_reason(exc)}") from None
    if stat.S_ISREG(mode):
        return f
    f.close()
    if stat.S_ISDIR(mode):
        raise error(f"cannot read '{name}': it is a folder, not a file")
    raise error(f"cannot read '{name}': not a regular file (a pipe, device or socket is never read)")


def read_bounded(path: PathArg, limit: int, *,
                 error: type[ConvStudioError] = ConvStudioError) -> bytes:
    """The whole content of the regular file `path`, refused if it holds more than `limit` bytes.

    The file is opened without blocking (a FIFO cannot stall the caller) and checked on the open
    descriptor, so a path swapped between a check and the read cannot slip through. At most
    ``limit + 1`` bytes are ever read, even from a file that grows while it is read.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    limit : int
        The most bytes accepted.
    error : subclass of ConvStudioError
        The exception raised on any problem (``PipelineError`` for pipelines, ``ImageIOError``
        for images); its message is one line, ``cannot read 'PATH': REASON``.

    Returns
    -------
    bytes
        The file's content (possibly empty).
    """
    name = _name(path)
    f = open_regular(path, error=error)
    try:
        with f:
            st = os.fstat(f.fileno())
            if st.st_size > limit:
                raise error(f"cannot read '{name}': the file is {format_bytes(st.st_size)}, above the "
                            f"limit of {format_bytes(limit)}")
            data = _read_upto(f, st.st_size, limit)
    except ConvStudioError:
        raise
    except OSError as exc:
        raise error(f"cannot read '{name}': {os_reason(exc)}") from None
    except MemoryError:
        raise error(f"cannot read '{name}': not enough memory") from None
    if len(data) > limit:
        raise error(f"cannot read '{name}': the file grew above the limit of {format_bytes(limit)} "
                    "while it was read")
    return data


def _read_upto(f, expected: int, limit: int) -> bytes:
    """Read until EOF or ``limit + 1`` bytes; the first buffer is sized by `expected` only."""
    buf = bytearray(expected + 1)
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    view.release()
    if got <= expected:
        del buf[got:]
        return bytes(buf)
    # The file grew since fstat: continue in bounded pieces up to limit + 1.
    parts = [bytes(buf[:got])]
    total = got
    while total <= limit:
        piece = f.read(min(_CHUNK, limit + 1 - total))
        if not piece:
            break
        parts.append(piece)
        total += len(piece)
    return b"".join(parts)


def same_file(a: PathArg, b: PathArg) -> bool:
    """True when `a` and `b` name the same file: the same path once symlinks are resolved, or
    the same inode (hard links, bind mounts, case-insensitive names). A path that does not exist
    yet is compared by its resolved name only."""
    try:
        if os.path.samefile(a, b):
            return True
    except (OSError, ValueError):
        pass
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError, ValueError):
        return False


class InputSet:
    """The files a command reads, looked up by identity in constant time: by inode for those that
    exist, by resolved name for all (the two tests of :func:`same_file`). A batch of N inputs and
    N outputs is then checked in O(N), not O(N^2) (2,000 files took minutes pairwise)."""

    def __init__(self, inputs: Iterable[PathArg]) -> None:
        self._by_inode: dict[tuple[int, int], PathArg] = {}
        self._by_name: dict[Path, PathArg] = {}
        for src in inputs:
            key = _inode(src)
            if key is not None:
                self._by_inode.setdefault(key, src)
            name = _resolved(src)
            if name is not None:
                self._by_name.setdefault(name, src)

    def find(self, target: PathArg) -> PathArg | None:
        """The input `target` names, or None."""
        key = _inode(target)
        if key is not None and key in self._by_inode:
            return self._by_inode[key]
        name = _resolved(target)
        return None if name is None else self._by_name.get(name)


def _inode(path: PathArg) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _resolved(path: PathArg) -> Path | None:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def check_not_input(target: PathArg, inputs: Iterable[PathArg] | InputSet, *,
                    error: type[ConvStudioError] = ConvStudioError) -> None:
    """Raise `error` if writing `target` would overwrite one of `inputs` (see :func:`same_file`;
    pass an :class:`InputSet` when checking many targets against the same inputs).

    The one check behind every file the command line writes (``apply`` outputs, ``info --erf``):
    inputs are never overwritten, whatever links lead to them.
    """
    src = (inputs if isinstance(inputs, InputSet) else InputSet(inputs)).find(target)
    if src is not None:
        same = "" if _name(target) == _name(src) else f" (the same file as '{_name(src)}')"
        raise error(f"'{_name(target)}' is an input{same}; inputs are never overwritten")
