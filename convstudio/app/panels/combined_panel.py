"""The "Combined kernel" panel: a run of linear layers is one convolution.

Convolutions, average pooling, pad and stride layers (and disabled layers) are linear (affine with
a bias), so a run of them ending at the selected layer equals ONE conv layer away from the borders:
:func:`convstudio.core.explain.combined_kernel` composes it. The panel shows its size, stride
(the run's jump), start, values (heat map and table) and whether it is separable
(:func:`convstudio.core.kernels.kernel_rank`), and says plainly when the selected layer is not
linear and why, or which earlier layer ends the run.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.i18n import made_at_run_time, tr
from convstudio.app.views.feature_view import ImageView
from convstudio.core import Pipeline
from convstudio.core.explain import LINEAR_TYPES, CombinedKernel
from convstudio.core.formatting import format_short
from convstudio.core.kernels import kernel_rank, separable_factors

__all__ = ["CombinedKernelPanel", "linear_run", "MAX_COMBINED_SIZE", "MAX_TABLE"]

MAX_COMBINED_SIZE = 511
"""Receptive fields larger than this (per axis) are not composed (too large to show or compute
quickly)."""
MAX_TABLE = 31

_WHY = {
    "maxpool2d": "max pooling keeps the largest value of each window, which no fixed weights do",
    "relu": "ReLU sets negative values to 0: it bends at 0",
    "leaky_relu": "leaky ReLU has a different slope below 0: it bends at 0",
    "abs": "abs folds negative values up: it bends at 0",
    "sigmoid": "sigmoid squashes its input into (0, 1)",
    "tanh": "tanh squashes its input into (-1, 1)",
}


def _is_linear(layer) -> bool:
    return not layer.enabled or isinstance(layer, LINEAR_TYPES)


def linear_run(pipeline: Pipeline, index: int) -> tuple[int | None, str]:
    """``(first, note)``: the first layer (1-based) of the longest linear run ending at layer
    `index`, or None when layer `index` itself is not linear; `note` says why the run stops."""
    layers = pipeline.layers
    if not 1 <= index <= len(layers):
        return None, tr("Select a layer (the input is not computed by anything).")
    last = layers[index - 1]
    if not _is_linear(last):
        why = tr(_WHY.get(last.type, "it is not a weighted sum of its inputs"))
        return None, tr("Layer {n} ({type}) is not linear: {why}. No single kernel reproduces it.").format(
            n=index, type=last.type, why=why)
    first = index
    while first > 1 and _is_linear(layers[first - 2]):
        first -= 1
    if first == 1:
        return 1, ""
    stop = layers[first - 2]
    why = tr(_WHY.get(stop.type, "it is not linear"))
    return first, tr("The run starts at layer {first}: layer {n} ({type}) is not linear ({why}).").format(
        first=first, n=first - 1, type=stop.type, why=why)


def _vector(v) -> str:
    return "[" + ", ".join(format_short(x) for x in np.ravel(v)) + "]"


class CombinedKernelPanel(QWidget):
    """The dock's content. :meth:`set_result` shows a composed kernel; :meth:`set_message` says why
    there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setObjectName("combinedSummary")
        made_at_run_time(self.summary)  # (the insight controller makes the page again on languageChanged)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.out_spin = QSpinBox()
        self.out_spin.setPrefix("output channel ")
        self.in_spin = QSpinBox()
        self.in_spin.setPrefix("input channel ")
        self.out_spin.valueChanged.connect(lambda _v: self._show_pair())
        self.in_spin.valueChanged.connect(lambda _v: self._show_pair())
        self.pair_label = QLabel()
        self.pair_label.setObjectName("combinedPair")
        made_at_run_time(self.pair_label)
        self.pair_label.setWordWrap(True)
        self.pair_label.setTextFormat(Qt.TextFormat.RichText)
        self.pair_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.view = ImageView(view_id="combined", show_readout=True)
        self.view.setMinimumWidth(160)
        self.table = QTableWidget()
        self.table.setObjectName("combinedTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table_note = made_at_run_time(QLabel())
        self.table_note.setStyleSheet("color: #b26a00;")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.summary)
        spins = QHBoxLayout()
        spins.addWidget(self.out_spin)
        spins.addWidget(self.in_spin)
        spins.addStretch(1)
        left_layout.addLayout(spins)
        left_layout.addWidget(self.pair_label)
        left_layout.addStretch(1)
        table_box = QWidget()
        tb = QVBoxLayout(table_box)
        tb.setContentsMargins(0, 0, 0, 0)
        tb.addWidget(self.table, 1)
        tb.addWidget(self.table_note)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(table_box)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([380, 200, 420])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)
        self.kernel: CombinedKernel | None = None
        self.run: tuple[int, int] | None = None
        self.set_message(tr("Select a layer: if the layers up to it are linear (conv, average pooling, pad, stride), "
                            "they act as one single kernel, shown here."))

    # ---------------------------------------------------------------- content
    def set_message(self, text: str) -> None:
        self.kernel = None
        self.run = None
        self.summary.setText(f"<p>{html.escape(text)}</p>")
        for w in (self.out_spin, self.in_spin, self.pair_label, self.view, self.table,
                  self.table_note):
            w.setVisible(False)

    def set_result(self, ck: CombinedKernel, first: int, last: int, labels: list[str],
                   note: str = "") -> None:
        """Show kernel `ck` composed from layers `first`..`last` (1-based, inclusive)."""
        self.kernel = ck
        self.run = (first, last)
        cout, cin, rh, rw = ck.weight.shape
        layers = tr("Layer {n}").format(n=first) if first == last else tr("Layers {first}–{last}").format(
            first=first, last=last)
        what = ", ".join(html.escape(t) for t in labels)
        channels = tr("{cin} → {cout} channel.") if cout == 1 else tr("{cin} → {cout} channels.")
        parts = ["<p>" + tr("<b>{layers}</b> ({what}) act as <b>one conv layer</b>: <b>{rh} × {rw}</b> kernel, "
                            "stride <b>{sh} × {sw}</b>, first window starting at row {r0}, col {c0}; ").format(
            layers=layers, what=what, rh=rh, rw=rw, sh=ck.stride[0], sw=ck.stride[1], r0=ck.start[0],
            c0=ck.start[1]) + channels.format(cin=cin, cout=cout) + "</p>"]
        if np.any(ck.bias != 0):
            parts.append("<p>" + tr("Bias (the biases pushed through the run): {bias}").format(
                bias=_vector(ck.bias[:16]) + (" …" if cout > 16 else "")) + "</p>")
        parts.append("<p style='color:gray'>" + tr(
            "Exact wherever the window stays inside the image; near the borders each layer's padding makes the run "
            "differ from one kernel.") + "</p>")
        if note:
            parts.append(f"<p style='color:#b26a00'>{html.escape(note)}</p>")
        self.summary.setText("".join(parts))
        for spin, n in ((self.out_spin, cout), (self.in_spin, cin)):
            spin.blockSignals(True)
            spin.setRange(0, n - 1)
            spin.setValue(min(spin.value(), n - 1))
            spin.blockSignals(False)
            spin.setVisible(n > 1)
        for w in (self.pair_label, self.view, self.table):
            w.setVisible(True)
        self._show_pair()

    def shown_kernel(self) -> np.ndarray | None:
        """The ``(rh, rw)`` kernel of the output/input channel pair shown now."""
        if self.kernel is None:
            return None
        return self.kernel.weight[self.out_spin.value(), self.in_spin.value()]

    def _show_pair(self) -> None:
        k = self.shown_kernel()
        if k is None:
            return
        o, c = self.out_spin.value(), self.in_spin.value()
        rank = kernel_rank(k) if np.any(k) else 0
        if rank == 1:
            v, h = separable_factors(k)
            sep = tr("<b>separable</b> (rank 1): column {v} × row {h} — two 1-D passes of {kh} + {kw} instead of "
                     "{n} multiplications").format(v=_vector(v), h=_vector(h), kh=k.shape[0], kw=k.shape[1], n=k.size)
        elif rank == 0:
            sep = tr("all zeros: this input channel does not reach this output channel")
        else:
            sep = tr("not separable (rank {rank}: a sum of {rank} separable kernels)").format(rank=rank)
        pair = tr("output {o} ← input {c}: ").format(o=o, c=c) if (self.kernel.weight.shape[0] > 1
                                                                  or self.kernel.weight.shape[1] > 1) else ""
        self.pair_label.setText("<p>" + pair + tr("sum of weights {s}; {sep}.").format(
            s=format_short(k.sum(dtype=np.float64)), sep=sep) + "</p>")
        self.view.set_image(k, mode="diverging")
        rows, cols = k.shape
        sr, sc = min(rows, MAX_TABLE), min(cols, MAX_TABLE)
        self.table.setRowCount(sr)
        self.table.setColumnCount(sc)
        self.table.setVerticalHeaderLabels([str(i) for i in range(sr)])
        self.table.setHorizontalHeaderLabels([str(j) for j in range(sc)])
        for r in range(sr):
            for col in range(sc):
                item = QTableWidgetItem(format_short(k[r, col]))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, col, item)
        cut = sr < rows or sc < cols
        self.table_note.setText(tr("Table shows the top-left {sr} × {sc} of {rows} × {cols}.").format(
            sr=sr, sc=sc, rows=rows, cols=cols) if cut else "")
        self.table_note.setVisible(cut)

    def table_values(self) -> np.ndarray:
        """The numbers in the table, as floats (tests)."""
        r, c = self.table.rowCount(), self.table.columnCount()
        return np.array([[float(self.table.item(i, j).text()) for j in range(c)] for i in range(r)])
