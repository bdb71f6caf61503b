"""The "Shift the input" dock: translation equivariance and pooling's tolerance, shown.

Two spin boxes (dy rows down, dx columns right, arrow keys step them), the fill of the uncovered
pixels (circular: wrapped around; or zeros), and three maps of the selected layer, one channel:
the map of the input, the map of the shifted input (moved back by the shift over the layer's jump
where the jump divides it), and their difference, with a line of numbers under them. The numbers
are a :class:`~convstudio.session.shift.ShiftComparison` computed off the GUI thread (see
:class:`~convstudio.app.window.explore.ExploreController`); docs/user-guide.md, "Shift the input".
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from convstudio.app.qtsetup import pg
from convstudio.core.formatting import format_short
from convstudio.session.shift import MAX_SHIFT, SHIFT_MODES, ShiftComparison

__all__ = ["ShiftPanel", "shift_summary"]


def shift_summary(c: ShiftComparison) -> str:
    """One paragraph: what was compared and how large the difference is away from the border."""
    where = (f"Layer {c.layer}, input shifted by dy = {c.dy}, dx = {c.dx} "
             f"({SHIFT_MODES[c.mode]}).")
    if c.jump is None:
        return f"{where} The layer's receptive field is in fractions of a pixel: compared as is."
    jy, jx = c.jump
    if c.aligned is not None:
        moved = f"Its map moved back by ({c.dy // jy}, {c.dx // jx}) (the layer's jump is {jy} x {jx})"
    else:
        moved = (f"The layer's jump {jy} x {jx} does not divide the shift: the maps are compared "
                 "where they are")
    worst = c.max_interior_difference
    if worst is None:
        inner = "no position is far enough from the border to compare"
    else:
        inner = f"largest |difference| away from the border: {format_short(worst)}"
    return (f"{where} {moved}; {inner}. Change where the map is: {format_short(c.change)} "
            "(sum |shifted - original| / sum |original|; 0: unchanged).")


class ShiftPanel(QWidget):
    """The dock's content. ``shiftChanged`` fires when dy, dx or the fill changes."""

    shiftChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dy = self._spin("Rows down (negative: up)")
        self.dx = self._spin("Columns right (negative: left)")
        self.mode = QComboBox()
        for key, text in SHIFT_MODES.items():
            self.mode.addItem(text, key)
        self.mode.setToolTip("What fills the pixels the shift uncovers")
        self.mode.currentIndexChanged.connect(lambda _i: self.shiftChanged.emit())
        row = QHBoxLayout()
        for text, w in (("dy", self.dy), ("dx", self.dx), ("fill", self.mode)):
            row.addWidget(QLabel(text))
            row.addWidget(w)
        row.addStretch(1)
        self.plot = pg.GraphicsLayoutWidget()
        self.plot.setMinimumHeight(160)
        self.items: dict[str, pg.ImageItem] = {}
        for k, title in enumerate(("original", "shifted (moved back)", "difference")):
            box = self.plot.addViewBox(row=0, col=k, lockAspect=True, invertY=True)
            box.setMenuEnabled(False)
            self.plot.addLabel(title, row=1, col=k)
            item = pg.ImageItem(axisOrder="row-major")
            box.addItem(item)
            self.items[title.split()[0]] = item
        self.summary = QLabel("Select a layer to compare its maps.")
        self.summary.setObjectName("shiftSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.summary)

    def _spin(self, tip: str) -> QSpinBox:
        s = QSpinBox()
        s.setRange(-MAX_SHIFT, MAX_SHIFT)
        s.setValue(1 if "Columns" in tip else 0)
        s.setToolTip(tip)
        s.valueChanged.connect(lambda _v: self.shiftChanged.emit())
        return s

    def shift(self) -> tuple[int, int, str]:
        """(dy, dx, fill mode) as set now."""
        return self.dy.value(), self.dx.value(), str(self.mode.currentData())

    def set_shift(self, dy: int, dx: int, mode: str | None = None) -> None:
        self.dy.setValue(int(dy))
        self.dx.setValue(int(dx))
        if mode is not None:
            self.mode.setCurrentIndex(list(SHIFT_MODES).index(mode))

    def show_comparison(self, c: ShiftComparison, channel: int = 0) -> None:
        ch = min(channel, c.original.shape[0] - 1)
        second = c.aligned if c.aligned is not None else c.shifted
        lo = float(np.nanmin([c.original[ch].min(), second[ch].min()]))
        hi = float(np.nanmax([c.original[ch].max(), second[ch].max()]))
        hi = hi if hi > lo else lo + 1.0
        for key, plane in (("original", c.original[ch]), ("shifted", second[ch])):
            self.items[key].setImage(plane, autoLevels=False, levels=(lo, hi))
        diff = c.difference[ch]
        m = float(np.abs(diff).max()) or 1.0
        self.items["difference"].setImage(diff, autoLevels=False, levels=(-m, m))
        self.summary.setText(shift_summary(c))

    def show_message(self, text: str) -> None:
        for item in self.items.values():
            item.clear()
        self.summary.setText(text)
