"""Where the core's large results get their memory: :func:`empty` and :func:`copy`.

Both are plain NumPy (``numpy.empty``, ``ndarray.copy``) unless the calling thread runs inside
``with recycling(recycler):``. The window's renderer does, for its own jobs
(``app/model/renderer.py``): it recomputes the same layers after every edit, and each run asked
the system for new memory as large as the last one had just given back. Fresh memory is paid for
when it is first written: the kernel clears every page (about 55 ms per 768 MB with transparent
huge pages, about 190 ms without), and on virtual machines that hand free memory back to the
host (a balloon driver's free page reporting, as on WSL2 and many cloud desktops) each page is
faulted in from the host again once it has been free for a few seconds: about 950 ms per
768 MB where it was measured (docs/performance.md, "Round 6"). A layer output of a 24 MP photo
is 100-800 MB.

A :class:`Recycler` keeps the blocks it handed out and hands a block out again once nothing
refers to it any more (the arrays it backs and every view or buffer of them are gone): a
block's reference count, read under the recycler's lock, is then its own list's alone, and
nobody else can reach the block to take a new reference. Free blocks are kept up to
``keep_bytes``; :meth:`Recycler.release` gives them all back (the renderer calls it once it has
been idle a while), and so does a request the system refuses, before it is tried again. Only
arrays of at least :data:`MIN_BYTES` go through it; the allocator keeps smaller ones well
enough. The command line, the Python API and the app's other jobs (export, the panels) never
use one.

The arrays are ordinary C-contiguous ones whose ``base`` is the block; their content is
undefined, as ``numpy.empty``'s is. The numbers computed in them are the same bit for bit
(``tests/core/test_buffers.py`` runs a pipeline both ways).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from collections.abc import Iterator

import numpy as np

__all__ = ["MIN_BYTES", "Recycler", "copy", "current", "default_keep_bytes", "empty", "recycling"]

MIN_BYTES = 16 << 20
"""Smaller arrays always come from ``numpy.empty``."""

_ROUND = 1 << 20  # new blocks are whole MiB, so that a slightly larger request fits a block later
_SLACK = 1.25  # a free block serves requests down to 1/_SLACK of its size


def _nbytes(shape, dtype: np.dtype) -> int:
    return dtype.itemsize * math.prod(int(s) for s in shape)


def _refs(blocks: list, i: int) -> int:
    """The reference count of ``blocks[i]`` as seen from here (the same expression serves to
    calibrate, so the interpreter's own temporary references cancel out)."""
    return sys.getrefcount(blocks[i])


def default_keep_bytes() -> int:
    """How much free memory a recycler keeps: an eighth of the machine's, 256 MiB to 4 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        total = 16 << 30
    return int(min(4 << 30, max(256 << 20, total // 8)))


class Recycler:
    """Hands out arrays backed by blocks that come back once nothing refers to them.

    Thread-safe: the renderer's worker, the core's pool threads and the GUI thread may all
    allocate and drop arrays at once.
    """

    def __init__(self, keep_bytes: int | None = None) -> None:
        self.keep_bytes = default_keep_bytes() if keep_bytes is None else int(keep_bytes)
        self._lock = threading.Lock()
        self._blocks: list[np.ndarray] = []  # 1-D uint8, oldest first
        probe = [np.empty(1, np.uint8)]
        self._free_refs = _refs(probe, 0)  # what a block only this list holds shows
        self.reused = 0  # requests served from a free block (for tests and benchmarks)
        self.created = 0  # new blocks

    def _is_free(self, i: int) -> bool:
        return _refs(self._blocks, i) <= self._free_refs

    def empty(self, shape, dtype=np.float32) -> np.ndarray:
        """An uninitialised C-contiguous array of `shape` and `dtype`."""
        dtype = np.dtype(dtype)
        shape = tuple(int(s) for s in shape)
        nbytes = _nbytes(shape, dtype)
        with self._lock:
            best = -1
            for i in range(len(self._blocks)):
                size = self._blocks[i].size
                if nbytes <= size <= nbytes * _SLACK + _ROUND and self._is_free(i) and (
                        best < 0 or size < self._blocks[best].size):
                    best = i
            if best >= 0:
                block = self._blocks.pop(best)
                self._blocks.append(block)  # the most recently used go last
                self.reused += 1
            else:
                self._trim(self.keep_bytes)
                size = -(-nbytes // _ROUND) * _ROUND
                try:
                    block = np.empty(size, np.uint8)
                except MemoryError:  # the free blocks first (a limit on the address space)
                    if not self._trim(0):
                        raise
                    block = np.empty(size, np.uint8)
                self._blocks.append(block)
                self.created += 1
        return block[:nbytes].view(dtype).reshape(shape)

    def free_bytes(self) -> int:
        """Bytes held in blocks nothing refers to."""
        with self._lock:
            return sum(self._blocks[i].size for i in range(len(self._blocks)) if self._is_free(i))

    def held_bytes(self) -> int:
        """Bytes of every block, in use or free."""
        with self._lock:
            return sum(b.size for b in self._blocks)

    def release(self) -> int:
        """Give every free block back to the system; returns the bytes given back."""
        with self._lock:
            return self._trim(0)

    def _trim(self, keep: int) -> int:
        """Drop free blocks, oldest first, until at most `keep` bytes of them are left."""
        free = [i for i in range(len(self._blocks)) if self._is_free(i)]
        total = sum(self._blocks[i].size for i in free)
        dropped = set()
        for i in free:
            if total <= keep:
                break
            total -= self._blocks[i].size
            dropped.add(i)
        gone = sum(self._blocks[i].size for i in dropped)
        if dropped:
            self._blocks = [b for i, b in enumerate(self._blocks) if i not in dropped]
        return gone


_local = threading.local()  # .recycler: the calling thread's, inside recycling()


@contextlib.contextmanager
def recycling(recycler: Recycler | None) -> Iterator[None]:
    """Within the block, :func:`empty` and :func:`copy` on this thread take their memory from
    `recycler` (None: plain NumPy). Other threads, the core's pool among them, are not
    affected."""
    previous = getattr(_local, "recycler", None)
    _local.recycler = recycler
    try:
        yield
    finally:
        _local.recycler = previous


def current() -> Recycler | None:
    """The recycler of the calling thread, if any."""
    return getattr(_local, "recycler", None)


def empty(shape, dtype=np.float32) -> np.ndarray:
    """``numpy.empty(shape, dtype)``, from the calling thread's recycler (:func:`recycling`) when
    it has one and the array is at least :data:`MIN_BYTES`."""
    r = getattr(_local, "recycler", None)
    if r is not None and _nbytes(shape, np.dtype(dtype)) >= MIN_BYTES:
        return r.empty(shape, dtype)
    return np.empty(shape, dtype)


def copy(x: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of `x` (as ``x.copy()``), in memory from :func:`empty`. A large
    contiguous array is copied in pieces on the core's thread pool: one thread does not reach
    the memory's bandwidth (a 768 MB layer output took 62 ms on one thread, 37 ms on two)."""
    out = empty(x.shape, x.dtype)
    if x.nbytes < MIN_BYTES or not x.flags.c_contiguous:
        np.copyto(out, x)
        return out
    from . import fastpaths  # (fastpaths imports this module)

    src, dst = x.reshape(-1), out.reshape(-1)
    pieces = 4 * fastpaths.num_threads()
    edges = [src.size * i // pieces for i in range(pieces + 1)]
    fastpaths.parallel([(lambda a=a, b=b: np.copyto(dst[a:b], src[a:b]))
                        for a, b in zip(edges, edges[1:], strict=False) if b > a])
    return out
