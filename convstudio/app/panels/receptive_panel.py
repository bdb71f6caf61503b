"""The "Receptive fields" panel: size, jump and start of every layer per axis (the numbers
``convstudio info`` prints), the pinned pixels, and the effective receptive field's numbers.

Output pixel i of layer L sees input rows ``start + i*jump ... start + i*jump + size - 1``; a
negative start means the first windows reach into padding.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.i18n import describe_layer, made_at_run_time, notifier, tr
from convstudio.core import LayerInfo, Pipeline
from convstudio.core.formatting import format_shape

__all__ = ["ReceptivePanel", "rf_rows", "HEADERS"]

HEADERS = ("#", "layer", "output C x H x W", "receptive field", "jump", "start", "params")


def rf_rows(pipeline: Pipeline, in_shape, infos: list[LayerInfo]) -> list[tuple[str, ...]]:
    """The table's rows as text, formatted as ``convstudio info`` prints them."""
    c, h, w = in_shape
    rows = [("0", tr("input"), format_shape((c, h, w)), "1 x 1", "1 x 1", "0, 0", "0")]
    for layer, info in zip(pipeline.layers, infos):
        rf = info.receptive_field
        label = describe_layer(layer) + ("" if layer.enabled else tr(" (disabled)"))
        if info.output_shape is not None:
            shape = format_shape(info.output_shape)
        else:
            shape = tr("⚠ does not fit") if info.error is not None else tr("waiting")
        rows.append((str(info.index), label, shape, format_shape(rf.size),
                     format_shape(rf.jump), f"{rf.start[0]}, {rf.start[1]}",
                     f"{info.params:,}" if info.params is not None else ""))
    return rows


class _TallScroll(QScrollArea):
    """Scrolls its widget up and down only: as wide as the widget's minimum (and a scroll bar)."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        hint = super().minimumSizeHint()
        inner = self.widget()
        if inner is not None:
            hint.setWidth(inner.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
                          + 2 * self.frameWidth())
        return hint


class ReceptivePanel(QWidget):
    """The dock's content.

    Signals
    -------
    layerActivated(int)
        A row was clicked: select that layer.
    clearPinsRequested()
    boxesToggled(bool)
        "Show boxes" changed.
    """

    layerActivated = Signal(int)
    clearPinsRequested = Signal()
    boxesToggled = Signal(bool)

    def __init__(self, erf_action: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("receptiveTable")
        self.table.setHorizontalHeaderLabels([tr(h) for h in HEADERS])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        # One line per layer, every column as wide as its longest text: a narrow dock scrolls
        # the table sideways rather than cutting "conv 3x3" down to "c...".
        self.table.setWordWrap(False)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.cellClicked.connect(lambda row, _col: self.layerActivated.emit(row))
        self.table.setToolTip("Output pixel i of a layer sees input rows start + i·jump … "
                              "start + i·jump + size − 1 (likewise columns). A negative start "
                              "means the first windows reach into padding.")

        side_scroll = self._build_side(erf_action)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(side_scroll)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self._rows: list[tuple[str, ...]] = []
        self._table_args: tuple | None = None
        self._pin_lines: list = []
        notifier().languageChanged.connect(self._on_language_changed)
        self.set_pins([])
        self.set_erf_text("")

    def _build_side(self, erf_action: QAction) -> QScrollArea:
        """The column beside the table: the boxes and ERF controls, the pins and the ERF text."""
        self.boxes_box = QCheckBox("Show boxes")
        self.boxes_box.setChecked(True)
        self.boxes_box.setToolTip("Hovering a pixel draws its receptive field on the input; a "
                                  "click pins it")
        self.boxes_box.toggled.connect(self.boxesToggled)
        self.erf_button = QToolButton()
        self.erf_button.setDefaultAction(erf_action)
        self.erf_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.clear_button = QPushButton("Clear pins")
        self.clear_button.setToolTip("Remove every pinned box (Esc in the views)")
        self.clear_button.clicked.connect(self.clearPinsRequested)
        # Two short rows rather than one long one: the table gets the width.
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.erf_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        controls = QVBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.boxes_box)
        controls.addLayout(buttons)

        self.pins_label = QLabel()
        self.pins_label.setObjectName("pinsText")
        made_at_run_time(self.pins_label)
        self.pins_label.setTextFormat(Qt.TextFormat.RichText)
        self.pins_label.setWordWrap(True)
        self.pins_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.pins_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.erf_label = QLabel()
        self.erf_label.setObjectName("erfText")
        self.erf_label.setTextFormat(Qt.TextFormat.RichText)
        self.erf_label.setWordWrap(True)
        self.erf_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.erf_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 0, 0, 0)
        side_layout.addLayout(controls)
        side_layout.addWidget(self.pins_label)
        side_layout.addWidget(self.erf_label)
        side_layout.addStretch(1)

        # The texts scroll in a short dock (a large font, a small screen) instead of being
        # squeezed over each other.
        side_scroll = _TallScroll()
        side_scroll.setObjectName("receptiveSide")
        side_scroll.setWidget(side)
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return side_scroll

    def _on_language_changed(self, _language: str) -> None:
        """The texts made here, again in the new language (docs/developing.md, "Translations")."""
        self.table.setHorizontalHeaderLabels([tr(h) for h in HEADERS])
        if self._table_args is not None:
            self.update_table(*self._table_args)
        self.set_pins(self._pin_lines)

    def update_table(self, pipeline: Pipeline, in_shape, infos: list[LayerInfo], selected: int) -> None:
        self._table_args = (pipeline, in_shape, infos, selected)
        rows = rf_rows(pipeline, in_shape, infos) if in_shape is not None else []
        if rows != self._rows:
            self._rows = rows
            self.table.setRowCount(len(rows))
            for r, row in enumerate(rows):
                for c, text in enumerate(row):
                    item = QTableWidgetItem(text)
                    if c != 1:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    if r >= 1 and r - 1 < len(infos) and infos[r - 1].error is not None:
                        item.setForeground(QColor("#c62828"))
                    self.table.setItem(r, c, item)
        self.table.blockSignals(True)
        if 0 <= selected < len(rows):
            self.table.selectRow(selected)
        self.table.blockSignals(False)

    def rows(self) -> list[tuple[str, ...]]:
        return list(self._rows)

    def set_pins(self, lines: list[tuple[tuple[int, int, int], str]]) -> None:
        """One line per pin: its colour and its text."""
        self._pin_lines = list(lines)
        if not lines:
            self.pins_label.setText("<span style='color:gray'>" + tr(
                "Hover a pixel of the selected layer: its receptive field appears on the input. Click to pin it "
                "(several pins compare; a pinned pixel also shows on earlier layers' maps when you select them).")
                + "</span>")
            self.clear_button.setEnabled(False)
            return
        items = "".join(f"<li><span style='color:rgb{colour}; font-size:large'>■</span> "
                        f"{html.escape(text)}</li>" for colour, text in lines)
        self.pins_label.setText(f"<b>{tr('Pinned')}</b><ul style='margin-left:-20px'>{items}</ul>")
        self.clear_button.setEnabled(True)

    def set_erf_text(self, text: str) -> None:
        self.erf_label.setText(text)
        self.erf_label.setVisible(bool(text))
