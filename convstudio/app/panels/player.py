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

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.i18n import made_at_run_time, notifier, tr, tr_noop
from convstudio.core.formatting import format_short
from convstudio.session.sliding import SlidingPlan, SlidingStep

__all__ = ["FRAME_MS", "PlayerPanel", "SlidingFigure"]

#: One frame of the animation.
FRAME_MS = 16

_WINDOW = QColor(255, 170, 0)
_DONE = QColor(120, 180, 255)
_NOW = QColor(255, 200, 90)


def _short(v: float) -> str:
    return "" if not math.isfinite(v) else format_short(v)


class SlidingFigure(QWidget):
    """The input grids with the window, the kernel and the output filling in (painted)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan: SlidingPlan | None = None
        self.index = 0
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
        blocks = self._blocks()
        cols = sum(b.shape[1] for _, b in blocks) + len(blocks)
        rows = max(b.shape[0] for _, b in blocks) + 1.5
        return max(4.0, min(self.width() / cols, self.height() / rows, 48.0))

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.plan is None or not len(self.plan):
            return
        painter = QPainter(self)
        side = self.cell_side()
        font = QFont(self.font())
        font.setPixelSize(max(6, int(side * 0.32)))
        painter.setFont(font)
        step = self.plan.steps[self.index]
        x = 0.0
        for k, (title, block) in enumerate(self._blocks()):
            painter.setPen(self.palette().text().color())
            painter.drawText(QRectF(x, 0, block.shape[1] * side + side, side), title)
            self._grid(painter, block, x, side, side, self._marks(k, step, block.shape))
            x += (block.shape[1] + 1) * side
        painter.end()

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
                if side >= 14 and (not filled or colour is not None):
                    painter.setPen(QColor(0, 0, 0))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, _short(v))


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
        layout.addWidget(self.figure, 1)
        layout.addWidget(self.expression)
        layout.addWidget(self.running)
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
