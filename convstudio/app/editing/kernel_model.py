"""The table model behind the kernel editor: one 2-D slice of a convolution weight as Qt item data.

Three things live here, all free of widgets so that they can be tested without a view:

* :func:`parse_cell_value` turns what the user typed ("1/16", "-0.5", "2e-3") into a float, or
  raises :class:`CellValueError` with a message meant for the status line;
* :func:`diverging_colour` maps a signed value to the app's diverging scale (the feature maps' own);
* :class:`KernelTableModel` serves a ``(rows, cols)`` float32 array to a ``QTableView`` (display
  text, colours, anchor marking, offset headers) and turns committed edits into a signal.

The model keeps a copy of the slice only to serve ``data()``; it never decides anything. The
editor owns the weight (and the Document owns the editor's weight), so an accepted edit is
announced with :attr:`KernelTableModel.cellEdited` and the editor writes it back.
"""

from __future__ import annotations

import ast
import math
import operator

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont

from convstudio.app.i18n import notifier, tr
from convstudio.app.views.colormaps import diverging_rgb

__all__ = [
    "CellValueError",
    "parse_cell_value",
    "format_cell_value",
    "compact_cell_texts",
    "exact_cell_text",
    "VALUE_ROLE",
    "diverging_colour",
    "contrast_text_colour",
    "anchor_of",
    "KernelTableModel",
]

# Colour ends of the diverging scale (ColorBrewer RdBu ends, softened a little so that black
# text stays readable on most of the range).

#: Item data role that gives a cell's value as a float (the display text is rounded).
VALUE_ROLE = Qt.ItemDataRole.UserRole

_MAX_EXPRESSION_LENGTH = 200
_FLOAT32_MAX = float(np.finfo(np.float32).max)

_BINARY_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY_OPERATORS = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_CONSTANTS = {"pi": math.pi, "e": math.e}


class CellValueError(ValueError):
    """The text typed into a kernel cell is not a finite float32 number (message is for the user)."""


def parse_cell_value(text: str) -> float:
    """Parse the text of a kernel cell.

    Accepts plain numbers (``-0.5``, ``2e-3``, a decimal comma ``0,5``) and small arithmetic
    expressions (``1/16``, ``-2*3``, ``(1+2)/9``, ``2**-3``, ``pi/4``), because kernels are
    usually written as fractions. Nothing else is evaluated: no names other than ``pi`` and ``e``,
    no calls, no attribute access.

    Parameters
    ----------
    text : str
        What the user typed.

    Returns
    -------
    float
        The value; finite and within float32 range.

    Raises
    ------
    CellValueError
        With a short message saying why the text was refused.
    """
    if not isinstance(text, str):
        raise CellValueError(f"{text!r} is not text")
    stripped = text.strip()
    if not stripped:
        raise CellValueError("empty cell: type a number such as 0, -1 or 1/16")
    if len(stripped) > _MAX_EXPRESSION_LENGTH:
        raise CellValueError(f"expression longer than {_MAX_EXPRESSION_LENGTH} characters")
    # A lone decimal comma is how half of Europe types 0.5; a cell never holds a list.
    if "," in stripped and "." not in stripped and stripped.count(",") == 1:
        stripped = stripped.replace(",", ".")
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError:
        raise CellValueError(f"{text.strip()!r} is not a number or an expression like 1/16") from None
    try:
        value = _evaluate(tree.body)
    except ZeroDivisionError:
        raise CellValueError(f"{text.strip()!r}: division by zero") from None
    except OverflowError:
        raise CellValueError(f"{text.strip()!r} is too large") from None
    if isinstance(value, complex) or not math.isfinite(value):
        raise CellValueError(f"{text.strip()!r} is not a finite number")
    if abs(value) > _FLOAT32_MAX:
        raise CellValueError(f"{text.strip()!r} is outside the float32 range (about ±3.4e38)")
    return float(value)


