"""Dialogs sized to the screen they open on.

:func:`fit_on_screen` gives a top-level widget its preferred size where the screen has room,
and less where it has not (never below the widget's minimum), its frame included; the border
modes dialog and the kernel learner open through it, so that on a 1024 x 600 screen or with a
large font their buttons stay in view.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

__all__ = ["FitsItsScreen", "fit_on_screen", "screen_geometry"]


def screen_geometry(widget: QWidget) -> QRect | None:
    """The available geometry (logical pixels) of the screen `widget` opens on: that of its
    parent's window (found by the window's centre, as the main window finds its own), else its
    own, else the primary screen's; None without a screen."""
    parent = widget.parentWidget()
    anchor = parent.window() if parent is not None else widget
    screen = (QGuiApplication.screenAt(anchor.geometry().center()) or anchor.screen()
              or QGuiApplication.primaryScreen())
    return screen.availableGeometry() if screen is not None else None


def _frame_margins(widget: QWidget) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the window frame around top-level `widget`: its own once it
    has one, else its parent window's (the same window manager draws both), else none."""
    for w in (widget, widget.parentWidget().window() if widget.parentWidget() is not None else None):
        if w is None:
            continue
        frame, inner = w.frameGeometry(), w.geometry()
        if frame != inner:
            return (inner.left() - frame.left(), inner.top() - frame.top(),
                    frame.right() - inner.right(), frame.bottom() - inner.bottom())
    return (0, 0, 0, 0)


def fit_on_screen(widget: QWidget, preferred: QSize, available: QRect | None) -> None:
    """Resize top-level `widget` to `preferred`, made smaller where its frame would not fit in
    `available` (a screen's available geometry; None: no limit), though not below its minimum
    size; if it is shown, also move it so that its frame lies inside `available` (its top-left
    corner in view where it is still too large). A hidden widget is only resized: Qt places a
    dialog as it shows it (over its parent), unless it was moved before."""
    layout = widget.layout()
    if layout is not None:
        layout.activate()  # the minimum size the layout sets, before the widget is first shown
    if available is None or available.isEmpty():
        widget.resize(preferred)
        return
    left, top, right, bottom = _frame_margins(widget)
    room = QSize(available.width() - left - right, available.height() - top - bottom)
    size = preferred.boundedTo(room).expandedTo(widget.minimumSize())
    widget.resize(size)
    if not widget.isVisible():
        return
    # move() places the frame's top-left corner (that of the window's geometry before it has one)
    frame = QSize(size.width() + left + right, size.height() + top + bottom)
    pos = widget.frameGeometry().topLeft()
    x = max(available.left(), min(pos.x(), available.right() + 1 - frame.width()))
    y = max(available.top(), min(pos.y(), available.bottom() + 1 - frame.height()))
    if (x, y) != (pos.x(), pos.y()):
        widget.move(x, y)


class FitsItsScreen:
    """Mixin for a dialog: each time it opens, its size as the user left it, unless that no
    longer fits the screen (another screen, a larger font), and its whole frame on the screen.
    ``_screen_geometry`` is the screen's available area (tests pretend another)."""

    def _screen_geometry(self) -> QRect | None:
        return screen_geometry(self)

    def setVisible(self, visible: bool) -> None:  # noqa: N802 (Qt name)
        opening = visible and not self.isVisible()
        if opening:
            fit_on_screen(self, self.size(), self._screen_geometry())
        super().setVisible(visible)
        if opening:  # (placed by Qt now: its frame on the screen)
            fit_on_screen(self, self.size(), self._screen_geometry())
