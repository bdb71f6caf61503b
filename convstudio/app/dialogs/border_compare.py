"""Border modes side by side: the selected conv layer computed with every padding mode (zeros,
reflect, replicate, circular, symmetric), next to each other, zoom linked, the border region
outlined.

Inside the dashed box every window stays inside the layer's input, so the results are equal
there; outside it (the border region) each window reaches into padding, and the modes differ.
The box comes from the layer's own geometry: output pixel i's window covers input rows
``i*s - top ... i*s - top + d*(k - 1)``, which stays inside for ``ceil(top / s) <= i <=
floor((n - 1 + top - d*(k - 1)) / s)`` (likewise columns).

A layer without padding gives equal results; the comparison then uses "same" padding (and
says so), which is what one compares border modes for.

The dialog opens at a size that fits the available area of its parent's screen
(``app/dialogs/fitting.py``, as the kernel learner does): on a small screen (1024 x 600, or a
large font) the maps shrink, the texts wrap, and the buttons above and below them stay in view.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.dialogs.fitting import FitsItsScreen, fit_on_screen
from convstudio.app.i18n import describe_layer, made_at_run_time, tr
from convstudio.app.model.worker import Worker
from convstudio.app.views.colormaps import AUTO, display_for
from convstudio.app.views.feature_view import ImageView, Placement, ViewLinker
from convstudio.app.views.receptive_overlay import cells_rect
from convstudio.core import Conv2d, Layer, Pipeline
from convstudio.core.layers import CONV_PAD_MODES

__all__ = ["BORDER_MODE_TYPES", "BorderCompareDialog", "MODES", "border_interior", "compare_layer",
           "comparison_layer", "compares_borders"]

MODES = tuple(CONV_PAD_MODES)  # zeros, reflect, replicate, circular, symmetric

#: Layer types whose border modes can be compared: a ``padding_mode`` taking every one of
#: :data:`MODES`, and a window given by ``pads``, ``kernel_size``, ``stride`` and ``dilation``.
BORDER_MODE_TYPES = frozenset({"conv2d"})
MODE_TEXT = {"zeros": "zeros", "reflect": "reflect (mirror, edge not repeated)",
             "replicate": "replicate (edge repeated)", "circular": "circular (wrap around)",
             "symmetric": "symmetric (mirror, edge repeated)"}
_COLUMNS = (len(MODES) + 1) // 2  # the views in two rows
#: The size the dialog asks for on a screen large enough (logical pixels, frame excluded).
PREFERRED_SIZE = QSize(1100, 820)
#: The smallest a map's view (its title and readout included) becomes in a small dialog.
MAP_MIN_SIZE = QSize(120, 100)


def compares_borders(layer: Layer | None) -> bool:
    """Whether Layer ▸ Compare border modes applies to `layer`."""
    return layer is not None and layer.type in BORDER_MODE_TYPES


def comparison_layer(layer: Conv2d) -> tuple[Conv2d, bool]:
    """The layer to compare (itself, or with "same" padding when it has none) and whether the
    padding was changed."""
    if layer.pads != (0, 0, 0, 0):
        return layer, False
    same = dataclasses.replace(layer, padding="same")
    return same, same.pads != (0, 0, 0, 0)


def compare_layer(layer: Conv2d, x: np.ndarray, cancelled=None) -> dict[str, np.ndarray]:
    """``{mode: output}`` of `layer` on its input `x` (C, H, W) under every padding mode."""
    from convstudio.core import RunCancelled

    out = {}
    for mode in MODES:
        if cancelled is not None and cancelled():
            raise RunCancelled()
        out[mode] = dataclasses.replace(layer, padding_mode=mode).forward(x)
    return out


def compare_with_stats(layer: Conv2d, x: np.ndarray, cancelled=None):
    """The border dialog's job: (:func:`compare_layer`'s outputs, ``{mode: (values that differ
    from zeros', all values, largest |difference|)}`` for every mode but the first). Whole-map
    work, on the worker: at 24 MP the float64 differences took seconds on the GUI thread."""
    outputs = compare_layer(layer, x, cancelled)
    base = outputs[MODES[0]]
    stats = {}
    for mode in MODES[1:]:
        diff = np.abs(outputs[mode].astype(np.float64) - base)
        stats[mode] = (int(np.count_nonzero(diff > 0)), int(diff.size),
                       float(diff.max()) if diff.size else 0.0)
    return outputs, stats


def border_interior(layer: Conv2d, in_shape) -> tuple[int, int, int, int] | None:
    """Output cells ``(r0, r1, c0, c1)`` (end-exclusive) whose windows stay inside the input, or
    None if every window touches the padding."""
    _, h, w = in_shape
    top, _, left, _ = layer.pads
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
    out = layer.output_shape(in_shape)

    def axis(n, before, k, s, d, count):
        first = -(-before // s)
        last = (n - 1 + before - d * (k - 1)) // s
        last = min(last, count - 1)
        return first, last + 1

    r0, r1 = axis(h, top, kh, sh, dh, out[1])
    c0, c1 = axis(w, left, kw, sw, dw, out[2])
    if r0 >= r1 or c0 >= c1:
        return None
    return (r0, r1, c0, c1)


class BorderCompareDialog(FitsItsScreen, QDialog):
    """A window with one map per mode. Call :meth:`show_layer`; the computation runs in `task`."""

    def __init__(self, task: Worker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("borderCompareDialog")
        self.setWindowTitle("Compare border modes")
        self._task = task  # this dialog's own: its newest token is the one to show
        self._linker = ViewLinker(self)
        self.title = made_at_run_time(QLabel())
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.note = made_at_run_time(QLabel())
        self.note.setWordWrap(True)
        self.channel_spin = QSpinBox()
        self.channel_spin.setPrefix("channel ")
        self.channel_spin.valueChanged.connect(lambda _v: self._show())
        self.corner_button = QPushButton("Top-left corner")
        self.corner_button.setToolTip("Zoom to the top-left corner, where the modes differ")
        self.corner_button.clicked.connect(self.zoom_corner)
        self.fit_button = QPushButton("Whole map")
        self.fit_button.clicked.connect(lambda: self.views[MODES[0]].auto_range())
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.channel_spin)
        head.addWidget(self.corner_button)
        head.addWidget(self.fit_button)

        # The maps shrink with the dialog (down to MAP_MIN_SIZE); the rows above and below them,
        # the buttons in them, keep their room.
        grid = QGridLayout()
        grid.setSpacing(6)
        self.views: dict[str, ImageView] = {}
        self.stats: dict[str, QLabel] = {}
        for k, mode in enumerate(MODES):
            view = ImageView(view_id=f"border-{mode}", title=MODE_TEXT[mode])
            view.setMinimumSize(MAP_MIN_SIZE)
            self._linker.link(view.view_box())
            stat = made_at_run_time(QLabel())
            stat.setStyleSheet("color: gray;")
            stat.setWordWrap(True)  # (a long count would otherwise set the column's width)
            # each map above its line of numbers, the maps of a row in one grid row (as tall as
            # each other however many lines the numbers beside them wrap to)
            row, column = 2 * (k // _COLUMNS), k % _COLUMNS
            grid.addWidget(view, row, column)
            grid.addWidget(stat, row + 1, column, Qt.AlignmentFlag.AlignTop)
            grid.setRowStretch(row, 1)
            self.views[mode] = view
            self.stats[mode] = stat
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.note, 1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(grid, 1)
        layout.addLayout(bottom)
        fit_on_screen(self, PREFERRED_SIZE, self._screen_geometry())

        self.outputs: dict[str, np.ndarray] = {}
        # per mode but the first: (values differing from it, all values, largest |difference|)
        self.differences: dict[str, tuple[int, int, float]] = {}
        self.interior: tuple[int, int, int, int] | None = None
        self._placement = Placement()
        self._mode = AUTO
        self._index = 0
        self._corner = (0.0, 0.0, 1.0, 1.0)
        self._zoom_key: tuple | None = None
        self._refit = False
        task.done.connect(self._on_done)
        task.failed.connect(self._on_failed)

    def show_layer(self, index: int, layer: Conv2d, x: np.ndarray, pipeline: Pipeline,
                   factor: int = 1, mode: str = AUTO) -> None:
        """Compare layer `index` (1-based) of `pipeline`, whose input is `x`."""
        used, changed = comparison_layer(layer)
        self._mode = mode
        self._index = index
        p = pipeline.replace_layer(index - 1, used)
        rf = p.receptive_fields()[index]
        self._placement = Placement(jump=(rf.jump[0] * factor, rf.jump[1] * factor),
                                    start=(rf.start[0] * factor, rf.start[1] * factor),
                                    size=(rf.size[0] * factor, rf.size[1] * factor))
        self.interior = border_interior(used, x.shape)
        out_shape = used.output_shape(x.shape)
        # A corner a few windows wide: the border region is only a few pixels thick.
        span = max(24, 6 * max(used.kernel_size[0] * used.dilation[0],
                               used.kernel_size[1] * used.dilation[1]))
        rows, cols = min(span, out_shape[1]), min(span, out_shape[2])
        self._corner = cells_rect(self._placement, (0, rows, 0, cols))
        zoom_key = (index, out_shape)
        self._refit = zoom_key != self._zoom_key
        self._zoom_key = zoom_key
        t, b, l, r = used.pads
        self.title.setText(tr("Layer {n}: {layer} — padding top {t}, bottom {b}, left {l}, right {r}").format(
            n=index, layer=describe_layer(layer), t=t, b=b, l=l, r=r))
        notes = []
        if changed:
            notes.append(tr("This layer has no padding, so every mode gives the same result; the comparison uses "
                            "\"same\" padding instead."))
        elif used.pads == (0, 0, 0, 0):
            notes.append(tr("A 1 × 1 kernel needs no padding: the modes agree everywhere."))
        notes.append(tr("Inside the dashed box every window stays inside the image, so all the modes agree; outside "
                        "it the windows reach into the padding and the modes differ."))
        self.note.setText(" ".join(notes))
        for stat in self.stats.values():
            stat.setText(tr("computing…"))
        self._task.submit(lambda cancelled, lay=used, xx=x: compare_with_stats(lay, xx, cancelled))

    # ---------------------------------------------------------------- results
    def _on_done(self, token: int, result) -> None:
        if token != self._task.latest:
            return
        outputs, stats = result
        self.outputs = outputs
        self.differences = stats
        c = next(iter(outputs.values())).shape[0]
        self.channel_spin.blockSignals(True)
        self.channel_spin.setRange(0, c - 1)
        self.channel_spin.setValue(min(self.channel_spin.value(), c - 1))
        self.channel_spin.blockSignals(False)
        self.channel_spin.setVisible(c > 1)
        for mode in outputs:
            if mode == MODES[0]:
                self.stats[mode].setText(tr("the reference for the others"))
                continue
            n, total, dmax = stats[mode]
            where = tr("in all channels") if c > 1 else ""
            self.stats[mode].setText(tr("differs from zeros at {n} of {total} values {where} (max |Δ| {d})").format(
                n=f"{n:,}", total=f"{total:,}", where=where, d=f"{dmax:.4g}") if n else
                tr("identical to zeros"))
        self._show()
        if self._refit:
            self._refit = False
            self.zoom_corner()

    def zoom_corner(self) -> None:
        """Show the top-left corner of the maps (all the views follow)."""
        x, y, w, h = self._corner
        pad = 0.08 * max(w, h)
        self.views[MODES[0]].view_box().setRange(
            rect=QRectF(x - pad, y - pad, w + 2 * pad, h + 2 * pad), padding=0)

    def _on_failed(self, token: int, message: str) -> None:
        if token != self._task.latest:
            return
        for stat in self.stats.values():
            stat.setText("")
        self.note.setText(f"⚠ {message}")

    def _show(self) -> None:
        if not self.outputs:
            return
        ch = self.channel_spin.value()
        # One scale for all the modes, from all their values (so the borders compare).
        levels = display_for(np.stack([self.outputs[m][ch] for m in MODES]), self._mode).levels
        pen = QPen(QColor(255, 255, 255))
        pen.setCosmetic(True)
        pen.setWidthF(2.0)
        pen.setStyle(Qt.PenStyle.DashLine)
        for mode in MODES:
            view = self.views[mode]
            view.set_image(self.outputs[mode], channel=ch, placement=self._placement,
                           mode=self._mode, levels=levels)
            if self.interior is not None:
                view.add_rect_overlay("interior", cells_rect(self._placement, self.interior),
                                      pen=pen)
            else:
                view.remove_overlay("interior")

    def closeEvent(self, event) -> None:
        self._task.cancel()
        super().closeEvent(event)
