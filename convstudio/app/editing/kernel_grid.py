"""The kernel grid's widgets: the table view, its cell delegate and the small layout helpers.

:class:`KernelTableView` is the grid that :class:`~convstudio.app.editing.kernel_editor.KernelEditor`
shows; :class:`KernelCellDelegate` paints and edits its cells. :class:`FlowLayout` /
:class:`FlowBar` (``app/views/flow.py``, also used by the map views' controls) hold the editor's
action buttons and :class:`WrapLabel` its notes.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QFontMetricsF, QKeyEvent, QKeySequence, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
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
           "REFERENCE_DIGIT_WIDTH", "MIN_CELL_FONT_PT", "cell_side_limits", "cell_text_width", "text_fits",
           "fit_cell_text"]

# Cell side limits in pixels at the default font: below MIN the numbers stop being readable, above
# MAX a 3 x 3 kernel looks like a spreadsheet from a children's book. Cells below SMALL_FONT_SIDE
# get a smaller font. All three grow with the font (cell_side_limits), so that a cell shows the
# same digits at any font size where the dock has room (a kernel of up to MIN_VISIBLE_CELLS a side
# still goes down to rows of MIN_CELL_SIDE before it scrolls: the room the grid always keeps; its
# columns keep the font's smallest width, docks having width to spare).
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


# The smallest point size a cell's number is written in when even its shortest form does not fit
# the cell in the grid's font (a cell of MIN_CELL_SIDE holds "-3e-5" at 6.75 pt).
MIN_CELL_FONT_PT = 5.0


def cell_text_width(option: QStyleOptionViewItem, widget: QWidget | None = None) -> int:
    """The width (pixels) the style gives the text of the cell `option` describes: its
    ``SE_ItemViewItemText`` rectangle less the margin that ``QCommonStyle`` (Fusion, Windows, macOS
    and the others derived from it) takes off each side when it draws the text
    (``PM_FocusFrameHMargin`` + 1). A text wider than this is elided with "…" by the style."""
    style = widget.style() if widget is not None else QApplication.style()
    rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, widget)
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
    return rect.width() - 2 * margin


def text_fits(text: str, font: QFont, width: int) -> bool:
    """Whether the style draws `text` in `font` whole in a text rectangle `width` pixels wide.

    The style elides a line whose natural (fractional) width exceeds the rectangle's, so the
    integer ``QFontMetrics.horizontalAdvance`` (rounded) is not enough: "0.888" measures 34 px
    there and is still elided in 34 px."""
    return (QFontMetricsF(font).horizontalAdvance(text) <= width
            and QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, width) == text)


def fit_cell_text(value: float, text: str, font: QFont, width: int) -> tuple[str, QFont | None]:
    """The text a cell of `value` shows in a text rectangle `width` pixels wide, and the font to
    write it in (``None``: `font` itself).

    The longest of `text` (the model's four significant digits) and the ever shorter roundings of
    :func:`~convstudio.app.editing.kernel_model.compact_cell_texts` that fits in `font`; when not
    even the shortest fits (a narrow cell in a large font), the longest that fits in a font just
    small enough, down to :data:`MIN_CELL_FONT_PT`. Every candidate is a correct rounding of
    `value`, so a cell never shows a number cut by "…"."""
    candidates = [text, *(t for t in compact_cell_texts(value) if t != text)]
    for candidate in candidates:
        if text_fits(candidate, font, width):
            return candidate, None
    metrics = QFontMetricsF(font)
    shortest = min(candidates, key=metrics.horizontalAdvance)
    smaller = QFont(font)
    by_pixels = font.pointSizeF() <= 0  # (a font given in pixels)
    size = float(font.pixelSize()) if by_pixels else font.pointSizeF()
    least = MIN_CELL_FONT_PT * 96 / 72 if by_pixels else MIN_CELL_FONT_PT
    step = 1.0 if by_pixels else 0.25
    # Start at the size where the shortest form would just fit, then step down until one fits.
    size *= min(1.0, width / max(metrics.horizontalAdvance(shortest), 1.0))
    size = max(least, int(size / step) * step)
    while True:
        if by_pixels:
            smaller.setPixelSize(max(1, int(size)))
        else:
            smaller.setPointSizeF(size)
        for candidate in candidates:
            if text_fits(candidate, smaller, width):
                return candidate, smaller
        if size - step < least:
            return shortest, smaller
        size -= step


class KernelCellDelegate(QStyledItemDelegate):
    """Paints kernel cells and edits them with a centred line edit.

    * A selected cell keeps its value colour and gets a frame instead of the usual selection
      fill: on a blue-white-red map a blue fill would read as "negative".
    * The anchor cell gets a black border (the model makes its text bold too).
    * Text that does not fit the style's text rectangle (:func:`cell_text_width`) is shortened
      to fewer significant digits rather than elided ("0.00297" rather than "0.002..."), and,
      where not even one digit fits, written in a smaller font (:func:`fit_cell_text`); the
      tooltip has the full value.
    """

    def __init__(self, model: KernelTableModel, parent=None) -> None:
        super().__init__(parent)
        self._model = model
        # (text, value, width, font) -> (the text that fits, its font or None)
        self._fitted: dict[tuple, tuple[str, QFont | None]] = {}

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().initStyleOption(option, index)
        value = index.data(VALUE_ROLE)
        if value is None or not option.text:
            return
        widget = option.widget
        if widget is None:
            parent = self.parent()
            widget = parent if isinstance(parent, QWidget) else None
        available = cell_text_width(option, widget)
        if available <= 0:
            return
        key = (option.text, value, available, option.font.key())
        fitted = self._fitted.get(key)
        if fitted is None:
            fitted = fit_cell_text(float(value), option.text, option.font, available)
            if len(self._fitted) > 4096:
                self._fitted.clear()
            self._fitted[key] = fitted
        text, font = fitted
        option.text = text
        if font is not None:
            option.font = font
            option.fontMetrics = QFontMetrics(font)

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
