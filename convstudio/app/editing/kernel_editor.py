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
wires it to widgets. The actions live in :mod:`convstudio.app.editing.kernel_actions`, the grid's
view and delegate in :mod:`convstudio.app.editing.kernel_grid`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.editing.kernel_actions import KernelActionsMixin, _zero_sum_tolerance
from convstudio.app.editing.kernel_grid import (
    MIN_CELL_SIDE,
    MIN_VISIBLE_CELLS,
    KernelCellDelegate,
    KernelTableView,
    WrapLabel,
    cell_side_limits,
)
from convstudio.app.editing.kernel_model import KernelTableModel, format_cell_value
from convstudio.app.i18n import made_at_run_time, notifier, tr
from convstudio.app.model.throttle import Debouncer
from convstudio.core import kernels

__all__ = ["KernelEditor", "KernelTableView", "NO_KERNEL_HINT"]

NO_KERNEL_HINT = "Pooling and activation layers have no kernel."
USAGE_HINT = "Type in a cell to edit it (1/16 works). Right-click for every action; Ctrl+C / Ctrl+V copy and paste."

# The SVD behind the rank costs about rows * cols * min(rows, cols) steps: a 96 x 96 kernel takes
# milliseconds, a 255 x 255 one more than a second on a slow machine, on every edit.
MAX_RANK_WORK = 96**3


