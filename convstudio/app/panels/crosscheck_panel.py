"""The "Cross-check" panel: every layer recomputed by an independent OpenCV reference
(:func:`convstudio.core.crosscheck.crosscheck`), the max abs difference per layer, green within the
float32 tolerance and red otherwise, with the reference map (or the difference) viewable.

Off by default (it doubles the work): tick "Cross-check with OpenCV". The check itself runs in a
background worker owned by the app's controller after each render; this module is the widget.

Every text the panel shows is made here with ``tr()`` from what it keeps (an English source with its
fields for the status line, the checks and the layers' English descriptions for the table, the row
shown for the title) and made again when the interface's language changes (docs/developing.md,
"Translations"). The core's reasons (a row's note, a failed check's message) stay English inside a
translated sentence.
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

from convstudio.app.i18n import layer_words, made_at_run_time, notifier, tr, tr_noop
from convstudio.app.model.worker import Worker
from convstudio.app.views.elided_label import TitleLabel
from convstudio.app.views.feature_view import FeatureMapGrid, Placement, ViewLinker
from convstudio.core.crosscheck import LayerCheck
from convstudio.core.formatting import format_duration
from convstudio.session.compute import channel_ranges, combined_range

__all__ = ["CrossCheckPanel", "PASS_COLOUR", "FAIL_COLOUR"]

PASS_COLOUR = "#c8e6c9"
FAIL_COLOUR = "#ffcdd2"
HEADERS = ("#", tr_noop("layer"), tr_noop("max |core − OpenCV|"), tr_noop("allowed"), tr_noop("result"))
#: The status line before a check, and while the box is unticked.
OFF_STATUS = tr_noop("Off: tick the box to compare the NumPy core with OpenCV, layer by layer.")
#: The title of the reference view while no row is shown.
NO_ROW_TITLE = tr_noop("Select a row to see that layer's OpenCV reference.")


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
        self.status = QLabel()
        self.status.setObjectName("crosscheckStatus")
        made_at_run_time(self.status)  # (set_status: kept as a source, made again on a switch)
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
        # one line (the whole title in its tooltip): wrapped, it made Seeing why taller
        self.view_title = TitleLabel()
        self.view_title.setObjectName("crosscheckViewTitle")
        made_at_run_time(self.view_title)
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
        self._labels: list[str] = []  # the layers' English descriptions
        self._status: tuple[str, dict, bool, int] = (OFF_STATUS, {}, False, 1)  # (source, fields, error, factor)
        self._title: tuple[int, str, str, float] | None = None  # (index, type, what, max diff) shown
        self._show_status()
        self._show_title()
        notifier().languageChanged.connect(self._on_language_changed)

    def _on_language_changed(self, _language: str) -> None:
        """Every text of the panel again, in the new language (docs/developing.md, "Translations")."""
        self.table.setHorizontalHeaderLabels([tr(h) for h in HEADERS])
        self._fill_rows()
        self._show_status()
        self._show_title()

    # ---------------------------------------------------------------- state
    def is_on(self) -> bool:
        return self.check_box.isChecked()

    def set_status(self, source: str, *, error: bool = False, **fields) -> None:
        """Show ``tr(source).format(**fields)`` on the status line, red with `error`. `source` is an
        English text marked with ``tr_noop`` (the fields are numbers, or the core's English words);
        it is kept and made again when the language changes."""
        self._say(source, fields, error=error)

    def _say(self, source: str, fields: dict, *, error: bool = False, factor: int = 1) -> None:
        """The status line, kept: `factor` > 1 adds that the checks were made on a preview copy."""
        self._status = (source, dict(fields), error, factor)
        self._show_status()

    def _show_status(self) -> None:
        source, fields, error, factor = self._status
        text = tr(source).format(**fields) if fields else tr(source)
        if factor > 1:
            text += tr(" (On the preview copy, 1/{f} of the image.)").format(f=factor)
        self.status.setStyleSheet("color: #c62828;" if error else "")
        self.status.setText(text)

    def clear(self) -> None:
        self.view_task.cancel()
        self._checks, self._core, self._placements, self._labels = [], [], [], []
        self.table.setRowCount(0)
        self.reference_view.clear()
        self._title = None
        self._show_title()

    def set_results(self, checks: list[LayerCheck], core_outputs: list[np.ndarray],
                    placements: list[Placement], labels: list[str], *,
                    prefer: int | None = None, factor: int = 1) -> None:
        """Show the rows (placements[k] places layer k + 1's maps in input coordinates; labels[k]
        is its layer's English description, ``layer.describe()``, shown with its words in the
        interface's language; `factor` > 1: the layers were computed on a preview copy, 1/factor
        of the image, which the status line says). The row shown is the one selected before, else
        the first failing one, else layer `prefer`."""
        selected = self.selected_layer()
        self._checks = list(checks)
        self._core, self._placements = list(core_outputs), list(placements)
        self._labels = list(labels)
        self._fill_rows()
        failed = [c.index for c in checks if not c.passed]
        if not checks:
            self._say(tr_noop("No layers to check."), {}, factor=factor)
        elif len(failed) == 1:
            self._say(tr_noop("Layer {n} differs from OpenCV by more than the tolerance."), {"n": failed[0]},
                      error=True, factor=factor)
        elif failed:
            self._say(tr_noop("Layers {layers} differ from OpenCV by more than the tolerance."),
                      {"layers": ", ".join(map(str, failed))}, error=True, factor=factor)
        elif len(checks) == 1:
            self._say(tr_noop("The layer agrees with OpenCV within the float32 tolerance ({t} × max(1, the "
                              "layer's magnitude))."), {"t": f"{checks[0].tolerance:g}"}, factor=factor)
        else:
            self._say(tr_noop("All {n} layers agree with OpenCV within the float32 tolerance ({t} × max(1, the "
                              "layer's magnitude))."), {"n": len(checks), "t": f"{checks[0].tolerance:g}"},
                      factor=factor)
        row = next((r for r, c in enumerate(checks) if c.index == selected), None)
        if row is None and failed:
            row = next(r for r, c in enumerate(checks) if not c.passed)
        if row is None and prefer is not None:
            row = next((r for r, c in enumerate(checks) if c.index == prefer), None)
        if row is not None:
            self.table.selectRow(row)
        self._show_selected()

    def _fill_rows(self) -> None:
        """The table's rows from the checks kept, in the interface's language (the items there are
        kept, so that a language switch keeps the selection)."""
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._checks))
        for r, chk in enumerate(self._checks):
            colour = QColor(PASS_COLOUR if chk.passed else FAIL_COLOUR)
            if chk.passed:
                result = tr("✓ agrees")
            elif chk.note:  # (the core's words, in English: docs/developing.md, "Translations")
                result = tr("✗ differs ({why})").format(why=chk.note)
            else:
                result = tr("✗ differs")
            label = layer_words(self._labels[r]) if r < len(self._labels) else chk.type
            texts = (str(chk.index), label, _sci(chk.max_abs_diff), _sci(chk.allowed_diff), result)
            tip = tr("Layer {n} ({type}): max |core − OpenCV| = {diff}, allowed {t} × {scale} (the layer's "
                     "magnitude); OpenCV took {time}").format(
                n=chk.index, type=chk.type, diff=f"{chk.max_abs_diff:.3g}", t=f"{chk.tolerance:g}",
                scale=f"{chk.scale:.3g}", time=format_duration(chk.reference_time_s))
            for c, text in enumerate(texts):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    item.setForeground(QColor("#1b1b1b"))
                    if c in (0, 2, 3):
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self.table.setItem(r, c, item)
                item.setText(text)
                item.setToolTip(tip)
                item.setBackground(colour)
        self.table.blockSignals(False)

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
        title = (chk.index, chk.type, what, chk.max_abs_diff)
        self.view_task.submit(lambda ctx: (_view_maps(ref, core), placement, title))

    def _on_view_ready(self, _token: int, result) -> None:
        (data, ranges), placement, title = result
        if not self._checks:  # cleared meanwhile
            return
        self.reference_view.set_maps(data, placement=placement, data_range=combined_range(ranges),
                                     channel_ranges=ranges)
        self._title = title
        self._show_title()

    def _show_title(self) -> None:
        """The reference view's title, for the row shown (kept in `_title`), in the language now."""
        if self._title is None:
            self.view_title.setText(tr(NO_ROW_TITLE))
            return
        index, kind, what, diff = self._title
        name = tr("OpenCV reference") if what == "reference" else \
            tr("|core − OpenCV| (the reference rounded to float32)")
        self.view_title.setText(tr("Layer {n} ({type}): {name}; max difference {diff}").format(
            n=index, type=kind, name=name, diff=_sci(diff)))


def _view_maps(reference: np.ndarray, core: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(the maps to show, their per-channel finite ranges): the reference, or with `core`
    ``|core - reference|`` (in float64, then float32). On the view worker's thread."""
    data = reference
    if core is not None:
        with np.errstate(invalid="ignore", over="ignore"):
            data = np.abs(core.astype(np.float64) - reference).astype(np.float32)
    return data, channel_ranges(data)
