"""The learner's loss curve: a log-scale plot whose labels are never cut or overlapping.

:class:`LossPlot` holds the plot and a caption above it. The loss axis's label is turned along
the axis where the axis is long enough for it, else written across above the plot (a small
screen, a large font); :class:`TidyAxis` leaves out tick labels that would overlap. The labels
are in the interface's language and the application's font (``label_axes``, called again on a
language switch by :class:`~convstudio.app.panels.learner.KernelLearner`).
"""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from convstudio.app.i18n import made_at_run_time, tr
from convstudio.app.qtsetup import pg

__all__ = ["LossPlot", "TidyAxis"]


class TidyAxis(pg.AxisItem):
    """A plot axis whose tick labels never overlap.

    pyqtgraph decides whether to label a level of ticks by the room all its labels take together;
    on a log axis the minor labels (2, 3 ... 9 in a decade) crowd together towards the decade's top
    and, at a large font, overlap. Here a label that would overlap one already placed (the major
    levels are placed first) is left out; its tick stays.
    """

    GAP = 2  # pixels kept free between two labels

    def generateDrawSpecs(self, p):  # noqa: N802 (pyqtgraph name)
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis, ticks, texts = specs
        kept: list = []
        for spec in texts:
            rect = spec[0].adjusted(-self.GAP, -self.GAP, self.GAP, self.GAP)
            if not any(rect.intersects(other[0]) for other in kept):
                kept.append(spec)
        return axis, ticks, kept


class LossPlot(QWidget):
    """The loss curve (``curve``) in its plot (``plot``), the caption (``caption``) above it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lossPlotBox")
        self.plot = pg.PlotWidget(axisItems={"left": TidyAxis("left"), "bottom": TidyAxis("bottom")})
        self.plot.setObjectName("lossPlot")
        self.plot.setLogMode(x=False, y=True)
        # the losses as they are: pyqtgraph would scale the ticks and add "(x0.001)" to the label
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        # The loss axis's label, written across above the plot where the plot is too short for
        # it turned along the axis: see _place_loss_label.
        self.caption = made_at_run_time(QLabel())  # (made again on languageChanged)
        self.caption.setObjectName("lossCaption")
        self.caption.setWordWrap(True)
        self.caption.hide()
        self._loss_vertical = True  # the loss label turned along the axis (else: the caption)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.caption)
        box.addWidget(self.plot, 1)
        self.label_axes()
        self.plot.getAxis("left").geometryChanged.connect(self._place_loss_label)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#1f77b4", width=2))

    def label_height(self) -> int:
        """The height the plot needs for its loss label turned along the axis: the left axis
        as long as the label, the bottom axis, the plot's margins."""
        return self._loss_label_length() + self._bottom_axis_height() + 12

    def label_axes(self) -> None:
        """The axis labels, in the language shown and the widget's font (the application's)."""
        font = self.font()
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTickFont(font)
            axis.label.setFont(font)  # (before setLabel, which sizes the axis for its label)
        self.plot.setLabel("bottom", tr("step"))
        self.caption.setText(tr("loss (mean squared error)"))
        self._show_loss_label(self._loss_vertical)
        # Room for the bottom axis and a few tick labels of the loss; the turned label needs more,
        # and has it wherever the screen allows (_preferred_size).
        self.plot.setMinimumHeight(4 * QFontMetrics(font).height() + self._bottom_axis_height())
        self._place_loss_label()  # (a label in another language may be longer)

    def _bottom_axis_height(self) -> int:
        """The bottom axis's height, label included, once its tick labels are drawn (pyqtgraph
        starts from 18 pixels of tick text and grows to the font's on the first paint)."""
        axis = self.plot.getAxis("bottom")
        tick_text = 0.8 * QFontMetrics(axis.style["tickFont"] or self.font()).height()
        return int(axis.minimumHeight() + max(0.0, tick_text - axis.textHeight)) + 1

    def _loss_label_length(self) -> int:
        """The length of the loss label turned along the left axis, which is centred on the
        axis: a shorter axis cuts off both its ends."""
        label = self.plot.getAxis("left").label
        margin = 2 * label.document().documentMargin()  # (the text item's, around its text)
        return int(QFontMetrics(label.font()).horizontalAdvance(tr("loss (mean squared error)")) + margin) + 1

    def _show_loss_label(self, vertical: bool) -> None:
        self._loss_vertical = vertical
        self.plot.setLabel("left", tr("loss (mean squared error)") if vertical else None)
        self.caption.setVisible(not vertical)

    def _place_loss_label(self) -> None:
        """The loss label turned along the left axis where the axis is long enough for it, else
        written across above the plot: never cut off. (Decided on the axis as it is, so a switch
        does not switch back: the caption takes the plot's height, which the turned label
        gives back.) Only once the plot is shown: before, its axes have no size of their own."""
        if not self.plot.isVisible():
            return
        fits = self.plot.getAxis("left").geometry().height() >= self._loss_label_length()
        if fits != self._loss_vertical:
            self._show_loss_label(fits)
