"""Large maps shrunk for the screen off the GUI thread.

A view shows a map larger than its pixels on screen shrunk: each block of ``rows x cols`` map
pixels becomes one value, the block's extreme for a single-valued map
(:func:`~convstudio.app.views.display.display_block_reduce`, so a thin strong edge stays) and its
mean for a true-colour image (:func:`display_block_mean`). For a 1 MP map that takes a millisecond
or two; for the maps of a 24 MP photo at full resolution 30-50 ms each, and a layer of eight of
them would block the GUI thread for a third of a second on every new result.

So a view asks :func:`shrunk` for the shrunk plane. A small plane (at most :data:`SYNC_LIMIT`
values) is shrunk at once, as long as the planes shrunk so in the same turn of the event loop
hold no more than :data:`SYNC_TURN_LIMIT` values (a new layer's eight 1.5 MP maps took 25 ms
together). For any other the answer is None the first time: the view shows
every ``rows``-th / ``cols``-th pixel for now (a strided view of the map, free), the plane is
shrunk on a background :class:`~convstudio.app.model.worker.Worker`, and when it is ready the
view's ``_on_shrunk()`` is called on the GUI thread; asked again, :func:`shrunk` returns it from
a small cache. The cache and the queue refer to the maps weakly (a layer output that is replaced
is freed as usual) and a view that moves on to another map or scale drops its old request.

Zoomed in on a part of a large map, shrunk or not, the map is not handed to its ImageItem whole
either: pyqtgraph would colour every pixel of it (about 90 ms per 24 MP map at one map pixel
per screen pixel, 40 ms at two) to show the few that fit on screen. A view shows the part
around what is visible instead (:func:`crop_window`; of a shrunk plane, :func:`crop_blocks`),
and crops again when panning or zooming leaves that part.

The one :class:`Shrinker` of the application is made on first use; :func:`shutdown` stops its
thread (the window calls it when it closes; it also runs when the application quits and at
interpreter exit, so a thread never outlives the app).
"""

from __future__ import annotations

import atexit
import math
import weakref
from collections import OrderedDict
from typing import Any, Protocol

import numpy as np
import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer

from convstudio.app.model.worker import JobContext, Worker
from convstudio.app.views.display import display_block_reduce, reduce_col_blocks, reduce_row_blocks
from convstudio.core import RunCancelled

__all__ = ["CROP_LIMIT", "SYNC_LIMIT", "SYNC_TURN_LIMIT", "EXTREME", "MEAN", "Shrinker", "covers", "crop_blocks",
           "crop_window", "display_block_mean", "shrinker", "shrunk", "shutdown"]

#: Planes of at most this many values (rows x cols x colour channels) are shrunk on the spot
#: (a few milliseconds); larger ones in the background.
SYNC_LIMIT = 1 << 21
#: Values shrunk on the spot in one turn of the event loop, all views together; the rest wait
#: for the background.
SYNC_TURN_LIMIT = 1 << 21
EXTREME, MEAN = "extreme", "mean"
#: Maps of more pixels than this are cropped to what is on screen (and around it) when shown at
#: one map pixel per screen pixel or more; smaller ones are handed over whole.
CROP_LIMIT = 1 << 21
#: Crop edges fall on multiples of this many pixels, so that small pans keep the same crop.
CROP_ALIGN = 64
#: Bytes of shrunk planes kept (each is about the size of its view on screen).
CACHE_BYTES = 64 << 20


class ShrinkOwner(Protocol):
    def _on_shrunk(self) -> None:
        """A plane this view asked for is ready: ask :func:`shrunk` again (GUI thread)."""


