"""The kernel editor's actions: presets, normalise, scale, flips, rotate, transpose, random, clear,
zeroing cells, copy and paste, and the action objects, menus and buttons that trigger them.

:class:`KernelActionsMixin` is mixed into :class:`~convstudio.app.editing.kernel_editor.KernelEditor`;
it works on the editor's slice on screen (``_slice_values``), reports through ``_say`` and emits
``weightEdited`` once per action that changed something (see the editor's module docstring). The
arithmetic is :mod:`convstudio.core.kernels`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu, QToolButton, QWidget

from convstudio.app.editing.kernel_grid import FlowBar, FlowLayout
from convstudio.app.editing.kernel_model import CellValueError, format_cell_value, parse_cell_value
from convstudio.app.i18n import known, tr
from convstudio.core import kernels
from convstudio.core.formatting import format_shape

__all__ = ["KernelActionsMixin"]


class KernelActionsMixin:
    """The actions of :class:`~convstudio.app.editing.kernel_editor.KernelEditor`.

    Every action method returns ``True`` when it emitted ``weightEdited`` and ``False`` when it
    was refused or would have changed nothing; either way ``message`` says what happened. The
    mixin relies on the editor's state (``_weight``, ``_editable``, ``_model``, ``_view``,
    ``_actions``, ``_presets_menu``) and helpers (``_slice_values``, ``_refresh``, ``_say``,
    ``_can_edit``, ``_selected_block``, ``_select_block``, ``is_mixing_matrix``).
    """

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
            self._say(tr("This layer's kernel is read-only."), error=True)
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
            self._say(tr("Preset not applied: {why}").format(why=_error_text(error)), error=True)
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
                    tr("Preset {label} not applied: it cannot be built at the layer's kernel size "
                       "{shape} ({why}): change the kernel size first.").format(
                        label=_label_text(label), shape=_shape_text(current_shape), why=_error_text(error)),
                    error=True,
                )
            else:
                self._say(tr("Preset {label} not applied: {why}").format(
                    label=_label_text(label), why=_error_text(error)), error=True)
            return False
        if self.is_mixing_matrix():
            self._say(
                tr("Preset {label} not applied: it is a spatial kernel, and this 1 x 1 layer only "
                   "mixes channels. Edit the matrix, or change the kernel size first.").format(
                    label=_label_text(label)),
                error=True,
            )
            return False
        if self._weight.ndim == 4 and values.shape != current_shape:
            self._say(
                tr("Preset is {shape}, the layer's kernel is {kernel}: change the kernel size first.").format(
                    shape=_shape_text(values.shape), kernel=_shape_text(current_shape)),
                error=True,
            )
            return False
        return self._commit_slice(values, tr("Preset {label}").format(label=known(label)))

    def _apply_weight_preset(self, preset, params: dict) -> bool:
        try:
            weight = np.asarray(preset.make(**params), dtype=np.float32)
        except (ValueError, TypeError) as error:
            self._say(tr("Preset {label} not applied: {why}").format(
                label=_label_text(preset.label), why=_error_text(error)), error=True)
            return False
        if self._weight.ndim != 4 or weight.shape != self._weight.shape:
            layer = (
                tr("a single {shape} kernel") if self._weight.ndim == 2 else tr("a {shape} weight")
            ).format(shape=_shape_text(self._weight.shape))
            self._say(
                tr("Preset {label} not applied: it is a {shape} weight (out x in x kh x kw) and this "
                   "layer has {layer}. Change the layer's channels and kernel size first.").format(
                    label=_label_text(preset.label), shape=_shape_text(weight.shape), layer=layer),
                error=True,
            )
            return False
        what = tr("Preset {label}").format(label=known(preset.label))
        if np.array_equal(weight, self._weight):
            self._say(tr("{what}: nothing changed.").format(what=what))
            return False
        self._weight = weight.copy()
        self._refresh()
        self._say(tr("{what}.").format(what=what))
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
                tr("Not normalised: the kernel sums to 0 (as edge detectors do), and dividing by the "
                   "sum would divide by zero. Left unchanged."),
                error=True,
            )
            return False
        normalised = kernels.normalize_by_sum(values)
        if np.array_equal(normalised, values):
            self._say(tr("Already normalised (the weights sum to 1): nothing changed."))
            return False
        return self._commit_slice(
            normalised, tr("Normalised: divided by the sum, {total}").format(total=format_cell_value(total, 6)))

    def scale_by(self, factor: float) -> bool:
        """Multiply the slice by ``factor`` (what Scale... does after asking for the factor)."""
        if not self._can_edit():
            return False
        factor = float(factor)
        if not np.isfinite(factor):
            self._say(tr("Not scaled: {factor} is not a finite number.").format(factor=factor), error=True)
            return False
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (self._slice_values().astype(np.float64) * factor).astype(np.float32)
        if not np.all(np.isfinite(scaled)):
            self._say(tr("Not scaled: multiplying by {factor} overflows float32.").format(factor=f"{factor:g}"),
                      error=True)
            return False
        return self._commit_slice(scaled, tr("Scaled by {factor}").format(factor=f"{factor:g}"))

    def flip_horizontal(self) -> bool:
        """Mirror the slice left-right."""
        return self._apply_transform(kernels.flip_horizontal, tr("Flipped horizontally"))

    def flip_vertical(self) -> bool:
        """Mirror the slice top-bottom."""
        return self._apply_transform(kernels.flip_vertical, tr("Flipped vertically"))

    def rotate90(self) -> bool:
        """Rotate the slice by 90 degrees (square kernels only: the shape must not change)."""
        return self._apply_transform(kernels.rotate90, tr("Rotated by 90°"), square_only="rotate")

    def transpose(self) -> bool:
        """Swap rows and columns of the slice (square kernels only)."""
        return self._apply_transform(kernels.transpose, tr("Transposed"), square_only="transpose")

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
            self._say(tr("Not randomised: {why}").format(why=_error_text(error)), error=True)
            return False
        return self._commit_slice(values, tr("Randomised (uniform in [-1, 1])"))

    def clear(self) -> bool:
        """Set every weight of the slice to zero (the identity kernel is a preset)."""
        if not self._can_edit():
            return False
        return self._commit_slice(np.zeros_like(self._slice_values()), tr("Cleared"))

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
        what = (tr("Zeroed {height} x {width} cells").format(height=height, width=width) if height * width > 1
                else tr("Zeroed a cell"))
        return self._commit_slice(values, what)

    def copy_to_clipboard(self) -> str:
        """Put the selection (2 or more cells) or else the whole slice on the clipboard as TSV.

        Returns
        -------
        str
            The text copied ("" if there is nothing to copy).
        """
        if self._weight is None:
            self._say(tr("Nothing to copy: this layer has no kernel."), error=True)
            return ""
        values = self._slice_values()
        block = self._selected_block()
        if block is not None and block[2] * block[3] > 1:
            top, left, height, width = block
            values = values[top : top + height, left : left + width]
            what = tr("{height} x {width} cells").format(height=height, width=width)
        else:
            what = (tr("the {shape} matrix") if self.is_mixing_matrix() else tr("the {shape} kernel")).format(
                shape=_shape_text(values.shape))
        text = kernels.format_tsv(values)
        QApplication.clipboard().setText(text)
        self._say(tr("Copied {what} as tab-separated text.").format(what=what))
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
            self._say(tr("Nothing pasted: the clipboard holds no text."), error=True)
            return False
        try:
            block = np.asarray(kernels.parse_tsv(text), dtype=np.float32)
        except (ValueError, TypeError, OverflowError) as error:
            self._say(tr("Nothing pasted: {why}").format(why=_error_text(error)), error=True)
            return False
        if block.ndim == 1:
            block = block[np.newaxis, :]
        if block.ndim != 2 or block.size == 0:
            self._say(tr("Nothing pasted: the clipboard does not hold a table of numbers."), error=True)
            return False
        if not np.all(np.isfinite(block)):
            self._say(tr("Nothing pasted: the clipboard holds non-finite numbers."), error=True)
            return False
        values = self._slice_values().copy()
        rows, cols = values.shape
        height, width = block.shape
        if block.shape == values.shape:
            return self._commit_slice(block, tr("Pasted a {shape} block").format(shape=_shape_text(block.shape)))
        if height > rows or width > cols:
            self._say(
                tr("Nothing pasted: the clipboard holds a {block} block, larger than the {shape} kernel. "
                   "Change the kernel size first.").format(
                    block=_shape_text(block.shape), shape=_shape_text(values.shape)),
                error=True,
            )
            return False
        index = self._view.currentIndex()
        top, left = (index.row(), index.column()) if index.isValid() else (0, 0)
        if top + height > rows or left + width > cols:
            self._say(
                tr("Nothing pasted: a {block} block at row {top}, column {left} would run past the "
                   "{shape} kernel. Pick a cell further up or left.").format(
                    block=_shape_text(block.shape), top=top, left=left, shape=_shape_text(values.shape)),
                error=True,
            )
            return False
        values[top : top + height, left : left + width] = block
        applied = self._commit_slice(values, tr("Pasted a {shape} block at row {top}, column {left}").format(
            shape=_shape_text(block.shape), top=top, left=left))
        if applied:
            self._select_block(top, left, height, width)
        return applied

    def _commit_slice(self, values: np.ndarray, what: str) -> bool:
        """Write ``values`` into the slice on screen, show it and emit the full weight once.

        ``what`` names the action in the message, made with ``tr()`` in the interface's language;
        the message's frame ("{what}.", "{what}: nothing changed.") is translated too.
        """
        assert self._weight is not None
        values = np.asarray(values, dtype=np.float32)
        current = self._slice_values()
        if values.shape == current.shape and np.array_equal(values, current):
            self._say(tr("{what}: nothing changed.").format(what=what))
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
        self._say(tr("{what}.").format(what=what))
        self.weightEdited.emit(new_weight.copy())
        return True

    def _apply_transform(self, transform: Callable[[np.ndarray], np.ndarray], what: str, square_only: str = "") -> bool:
        if not self._can_edit():
            return False
        values = self._slice_values()
        if square_only and values.shape[0] != values.shape[1]:
            refusals = {
                ("rotate", True): tr("Cannot rotate a {shape} matrix: it would change its shape."),
                ("rotate", False): tr("Cannot rotate a {shape} kernel: it would change its shape."),
                ("transpose", True): tr("Cannot transpose a {shape} matrix: it would change its shape."),
                ("transpose", False): tr("Cannot transpose a {shape} kernel: it would change its shape."),
            }
            self._say(refusals[square_only, self.is_mixing_matrix()].format(shape=_shape_text(values.shape)),
                      error=True)
            return False
        return self._commit_slice(np.asarray(transform(values), dtype=np.float32), what)

    def _normalize_rows(self, matrix: np.ndarray) -> bool:
        sums = matrix.astype(np.float64).sum(axis=1)
        tolerance = _zero_sum_tolerance(matrix)
        zero_rows = [int(i) for i in np.flatnonzero(np.abs(sums) <= tolerance)]
        normalised = matrix.astype(np.float64).copy()
        rows_to_scale = np.abs(sums) > tolerance
        normalised[rows_to_scale] /= sums[rows_to_scale, np.newaxis]
        if len(zero_rows) == matrix.shape[0]:
            self._say(tr("Not normalised: every output channel's weights sum to 0. Left unchanged."), error=True)
            return False
        what = tr("Normalised each output channel (row) to sum 1")
        if zero_rows:
            shown = ", ".join(str(i) for i in zero_rows[:8]) + (", ..." if len(zero_rows) > 8 else "")
            what = tr("{what}; rows summing to 0 left unchanged: out {rows}").format(what=what, rows=shown)
        return self._commit_slice(normalised.astype(np.float32), what)

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
        toolbar = FlowBar(self)
        toolbar.setObjectName("kernelActions")
        # Slim buttons: all eleven fit in two rows of a dock about 360 px wide.
        toolbar.setStyleSheet("QToolButton { padding: 2px 3px; }")
        flow = FlowLayout(toolbar, spacing=1)
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

    def _on_preset_triggered(self, name: str) -> None:
        self.apply_preset(name)

    def _on_scale_triggered(self) -> None:
        text, accepted = QInputDialog.getText(
            self, tr("Scale kernel"), tr("Multiply every weight by (e.g. 2, 0.5, 1/9):"), text="2"
        )
        if not accepted:
            return
        try:
            factor = parse_cell_value(text)
        except CellValueError as error:
            self._say(tr("Not scaled: {why}").format(why=error), error=True)
            return
        self.scale_by(factor)


def _shape_text(shape: tuple[int, ...]) -> str:
    return format_shape(shape)


def _label_text(label: str) -> str:
    """A preset's name quoted as ``repr`` quotes it (the English messages always did), in the
    interface's language (the Presets menu's walker collects the names)."""
    return repr(known(label))


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
