"""The "Cross-check" panel: every layer recomputed by an independent OpenCV reference
(:func:`convstudio.core.crosscheck.crosscheck`), the max abs difference per layer, green within the
float32 tolerance and red otherwise, with the reference map (or the difference) viewable.

Off by default (it doubles the work): tick "Cross-check with OpenCV". The check itself runs in a
background worker owned by the app's controller after each render; this module is the widget.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.i18n import tr
from convstudio.app.model.worker import Worker
from convstudio.app.views.feature_view import FeatureMapGrid, Placement, ViewLinker
from convstudio.core.crosscheck import LayerCheck
from convstudio.core.formatting import format_duration
from convstudio.session.compute import channel_ranges, combined_range

__all__ = ["CrossCheckPanel", "PASS_COLOUR", "FAIL_COLOUR"]

PASS_COLOUR = "#c8e6c9"
FAIL_COLOUR = "#ffcdd2"
HEADERS = ("#", "layer", "max |core − OpenCV|", "allowed", "result")


def _sci(v: float) -> str:
    if math.isinf(v):
        return "∞"
    if math.isnan(v):
        return "nan"
    return "0" if v == 0 else f"{v:.2e}"


class CrossCheckPanel(QWidget):
    """The dock's content.

    Signals
    -------
    enabledChanged(bool)
        The "Cross-check with OpenCV" box changed.
    """

    enabledChanged = Signal(bool)

    def __init__(self, linker: ViewLinker | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # the maps shown (the reference or the difference, with their ranges) are prepared on
        # this worker: whole-layer float64 work that took 0.2 s at a preview, 1.7 s at 24 MP
        self.view_task = Worker("ConvStudio cross-check view", self)
        self.view_task.done.connect(self._on_view_ready)
        self.check_box = QCheckBox("Cross-check with OpenCV")
        self.check_box.setObjectName("crosscheckBox")
        self.check_box.setToolTip("After every change, recompute each layer with an independent "
                                  "OpenCV implementation and compare (slower; off by default)")
        self.check_box.toggled.connect(self.enabledChanged)
        self.status = QLabel("Off: tick the box to compare the NumPy core with OpenCV, layer by "
                             "layer.")
        self.status.setObjectName("crosscheckStatus")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.check_box)
        top.addWidget(self.status, 1)

        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("crosscheckTable")
        self.table.setHorizontalHeaderLabels([tr(h) for h in HEADERS])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_selected)

        self.show_combo = QComboBox()
        self.show_combo.addItem("OpenCV reference", "reference")
        self.show_combo.addItem("|core − OpenCV|", "difference")
        self.show_combo.currentIndexChanged.connect(lambda _i: self._show_selected())
        self.view_title = QLabel("Select a row to see that layer's OpenCV reference.")
        self.view_title.setWordWrap(True)
        self.reference_view = FeatureMapGrid(view_id="reference", linker=linker)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.show_combo)
        head.addWidget(self.view_title, 1)
        right_layout.addLayout(head)
        right_layout.addWidget(self.reference_view, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([620, 620])
        self.table.setWordWrap(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        self._checks: list[LayerCheck] = []
        self._core: list[np.ndarray] = []
        self._placements: list[Placement] = []

    # ---------------------------------------------------------------- state
    def is_on(self) -> bool:
        return self.check_box.isChecked()

    def set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setStyleSheet("color: #c62828;" if error else "")
        self.status.setText(text)

    def clear(self) -> None:
        self.view_task.cancel()
        self._checks, self._core, self._placements = [], [], []
        self.table.setRowCount(0)
        self.reference_view.clear()
        self.view_title.setText("Select a row to see that layer's OpenCV reference.")

    def set_results(self, checks: list[LayerCheck], core_outputs: list[np.ndarray],
                    placements: list[Placement], labels: list[str], *,
                    prefer: int | None = None) -> None:
        """Show the rows (placements[k] places layer k + 1's maps in input coordinates). The row
        shown is the one selected before, else the first failing one, else layer `prefer`."""
        selected = self.selected_layer()
        self._checks = list(checks)
        self._core, self._placements = list(core_outputs), list(placements)
        self.table.blockSignals(True)
        self.table.setRowCount(len(checks))
        for r, chk in enumerate(checks):
            colour = QColor(PASS_COLOUR if chk.passed else FAIL_COLOUR)
            result = "✓ agrees" if chk.passed else \
                "✗ differs" + (f" ({chk.note})" if chk.note else "")
            texts = (str(chk.index), labels[r] if r < len(labels) else chk.type,
                     _sci(chk.max_abs_diff), _sci(chk.allowed_diff), result)
            tip = (f"Layer {chk.index} ({chk.type}): max |core − OpenCV| = {chk.max_abs_diff:.3g}, "
                   f"allowed {chk.tolerance:g} × {chk.scale:.3g} (the layer's magnitude); OpenCV "
                   f"took {format_duration(chk.reference_time_s)}")
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                item.setBackground(colour)
                item.setForeground(QColor("#1b1b1b"))
                if c in (0, 2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)
        failed = [c.index for c in checks if not c.passed]
        if not checks:
            self.set_status("No layers to check.")
        elif failed:
            self.set_status(f"Layer{'s' if len(failed) > 1 else ''} "
                            f"{', '.join(map(str, failed))} differ{'' if len(failed) > 1 else 's'} "
                            "from OpenCV by more than the tolerance.", error=True)
        else:
            agree = "The layer agrees" if len(checks) == 1 else f"All {len(checks)} layers agree"
            self.set_status(f"{agree} with OpenCV within the float32 "
                            f"tolerance ({checks[0].tolerance:g} × max(1, the layer's magnitude)).")
        row = next((r for r, c in enumerate(checks) if c.index == selected), None)
        if row is None and failed:
            row = next(r for r, c in enumerate(checks) if not c.passed)
        if row is None and prefer is not None:
            row = next((r for r, c in enumerate(checks) if c.index == prefer), None)
        if row is not None:
            self.table.selectRow(row)
        self._show_selected()

    def checks(self) -> list[LayerCheck]:
        return list(self._checks)

    def row_colour(self, row: int) -> str:
        """``"green"`` or ``"red"``: the background of a row (tests)."""
        item = self.table.item(row, 0)
        name = item.background().color().name() if item is not None else ""
        return "green" if name == PASS_COLOUR else "red" if name == FAIL_COLOUR else name

    def selected_layer(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._checks):
            return None
        return self._checks[rows[0].row()].index

    def select_layer(self, index: int) -> None:
        for r, chk in enumerate(self._checks):
            if chk.index == index:
                self.table.selectRow(r)
                return

    # ---------------------------------------------------------------- view
    def _show_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._checks):
            return
        r = rows[0].row()
        chk = self._checks[r]
        ref = chk.reference
        if ref is None:
            return
        what = self.show_combo.currentData()
        core = self._core[r] if (what == "difference" and r < len(self._core)
                                 and self._core[r].shape == ref.shape) else None
        placement = self._placements[r] if r < len(self._placements) else None
        name = "OpenCV reference" if what == "reference" else \
            "|core − OpenCV| (the reference rounded to float32)"
        title = f"Layer {chk.index} ({chk.type}): {name}; max difference {_sci(chk.max_abs_diff)}"
        self.view_task.submit(lambda ctx: (_view_maps(ref, core), placement, title))

    def _on_view_ready(self, _token: int, result) -> None:
        (data, ranges), placement, title = result
        if not self._checks:  # cleared meanwhile
            return
        self.reference_view.set_maps(data, placement=placement, data_range=combined_range(ranges),
                                     channel_ranges=ranges)
        self.view_title.setText(title)


def _view_maps(reference: np.ndarray, core: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(the maps to show, their per-channel finite ranges): the reference, or with `core`
    ``|core - reference|`` (in float64, then float32). On the view worker's thread."""
    data = reference
    if core is not None:
        with np.errstate(invalid="ignore", over="ignore"):
            data = np.abs(core.astype(np.float64) - reference).astype(np.float32)
    return data, channel_ranges(data)
