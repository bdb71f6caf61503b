"""The "Shift the input" dock: translation equivariance and pooling's tolerance, shown.

Two spin boxes (dy rows down, dx columns right, arrow keys step them), the fill of the uncovered
pixels (circular: wrapped around; or zeros), and three maps of the selected layer, one channel:
the map of the input, the map of the shifted input (moved back by the shift over the layer's jump
where the jump divides it), and their difference, with a line of numbers under them. The numbers
are a :class:`~convstudio.session.shift.ShiftComparison` computed off the GUI thread (see
:class:`~convstudio.app.window.explore.ExploreController`); docs/user-guide.md, "Shift the input".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from convstudio.app.editing.kernel_grid import WrapLabel
from convstudio.app.i18n import made_at_run_time, notifier, tr, tr_noop
from convstudio.app.qtsetup import pg
from convstudio.app.views.display import display_block_reduce
from convstudio.core.formatting import format_short
from convstudio.session.shift import MAX_SHIFT, SHIFT_MODES, ShiftComparison

__all__ = ["DISPLAY_SIDE", "MIN_MAP_HEIGHT", "ShiftDisplay", "ShiftPanel", "shift_display",
           "shift_summary"]

#: The captions under the three maps.
_CAPTIONS = (tr_noop("original"), tr_noop("shifted (moved back)"), tr_noop("difference"))

#: However short the dock, the maps keep this many pixels above their captions; the summary
#: under them gets every line it needs before the maps get more.
MIN_MAP_HEIGHT = 48
#: The margin a caption's text document keeps around its line (QTextDocument's default).
_CAPTION_MARGIN = 4


#: The dock shows each map with at most this many pixels along its longer side (a block's value
#: of largest magnitude, as the layer maps do): a 24 MP plane handed to pyqtgraph whole took
#: seconds to colour, and the dock is a few hundred pixels wide.
DISPLAY_SIDE = 1024


@dataclass(frozen=True)
class ShiftDisplay:
    """What the dock paints for one channel: the three planes (shrunk) and their levels."""

    original: np.ndarray
    shifted: np.ndarray
    difference: np.ndarray
    levels: tuple[float, float]  # of original and shifted, from the whole planes
    difference_levels: tuple[float, float]


def shift_display(c: ShiftComparison, channel: int = 0) -> ShiftDisplay:
    """The dock's planes of `c` for `channel` (whole-map work: the window computes it on the
    shift worker's thread, with ``c.change`` and ``c.max_interior_difference``)."""
    ch = min(channel, c.original.shape[0] - 1)
    second = c.aligned if c.aligned is not None else c.shifted
    lo = float(np.nanmin([c.original[ch].min(), second[ch].min()]))
    hi = float(np.nanmax([c.original[ch].max(), second[ch].max()]))
    hi = hi if hi > lo else lo + 1.0
    diff = c.difference[ch]
    m = float(np.abs(diff).max()) or 1.0
    step = max(1, -(-max(diff.shape) // DISPLAY_SIDE))
    return ShiftDisplay(display_block_reduce(c.original[ch], step, step),
                        display_block_reduce(second[ch], step, step),
                        display_block_reduce(diff, step, step), (lo, hi), (-m, m))


def shift_summary(c: ShiftComparison) -> str:
    """One paragraph: what was compared and how large the difference is away from the border."""
    where = tr("Layer {n}, input shifted by dy = {dy}, dx = {dx} ({fill}).").format(
        n=c.layer, dy=c.dy, dx=c.dx, fill=tr(SHIFT_MODES[c.mode]))
    if c.jump is None:
        return tr("{where} The layer's receptive field is in fractions of a pixel: compared as is.").format(
            where=where)
    jy, jx = c.jump
    if c.aligned is not None:
        moved = tr("Its map moved back by ({y}, {x}) (the layer's jump is {jy} x {jx})").format(
            y=c.dy // jy, x=c.dx // jx, jy=jy, jx=jx)
    else:
        moved = tr("The layer's jump {jy} x {jx} does not divide the shift: the maps are compared "
                   "where they are").format(jy=jy, jx=jx)
    worst = c.max_interior_difference
    if worst is None:
        inner = tr("no position is far enough from the border to compare")
    else:
        inner = tr("largest |difference| away from the border: {v}").format(v=format_short(worst))
    return tr("{where} {moved}; {inner}. Change where the map is: {change} "
              "(sum |shifted - original| / sum |original|; 0: unchanged).").format(
        where=where, moved=moved, inner=inner, change=format_short(c.change))


class _Caption(pg.LabelItem):
    """A caption under a map that asks for no width of its own: the three columns stay of one
    width, so the maps are drawn at one scale (a longer caption made its column, and so its
    map, larger). A caption longer than its column is cut at its ends."""

    def updateMin(self) -> None:  # noqa: N802 (pyqtgraph name)
        super().updateMin()
        self.setMinimumWidth(0)
        for hint in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
            if hint in self._sizeHint:
                self._sizeHint[hint] = (0, self._sizeHint[hint][1])
        self.updateGeometry()


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
        # The three views are built the first time they are needed (the dock is shown, or a
        # comparison arrives): most windows never open this dock, and they cost 40 ms.
        self.plot = pg.GraphicsLayoutWidget()
        self._items: dict[str, pg.ImageItem] = {}
        self.captions: dict[str, pg.LabelItem] = {}  # (painted: made again on languageChanged)
        self._fit_captions()  # the plot's minimum (the dock opens taller where the screen has room)
        self._comparison: ShiftComparison | None = None
        self._message: str | None = tr_noop("Select a layer to compare its maps.")  # (English source of the text shown)
        # (its minimum height is every line it needs at its width: under the maps, not over them)
        self.summary = made_at_run_time(WrapLabel())
        self.summary.setText(tr(self._message))
        self.summary.setObjectName("shiftSummary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.summary)
        notifier().languageChanged.connect(self._on_language_changed)

    @property
    def items(self) -> dict[str, pg.ImageItem]:
        """The image of each view ("original", "shifted", "difference"), built on first use."""
        if not self._items:
            for k, title in enumerate(_CAPTIONS):
                box = self.plot.addViewBox(row=0, col=k, lockAspect=True, invertY=True)
                box.setMenuEnabled(False)
                self.captions[title] = caption = _Caption(tr(title))
                self.plot.addItem(caption, row=1, col=k)
                item = pg.ImageItem(axisOrder="row-major")
                box.addItem(item)
                self._items[title.split()[0]] = item
                self.plot.ci.layout.setColumnStretchFactor(k, 1)  # (three columns of one width)
            self._fit_captions()
        return self._items

    def caption_height(self) -> float:
        """The height of the captions' row: a line of the panel's font and its margins."""
        heights = [label.itemRect().height() for label in self.captions.values()]
        line = QFontMetricsF(self.font()).lineSpacing() + 2 * _CAPTION_MARGIN
        return math.ceil(max([line, *heights]))

    def _fit_captions(self) -> None:
        """Captions in the panel's font, their row as high as that font's line, and room in the
        plot for it and MIN_MAP_HEIGHT of maps: at 14 pt the captions no longer overlap the maps
        or the summary (the plot used to keep 120 px whatever the font)."""
        for label in self.captions.values():
            if label.item.font() != self.font():
                label.item.setFont(self.font())
                label.resizeEvent(None)  # (centres the text again and updates its minimum)
        height = self.caption_height()
        layout = self.plot.ci.layout
        if self.captions:
            layout.setRowFixedHeight(1, height)
        _left, top, _right, bottom = layout.getContentsMargins()
        spacing = max(0.0, layout.verticalSpacing())
        frame = 2 * self.plot.frameWidth()
        self.plot.setMinimumHeight(math.ceil(height + MIN_MAP_HEIGHT + spacing + top + bottom + frame))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_captions()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.items  # noqa: B018 - build the views before they are first painted
        super().showEvent(event)

    def _on_language_changed(self, _language: str) -> None:
        """Captions and summary again (docs/developing.md, "Translations")."""
        for title, label in self.captions.items():
            label.setText(tr(title))
        if self._comparison is not None:
            self.summary.setText(shift_summary(self._comparison))
        elif self._message is not None:
            self.summary.setText(tr(self._message))

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

    def show_comparison(self, c: ShiftComparison, channel: int = 0, *,
                        display: ShiftDisplay | None = None) -> None:
        """Show `c` (`display`: its planes, :func:`shift_display`, computed off the GUI thread;
        without it they are computed here)."""
        d = display if display is not None else shift_display(c, channel)
        for key, plane in (("original", d.original), ("shifted", d.shifted)):
            self.items[key].setImage(plane, autoLevels=False, levels=d.levels)
        self.items["difference"].setImage(d.difference, autoLevels=False, levels=d.difference_levels)
        self._comparison, self._message = c, None
        self.summary.setText(shift_summary(c))

    def show_message(self, text: str) -> None:
        """Clear the maps and say `text` (an English source: translated here, and again on a
        language switch)."""
        for item in self.items.values():
            item.clear()
        self.say(text)

    def say(self, text: str) -> None:
        """Say `text` (an English source, as :meth:`show_message`) under the maps shown."""
        self._comparison, self._message = None, text
        self.summary.setText(tr(text))