def display_block_mean(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``(H, W)`` or ``(H, W, C)`` shrunk to the mean of each ``rows x cols`` block (the last
    blocks may be partial), shape that of ``a[::rows, ::cols]``, float32; `a` itself for 1 x 1.

    A colour image is done plane by plane: the window's images are ``(C, H, W)`` arrays seen as
    ``(H, W, C)``, so each plane is contiguous (five times faster than reducing the interleaved
    view)."""
    a = np.asarray(a)
    if rows == cols == 1 or a.size == 0:
        return a
    if a.ndim == 3:
        return np.stack([_block_mean_2d(a[..., k], rows, cols) for k in range(a.shape[2])],
                        axis=-1)
    return _block_mean_2d(a, rows, cols)


def _block_mean_2d(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    h, w = a.shape
    # block sums as display_block_reduce finds block extremes: rows first, whole rows at a time
    s = reduce_col_blocks(reduce_row_blocks(a.astype(np.float32, copy=False), rows, np.add), cols, np.add)
    r0, c0 = np.arange(0, h, rows), np.arange(0, w, cols)
    count = np.multiply.outer(np.minimum(rows, h - r0), np.minimum(cols, w - c0))
    s /= count.astype(np.float32)
    return s


Window = tuple[int, int, int, int]  # (row0, row1, col0, col1), ends excluded


def crop_window(visible: tuple[float, float, float, float], shape: tuple[int, int],
                steps: tuple[int, int] = (1, 1)) -> Window | None:
    """The part of a ``shape = (H, W)`` map to hand to an ImageItem when ``visible = (row0,
    row1, col0, col1)`` (map pixels, fractional, maybe beyond the map) is on screen: the visible
    part grown by a quarter of its size on every side (so that a pan of up to that much needs
    no new crop), edges on multiples of :data:`CROP_ALIGN` and of ``steps = (rows, cols)`` (a map
    shown shrunk by ``rows x cols`` blocks is cropped on block edges), within the map (the
    edge nearest to the visible part when none of the map is visible). None when that is nearly
    all of the map, or the map is at most :data:`CROP_LIMIT` pixels: show it whole."""
    h, w = int(shape[0]), int(shape[1])
    if h * w <= CROP_LIMIT:
        return None
    r0, r1, c0, c1 = (float(v) for v in visible)
    mr, mc = max(r1 - r0, 1.0) / 4, max(c1 - c0, 1.0) / 4
    r0, c0 = min(max(r0, 0.0), h - 1.0), min(max(c0, 0.0), w - 1.0)
    r1, c1 = max(min(r1, float(h)), r0 + 1), max(min(c1, float(w)), c0 + 1)
    ar, ac = math.lcm(CROP_ALIGN, int(steps[0])), math.lcm(CROP_ALIGN, int(steps[1]))
    top = max(0, int((r0 - mr) // ar) * ar)
    left = max(0, int((c0 - mc) // ac) * ac)
    bottom = min(h, -int(-(r1 + mr) // ar) * ar)
    right = min(w, -int(-(c1 + mc) // ac) * ac)
    if (bottom - top) * (right - left) > h * w * 9 // 10:
        return None
    return top, bottom, left, right


def crop_blocks(data: np.ndarray, window: Window | None, steps: tuple[int, int]) -> np.ndarray:
    """The part of `data`, a map shrunk by ``steps`` blocks (``(h, w)`` or ``(h, w, C)``, the
    shape of ``map[::rows, ::cols]``), that stands for the map's `window` (edges on block edges,
    as :func:`crop_window` puts them); `data` itself for None."""
    if window is None:
        return data
    sr, sc = steps
    r0, r1, c0, c1 = window
    return data[r0 // sr:-(-r1 // sr), c0 // sc:-(-c1 // sc)]


def covers(window: Window | None, visible: tuple[float, float, float, float],
           shape: tuple[int, int]) -> bool:
    """Whether a crop `window` (None: the whole map) holds the visible part of the map."""
    if window is None:
        return True
    h, w = shape
    r0, r1, c0, c1 = visible
    r0, c0 = max(0.0, r0), max(0.0, c0)
    r1, c1 = min(float(h), r1), min(float(w), c1)
    if r1 <= r0 or c1 <= c0:
        return True  # nothing of the map is on screen
    return window[0] <= r0 and r1 <= window[1] and window[2] <= c0 and c1 <= window[3]


def _shrink(plane: np.ndarray, rows: int, cols: int, kind: str) -> np.ndarray:
    if kind == EXTREME:
        out = display_block_reduce(plane, rows, cols)
    else:
        out = display_block_mean(plane, rows, cols)
    return np.ascontiguousarray(out)


class Shrinker(QObject):
    """Shrinks large planes for views in the background (see the module docstring)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = Worker("ConvStudio display", self)
        self.worker.progressed.connect(self._on_ready)
        self.worker.done.connect(self._on_job_end)
        self.worker.failed.connect(self._on_job_end)
        # key -> (weak source, channel, rows, cols, kind); key = (id(source), channel, rows,
        # cols, kind)
        self._pending: dict[tuple, tuple] = {}
        self._owners: dict[tuple, list[weakref.ref]] = {}
        self._asked: dict[int, tuple] = {}  # id(owner) -> the key it waits for
        self._cache: OrderedDict[tuple, tuple[weakref.ref, np.ndarray]] = OrderedDict()
        self._cache_bytes = 0
        self._in_job: dict[tuple, tuple] = {}  # the running job's entries
        self._submit_timer = QTimer(self)
        self._submit_timer.setSingleShot(True)
        self._submit_timer.setInterval(0)  # the requests of one event-loop turn go as one job
        self._submit_timer.timeout.connect(self._submit)
        self._turn_values = 0  # values shrunk on the spot in this turn of the event loop
        self._turn_end = QTimer(self)
        self._turn_end.setSingleShot(True)
        self._turn_end.setInterval(0)
        self._turn_end.timeout.connect(self._new_turn)

    # ---------------------------------------------------------------- GUI thread
    def shrunk(self, owner: ShrinkOwner, source: np.ndarray, channel: int | None, rows: int,
               cols: int, kind: str = EXTREME) -> np.ndarray | None:
        """``source`` (``channel`` of it, or all of it for None) shrunk by ``rows x cols`` blocks,
        or None when it is being shrunk in the background (``owner._on_shrunk()`` follows)."""
        plane = source if channel is None else source[channel]
        if rows == cols == 1:
            return plane
        key = (id(source), channel, int(rows), int(cols), kind)
        hit = self._cache.get(key)
        if hit is not None and hit[0]() is source:
            self._cache.move_to_end(key)
            self._forget_request(owner)
            return hit[1]
        if plane.size <= SYNC_LIMIT and self._turn_values + plane.size <= SYNC_TURN_LIMIT:
            if not self._turn_end.isActive():
                self._turn_end.start()
            self._turn_values += plane.size
            self._forget_request(owner)
            return _shrink(plane, int(rows), int(cols), kind)
        if self._asked.get(id(owner)) != key:
            self._forget_request(owner)
        entry = self._pending.get(key)
        if entry is None or entry[0]() is not source:
            self._pending[key] = (weakref.ref(source), channel, int(rows), int(cols), kind)
            self._owners[key] = []
        if id(owner) not in [id(o()) for o in self._owners[key]]:
            self._owners[key].append(weakref.ref(owner))
        self._asked[id(owner)] = key
        if not self.worker.busy:
            self._submit_timer.start()
        return None

    def _new_turn(self) -> None:
        self._turn_values = 0

    def busy(self) -> bool:
        """Whether planes are waiting or being shrunk."""
        return bool(self._pending) or self.worker.busy

    def shutdown(self) -> None:
        self._submit_timer.stop()
        self._pending.clear()
        self._owners.clear()
        self._asked.clear()
        self.worker.shutdown()

    def _forget_request(self, owner: Any) -> None:
        key = self._asked.pop(id(owner), None)
        if key is None:
            return
        owners = [o for o in self._owners.get(key, []) if o() is not None and o() is not owner]
        if owners:
            self._owners[key] = owners
        elif key not in self._in_job:  # nobody waits for it: it need not be computed
            self._pending.pop(key, None)
            self._owners.pop(key, None)

    def _submit(self) -> None:
        if self.worker.busy or self.worker.closed or not self._pending:
            return
        work = list(self._pending.items())
        self._in_job = dict(work)
        pending = self._pending

        def job(ctx: JobContext) -> None:
            for key, (ref, channel, rows, cols, kind) in work:
                if ctx.cancelled():
                    raise RunCancelled()
                source = ref()
                if source is None or key not in pending:  # freed, or nobody waits any more
                    continue
                plane = source if channel is None else source[channel]
                ctx.progress((key, ref, _shrink(plane, rows, cols, kind)))

        self.worker.submit(job)

    def _on_ready(self, _token: int, payload: tuple) -> None:
        key, ref, result = payload
        entry = self._pending.get(key)
        if entry is None or entry[0]() is not ref():
            return
        del self._pending[key]
        self._cache[key] = (ref, result)
        self._cache_bytes += result.nbytes
        while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
            _, (_, old) = self._cache.popitem(last=False)
            self._cache_bytes -= old.nbytes
        for owner_ref in self._owners.pop(key, []):
            owner = owner_ref()
            if owner is not None and self._asked.get(id(owner)) == key:
                del self._asked[id(owner)]
                if not isinstance(owner, shiboken6.Shiboken.Object) or shiboken6.isValid(owner):
                    owner._on_shrunk()  # (a view deleted by Qt meanwhile is skipped)

    def _on_job_end(self, *_args: Any) -> None:
        # What the job skipped (its map was freed, or nobody waited any more) and what it could
        # not do (a failure: out of memory, most likely; the views keep their strided
        # stand-ins) is dropped, unless it was asked for again since.
        for key, entry in self._in_job.items():
            if self._pending.get(key) is entry:
                del self._pending[key]
                self._owners.pop(key, None)
        self._in_job = {}
        if self._pending:
            self._submit_timer.start()


_SHRINKER: Shrinker | None = None


def shrinker() -> Shrinker:
    """The application's :class:`Shrinker` (made on first use)."""
    global _SHRINKER
    if _SHRINKER is None or _SHRINKER.worker.closed:
        app = QCoreApplication.instance()
        _SHRINKER = Shrinker(app)
        if app is not None:
            app.aboutToQuit.connect(shutdown)
    return _SHRINKER


def shrunk(owner: ShrinkOwner, source: np.ndarray, channel: int | None, rows: int, cols: int,
           kind: str = EXTREME) -> np.ndarray | None:
    """:meth:`Shrinker.shrunk` of the application's shrinker."""
    return shrinker().shrunk(owner, source, channel, rows, cols, kind)


def shutdown() -> None:
    """Stop the shrinker's thread, if it runs (a later :func:`shrunk` starts a new one)."""
    global _SHRINKER
    s, _SHRINKER = _SHRINKER, None
    if s is not None:
        try:
            s.shutdown()
        except RuntimeError:  # (at exit, after Qt deleted the application and its children)
            pass


atexit.register(shutdown)
