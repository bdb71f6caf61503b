"""The kernel grid editor: a view of one convolution weight, edited cell by cell or by actions.

:class:`KernelEditor` shows a weight given by its owner (the main window's Document) and reports
every user action as the FULL new array through :attr:`KernelEditor.weightEdited`. It never
decides what the layer holds: the owner validates the change, stores it and calls
:meth:`KernelEditor.set_weight` back (which does not emit, so nothing echoes). Until then the
editor shows the edit it reported, so a standalone editor (and the tests) behave sensibly; an owner
that refuses a change calls ``set_weight`` with the old array to undo the display.

The weight comes in the pipeline's two forms:

* ``(kh, kw)``: the ``kernel`` form, one kernel applied to every channel on its own;
* ``(Cout, Cin_g, kh, kw)``: the ``weight`` form. The grid shows one ``(out, in)`` slice, chosen
  with two spin boxes; a ``(Cout, Cin_g, 1, 1)`` weight with more than one entry is shown as its
  ``Cout x Cin_g`` channel-mixing matrix instead (rows: output channels, columns: input channels).

Every action (a cell commit, a preset, normalise, scale, flips, rotate, transpose, randomise,
clear, paste, zeroing selected cells) applies to the slice on screen and emits once; an action that
would change nothing, or that is refused, emits nothing and says why through :attr:`message` and
the status line under the grid. Only a preset may change the shape, and only for the 2-D form:
changing a layer's kernel size belongs to the parameter editor.

The arithmetic (presets, rank, flips, TSV) is :mod:`convstudio.core.kernels`; this module only
wires it to widgets.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    QRect,
    QSignalBlocker,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QKeyEvent, QKeySequence, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLayout,
    QLayoutItem,
    QLineEdit,
    QMenu,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.editing.kernel_model import (
    VALUE_ROLE,
    CellValueError,
    KernelTableModel,
    compact_cell_texts,
    format_cell_value,
    parse_cell_value,
)
from convstudio.core import kernels

__all__ = ["KernelEditor", "KernelTableView", "NO_KERNEL_HINT"]

NO_KERNEL_HINT = "Pooling and activation layers have no kernel."
USAGE_HINT = "Type in a cell to edit it (1/16 works). Right-click for every action; Ctrl+C / Ctrl+V copy and paste."

# Cell side limits in pixels: below MIN the numbers stop being readable, above MAX a 3 x 3 kernel
# looks like a spreadsheet from a children's book.
MIN_CELL_SIDE = 30
MAX_CELL_SIDE = 58
# However small its dock, the grid keeps room for this many rows and columns of MIN_CELL_SIDE
# cells (a whole 5 x 5 kernel); a larger kernel scrolls when the dock cannot give it more.
MIN_VISIBLE_CELLS = 5

# The SVD behind the rank costs about rows * cols * min(rows, cols) steps: a 96 x 96 kernel takes
# milliseconds, a 255 x 255 one more than a second on a slow machine, on every edit.
MAX_RANK_WORK = 96**3


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


class _FlowLayout(QLayout):
    """Lays widgets out left to right and wraps to a new row when out of width.

    The editor's buttons then stay visible in a narrow dock instead of hiding behind a toolbar's
    overflow arrow.
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
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and row_height > 0:
                x, y, row_height = area.x(), y + row_height + self.spacing(), 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self.spacing()
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + margins.bottom()


class _FlowBar(QWidget):
    """The widget holding a :class:`_FlowLayout`: its minimum height follows its width.

    Layouts ask a dock for its minimum size, not for a height for its width, so a bar whose
    buttons wrap to three rows would otherwise be squeezed to one and hide the rest.
    """

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_height()

    def fit_height(self) -> None:
        layout = self.layout()
        if layout is None:
            return
        height = layout.heightForWidth(max(1, self.width()))
        if self.minimumHeight() != height:
            self.setMinimumHeight(height)


class _WrapLabel(QLabel):
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


