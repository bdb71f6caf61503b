"""The "Sliding window" dock: a conv or pooling layer's window, played step by step.

The figure draws what the tutorial's figures draw: the layer input around the window (padding
cells hatched), one grid per input channel with the window on it, the kernel, and the output
filling in value by value; under it the step written out (the products and their sum) and the
running sum. Play / Pause, one step back or forward, a speed (output values per second) and a
slider to scrub. The steps are a :class:`~convstudio.session.sliding.SlidingPlan`, prepared off
the GUI thread; a frame (a 16 ms timer, 60 per second) only moves an index and repaints, so the
window never waits on it, however large the map (docs/user-guide.md, "The sliding window, played").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontInfo, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.editing.kernel_model import compact_cell_texts
from convstudio.app.i18n import made_at_run_time, notifier, tr, tr_noop
from convstudio.core.formatting import format_short
from convstudio.session.sliding import SlidingPlan, SlidingStep

__all__ = ["FRAME_MS", "FigureLayout", "PlayerPanel", "SlidingFigure"]

#: One frame of the animation.
FRAME_MS = 16

_WINDOW = QColor(255, 170, 0)
_DONE = QColor(120, 180, 255)
_NOW = QColor(255, 200, 90)


def _short(v: float) -> str:
    return "" if not math.isfinite(v) else format_short(v)


#: The largest cell side (pixels) unless the values need more, and the text size per pixel of
#: cell side: the figure's look at the default font.
CELL_SIDE = 48.0
TEXT_PER_SIDE = 0.32
#: Titles and numbers are never smaller than this share of the widget font's pixel size.
MIN_TEXT_SHARE = 0.8
#: Cells may shrink this much (a share of their side) to keep every title whole.
TITLE_SHRINK = 0.75


@dataclass(frozen=True)
class FigureLayout:
    """Where :class:`SlidingFigure` paints: cells of `side` pixels in `font` (titles and numbers),
    the grids from y = `top` (the titles above them); block k at x = ``lefts[k]``, its title
    ``titles[k]`` (elided where the width is short) in ``title_widths[k]`` pixels."""

    side: float
    top: float
    font: QFont
    lefts: tuple[float, ...]
    titles: tuple[str, ...]
    title_widths: tuple[float, ...]


class SlidingFigure(QWidget):
    """The input grids with the window, the kernel and the output filling in (painted).

    Titles and numbers are written in the widget's font scaled with the cells, never below
    MIN_TEXT_SHARE of its size; the cells grow (up to the room there is) to hold the values."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan: SlidingPlan | None = None
        self.index = 0
        # (plan, key, value) of the last layout and of the widest value text, cached for the
        # frames that only move the index
        self._layout: tuple[SlidingPlan | None, tuple, FigureLayout] | None = None
        self._widest: tuple[SlidingPlan | None, str, float] | None = None
        self._fitted: dict[tuple, str] = {}  # (value, width, font) -> the text that fits
        self.setMinimumHeight(140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_step(self, plan: SlidingPlan | None, index: int) -> None:
        self.plan, self.index = plan, index
        self.update()

    def _blocks(self) -> list[tuple[str, np.ndarray]]:
        p = self.plan
        blocks = [(tr("input channel {c}").format(c=c), p.crop[k]) for k, c in enumerate(p.input_channels)]
        if p.kernel is not None:
            blocks += [(tr("kernel [{o}, {i}]").format(o=p.channel, i=k), p.kernel[k])
                       for k in range(p.kernel.shape[0])]
        blocks.append((tr("output channel {c}").format(c=p.channel), p.outputs))
        return blocks

    def cell_side(self) -> float:
        return self.figure_layout().side

    def min_text_pixels(self) -> int:
        """The smallest text the figure writes: MIN_TEXT_SHARE of the widget font."""
        return max(6, math.ceil(MIN_TEXT_SHARE * QFontInfo(self.font()).pixelSize()))

    def text_font(self, side: float) -> QFont:
        """The titles' and numbers' font for cells of `side` pixels."""
        font = QFont(self.font())
        font.setPixelSize(max(self.min_text_pixels(), int(min(side, CELL_SIDE) * TEXT_PER_SIDE)))
        return font

    def _widest_value(self, font: QFont) -> float:
        """The width of the widest value text of the plan in `font` (cached per plan)."""
        cached = self._widest
        if cached is None or cached[0] is not self.plan or cached[1] != font.key():
            metrics = QFontMetricsF(font)
            values = [self.plan.crop.ravel(), self.plan.outputs.ravel()]
            if self.plan.kernel is not None:
                values.append(self.plan.kernel.ravel())
            texts = {_short(float(v)) for a in values for v in a}
            widest = max((metrics.horizontalAdvance(t) for t in texts), default=0.0)
            self._widest = cached = (self.plan, font.key(), widest)
        return cached[2]

    def figure_layout(self) -> FigureLayout:
        """The cell side, the text font and where each block and title goes (see
        :class:`FigureLayout`), for the plan shown at the widget's size."""
        blocks = self._blocks() if self.plan is not None and len(self.plan) else []
        key = (self.width(), self.height(), self.font().key(), tuple(title for title, _ in blocks))
        cached = self._layout
        if cached is None or cached[0] is not self.plan or cached[1] != key:
            self._layout = cached = (self.plan, key, self._compute_layout(blocks))
        return cached[2]

    def _compute_layout(self, blocks: list[tuple[str, np.ndarray]]) -> FigureLayout:
        if not blocks:
            return FigureLayout(CELL_SIDE, CELL_SIDE, self.text_font(CELL_SIDE), (), (), ())
        width, height = float(self.width()), float(self.height())
        cols = sum(b.shape[1] for _, b in blocks) + len(blocks)
        rows = max(b.shape[0] for _, b in blocks)
        # Cells grow past CELL_SIDE where a value needs it (the text stops growing there).
        largest = QFontMetricsF(self.text_font(CELL_SIDE))
        cap = max(CELL_SIDE, self._widest_value(self.text_font(CELL_SIDE)) + 6, largest.height() + 2)
        # The title row is a cell high, or a line of the smallest text where cells are smaller.
        title_line = QFontMetricsF(self.text_font(0)).height() + 2
        by_height = height / (rows + 1.5)
        if by_height < title_line:
            by_height = (height - title_line) / (rows + 0.5)
        side = max(4.0, min(width / cols, by_height, cap))

        def widths(s: float) -> tuple[list[float], list[float]]:
            """Each block's own width (grid and a cell of gap) and what its title needs."""
            metrics = QFontMetricsF(self.text_font(s))
            gap = metrics.horizontalAdvance("  ")
            own = [(b.shape[1] + 1) * s for _, b in blocks]
            need = [metrics.horizontalAdvance(title) + gap for title, _ in blocks]
            return own, need

        def fits(s: float) -> bool:
            own, need = widths(s)
            return sum(max(o, n) for o, n in zip(own, need)) <= width

        if not fits(side) and fits(side * TITLE_SHRINK):
            lo, hi = side * TITLE_SHRINK, side  # smaller cells for whole titles
            for _ in range(12):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if fits(mid) else (lo, mid)
            side = lo
        own, need = widths(side)
        # Widths beyond the grids go to the titles that need them, in proportion.
        spare = max(0.0, width - sum(own))
        extra = [max(0.0, n - o) for o, n in zip(own, need)]
        share = min(1.0, spare / sum(extra)) if sum(extra) else 0.0
        advances = [o + e * share for o, e in zip(own, extra)]
        font = self.text_font(side)
        metrics = QFontMetricsF(font)
        gap = metrics.horizontalAdvance(" ")
        lefts, titles, title_widths, x = [], [], [], 0.0
        for (title, _), advance in zip(blocks, advances):
            room = max(0.0, advance - gap)
            lefts.append(x)
            titles.append(metrics.elidedText(title, Qt.TextElideMode.ElideRight, room))
            title_widths.append(room)
            x += advance
        top = max(side, metrics.height() + 2)
        return FigureLayout(side, top, font, tuple(lefts), tuple(titles), tuple(title_widths))

    def event(self, event: QEvent) -> bool:
        """A block's whole title as its tooltip where the row of titles shortens it."""
        if event.type() == QEvent.Type.ToolTip and self.plan is not None and len(self.plan):
            layout, x = self.figure_layout(), event.pos().x()
            k = next((k for k in reversed(range(len(layout.lefts))) if layout.lefts[k] <= x), None)
            title = None if k is None else self._blocks()[k][0]
            if title is not None and title != layout.titles[k]:
                QToolTip.showText(event.globalPos(), title, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.plan is None or not len(self.plan):
            return
        layout = self.figure_layout()
        painter = QPainter(self)
        painter.setFont(layout.font)
        side, top = layout.side, layout.top
        step = self.plan.steps[self.index]
        for k, (_title, block) in enumerate(self._blocks()):
            x = layout.lefts[k]
            painter.setPen(self.palette().text().color())
            painter.drawText(QRectF(x, 0, layout.title_widths[k], top),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, layout.titles[k])
            self._grid(painter, block, x, top, side, self._marks(k, step, block.shape))
        painter.end()

    def cell_text(self, value: float, width: float, font: QFont) -> str:
        """`value` as the figure writes it in `font` in a cell with `width` pixels for the text:
        fewer digits where the full text does not fit, nothing where no text does."""
        if not math.isfinite(value):
            return ""
        key = (value, width, font.key())
        text = self._fitted.get(key)
        if text is None:
            text = ""
            metrics = QFontMetricsF(font)
            for candidate in (_short(value), *compact_cell_texts(value)):
                if metrics.horizontalAdvance(candidate) <= width:
                    text = candidate
                    break
            if len(self._fitted) > 4096:
                self._fitted.clear()
            self._fitted[key] = text
        return text

    def _marks(self, k: int, step: SlidingStep, shape) -> dict[tuple[int, int], QColor]:
        """Colours of the cells of block `k`: the window on the inputs, the whole kernel, the
        output values done and the one being computed."""
        p = self.plan
        n_in = len(p.input_channels)
        n_kernel = 0 if p.kernel is None else p.kernel.shape[0]
        if k < n_in:
            r0, c0 = p.crop_origin
            return {(r - r0, c - c0): _WINDOW for r in step.rows for c in step.cols}
        if k < n_in + n_kernel:
            return {(r, c): _WINDOW for r in range(shape[0]) for c in range(shape[1])}
        done = {}
        cols = p.region[3] - p.region[2]
        for i in range(step.index + 1):
            done[(i // cols, i % cols)] = _NOW if i == step.index else _DONE
        return done

    def _grid(self, painter: QPainter, block: np.ndarray, x0: float, y0: float, side: float,
              marks: dict[tuple[int, int], QColor]) -> None:
        filled = self.plan is not None and block is self.plan.outputs
        font = painter.font()
        numbers = side >= 14 and QFontMetricsF(font).height() <= side + 2
        for r in range(block.shape[0]):
            for c in range(block.shape[1]):
                rect = QRectF(x0 + c * side, y0 + r * side, side, side)
                colour = marks.get((r, c))
                painter.fillRect(rect, colour if colour is not None else QColor(250, 250, 250))
                v = float(block[r, c])
                if not math.isfinite(v):
                    painter.fillRect(rect, QBrush(QColor(200, 60, 60), Qt.BrushStyle.BDiagPattern))
                painter.setPen(QPen(QColor(90, 90, 90)))
                painter.drawRect(rect)
                if numbers and (not filled or colour is not None):
                    text = self.cell_text(v, side - 2, font)
                    if text:
                        painter.setPen(QColor(0, 0, 0))
                        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


class StepTexts(QScrollArea):
    """The step's texts under the figure: as tall as their lines where the dock has room,
    scrolled where it has not (a 3 x 3 x 3 window at 14 pt needs a dozen lines, and wrapped
    labels squeezed below that were painted over the figure)."""

    def __init__(self, labels: list[QLabel], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("slidingTexts")
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        for label in labels:
            layout.addWidget(label)
        layout.addStretch(1)
        self.setWidget(body)
        for w in (self.viewport(), body):
            w.setAutoFillBackground(False)
        body.installEventFilter(self)  # a label's new text: its LayoutRequest
        self._width = -1

    def _needed_height(self, width: int) -> int:
        body = self.widget()
        height = body.heightForWidth(width) if body.hasHeightForWidth() else -1
        return max(0, height if height >= 0 else body.sizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        width = self.width() if self.width() > 0 else super().sizeHint().width()
        return QSize(super().sizeHint().width(), self._needed_height(width) + 2 * self.frameWidth())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        lines = 2 * self.fontMetrics().lineSpacing()
        return QSize(super().minimumSizeHint().width(), min(self.sizeHint().height(), lines))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt name)
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the texts changed: the height they need now
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        if self.width() != self._width:  # another width, another number of lines
            self._width = self.width()
            self.updateGeometry()


class PlayerPanel(QWidget):
    """Controls and figure. ``stepShown(index)`` fires whenever another step is on screen."""

    stepShown = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan: SlidingPlan | None = None
        self._index = 0
        self._due = 0.0  # frames' worth of time until the next step
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._on_frame)
        self.figure = SlidingFigure()
        style = self.style()
        self.play_button = made_at_run_time(
            QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), tr("Play")))
        self.play_button.clicked.connect(self.toggle)
        self.back_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward), "")
        self.back_button.setToolTip("One step back")
        self.back_button.clicked.connect(lambda: self.seek(self._index - 1))
        self.step_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward), "")
        self.step_button.setToolTip("One step forward")
        self.step_button.clicked.connect(lambda: self.seek(self._index + 1))
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.25, 60.0)
        self.speed.setValue(2.0)
        self.speed.setSuffix(" /s")
        self.speed.setToolTip("Output values per second")
        self.scrub = QSlider(Qt.Orientation.Horizontal)
        self.scrub.setToolTip("Scrub through the steps")
        self.scrub.valueChanged.connect(self.seek)
        controls = QHBoxLayout()
        for w in (self.back_button, self.play_button, self.step_button, QLabel("speed"), self.speed):
            controls.addWidget(w)
        controls.addWidget(self.scrub, 1)
        self._message = tr_noop("Select a conv or pooling layer.")  # (the English source while no plan is shown)
        self.expression = made_at_run_time(QLabel(tr(self._message)))
        self.expression.setObjectName("slidingExpression")
        self.expression.setWordWrap(True)
        self.expression.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.running = made_at_run_time(QLabel())
        self.running.setObjectName("slidingRunning")
        self.running.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.texts = StepTexts([self.expression, self.running])
        layout.addWidget(self.figure, 1)
        layout.addWidget(self.texts)
        layout.addLayout(controls)
        self._enable(False)
        notifier().languageChanged.connect(self._on_language_changed)

    def _on_language_changed(self, _language: str) -> None:
        """Make the step's texts again (docs/developing.md, "Translations")."""
        self.play_button.setText(tr("Pause") if self.playing else tr("Play"))
        if self.plan is None:
            self.expression.setText(tr(self._message))
        else:
            self._show_texts(self.plan.steps[self._index], self._index)
        self.figure.update()

    # ------------------------------------------------------------------ state
    @property
    def index(self) -> int:
        return self._index

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def set_plan(self, plan: SlidingPlan | None, message: str = "") -> None:
        """Show `plan` from its first step (None: nothing to play; `message`, an English source
        translated here and again on a language switch, says why)."""
        self.pause()
        self.plan = plan
        self._enable(plan is not None)
        if plan is None:
            self.figure.show_step(None, 0)
            self._message = message or "Select a conv or pooling layer."
            self.expression.setText(tr(self._message))
            self.running.clear()
            return
        self.scrub.blockSignals(True)
        self.scrub.setRange(0, len(plan) - 1)
        self.scrub.blockSignals(False)
        self._index = -1
        self.seek(0)

    def seek(self, index: int) -> None:
        """Show step `index` (clamped into range)."""
        if self.plan is None:
            return
        index = max(0, min(int(index), len(self.plan) - 1))
        if index == self._index:
            return
        self._index = index
        step = self.plan.steps[index]
        self.figure.show_step(self.plan, index)
        self._show_texts(step, index)
        if self.scrub.value() != index:
            self.scrub.blockSignals(True)
            self.scrub.setValue(index)
            self.scrub.blockSignals(False)
        self.stepShown.emit(index)

    def _show_texts(self, step: SlidingStep, index: int) -> None:
        self.expression.setText(tr("Output ({row}, {col}), step {n} of {total}: {sum}").format(
            row=step.row, col=step.col, n=index + 1, total=len(self.plan), sum=step.text()))
        what = {"conv": tr("running sum"), "max": tr("running maximum"), "avg": tr("running sum, then / divisor")}
        self.running.setText(tr("{what}: {values}; the map holds {value}").format(
            what=what[step.kind], values=step.running_text(), value=format_short(step.output)))

    def play(self) -> None:
        if self.plan is None:
            return
        if self._index >= len(self.plan) - 1:
            self.seek(0)
        self._due = 0.0
        self.timer.start()
        self.play_button.setText(tr("Pause"))
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))

    def pause(self) -> None:
        self.timer.stop()
        self.play_button.setText(tr("Play"))
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    # ------------------------------------------------------------------ internals
    def _on_frame(self) -> None:
        self._due += self.speed.value() * FRAME_MS / 1000.0
        if self._due < 1.0:
            return
        steps, self._due = int(self._due), self._due - int(self._due)
        self.seek(self._index + steps)
        if self.plan is None or self._index >= len(self.plan) - 1:
            self.pause()

    def _enable(self, on: bool) -> None:
        for w in (self.play_button, self.back_button, self.step_button, self.scrub):
            w.setEnabled(on)
