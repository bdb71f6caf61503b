"""The kernel grid's widgets: the table view, its cell delegate and the small layout helpers.

:class:`KernelTableView` is the grid that :class:`~convstudio.app.editing.kernel_editor.KernelEditor`
shows; :class:`KernelCellDelegate` paints and edits its cells. :class:`FlowLayout` /
:class:`FlowBar` (``app/views/flow.py``, also used by the map views' controls) hold the editor's
action buttons and :class:`WrapLabel` its notes.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QKeyEvent, QKeySequence, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from convstudio.app.editing.kernel_model import VALUE_ROLE, KernelTableModel, compact_cell_texts
from convstudio.app.views.flow import FlowBar, FlowLayout

__all__ = ["KernelCellDelegate", "KernelTableView", "FlowLayout", "FlowBar", "WrapLabel",
           "MIN_CELL_SIDE", "MAX_CELL_SIDE", "SMALL_FONT_SIDE", "MIN_VISIBLE_CELLS",
           "REFERENCE_DIGIT_WIDTH", "cell_side_limits"]

# Cell side limits in pixels at the default font: below MIN the numbers stop being readable, above
# MAX a 3 x 3 kernel looks like a spreadsheet from a children's book. Cells below SMALL_FONT_SIDE
# get a smaller font. All three grow with the font (cell_side_limits), so that a cell shows the
# same digits at any font size where the dock has room (a kernel of up to MIN_VISIBLE_CELLS a side
# still goes down to MIN_CELL_SIDE before it scrolls: the room the grid always keeps).
MIN_CELL_SIDE = 30
MAX_CELL_SIDE = 58
SMALL_FONT_SIDE = 42
# The width of a digit (pixels) in the font the limits above were chosen with: DejaVu Sans at
# 9 pt and 96 dpi, Qt's default on Linux.
REFERENCE_DIGIT_WIDTH = 7.6
# However small its dock, the grid keeps room for this many rows and columns of the smallest
# cells (a whole 5 x 5 kernel); a larger kernel scrolls when the dock cannot give it more.
MIN_VISIBLE_CELLS = 5


def cell_side_limits(font: QFont) -> tuple[int, int, int]:
    """(MIN_CELL_SIDE, MAX_CELL_SIDE, SMALL_FONT_SIDE) for cells whose numbers are written in
    `font`: in proportion to the width of its digits, never below the values above (a 14 pt font
    gets cells about 1.6 times as large, which show "-0.299" where 58 px showed "-0.3")."""
    digit = QFontMetricsF(font).horizontalAdvance("0123456789") / 10
    scale = max(1.0, digit / REFERENCE_DIGIT_WIDTH)
    return (round(MIN_CELL_SIDE * scale), round(MAX_CELL_SIDE * scale),
            round(SMALL_FONT_SIDE * scale))


class KernelCellDelegate(QStyledItemDelegate):
    """Paints kernel cells and edits them with a centred line edit.

    * A selected cell keeps its value colour and gets a frame instead of the usual selection
      fill: on a blue-white-red map a blue fill would read as "negative".
    * The anchor cell gets a black border (the model makes its text bold too).
    * Text that does not fit the cell is shortened to fewer significant digits rather than
      elided ("0.00297" rather than "0.002..."); the tooltip has the full value.
    """

    def __init__(self, model: KernelTableModel, parent=None) -> None:
        super().__init__(parent)
        self._model = model
        self._fitted: dict[tuple, str] = {}  # (text, value, width, font) -> the text that fits

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().initStyleOption(option, index)
        available = option.rect.width() - 4
        if available <= 0:
            return
        value = index.data(VALUE_ROLE)
        key = (option.text, value, available, option.font.key())
        text = self._fitted.get(key)
        if text is None:
            text = self._fit(option.text, value, available, option.fontMetrics)
            if len(self._fitted) > 4096:
                self._fitted.clear()
            self._fitted[key] = text
        option.text = text

    @staticmethod
    def _fit(text: str, value, available: int, metrics) -> str:
        if value is None or metrics.horizontalAdvance(text) <= available:
            return text
        for text in compact_cell_texts(float(value)):
            if metrics.horizontalAdvance(text) <= available:
                break
        return text

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        has_focus = bool(option.state & QStyle.StateFlag.State_HasFocus)
        plain = QStyleOptionViewItem(option)
        # Both states tint the cell in most styles (Fusion fills the focus cell with the
        # highlight colour); frames drawn below show them without changing the value colour.
        plain.state &= ~(QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_HasFocus)
        super().paint(painter, plain, index)
        is_anchor = self._model.anchor() == (index.row(), index.column())
        if not (selected or has_focus or is_anchor):
            return
        painter.save()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if is_anchor:
            painter.setPen(QPen(QColor(Qt.GlobalColor.black), 2))
            painter.drawRect(QRect(option.rect).adjusted(1, 1, -1, -1))
        highlight = option.palette.color(QPalette.ColorRole.Highlight)
        if selected:
            painter.setPen(QPen(highlight, 3))
            painter.drawRect(QRect(option.rect).adjusted(2, 2, -2, -2))
        elif has_focus:
            painter.setPen(QPen(highlight, 1, Qt.PenStyle.DashLine))
            painter.drawRect(QRect(option.rect).adjusted(3, 3, -4, -4))
        painter.restore()

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> QWidget:
        editor = QLineEdit(parent)
        editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        editor.setFrame(False)
        editor.setToolTip("A number or an expression: 0.25, -1, 2e-3, 1/16, (1+2)/9")
        return editor


class WrapLabel(QLabel):
    """A word-wrapped label whose minimum height is what its text needs at its width.

    A box layout counts one line for a wrapped label's minimum, then gives it every line it
    needs and takes the difference from its neighbours (the grid), below their minimum.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.fit_height()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_height()

    def fit_height(self) -> None:
        # (Not heightForWidth: it never returns less than the minimum height set here.)
        height = 0
        if self.text():
            margins = self.contentsMargins()
            extra = 2 * self.margin()
            width = max(1, self.width() - margins.left() - margins.right() - extra)
            text = self.fontMetrics().boundingRect(QRect(0, 0, width, 1 << 20),
                                                   Qt.TextFlag.TextWordWrap, self.text())
            height = text.height() + margins.top() + margins.bottom() + extra
        if self.minimumHeight() != height:
            self.setMinimumHeight(height)