class KernelEditor(QWidget):
    """Grid editor for a convolution kernel or one slice of a 4-D weight.

    Signals
    -------
    weightEdited(object)
        The FULL new weight (``numpy.ndarray``, float32, same ndim and shape as the one given,
        except that a preset may change the shape of a 2-D kernel), once per user action.
    message(str)
        A one-line status text: what an action did, or why it was refused.
    currentSliceChanged(int, int)
        The ``(out, in)`` slice on screen changed (by the user or by :meth:`set_current_slice`).

    Notes
    -----
    Action methods return ``True`` when they emitted ``weightEdited`` and ``False`` when they
    were refused or would have changed nothing; either way :attr:`message` says what happened.
    """

    weightEdited = Signal(object)
    message = Signal(str)
    currentSliceChanged = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._weight: np.ndarray | None = None
        self._slice = (0, 0)
        self._editable = True

        self._model = KernelTableModel(self)
        self._model.cellEdited.connect(self._on_cell_edited)
        self._model.invalidInput.connect(self._on_invalid_input)

        self._view = KernelTableView(self)
        self._view.setObjectName("kernelGrid")
        self._view.setModel(self._model)
        self._view.setItemDelegate(KernelCellDelegate(self._model, self._view))
        self._view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        # Contiguous selection is always one rectangle, which is what Copy and Delete work on.
        self._view.setSelectionMode(QAbstractItemView.SelectionMode.ContiguousSelection)
        self._view.setTabKeyNavigation(True)
        self._view.setWordWrap(False)
        self._view.setCornerButtonEnabled(False)
        self._view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._view.setMinimumSize(120, 120)  # until a kernel comes (_update_grid_minimum)
        self._view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        for header in (self._view.horizontalHeader(), self._view.verticalHeader()):
            # Fixed sections: sizing to contents would visit every cell of a 255 x 255 kernel.
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setMinimumSectionSize(MIN_CELL_SIDE)
            header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
            header.setHighlightSections(True)
        self._view.copyRequested.connect(self.copy_to_clipboard)
        self._view.pasteRequested.connect(self.paste_from_clipboard)
        self._view.deleteRequested.connect(self.zero_selected_cells)
        self._view.resized.connect(self._update_cell_size)

        self._hint_label = QLabel(NO_KERNEL_HINT)
        self._hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint_label.setWordWrap(True)
        self._hint_label.setEnabled(False)  # greyed: it is a remark, not content

        self._stack = QStackedWidget(self)
        self._stack.addWidget(self._view)
        self._stack.addWidget(self._hint_label)

        self._out_spin = QSpinBox()
        self._out_spin.setToolTip("Output channel whose kernel is shown and edited")
        self._out_spin.valueChanged.connect(self._on_slice_spin_changed)
        self._in_spin = QSpinBox()
        self._in_spin.setToolTip("Input channel (within the group) whose kernel is shown and edited")
        self._in_spin.valueChanged.connect(self._on_slice_spin_changed)
        self._slice_row = QWidget()
        slice_layout = QHBoxLayout(self._slice_row)
        slice_layout.setContentsMargins(0, 0, 0, 0)
        slice_layout.addWidget(QLabel("output channel"))
        slice_layout.addWidget(self._out_spin)
        slice_layout.addSpacing(8)
        slice_layout.addWidget(QLabel("input channel"))
        slice_layout.addWidget(self._in_spin)
        slice_layout.addStretch(1)

        self._shape_label = _WrapLabel()
        self._shape_label.setObjectName("kernelShapeNote")
        self._info_label = _WrapLabel()
        self._info_label.setObjectName("kernelInfo")
        self._info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._status_label = _WrapLabel()
        self._status_label.setObjectName("kernelStatus")

        self._actions: dict[str, QAction] = {}
        self._presets_menu = QMenu("Presets", self)
        self._presets_menu.setToolTipsVisible(True)
        self._build_actions()
        self._toolbar = self._build_toolbar()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self._toolbar)
        layout.addWidget(self._slice_row)
        layout.addWidget(self._shape_label)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self._info_label)
        layout.addWidget(self._status_label)

        self.clear_weight()

    # ================================================================== owner's API
    def set_weight(self, weight: np.ndarray) -> None:
        """Show ``weight`` without emitting :attr:`weightEdited`.

        Parameters
        ----------
        weight : numpy.ndarray
            ``(kh, kw)`` (the ``kernel`` form) or ``(Cout, Cin_g, kh, kw)``; cast to float32. The
            ``(out, in)`` slice on screen is kept when it still exists, else clamped into range.

        Raises
        ------
        ValueError
            If ``weight`` is not 2-D or 4-D or has an empty axis.
        """
        array = np.array(weight, dtype=np.float32, copy=True)
        if self._weight is not None and array.shape == self._weight.shape and np.array_equal(array, self._weight):
            # The owner echoing the edit just reported: the screen already shows it.
            return
        if array.ndim not in (2, 4) or array.size == 0:
            raise ValueError(f"a kernel must be (kh, kw) or (Cout, Cin_g, kh, kw), got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError("a kernel must hold finite numbers only")
        self._weight = array
        weight4 = self._weight4()
        out_index = min(self._slice[0], weight4.shape[0] - 1)
        in_index = min(self._slice[1], weight4.shape[1] - 1)
        previous_slice = self._slice
        self._slice = (out_index, in_index)
        with QSignalBlocker(self._out_spin), QSignalBlocker(self._in_spin):
            self._out_spin.setRange(0, weight4.shape[0] - 1)
            self._in_spin.setRange(0, weight4.shape[1] - 1)
            self._out_spin.setValue(out_index)
            self._in_spin.setValue(in_index)
        self._stack.setCurrentWidget(self._view)
        self._refresh()
        # A kernel from outside (another layer, undo, a new pipeline): the last action's note
        # no longer describes what is on screen.
        self._status_label.setText("")
        self._show_usage_hint()
        if self._slice != previous_slice:
            self.currentSliceChanged.emit(*self._slice)

    def clear_weight(self, hint: str = NO_KERNEL_HINT) -> None:
        """Show that the selected layer has no kernel (``hint`` says why); disables the actions."""
        self._weight = None
        self._hint_label.setText(hint)
        self._stack.setCurrentWidget(self._hint_label)
        self._model.set_values(np.zeros((0, 0), np.float32))
        self._slice_row.setVisible(False)
        self._shape_label.setText("")
        self._info_label.setText("")
        self._status_label.setText("")
        self._update_action_states()

    def set_editable(self, editable: bool) -> None:
        """Allow or forbid changes (viewing, slice selection and Copy still work)."""
        self._editable = bool(editable)
        self._model.set_editable(self._editable)
        self._update_action_states()

    def is_editable(self) -> bool:
        """Whether the user may change the weight."""
        return self._editable

    def weight(self) -> np.ndarray | None:
        """A copy of the weight shown (float32, as given or as last edited), ``None`` if cleared."""
        return None if self._weight is None else self._weight.copy()

    def current_slice(self) -> tuple[int, int]:
        """The ``(out, in)`` slice on screen; ``(0, 0)`` for a 2-D kernel."""
        return self._slice

    def set_current_slice(self, out_channel: int, in_channel: int) -> None:
        """Show the kernel of output channel ``out_channel``, input channel ``in_channel``.

        Raises
        ------
        IndexError
            If there is no such slice.
        """
        if self._weight is None:
            raise IndexError("no weight to choose a slice of")
        cout, cin = self._weight4().shape[:2]
        if not (0 <= out_channel < cout and 0 <= in_channel < cin):
            raise IndexError(f"slice ({out_channel}, {in_channel}) is outside a {cout} x {cin} weight")
        with QSignalBlocker(self._out_spin), QSignalBlocker(self._in_spin):
            self._out_spin.setValue(out_channel)
            self._in_spin.setValue(in_channel)
        self._select_slice(out_channel, in_channel)

    def is_mixing_matrix(self) -> bool:
        """Whether the grid shows the ``Cout x Cin_g`` mixing matrix of a 1 x 1 convolution."""
        if self._weight is None or self._weight.ndim != 4:
            return False
        cout, cin, kh, kw = self._weight.shape
        return kh == 1 and kw == 1 and cout * cin > 1

    def current_values(self) -> np.ndarray | None:
        """A copy of the 2-D array on screen (the slice, or the mixing matrix), ``None`` if cleared."""
        return None if self._weight is None else self._slice_values().copy()

    def actions_by_name(self) -> dict[str, QAction]:
        """The editor's actions, for the main window's Kernel menu.

        Keys: ``normalize``, ``scale``, ``flip_horizontal``, ``flip_vertical``, ``rotate90``,
        ``transpose``, ``randomise``, ``clear``, ``copy``, ``paste``, ``zero_selected``.
        """
        return dict(self._actions)

    def presets_menu(self) -> QMenu:
        """The Presets menu (one submenu per category)."""
        return self._presets_menu

    def table_view(self) -> KernelTableView:
        """The grid widget (for focus handling and tests)."""
        return self._view

    def model(self) -> KernelTableModel:
        """The table model behind the grid."""
        return self._model

    def info_text(self) -> str:
        """The info line: sum, rank / separability, min and max."""
        return self._info_label.text()

    def status_text(self) -> str:
        """The last status message shown under the grid."""
        return self._status_label.text()

    def shape_text(self) -> str:
        """The note on the weight's shape and the slice being edited."""
        return self._shape_label.text()

    # ================================================================== actions on the slice
    def set_cell(self, row: int, col: int, value: float | str) -> bool:
        """Set one cell as if the user typed ``value`` into it (text is parsed like typed text).

        Raises
        ------
        IndexError
            If the cell does not exist.
        """
        if self._weight is None:
            raise IndexError("no weight to edit")
        rows, cols = self._model.rowCount(), self._model.columnCount()
        if not (0 <= row < rows and 0 <= col < cols):
            raise IndexError(f"cell ({row}, {col}) is outside the {rows} x {cols} grid")
        if not self._editable:
            self._say("This layer's kernel is read-only.", error=True)
            return False
        before = self._weight
        accepted = self._model.setData(self._model.index(row, col), value, Qt.ItemDataRole.EditRole)
        return accepted and self._weight is not before

    def apply_preset(self, name: str, **params) -> bool:
        """Replace the slice by preset ``name`` of :data:`convstudio.core.kernels.PRESETS`.

        * A 2-D kernel takes the preset's shape (the one shape change the editor makes).
        * A 4-D weight keeps its shape: the preset must have the layer's spatial size, else
          nothing changes and the message says to change the kernel size first. A preset with
          a ``size`` parameter that the caller leaves out is built at the layer's (square) size,
          so "Gaussian blur" works on any odd-sized layer.
        * A ``kind == "weight"`` preset (a whole ``(out, in, kh, kw)`` weight, e.g. RGB to gray)
          replaces the weight when the shapes are equal.
        """
        if not self._can_edit():
            return False
        try:
            preset = kernels.get_preset(name)
        except KeyError as error:
            self._say(f"Preset not applied: {_error_text(error)}", error=True)
            return False
        label = preset.label
        if getattr(preset, "kind", "kernel") == "weight":
            return self._apply_weight_preset(preset, params)
        current_shape = self._slice_values().shape
        fit_to_layer = (
            self._weight.ndim == 4
            and "size" in preset.params
            and "size" not in params
            and current_shape[0] == current_shape[1]
        )
        if fit_to_layer:
            params = {**params, "size": current_shape[0]}
        try:
            values = preset.make(**params)
        except (ValueError, TypeError) as error:
            if fit_to_layer:
                self._say(
                    f"Preset {label!r} not applied: it cannot be built at the layer's kernel size "
                    f"{_shape_text(current_shape)} ({_error_text(error)}): change the kernel size first.",
                    error=True,
                )
            else:
                self._say(f"Preset {label!r} not applied: {_error_text(error)}", error=True)
            return False
        if self.is_mixing_matrix():
            self._say(
                f"Preset {label!r} not applied: it is a spatial kernel, and this 1 x 1 layer only "
                "mixes channels. Edit the matrix, or change the kernel size first.",
                error=True,
            )
            return False
        if self._weight.ndim == 4 and values.shape != current_shape:
            self._say(
                f"Preset is {_shape_text(values.shape)}, the layer's kernel is "
                f"{_shape_text(current_shape)}: change the kernel size first.",
                error=True,
            )
            return False
        return self._commit_slice(values, f"Preset {label}")

    def _apply_weight_preset(self, preset, params: dict) -> bool:
        try:
            weight = np.asarray(preset.make(**params), dtype=np.float32)
        except (ValueError, TypeError) as error:
            self._say(f"Preset {preset.label!r} not applied: {_error_text(error)}", error=True)
            return False
        if self._weight.ndim != 4 or weight.shape != self._weight.shape:
            layer = (
                f"a single {_shape_text(self._weight.shape)} kernel"
                if self._weight.ndim == 2
                else f"a {_shape_text(self._weight.shape)} weight"
            )
            self._say(
                f"Preset {preset.label!r} not applied: it is a {_shape_text(weight.shape)} weight "
                f"(out x in x kh x kw) and this layer has {layer}. Change the layer's channels "
                "and kernel size first.",
                error=True,
            )
            return False
        if np.array_equal(weight, self._weight):
            self._say(f"Preset {preset.label}: nothing changed.")
            return False
        self._weight = weight.copy()
        self._refresh()
        self._say(f"Preset {preset.label}.")
        self.weightEdited.emit(weight)
        return True

    def normalize(self) -> bool:
        """Divide the slice by its sum (GIMP's "normalise"), so that a flat image keeps its level.

        A zero-sum kernel (an edge detector, say) cannot be normalised and is left as is. For a
        1 x 1 mixing matrix each row (output channel) is divided by its own sum, so that every
        output channel is a weighted average of the inputs.
        """
        if not self._can_edit():
            return False
        values = self._slice_values()
        if self.is_mixing_matrix():
            return self._normalize_rows(values)
        total = float(kernels.kernel_sum(values))
        if abs(total) <= _zero_sum_tolerance(values):
            self._say(
                "Not normalised: the kernel sums to 0 (as edge detectors do), and dividing by the "
                "sum would divide by zero. Left unchanged.",
                error=True,
            )
            return False
        normalised = kernels.normalize_by_sum(values)
        if np.array_equal(normalised, values):
            self._say("Already normalised (the weights sum to 1): nothing changed.")
            return False
        return self._commit_slice(normalised, f"Normalised: divided by the sum, {format_cell_value(total, 6)}")

    def scale_by(self, factor: float) -> bool:
        """Multiply the slice by ``factor`` (what Scale... does after asking for the factor)."""
        if not self._can_edit():
            return False
        factor = float(factor)
        if not np.isfinite(factor):
            self._say(f"Not scaled: {factor} is not a finite number.", error=True)
            return False
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (self._slice_values().astype(np.float64) * factor).astype(np.float32)
        if not np.all(np.isfinite(scaled)):
            self._say(f"Not scaled: multiplying by {factor:g} overflows float32.", error=True)
            return False
        return self._commit_slice(scaled, f"Scaled by {factor:g}")

    def flip_horizontal(self) -> bool:
        """Mirror the slice left-right."""
        return self._apply_transform(kernels.flip_horizontal, "Flipped horizontally")

    def flip_vertical(self) -> bool:
        """Mirror the slice top-bottom."""
        return self._apply_transform(kernels.flip_vertical, "Flipped vertically")

    def rotate90(self) -> bool:
        """Rotate the slice by 90 degrees (square kernels only: the shape must not change)."""
        return self._apply_transform(kernels.rotate90, "Rotated by 90°", square_only="rotate")

    def transpose(self) -> bool:
        """Swap rows and columns of the slice (square kernels only)."""
        return self._apply_transform(kernels.transpose, "Transposed", square_only="transpose")

    def randomise(self, rng: np.random.Generator | None = None) -> bool:
        """Fill the slice with random weights from :func:`convstudio.core.kernels.random_kernel`.

        Parameters
        ----------
        rng : numpy.random.Generator, optional
            Source of randomness; a fresh unseeded generator if omitted (tests pass a seeded one).
        """
        if not self._can_edit():
            return False
        rng = np.random.default_rng() if rng is None else rng
        try:
            values = kernels.random_kernel(self._slice_values().shape, rng=rng)
        except ValueError as error:  # e.g. a mixing matrix wider than the core's 255 limit
            self._say(f"Not randomised: {_error_text(error)}", error=True)
            return False
        return self._commit_slice(values, "Randomised (uniform in [-1, 1])")

    def clear(self) -> bool:
        """Set every weight of the slice to zero (the identity kernel is a preset)."""
        if not self._can_edit():
            return False
        return self._commit_slice(np.zeros_like(self._slice_values()), "Cleared")

    def zero_selected_cells(self) -> bool:
        """Set the selected cells (or the current cell) to zero: the Delete key."""
        if not self._can_edit():
            return False
        block = self._selected_block()
        if block is None:
            index = self._view.currentIndex()
            if not index.isValid():
                return False
            block = (index.row(), index.column(), 1, 1)
        top, left, height, width = block
        values = self._slice_values().copy()
        values[top : top + height, left : left + width] = 0
        return self._commit_slice(values, f"Zeroed {height} x {width} cells" if height * width > 1 else "Zeroed a cell")

    def copy_to_clipboard(self) -> str:
        """Put the selection (2 or more cells) or else the whole slice on the clipboard as TSV.

        Returns
        -------
        str
            The text copied ("" if there is nothing to copy).
        """
        if self._weight is None:
            self._say("Nothing to copy: this layer has no kernel.", error=True)
            return ""
        values = self._slice_values()
        block = self._selected_block()
        if block is not None and block[2] * block[3] > 1:
            top, left, height, width = block
            values = values[top : top + height, left : left + width]
            what = f"{height} x {width} cells"
        else:
            what = f"the {_shape_text(values.shape)} {'matrix' if self.is_mixing_matrix() else 'kernel'}"
        text = kernels.format_tsv(values)
        QApplication.clipboard().setText(text)
        self._say(f"Copied {what} as tab-separated text.")
        return text

    def paste_from_clipboard(self) -> bool:
        """Paste tab-separated numbers from the clipboard; see :meth:`paste_text`."""
        return self.paste_text(QApplication.clipboard().text())

    def paste_text(self, text: str) -> bool:
        """Paste a block of numbers (tab-, comma- or space-separated rows).

        A block of the slice's shape replaces it; a smaller block goes in at the current cell
        (top-left corner there) if it fits; a larger, ragged or non-numeric block is refused with
        a message. Never raises on bad text.
        """
        if not self._can_edit():
            return False
        if not text or not text.strip():
            self._say("Nothing pasted: the clipboard holds no text.", error=True)
            return False
        try:
            block = np.asarray(kernels.parse_tsv(text), dtype=np.float32)
        except (ValueError, TypeError, OverflowError) as error:
            self._say(f"Nothing pasted: {_error_text(error)}", error=True)
            return False
        if block.ndim == 1:
            block = block[np.newaxis, :]
        if block.ndim != 2 or block.size == 0:
            self._say("Nothing pasted: the clipboard does not hold a table of numbers.", error=True)
            return False
        if not np.all(np.isfinite(block)):
            self._say("Nothing pasted: the clipboard holds non-finite numbers.", error=True)
            return False
        values = self._slice_values().copy()
        rows, cols = values.shape
        height, width = block.shape
        if block.shape == values.shape:
            return self._commit_slice(block, f"Pasted a {_shape_text(block.shape)} block")
        if height > rows or width > cols:
            self._say(
                f"Nothing pasted: the clipboard holds a {_shape_text(block.shape)} block, larger than "
                f"the {_shape_text(values.shape)} kernel. Change the kernel size first.",
                error=True,
            )
            return False
        index = self._view.currentIndex()
        top, left = (index.row(), index.column()) if index.isValid() else (0, 0)
        if top + height > rows or left + width > cols:
            self._say(
                f"Nothing pasted: a {_shape_text(block.shape)} block at row {top}, column {left} "
                f"would run past the {_shape_text(values.shape)} kernel. Pick a cell further up or left.",
                error=True,
            )
            return False
        values[top : top + height, left : left + width] = block
        applied = self._commit_slice(values, f"Pasted a {_shape_text(block.shape)} block at row {top}, column {left}")
        if applied:
            self._select_block(top, left, height, width)
        return applied

    # ================================================================== internals
    def _weight4(self) -> np.ndarray:
        # A view, so writes through it land in self._weight.
        assert self._weight is not None
        return self._weight if self._weight.ndim == 4 else self._weight[np.newaxis, np.newaxis]

    def _slice_values(self) -> np.ndarray:
        weight4 = self._weight4()
        if self.is_mixing_matrix():
            return weight4[:, :, 0, 0]
        return weight4[self._slice[0], self._slice[1]]

    def _can_edit(self) -> bool:
        if self._weight is None:
            self._say("This layer has no kernel to edit.", error=True)
            return False
        if not self._editable:
            self._say("This layer's kernel is read-only.", error=True)
            return False
        return True

    def _commit_slice(self, values: np.ndarray, what: str) -> bool:
        """Write ``values`` into the slice on screen, show it and emit the full weight once."""
        assert self._weight is not None
        values = np.asarray(values, dtype=np.float32)
        current = self._slice_values()
        if values.shape == current.shape and np.array_equal(values, current):
            self._say(f"{what}: nothing changed.")
            return False
        if values.shape != current.shape:
            # Only a preset on the 2-D form gets here (the callers refuse the other cases).
            if self._weight.ndim != 2:
                raise AssertionError("shape change of a 4-D weight reached _commit_slice")
            new_weight = values.copy()
            self._weight = new_weight
        else:
            # Copy first: the array emitted last time may be held by the owner (and its undo
            # stack), so it is never written to; _slice_values() is a view into the copy.
            self._weight = self._weight.copy()
            self._slice_values()[...] = values
            new_weight = self._weight
        self._refresh()
        self._say(f"{what}.")
        self.weightEdited.emit(new_weight.copy())
        return True

    def _apply_transform(self, transform: Callable[[np.ndarray], np.ndarray], what: str, square_only: str = "") -> bool:
        if not self._can_edit():
            return False
        values = self._slice_values()
        if square_only and values.shape[0] != values.shape[1]:
            self._say(
                f"Cannot {square_only} a {_shape_text(values.shape)} "
                f"{'matrix' if self.is_mixing_matrix() else 'kernel'}: it would change its shape.",
                error=True,
            )
            return False
        return self._commit_slice(np.asarray(transform(values), dtype=np.float32), what)

    def _normalize_rows(self, matrix: np.ndarray) -> bool:
        sums = matrix.astype(np.float64).sum(axis=1)
        tolerance = _zero_sum_tolerance(matrix)
        zero_rows = [int(i) for i in np.flatnonzero(np.abs(sums) <= tolerance)]
        normalised = matrix.astype(np.float64).copy()
        rows_to_scale = np.abs(sums) > tolerance
        normalised[rows_to_scale] /= sums[rows_to_scale, np.newaxis]
        what = "Normalised each output channel (row) to sum 1"
        if zero_rows:
            shown = ", ".join(str(i) for i in zero_rows[:8]) + (", ..." if len(zero_rows) > 8 else "")
            what += f"; rows summing to 0 left unchanged: out {shown}"
        if len(zero_rows) == matrix.shape[0]:
            self._say("Not normalised: every output channel's weights sum to 0. Left unchanged.", error=True)
            return False
        return self._commit_slice(normalised.astype(np.float32), what)

    def _select_slice(self, out_channel: int, in_channel: int) -> None:
        if (out_channel, in_channel) == self._slice:
            return
        self._slice = (out_channel, in_channel)
        self._refresh()
        self.currentSliceChanged.emit(out_channel, in_channel)

    def _refresh(self) -> None:
        """Push the weight to the model and update the notes, the info line and the cell size."""
        if self._weight is None:
            return
        mixing = self.is_mixing_matrix()
        values = self._slice_values()
        self._model.set_values(values, "mixing" if mixing else "kernel")
        cout, cin = self._weight4().shape[:2]
        self._slice_row.setVisible(self._weight.ndim == 4 and not mixing and cout * cin > 1)
        self._shape_label.setText(self._describe_shape())
        self._info_label.setText(self._describe_values(values, mixing))
        self._update_grid_minimum()
        self._update_cell_size()
        self._update_action_states()

    def _describe_shape(self) -> str:
        assert self._weight is not None
        if self._weight.ndim == 2:
            kh, kw = self._weight.shape
            return f"kernel {kh} x {kw}, applied to each channel on its own"
        cout, cin, kh, kw = self._weight.shape
        shape = f"weight {cout} x {cin} x {kh} x {kw}"
        if self.is_mixing_matrix():
            return f"{shape}: a 1 x 1 convolution mixes channels (rows: output, columns: input)"
        return f"{shape} (editing out {self._slice[0]}, in {self._slice[1]})"

    def _describe_values(self, values: np.ndarray, mixing: bool) -> str:
        if mixing:
            # What matters for a mixing matrix is what each output channel adds up to.
            row_sums = values.astype(np.float64).sum(axis=1)
            shown = ", ".join(format_cell_value(float(v), 4) for v in row_sums[:8])
            parts = [f"row sums {shown}{', ...' if len(row_sums) > 8 else ''}"]
        else:
            total = float(kernels.kernel_sum(values))
            if total != 0 and abs(total) <= _zero_sum_tolerance(values):
                parts = ["sum ≈ 0"]  # float32 rounding noise, as in a Laplacian of Gaussian
            else:
                parts = [f"sum {format_cell_value(total, 6)}"]
        rows, cols = values.shape
        if rows * cols * min(rows, cols) > MAX_RANK_WORK:
            parts.append("rank not computed (too large)")
        else:
            rank = int(kernels.kernel_rank(values))
            if mixing:
                parts.append(f"rank {rank}")
            elif rank <= 1:
                parts.append("separable" if rank == 1 else "rank 0 (all zero)")
            else:
                parts.append(f"not separable (rank {rank})")
        parts.append(f"min {format_cell_value(float(values.min()), 6)}")
        parts.append(f"max {format_cell_value(float(values.max()), 6)}")
        return " · ".join(parts)

    def _update_grid_minimum(self) -> None:
        """Room for up to MIN_VISIBLE_CELLS rows and columns of the smallest cells, headers and
        the scroll bars that a larger kernel needs at that size."""
        rows, cols = self._model.rowCount(), self._model.columnCount()
        if rows == 0 or cols == 0:
            return
        view = self._view
        frame = 2 * view.frameWidth()
        bar = view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, view)
        shown_rows, shown_cols = min(rows, MIN_VISIBLE_CELLS), min(cols, MIN_VISIBLE_CELLS)
        width = (view.verticalHeader().sizeHint().width() + shown_cols * MIN_CELL_SIDE + frame
                 + (bar if rows > shown_rows else 0))
        height = (view.horizontalHeader().sizeHint().height() + shown_rows * MIN_CELL_SIDE + frame
                  + (bar if cols > shown_cols else 0))
        size = QSize(max(120, width), max(120, height))
        if view.minimumSize() != size:
            view.setMinimumSize(size)

    def _update_cell_size(self) -> None:
        """Square cells as large as fit (within limits); fewer digits when cells are small."""
        rows, cols = self._model.rowCount(), self._model.columnCount()
        if rows == 0 or cols == 0:
            return
        frame = 2 * self._view.frameWidth()
        vertical_header = self._view.verticalHeader()
        horizontal_header = self._view.horizontalHeader()
        available_width = self._view.width() - vertical_header.sizeHint().width() - frame
        available_height = self._view.height() - horizontal_header.sizeHint().height() - frame
        # A kernel that does not fit even in the smallest cells scrolls: its scroll bar takes
        # room from the other direction.
        bar = self._view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self._view)
        if rows * MIN_CELL_SIDE > available_height:
            available_width -= bar
        if cols * MIN_CELL_SIDE > available_width:
            available_height -= bar
        side = min(available_width // cols, available_height // rows)
        side = max(MIN_CELL_SIDE, min(MAX_CELL_SIDE, side))
        if horizontal_header.defaultSectionSize() != side:
            horizontal_header.setDefaultSectionSize(side)
        if vertical_header.defaultSectionSize() != side:
            vertical_header.setDefaultSectionSize(side)
        # Small cells get a smaller font, so that "-0.25" still fits in a 30 px cell.
        font = self.font()
        if side < 42:
            font.setPointSizeF(font.pointSizeF() * 0.85)
        if self._view.font() != font:
            self._view.setFont(font)

    def _update_action_states(self) -> None:
        has_weight = self._weight is not None
        can_edit = has_weight and self._editable
        for name, action in self._actions.items():
            action.setEnabled(has_weight if name == "copy" else can_edit)
        self._presets_menu.setEnabled(can_edit)
        if has_weight:
            square = self._slice_values().shape[0] == self._slice_values().shape[1]
            self._actions["rotate90"].setEnabled(can_edit and square)
            self._actions["transpose"].setEnabled(can_edit and square)

    def _selected_block(self) -> tuple[int, int, int, int] | None:
        """(top, left, height, width) of the selection if it is one rectangle, else ``None``."""
        selection = self._view.selectionModel().selection()
        if len(selection) != 1:
            return None
        selected_range = selection[0]
        return (selected_range.top(), selected_range.left(), selected_range.height(), selected_range.width())

    def _select_block(self, top: int, left: int, height: int, width: int) -> None:
        selection = QItemSelection(self._model.index(top, left), self._model.index(top + height - 1, left + width - 1))
        self._view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def _say(self, text: str, *, error: bool = False) -> None:
        self._status_label.setText(text)
        # A muted red for refusals, so that "nothing happened" is noticed without a dialog.
        style = "color: #a01c1c;" if error else ""
        if self._status_label.styleSheet() != style:  # (restyling a widget is not free)
            self._status_label.setStyleSheet(style)
        self.message.emit(text)

    def _show_usage_hint(self) -> None:
        """Until the first action, the status line says how to edit (in grey; not a message)."""
        if self._status_label.text():
            return
        self._status_label.setText(USAGE_HINT)
        self._status_label.setStyleSheet("color: palette(placeholder-text);")

    # ================================================================== building the widgets
    def _build_actions(self) -> None:
        def add(name: str, text: str, tip: str, slot: Callable[[], object], shortcut=None) -> QAction:
            action = QAction(text, self)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False: slot())
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
                # The grid handles these keys itself (see KernelTableView); the shortcut here is
                # only shown in menus, so it must not compete with the main window's Copy / Paste.
                action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self._actions[name] = action
            return action

        add("normalize", "Normalise",
            "Divide by the sum so that the weights add up to 1 (GIMP's Normalise)", self.normalize)
        add("scale", "Scale…", "Multiply every weight by a factor", self._on_scale_triggered)
        add("flip_horizontal", "Flip ↔", "Mirror the kernel left-right", self.flip_horizontal)
        add("flip_vertical", "Flip ↕", "Mirror the kernel top-bottom", self.flip_vertical)
        add("rotate90", "Rotate 90°", "Rotate the kernel by 90 degrees (square kernels)", self.rotate90)
        add("transpose", "Transpose", "Swap rows and columns (square kernels)", self.transpose)
        add("randomise", "Random", "Fill with random weights", self.randomise)
        add("clear", "Clear", "Set every weight to 0 (the identity kernel is a preset)", self.clear)
        add("copy", "Copy", "Copy the selected cells, or the whole kernel, as tab-separated text",
            self.copy_to_clipboard, QKeySequence.StandardKey.Copy)
        add("paste", "Paste", "Paste tab-separated numbers: a whole kernel, or a smaller block at the current cell",
            self.paste_from_clipboard, QKeySequence.StandardKey.Paste)
        add("zero_selected", "Zero selected cells", "Set the selected cells (or the current cell) to 0",
            self.zero_selected_cells, QKeySequence.StandardKey.Delete)
        self._build_presets_menu()
        # Right-click on the grid offers everything.
        self._view.addAction(self._presets_menu.menuAction())
        for action in self._actions.values():
            self._view.addAction(action)

    def _build_presets_menu(self) -> None:
        # PRESETS is already in display order, grouped by category.
        by_category: dict[str, list] = {}
        for name, preset in kernels.PRESETS.items():
            by_category.setdefault(preset.category, []).append((name, preset))
        for category, entries in by_category.items():
            submenu = self._presets_menu.addMenu(category)
            submenu.setToolTipsVisible(True)
            for name, preset in entries:
                action = submenu.addAction(preset.label)
                description = preset.description
                action.setToolTip(description)
                action.setStatusTip(description)
                action.setData(name)
                action.triggered.connect(
                    lambda _checked=False, preset_name=name: self._on_preset_triggered(preset_name))

    def _build_toolbar(self) -> QWidget:
        toolbar = _FlowBar(self)
        toolbar.setObjectName("kernelActions")
        # Slim buttons: all eleven fit in two rows of a dock about 360 px wide.
        toolbar.setStyleSheet("QToolButton { padding: 2px 3px; }")
        flow = _FlowLayout(toolbar, spacing=1)
        presets_button = QToolButton(toolbar)
        presets_button.setText("Presets")
        presets_button.setToolTip("Replace the kernel by a classic one (blur, sharpen, edges, ...)")
        presets_button.setMenu(self._presets_menu)
        presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        presets_button.setAutoRaise(True)
        flow.addWidget(presets_button)
        for name in ("normalize", "scale", "flip_horizontal", "flip_vertical", "rotate90", "transpose",
                     "randomise", "clear"):
            button = QToolButton(toolbar)
            button.setDefaultAction(self._actions[name])
            button.setAutoRaise(True)
            flow.addWidget(button)
        # Copy and Paste live on Ctrl+C / Ctrl+V and the right-click menu; a button row of their
        # own would cost the grid a line of height in a narrow dock.
        more_menu = QMenu("More", self)
        more_menu.setToolTipsVisible(True)
        for name in ("copy", "paste", "zero_selected"):
            more_menu.addAction(self._actions[name])
        more_button = QToolButton(toolbar)
        more_button.setText("More")
        more_button.setToolTip("Copy, paste, zero the selected cells")
        more_button.setMenu(more_menu)
        more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        more_button.setAutoRaise(True)
        flow.addWidget(more_button)
        return toolbar

    # ================================================================== handlers
    def _on_cell_edited(self, row: int, col: int, value: float) -> None:
        assert self._weight is not None
        new_weight = self._weight.copy()
        self._weight = new_weight
        self._slice_values()[row, col] = value
        # The model already shows the value; only the notes need updating.
        self._info_label.setText(self._describe_values(self._slice_values(), self.is_mixing_matrix()))
        self._say(f"Set cell {self._cell_label(row, col)} to {format_cell_value(value, 7)}.")
        self.weightEdited.emit(new_weight.copy())

    def _on_invalid_input(self, text: str) -> None:
        self._say(text, error=True)

    def _on_slice_spin_changed(self, _value: int) -> None:
        self._select_slice(self._out_spin.value(), self._in_spin.value())

    def _on_preset_triggered(self, name: str) -> None:
        self.apply_preset(name)

    def _on_scale_triggered(self) -> None:
        text, accepted = QInputDialog.getText(
            self, "Scale kernel", "Multiply every weight by (e.g. 2, 0.5, 1/9):", text="2"
        )
        if not accepted:
            return
        try:
            factor = parse_cell_value(text)
        except CellValueError as error:
            self._say(f"Not scaled: {error}", error=True)
            return
        self.scale_by(factor)

    def _cell_label(self, row: int, col: int) -> str:
        if self.is_mixing_matrix():
            return f"(out {row}, in {col})"
        anchor_row, anchor_col = self._model.anchor() or (0, 0)
        return f"({row - anchor_row:+d}, {col - anchor_col:+d})"


def _shape_text(shape: tuple[int, ...]) -> str:
    return " x ".join(str(n) for n in shape)


def _error_text(error: BaseException) -> str:
    text = str(error)
    if isinstance(error, KeyError) and len(error.args) == 1 and isinstance(error.args[0], str):
        text = error.args[0]
    # The core prefixes its messages with the function name ("parse_tsv: row 2 ..."); the user
    # did not call a function.
    text = re.sub(r"^[a-z_0-9]+: ", "", text)
    return text or type(error).__name__


def _zero_sum_tolerance(values: np.ndarray) -> float:
    # A kernel whose sum is float32 noise relative to its weights (e.g. a Laplacian of 1/3 steps)
    # is a zero-sum kernel; dividing by that noise would blow it up by 1e7.
    return float(np.abs(values).astype(np.float64).sum()) * 1e-6
