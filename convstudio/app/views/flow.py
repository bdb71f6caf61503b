"""A row of widgets that wraps to more rows when out of width.

:class:`FlowLayout` lays its widgets out left to right and starts a new row when the next one
does not fit; :class:`FlowBar` is the widget that holds one, with a minimum height that follows
its width. The kernel editor's buttons and the map views' controls use them, so that a narrow
dock or a small screen gets two rows instead of a window wider than the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget

__all__ = ["FlowLayout", "FlowBar"]


class FlowLayout(QLayout):
    """Lays widgets out left to right and wraps to a new row when out of width.

    The widgets then stay visible in a narrow dock instead of hiding behind a toolbar's overflow
    arrow. Hidden widgets take no room.
    """

    def __init__(self, parent: QWidget | None = None, spacing: int = 2) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self._items:
            if item.isEmpty():  # a hidden widget
                continue
            hint = item.sizeHint()
            # wider than the whole row: as narrow as the row, down to its minimum (a combo box
            # elides its text)
            hint.setWidth(min(hint.width(), max(item.minimumSize().width(), area.width())))
            if x + hint.width() > area.right() + 1 and row_height > 0:
                x, y, row_height = area.x(), y + row_height + self.spacing(), 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self.spacing()
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + margins.bottom()


class FlowBar(QWidget):
    """The widget holding a :class:`FlowLayout`: its minimum height follows its width.

    Layouts ask a dock for its minimum size, not for a height for its width, so a bar whose
    buttons wrap to three rows would otherwise be squeezed to one and hide the rest.
    """

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_height()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # a widget shown, hidden or resized
            self.fit_height()
        return super().event(event)

    def fit_height(self) -> None:
        layout = self.layout()
        if layout is None:
            return
        height = layout.heightForWidth(max(1, self.width()))
        if self.minimumHeight() != height:
            self.setMinimumHeight(height)