class KernelTableView(QTableView):
    """The grid: a ``QTableView`` that keeps Copy / Paste / Delete for itself.

    Copy and Paste are claimed in ``ShortcutOverride`` so that they reach this view even when the
    main window has application-wide shortcuts on the same keys, and so that they work without an
    active window (offscreen tests). Enter on a cell that is not being edited starts editing it.

    Signals
    -------
    copyRequested, pasteRequested, deleteRequested
        The user pressed the key for it while the grid had focus.
    resized
        The view changed size (the editor recomputes the cell side).
    """

    copyRequested = Signal()
    pasteRequested = Signal()
    deleteRequested = Signal()
    resized = Signal()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self.state() != QAbstractItemView.State.EditingState:
            key_event: QKeyEvent = event  # type: ignore[assignment]
            if self._grid_key(key_event) is not None:
                event.accept()
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.state() != QAbstractItemView.State.EditingState:
            signal = self._grid_key(event)
            if signal is not None:
                signal.emit()
                event.accept()
                return
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
                if self.edit(self.currentIndex(), QAbstractItemView.EditTrigger.EditKeyPressed, event):
                    event.accept()
                    return
        super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def _grid_key(self, event: QKeyEvent):
        if event.matches(QKeySequence.StandardKey.Copy):
            return self.copyRequested
        if event.matches(QKeySequence.StandardKey.Paste):
            return self.pasteRequested
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not event.modifiers():
            return self.deleteRequested
        return None
