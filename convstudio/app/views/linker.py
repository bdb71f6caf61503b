"""Synced zoom and pan: :class:`ViewLinker` keeps the region shown by any number of ViewBoxes the same.

Every view shows input coordinates (see :mod:`~convstudio.app.views.placement`), so linking is plain
range copying.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRectF, Signal

from convstudio.app.qtsetup import pg

__all__ = ["ViewLinker", "while_alive"]


def while_alive(owner: QObject, method: str):
    """A slot that calls ``owner.<method>(*args)`` while `owner`'s C++ object exists, and does
    nothing once it is gone or going.

    Connect a child's signal to this instead of to the bound method when the child may emit
    while `owner` is being destroyed (Qt deletes the children from the owner's destructor, after
    the Python wrapper was invalidated): a bound method's slot is then looked up on a dead
    object ("Slot 'FeatureMapGrid::' not found").
    """
    import weakref

    ref = weakref.ref(owner)

    def slot(*args):
        target = ref()
        if target is not None and shiboken6.isValid(target):
            return getattr(target, method)(*args)
        return None

    return slot


class ViewLinker(QObject):
    """Keeps the visible region of any number of ViewBoxes the same.

    Every view shows input coordinates, so linking is copying the *target* rectangle (the region asked
    for, before the aspect-ratio lock widens one axis to fit the widget) from the view that changed to
    all others. Copying the target rather than the visible range means views of different shapes never
    drift apart, and a resize (which changes only the visible range) moves nothing.

    Views that are deleted are forgotten automatically; owners that re-create views should still
    :meth:`unlink` the old ones first.
    """

    rangeChanged = Signal(object)
    """The shared target rectangle (QRectF, input coordinates) after it changed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._views: dict[int, tuple[pg.ViewBox, Any]] = {}
        self._rect: QRectF | None = None
        self._busy = False

    # ---- membership
    def link(self, view_box: pg.ViewBox) -> None:
        """Add a view; it takes the current shared region if there is one."""
        key = id(view_box)
        if key in self._views:
            return

        def forget(*_args: Any, _key: int = key) -> None:
            self._views.pop(_key, None)

        self._views[key] = (view_box, forget)
        view_box.sigRangeChanged.connect(self._on_range_changed)
        view_box.destroyed.connect(forget)
        if self._rect is not None:
            self._busy = True
            try:
                view_box.setRange(rect=QRectF(self._rect), padding=0)
            finally:
                self._busy = False

    def unlink(self, view_box: pg.ViewBox) -> None:
        """Remove a view (no error if it was not linked)."""
        entry = self._views.pop(id(view_box), None)
        if entry is None or not shiboken6.isValid(view_box):
            return
        _, forget = entry
        connections = ((view_box.sigRangeChanged, self._on_range_changed), (view_box.destroyed, forget))
        for signal, slot in connections:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

    def views(self) -> list[pg.ViewBox]:
        """The linked views that still exist."""
        self._prune()
        return [vb for vb, _ in self._views.values()]

    def target_rect(self) -> QRectF | None:
        """The shared region (input coordinates), or None before any view reported one."""
        return None if self._rect is None else QRectF(self._rect)

    def set_rect(self, rect: QRectF | tuple[float, float, float, float]) -> None:
        """Show ``rect`` (a QRectF or ``(x, y, w, h)``) in every linked view."""
        if not isinstance(rect, QRectF):
            rect = QRectF(*rect)
        self._apply(QRectF(rect), source=None)

    # ---- internals
    def _prune(self) -> None:
        for key in [k for k, (vb, _) in self._views.items() if not shiboken6.isValid(vb)]:
            del self._views[key]

    def _on_range_changed(self, view_box: pg.ViewBox, *_args: Any) -> None:
        if self._busy or id(view_box) not in self._views or not shiboken6.isValid(view_box):
            return
        rect = view_box.targetRect()
        if self._rect is not None and rect == self._rect:
            return
        self._apply(rect, source=view_box)

    def _apply(self, rect: QRectF, source: pg.ViewBox | None) -> None:
        if rect.width() <= 0 or rect.height() <= 0:
            return
        self._rect = QRectF(rect)
        self._prune()
        self._busy = True
        try:
            for vb, _ in list(self._views.values()):
                if vb is not source:
                    vb.setRange(rect=QRectF(rect), padding=0)
        finally:
            self._busy = False
        self.rangeChanged.emit(QRectF(rect))