class KernelEditor(KernelActionsMixin, QWidget):
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
        notifier().languageChanged.connect(self._on_language_changed)
        # The cell size again once a language switch or a font change has reached the headers
        # and the labels around the grid (they change the room the grid has, on the next turn).
        self._cell_size_later = Debouncer(0, parent=self)
        self._cell_size_later.triggered.connect(self._update_cell_layout)

        self._view = self._build_grid_view()

        self._hint_label = QLabel(NO_KERNEL_HINT)
        self._hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint_label.setWordWrap(True)
        self._hint_label.setEnabled(False)  # greyed: it is a remark, not content
        made_at_run_time(self._hint_label)  # (the window sets it again on languageChanged)

        self._stack = QStackedWidget(self)
        self._stack.addWidget(self._view)
        self._stack.addWidget(self._hint_label)

        self._slice_row = self._build_slice_row()

        self._shape_label = WrapLabel()
        self._shape_label.setObjectName("kernelShapeNote")
        self._info_label = WrapLabel()
        self._info_label.setObjectName("kernelInfo")
        self._info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._status_label = WrapLabel()
        self._status_label.setObjectName("kernelStatus")

        self._actions: dict[str, QAction] = {}
        self._presets_menu = QMenu("Presets", self)
        self._presets_menu.setToolTipsVisible(True)
        for label in (self._shape_label, self._info_label, self._status_label):
            made_at_run_time(label)  # (made again in _on_language_changed)
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

    def _build_grid_view(self) -> KernelTableView:
        """The grid, wired to the model and to the editor's Copy / Paste / Delete."""
        view = KernelTableView(self)
        view.setObjectName("kernelGrid")
        view.setModel(self._model)
        view.setItemDelegate(KernelCellDelegate(self._model, view))
        view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        # Contiguous selection is always one rectangle, which is what Copy and Delete work on.
        view.setSelectionMode(QAbstractItemView.SelectionMode.ContiguousSelection)
        view.setTabKeyNavigation(True)
        view.setWordWrap(False)
        view.setCornerButtonEnabled(False)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        view.setMinimumSize(120, 120)  # until a kernel comes (_update_grid_minimum)
        view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        for header in (view.horizontalHeader(), view.verticalHeader()):
            # Fixed sections: sizing to contents would visit every cell of a 255 x 255 kernel.
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setMinimumSectionSize(MIN_CELL_SIDE)
            header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
            header.setHighlightSections(True)
        view.copyRequested.connect(self.copy_to_clipboard)
        view.pasteRequested.connect(self.paste_from_clipboard)
        view.deleteRequested.connect(self.zero_selected_cells)
        view.resized.connect(self._update_cell_size)
        return view

    def _build_slice_row(self) -> QWidget:
        """The "output channel / input channel" spin boxes of a 4-D weight."""
        self._out_spin = QSpinBox()
        self._out_spin.setToolTip("Output channel whose kernel is shown and edited")
        self._out_spin.valueChanged.connect(self._on_slice_spin_changed)
        self._in_spin = QSpinBox()
        self._in_spin.setToolTip("Input channel (within the group) whose kernel is shown and edited")
        self._in_spin.valueChanged.connect(self._on_slice_spin_changed)
        row = QWidget()
        slice_layout = QHBoxLayout(row)
        slice_layout.setContentsMargins(0, 0, 0, 0)
        slice_layout.addWidget(QLabel("output channel"))
        slice_layout.addWidget(self._out_spin)
        slice_layout.addSpacing(8)
        slice_layout.addWidget(QLabel("input channel"))
        slice_layout.addWidget(self._in_spin)
        slice_layout.addStretch(1)
        return row

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
        self._status_label.setProperty("usage_hint", False)
        self._show_usage_hint()
        if self._slice != previous_slice:
            self.currentSliceChanged.emit(*self._slice)

    def clear_weight(self, hint: str = NO_KERNEL_HINT) -> None:
        """Show that the selected layer has no kernel (``hint`` says why); disables the actions."""
        self._weight = None
        self._hint_label.setText(tr(NO_KERNEL_HINT) if hint == NO_KERNEL_HINT else hint)
        self._hint_label.setProperty("default_hint", hint == NO_KERNEL_HINT)
        self._stack.setCurrentWidget(self._hint_label)
        self._model.set_values(np.zeros((0, 0), np.float32))
        self._slice_row.setVisible(False)
        self._shape_label.setText("")
        self._info_label.setText("")
        self._status_label.setText("")
        self._status_label.setProperty("usage_hint", False)
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
            self._say(tr("This layer has no kernel to edit."), error=True)
            return False
        if not self._editable:
            self._say(tr("This layer's kernel is read-only."), error=True)
            return False
        return True

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
            return tr("kernel {kh} x {kw}, applied to each channel on its own").format(kh=kh, kw=kw)
        cout, cin, kh, kw = self._weight.shape
        shape = tr("weight {cout} x {cin} x {kh} x {kw}").format(cout=cout, cin=cin, kh=kh, kw=kw)
        if self.is_mixing_matrix():
            return tr("{shape}: a 1 x 1 convolution mixes channels (rows: output, columns: input)").format(shape=shape)
        return tr("{shape} (editing out {o}, in {i})").format(shape=shape, o=self._slice[0], i=self._slice[1])

    def _describe_values(self, values: np.ndarray, mixing: bool) -> str:
        if mixing:
            # What matters for a mixing matrix is what each output channel adds up to.
            row_sums = values.astype(np.float64).sum(axis=1)
            shown = ", ".join(format_cell_value(float(v), 4) for v in row_sums[:8])
            parts = [tr("row sums {sums}").format(sums=shown + (", ..." if len(row_sums) > 8 else ""))]
        else:
            total = float(kernels.kernel_sum(values))
            if total != 0 and abs(total) <= _zero_sum_tolerance(values):
                parts = [tr("sum ≈ 0")]  # float32 rounding noise, as in a Laplacian of Gaussian
            else:
                parts = [tr("sum {v}").format(v=format_cell_value(total, 6))]
        rows, cols = values.shape
        if rows * cols * min(rows, cols) > MAX_RANK_WORK:
            parts.append(tr("rank not computed (too large)"))
        else:
            rank = int(kernels.kernel_rank(values))
            if mixing:
                parts.append(tr("rank {rank}").format(rank=rank))
            elif rank <= 1:
                parts.append(tr("separable") if rank == 1 else tr("rank 0 (all zero)"))
            else:
                parts.append(tr("not separable (rank {rank})").format(rank=rank))
        parts.append(tr("min {v}").format(v=format_cell_value(float(values.min()), 6)))
        parts.append(tr("max {v}").format(v=format_cell_value(float(values.max()), 6)))
        return " · ".join(parts)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # the cell limits follow the font
            self._update_cell_layout()
            self._cell_size_later.trigger()  # (and the headers' new size hints)

    def _update_cell_layout(self) -> None:
        self._update_grid_minimum()
        self._update_cell_size()

    def _update_grid_minimum(self) -> None:
        """Room for up to MIN_VISIBLE_CELLS rows and columns of the smallest cells, headers and
        the scroll bars that a larger kernel needs at that size: rows of MIN_CELL_SIDE at any font
        (a larger font's taller cells come where the dock has room, without growing the window),
        columns as wide as the font's smallest cells (docks have width to spare, and a number
        written in a large font needs it)."""
        rows, cols = self._model.rowCount(), self._model.columnCount()
        if rows == 0 or cols == 0:
            return
        view = self._view
        frame = 2 * view.frameWidth()
        bar = view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, view)
        shown_rows, shown_cols = min(rows, MIN_VISIBLE_CELLS), min(cols, MIN_VISIBLE_CELLS)
        narrowest = cell_side_limits(self.font())[0]
        width = (view.verticalHeader().sizeHint().width() + shown_cols * narrowest + frame
                 + (bar if rows > shown_rows else 0))
        height = (view.horizontalHeader().sizeHint().height() + shown_rows * MIN_CELL_SIDE + frame
                  + (bar if cols > shown_cols else 0))
        size = QSize(max(120, width), max(120, height))
        if view.minimumSize() != size:
            view.setMinimumSize(size)

    def _update_cell_size(self) -> None:
        """Cells as large as fit, within limits that grow with the font (see
        :func:`~convstudio.app.editing.kernel_grid.cell_side_limits`): rows as tall as the height
        allows, columns as wide as the width allows, never narrower than tall (a dock short of
        height but wide gives its width to the numbers: "-0.2987" rather than "-0.3"). The
        delegate writes fewer digits where a number still does not fit."""
        rows, cols = self._model.rowCount(), self._model.columnCount()
        if rows == 0 or cols == 0:
            return
        view = self._view
        smallest, largest, small_font = cell_side_limits(self.font())
        frame = 2 * view.frameWidth()
        vertical_header = view.verticalHeader()
        horizontal_header = view.horizontalHeader()
        available_width = view.width() - vertical_header.sizeHint().width() - frame
        available_height = view.height() - horizontal_header.sizeHint().height() - frame
        lowest = narrowest = smallest
        if rows <= MIN_VISIBLE_CELLS and cols <= MIN_VISIBLE_CELLS:
            # The grid keeps room for such a kernel (_update_grid_minimum): it is shown whole,
            # in rows lower than the font's smallest cells where it has no more height (columns
            # too if the layout squeezes the grid below its minimum).
            lowest = min(smallest, max(MIN_CELL_SIDE, available_height // rows))
            narrowest = min(smallest, max(MIN_CELL_SIDE, available_width // cols))
        # A kernel that does not fit even in the smallest cells scrolls: its scroll bar takes
        # room from the other direction.
        bar = view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, view)
        if rows * lowest > available_height:
            available_width -= bar
        if cols * narrowest > available_width:
            available_height -= bar
        width = max(narrowest, min(largest, available_width // cols))
        height = max(lowest, min(largest, available_height // rows, width))
        changed = False
        if horizontal_header.defaultSectionSize() != width:
            horizontal_header.setDefaultSectionSize(width)
            changed = True
        if vertical_header.defaultSectionSize() != height:
            vertical_header.setDefaultSectionSize(height)
            changed = True
        # Narrow cells get a smaller font, so that "-0.25" still fits in a 30 px cell (at 9 pt).
        font = self.font()
        if width < small_font:
            font.setPointSizeF(font.pointSizeF() * 0.85)
        if view.font() != font:
            view.setFont(font)
        if changed:
            # The scroll bars follow the new sections now: Qt's own update (a timer started by
            # sectionResized) does not always come after a resize that shrank the grid, which
            # left a scroll bar on a grid that fits (and its last row cut).
            view.updateGeometries()

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
        self._status_label.setProperty("usage_hint", False)
        # A muted red for refusals, so that "nothing happened" is noticed without a dialog.
        style = "color: #a01c1c;" if error else ""
        if self._status_label.styleSheet() != style:  # (restyling a widget is not free)
            self._status_label.setStyleSheet(style)
        self.message.emit(text)

    def _show_usage_hint(self) -> None:
        """Until the first action, the status line says how to edit (in grey; not a message)."""
        if self._status_label.text():
            return
        self._status_label.setText(tr(USAGE_HINT))
        self._status_label.setProperty("usage_hint", True)  # (until the first message replaces it)
        self._status_label.setStyleSheet("color: palette(placeholder-text);")

    # ================================================================== handlers
    def _on_cell_edited(self, row: int, col: int, value: float) -> None:
        assert self._weight is not None
        new_weight = self._weight.copy()
        self._weight = new_weight
        self._slice_values()[row, col] = value
        # The model already shows the value; only the notes need updating.
        self._info_label.setText(self._describe_values(self._slice_values(), self.is_mixing_matrix()))
        self._say(tr("Set cell {cell} to {value}.").format(cell=self._cell_label(row, col),
                                                          value=format_cell_value(value, 7)))
        self.weightEdited.emit(new_weight.copy())

    def _on_language_changed(self, _language: str) -> None:
        """The notes made here, again in the new language (docs/developing.md, "Translations")."""
        if self._hint_label.property("default_hint"):
            self._hint_label.setText(tr(NO_KERNEL_HINT))
        if self._weight is not None:
            self._shape_label.setText(self._describe_shape())
            self._info_label.setText(self._describe_values(self._slice_values(), self.is_mixing_matrix()))
        if self._status_label.property("usage_hint"):
            self._status_label.setText(tr(USAGE_HINT))
        # The notes above changed height (and the headers may follow another font): the grid's
        # room changes once the layout has run.
        self._cell_size_later.trigger()

    def _on_invalid_input(self, text: str) -> None:
        self._say(text, error=True)

    def _on_slice_spin_changed(self, _value: int) -> None:
        self._select_slice(self._out_spin.value(), self._in_spin.value())

    def _cell_label(self, row: int, col: int) -> str:
        if self.is_mixing_matrix():
            return tr("(out {row}, in {col})").format(row=row, col=col)
        anchor_row, anchor_col = self._model.anchor() or (0, 0)
        return f"({row - anchor_row:+d}, {col - anchor_col:+d})"