def _evaluate(node: ast.AST) -> float:
    # Every literal becomes a float first, so 9**9**9 overflows at once instead of computing a
    # huge Python int.
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise CellValueError(f"{node.value!r} is not a number")
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise CellValueError(f"{node.id!r} is not a number (only pi and e are known)")
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPERATORS:
        return _UNARY_OPERATORS[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPERATORS:
        return _BINARY_OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise CellValueError("only numbers, + - * / ** and parentheses are allowed")


def format_cell_value(value: float, significant_digits: int = 4) -> str:
    """Short text for a cell: ``significant_digits`` significant digits, never ``-0``.

    Exponents are written short (``1e-5``, not ``1e-05``): cells are narrow.
    """
    if value == 0:
        return "0"
    text = f"{value:.{significant_digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return "0" if text in ("-0", "0") else text


def exact_cell_text(value: float) -> str:
    """The shortest text that reads back as the same float32 ("-2", "0.1", "1e-05")."""
    if value == 0:
        return "0"
    text = str(np.float32(value))  # numpy prints the shortest round-trip digits
    return text[:-2] if text.endswith(".0") else text


def compact_cell_texts(value: float, significant_digits: int = 4):
    """Ever shorter texts for ``value``, for a cell too narrow for :func:`format_cell_value`.

    For each precision from ``significant_digits`` down to 1, the plain form ("0.00119") and,
    when shorter, the scientific one ("1.19e-3"). The caller takes the first that fits.
    """
    seen = set()
    for digits in range(significant_digits, 0, -1):
        plain = format_cell_value(value, digits)
        candidates = [plain]
        if value != 0:
            mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
            if "." in mantissa:
                mantissa = mantissa.rstrip("0").rstrip(".")
            scientific = f"{mantissa}e{int(exponent)}"
            if len(scientific) < len(plain):
                candidates.append(scientific)
        for text in candidates:
            if text not in seen:
                seen.add(text)
                yield text


def diverging_colour(value: float, max_abs: float) -> QColor:
    """Colour of ``value`` on the app's one diverging scale (``colormaps.diverging_rgb``: blue
    for negative, near-white for zero, red for positive), so a cell and a feature map of the same
    sign and share of the maximum have the same colour.

    Parameters
    ----------
    value : float
        The cell value.
    max_abs : float
        The value that gets the full colour (the slice's max |value|); 0 makes everything neutral.
    """
    return QColor(*(int(c) for c in diverging_rgb(value, max_abs)))


def contrast_text_colour(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background`` (WCAG relative luminance)."""

    def linear(channel: int) -> float:
        c = channel / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    luminance = (
        0.2126 * linear(background.red())
        + 0.7152 * linear(background.green())
        + 0.0722 * linear(background.blue())
    )
    # Contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05); they cross near 0.18.
    return QColor(Qt.GlobalColor.black) if luminance > 0.179 else QColor(Qt.GlobalColor.white)


def anchor_of(rows: int, cols: int) -> tuple[int, int]:
    """The anchor (centre) cell of a ``rows x cols`` kernel: ``(rows // 2, cols // 2)``.

    This is OpenCV's default anchor and what "same" padding implies (docs/semantics.md; the extra
    padding row of an even kernel goes on top, so output pixel i lines up with kernel row k // 2).
    """
    return rows // 2, cols // 2


_LOOK_ROLES = {Qt.ItemDataRole.DisplayRole: 0, Qt.ItemDataRole.BackgroundRole: 1,
               Qt.ItemDataRole.ForegroundRole: 2}


class KernelTableModel(QAbstractTableModel):
    """A 2-D float32 slice served to a ``QTableView``.

    Two presentations:

    * ``"kernel"``: a spatial kernel; headers are offsets from the anchor (-1, 0, 1 for 3 x 3) and
      the anchor cell is bold (the delegate also draws a border around it);
    * ``"mixing"``: the ``Cout x Cin`` matrix of a 1 x 1 convolution; rows are output channels
      ("out 0", ...), columns input channels ("in 0", ... or R, G, B when there are three).

    Its headers, tooltips and messages are made with ``tr()`` when a view asks for them; on a
    language switch the model tells its views that the headers changed (the cells' tooltips are
    asked for again on the next hover).

    Signals
    -------
    cellEdited(int, int, float)
        A committed edit of cell (row, col) with its new value (already in float32 precision).
        Emitted only when the value actually changes.
    invalidInput(str)
        The user's text was refused; the argument says why. The cell keeps its old value.
    """

    cellEdited = Signal(int, int, float)
    invalidInput = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._values = np.zeros((0, 0), dtype=np.float32)
        self._mode = "kernel"
        self._editable = True
        self._max_abs = 0.0
        self._anchor_font = QFont()
        self._anchor_font.setBold(True)
        # (text, background, text colour) per cell: a view asks for each role of each cell on
        # every repaint, and the whole grid repaints whenever the colour scale moves.
        self._looks: dict[tuple[int, int], tuple[str, QColor, QColor]] = {}
        notifier().languageChanged.connect(self._on_language_changed)

    # ----------------------------------------------------------------------------- contents
    def set_values(self, values: np.ndarray, mode: str = "kernel") -> None:
        """Show ``values`` (2-D) in the given mode.

        A same-shape, same-mode update only signals ``dataChanged`` so that the view keeps its
        current cell, selection and scroll position (the owner echoes every edit back through
        here, and a model reset would throw the keyboard cursor away after each Enter).
        """
        if mode not in ("kernel", "mixing"):
            raise ValueError(f"unknown mode {mode!r}")
        values = np.array(values, dtype=np.float32, copy=True)
        if values.ndim != 2:
            raise ValueError(f"a kernel slice must be 2-D, got shape {values.shape}")
        same_layout = values.shape == self._values.shape and mode == self._mode
        self._looks.clear()
        if same_layout:
            self._values = values
            self._max_abs = _max_abs(values)
            if values.size:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(values.shape[0] - 1, values.shape[1] - 1)
                )
            return
        self.beginResetModel()
        self._values = values
        self._mode = mode
        self._max_abs = _max_abs(values)
        self.endResetModel()

    def values(self) -> np.ndarray:
        """A copy of the slice shown, ``(rows, cols) float32``."""
        return self._values.copy()

    def mode(self) -> str:
        """``"kernel"`` or ``"mixing"``."""
        return self._mode

    def max_abs(self) -> float:
        """The max |value| of the slice: the value that gets the full colour."""
        return self._max_abs

    def anchor(self) -> tuple[int, int] | None:
        """The anchor cell in kernel mode, ``None`` in mixing mode or when empty."""
        if self._mode != "kernel" or self._values.size == 0:
            return None
        return anchor_of(*self._values.shape)

    def set_editable(self, editable: bool) -> None:
        """Allow or forbid editing through the view."""
        if bool(editable) == self._editable:
            return  # the owner re-asserts it on every edit: repainting every cell is not free
        self._editable = bool(editable)
        if self._values.size:
            self.dataChanged.emit(
                self.index(0, 0), self.index(self._values.shape[0] - 1, self._values.shape[1] - 1)
            )

    # ----------------------------------------------------------------------------- Qt model API
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._values.shape[0]

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._values.shape[1]

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self._editable:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        value = float(self._values[row, col])
        if role in _LOOK_ROLES:
            look = self._looks.get((row, col))
            if look is None:
                background = diverging_colour(value, self._max_abs)
                look = (format_cell_value(value), background, contrast_text_colour(background))
                self._looks[(row, col)] = look
            return look[_LOOK_ROLES[role]]
        if role == VALUE_ROLE:
            return value
        if role == Qt.ItemDataRole.EditRole:
            # Text (not a float) so that the view opens a line edit that accepts "1/16".
            return exact_cell_text(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.FontRole:
            if self.anchor() == (row, col):
                return self._anchor_font
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col, value)
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole or not self._editable:
            return False
        try:
            if isinstance(value, str):
                number = parse_cell_value(value)
            elif isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
                number = float(value)
                if not math.isfinite(number) or abs(number) > _FLOAT32_MAX:
                    raise CellValueError(f"{number!r} is not a finite float32 number")
            else:
                raise CellValueError(f"{value!r} is not a number")
        except CellValueError as error:
            self.invalidInput.emit(tr("Cell {cell} unchanged: {why}").format(
                cell=self._cell_name(index.row(), index.column()), why=error))
            return False
        row, col = index.row(), index.column()
        number32 = float(np.float32(number))
        if number32 == float(self._values[row, col]):
            return True  # nothing changed: no undo step, no re-render
        self._values[row, col] = number32
        self._looks.pop((row, col), None)
        new_max_abs = _max_abs(self._values)
        if new_max_abs != self._max_abs:
            # The colour scale moved: every cell's colour may change, not just this one.
            self._max_abs = new_max_abs
            self._looks.clear()
            self.dataChanged.emit(
                self.index(0, 0), self.index(self._values.shape[0] - 1, self._values.shape[1] - 1)
            )
        else:
            self.dataChanged.emit(index, index)
        self.cellEdited.emit(row, col, number32)
        return True

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        rows, cols = self._values.shape
        horizontal = orientation == Qt.Orientation.Horizontal
        if self._mode == "mixing":
            if horizontal:
                label = _input_channel_name(section, cols)
                return label if role == Qt.ItemDataRole.DisplayRole else tr("input channel {n} ({label})").format(
                    n=section, label=label)
            if role == Qt.ItemDataRole.DisplayRole:
                return tr("out {n}").format(n=section)
            return tr("output channel {n}").format(n=section)
        anchor_row, anchor_col = anchor_of(rows, cols)
        offset = section - (anchor_col if horizontal else anchor_row)
        if role == Qt.ItemDataRole.DisplayRole:
            return str(offset)
        if horizontal:
            return tr("column {n}: offset {offset} from the anchor (centre) column").format(
                n=section, offset=f"{offset:+d}")
        return tr("row {n}: offset {offset} from the anchor (centre) row").format(n=section, offset=f"{offset:+d}")

    # ----------------------------------------------------------------------------- helpers
    def _on_language_changed(self, _language: str) -> None:
        """The headers' texts are made with tr(): the views ask for them (and their sizes) again."""
        rows, cols = self._values.shape
        if self._mode == "mixing" and rows and cols:  # (a kernel's headers are numbers)
            self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, rows - 1)
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, cols - 1)

    def _cell_name(self, row: int, col: int) -> str:
        if self._mode == "mixing":
            return tr("(out {row}, {input})").format(row=row, input=_input_channel_name(col, self._values.shape[1]))
        anchor_row, anchor_col = anchor_of(*self._values.shape)
        return f"({row - anchor_row:+d}, {col - anchor_col:+d})"

    def _tooltip(self, row: int, col: int, value: float) -> str:
        if self._mode == "mixing":
            name = _input_channel_name(col, self._values.shape[1])
            return tr("out {row} += {value} x {input}").format(row=row, value=exact_cell_text(value), input=name)
        anchor_row, anchor_col = anchor_of(*self._values.shape)
        dy, dx = row - anchor_row, col - anchor_col
        text = tr("w[{row}, {col}] = {value}\noffset (dy, dx) = ({dy}, {dx})").format(
            row=row, col=col, value=exact_cell_text(value), dy=f"{dy:+d}", dx=f"{dx:+d}")
        if (dy, dx) == (0, 0):
            text += tr(" (anchor)")
        return text


def _max_abs(values: np.ndarray) -> float:
    if values.size == 0:
        return 0.0
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0


def _input_channel_name(index: int, count: int) -> str:
    if count == 3:
        return "RGB"[index]
    return tr("in {n}").format(n=index)
