"""Large fonts: the Learn docks and the kernel grid written in the application's font.

At 14 pt on a 1280 x 720 screen the captions of Learn ▸ Shift the input were painted over its
maps and the summary's first line hidden under them, the sliding-window player wrote its titles
and numbers in 7 px text sized from its cells, and the kernel grid's cells stopped at 58 px, which
rounded "-0.299" to "-0.3". The checks below run in this process's font and, by the last test, in a
new process at 14 pt (the application font is set once per process).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FONT_PT, rerun_at_font, settle, use_test_font
from PySide6.QtCore import QEvent, QPoint, QRect, Qt
from PySide6.QtGui import QFontInfo, QFontMetrics, QHelpEvent, QImage
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QTableView, QToolTip

from convstudio.app.editing import kernel_grid
from convstudio.app.editing.kernel_editor import KernelEditor
from convstudio.app.panels.player import PlayerPanel, SlidingFigure
from convstudio.app.panels.shift_panel import ShiftPanel
from convstudio.app.window.main_window import MainWindow
from convstudio.core import Conv2d, Pipeline
from convstudio.core.formatting import format_short
from convstudio.session.shift import compare_shift
from convstudio.session.sliding import plan_steps

ROOT = Path(__file__).resolve().parents[2]
SCREEN = QRect(0, 0, 1280, 720)
# The tutorial's example: a 3 x 3 input, a 2 x 2 kernel, a 2 x 2 output (0x0 + 1x1 + 3x2 + 4x3 = 19).
TUTORIAL = Pipeline((Conv2d(kernel=np.array([[0, 1], [2, 3]], np.float32)),))
TUTORIAL_INPUT = np.arange(9, dtype=np.float32).reshape(1, 3, 3)


@pytest.fixture(autouse=True)
def app_font(qapp):
    """The application font of this run (14 pt in the run of the last test)."""
    use_test_font(qapp)
    return qapp.font()


def app_pixels() -> int:
    return QFontInfo(QApplication.font()).pixelSize()


def needed_height(label) -> int:
    """The height of `label`'s text wrapped at its width."""
    rect = label.fontMetrics().boundingRect(QRect(0, 0, label.width(), 1 << 20),
                                            Qt.TextFlag.TextWordWrap, label.text())
    return rect.height()


def below(widget, other, parent) -> bool:
    """`widget` starts (in `parent`'s coordinates) where `other` ends or lower."""
    top = widget.mapTo(parent, QPoint(0, 0)).y()
    return top >= other.mapTo(parent, QPoint(0, 0)).y() + other.height()


# ---------------------------------------------------------------------- shift the input
def check_shift_panel(panel: ShiftPanel) -> None:
    summary, plot = panel.summary, panel.plot
    assert summary.height() >= needed_height(summary), "the summary does not show all its lines"
    assert below(summary, plot, panel), "the maps cover the summary's first line"
    line = QFontMetrics(panel.font()).lineSpacing()
    for k, label in enumerate(panel.captions.values()):
        caption = label.geometry()
        assert caption.height() >= line, "the captions' row is lower than their font"
        assert caption.bottom() <= plot.viewport().height(), "a caption is cut off"
        assert plot.ci.getItem(0, k).geometry().bottom() <= caption.top(), "a caption is on its map"
        text = label.mapRectToParent(label.itemRect())
        assert caption.top() - 1 <= text.top() and text.bottom() <= caption.bottom() + 1


def test_shift_captions_take_their_fonts_height_and_the_summary_every_line(qtbot):
    panel = ShiftPanel()
    qtbot.addWidget(panel)
    panel.resize(616, 270)  # its dock's room at 1280 x 720
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_comparison(compare_shift(TUTORIAL, TUTORIAL_INPUT, 1, 0, 1))
    QApplication.processEvents()
    assert panel.summary.text().startswith("Layer 1, input shifted by")
    check_shift_panel(panel)
    # shorter than its minimum it cannot be: the summary keeps its lines
    panel.resize(616, 150)
    QApplication.processEvents()
    check_shift_panel(panel)


# ---------------------------------------------------------------------- the sliding window
def longest_run(row: np.ndarray) -> int:
    """The longest run of True in `row`."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], row.astype(np.int8), [0]))))
    return int((edges[1::2] - edges[::2]).max(initial=0))


def title_ink_height(figure: SlidingFigure) -> int:
    """The height in pixels of the titles' ink as painted: the dark pixels above the first row
    of the grids (a row with a line longer than any stroke of a letter)."""
    image = figure.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint32).reshape(image.height(), -1)[:, :image.width()]
    rgb = np.stack([(pixels >> s) & 0xFF for s in (16, 8, 0)], -1)
    lines = [y for y in range(rgb.shape[0]) if longest_run(rgb[y].min(axis=1) < 150) >= 24]
    assert lines, "no grid painted"
    ink = np.flatnonzero((rgb[: lines[0]].max(axis=2) < 80).any(axis=1))
    assert ink.size, "no title painted"
    return int(ink[-1] - ink[0] + 1)


def check_figure(figure: SlidingFigure) -> None:
    """Titles (and numbers) in at least 80 % of the application font, titles apart."""
    assert title_ink_height(figure) >= 0.7 * app_pixels(), "the titles are too small to read"
    layout = figure.figure_layout()
    assert layout.font.pixelSize() >= 0.8 * app_pixels()
    metrics = QFontMetrics(layout.font)
    for k in range(len(layout.lefts)):
        width = metrics.horizontalAdvance(layout.titles[k])
        assert width <= layout.title_widths[k] + 1
        if k + 1 < len(layout.lefts):
            assert layout.lefts[k] + width < layout.lefts[k + 1], "two titles overlap"
    assert layout.top >= metrics.height(), "the titles' row is lower than their font"


def check_player(player: PlayerPanel) -> None:
    check_figure(player.figure)
    assert below(player.expression, player.figure, player), "the step's text is on the figure"


def test_the_sliding_window_writes_in_the_application_font(qtbot):
    player = PlayerPanel()
    qtbot.addWidget(player)
    player.resize(616, 270)
    player.show()
    qtbot.waitExposed(player)
    plan = plan_steps(TUTORIAL.layers[0], TUTORIAL_INPUT, TUTORIAL.run(TUTORIAL_INPUT)[-1])
    player.set_plan(plan)
    player.seek(3)
    QApplication.processEvents()
    check_player(player)
    figure = player.figure
    layout = figure.figure_layout()
    assert layout.titles == ("input channel 0", "kernel [0, 0]", "output channel 0")  # whole
    for value in (*plan.crop.ravel(), *plan.kernel.ravel(), *plan.outputs.ravel()):
        assert figure.cell_text(float(value), layout.side - 2, layout.font) == format_short(float(value))
    # a 12 x 12 region of three channels: smaller cells, titles as large, shortened, apart
    rng = np.random.default_rng(0)
    x = rng.random((3, 20, 20), dtype=np.float32)
    conv = Conv2d(weight=rng.standard_normal((1, 3, 3, 3)).astype(np.float32), padding=1)
    player.set_plan(plan_steps(conv, x, Pipeline((conv,)).run(x)[-1]))
    QApplication.processEvents()
    check_player(player)
    layout = figure.figure_layout()
    for k, (title, _block) in enumerate(figure._blocks()):  # a shortened title: whole in its tooltip
        if layout.titles[k] != title:
            pos = QPoint(int(layout.lefts[k]) + 2, 2)
            QApplication.sendEvent(figure, QHelpEvent(QEvent.Type.ToolTip, pos, figure.mapToGlobal(pos)))
            assert QToolTip.text() == title


def test_a_long_step_scrolls_under_the_figure_not_over_it(qtbot):
    player = PlayerPanel()
    qtbot.addWidget(player)
    player.resize(616, 270)
    player.show()
    rng = np.random.default_rng(1)
    x = rng.random((3, 20, 20), dtype=np.float32)
    conv = Conv2d(weight=rng.standard_normal((1, 3, 3, 3)).astype(np.float32), padding=1)
    player.set_plan(plan_steps(conv, x, Pipeline((conv,)).run(x)[-1]))
    QApplication.processEvents()
    assert player.figure.height() >= player.figure.minimumHeight()
    assert below(player.expression, player.figure, player), "the step's text is on the figure"
    assert below(player.texts, player.figure, player)
    assert player.texts.verticalScrollBar().maximum() > 0  # 27 products do not fit: they scroll
    # where there is room, the texts take every line they need, as before
    player.resize(900, 700)
    QApplication.processEvents()
    assert player.texts.verticalScrollBar().maximum() == 0
    assert player.expression.height() >= needed_height(player.expression)


# ---------------------------------------------------------------------- the kernel grid
def test_cell_limits_grow_with_the_font_never_below_the_default():
    small, large, small_font = kernel_grid.cell_side_limits(QApplication.font())
    assert small >= kernel_grid.MIN_CELL_SIDE and large >= kernel_grid.MAX_CELL_SIDE
    assert small < small_font < large
    digits = QFontMetrics(QApplication.font()).horizontalAdvance("0123456789") / 10
    assert large >= kernel_grid.MAX_CELL_SIDE * digits / kernel_grid.REFERENCE_DIGIT_WIDTH - 1


def test_the_grid_shows_the_same_digits_at_any_font_size(qtbot):
    editor = KernelEditor()
    qtbot.addWidget(editor)
    editor.resize(600, 720)  # room for the cells' largest side
    editor.show()
    qtbot.waitExposed(editor)
    editor.set_weight(np.array([[-0.299, 0, 0.299], [-0.598, 0, 0.598], [-0.0123, 0, 0.0123]], np.float32))
    QApplication.processEvents()
    view = editor.findChild(QTableView, "kernelGrid")
    delegate, model = view.itemDelegate(), view.model()
    for r in range(3):
        for c in range(3):
            index = model.index(r, c)
            option = QStyleOptionViewItem()
            option.initFrom(view)
            option.rect = view.visualRect(index)
            delegate.initStyleOption(option, index)
            assert option.text == index.data(), f"cell ({r}, {c}) shows {option.text!r}"
    assert view.font().pointSizeF() == pytest.approx(editor.font().pointSizeF())  # not shrunk


def test_a_5x5_kernel_is_whole_at_1280x720(qtbot, make_window, monkeypatch):
    """On the app's first start on a 1280 x 720 screen: larger cells, and still every one whole."""
    from test_screens import check_kernel_panel

    monkeypatch.setattr(MainWindow, "_screen_geometry", lambda self: QRect(SCREEN), raising=False)
    w = make_window(first_launch=True, size=None, settings_file="fresh.ini")
    w.doc.set_pipeline(Pipeline((
        Conv2d(kernel=np.full((5, 5), 1 / 25, np.float32), padding="same", name="blur"),
        Conv2d(kernel=np.ones((3, 3), np.float32)),
    )))
    w.doc.select(1)
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    assert (w.width(), w.height()) == (SCREEN.width(), SCREEN.height())
    w.kernel_dock.raise_()  # (a tab beside the Layers at 14 pt)
    QApplication.processEvents()
    check_kernel_panel(w)


# ---------------------------------------------------------------------- in the window
def test_the_learn_docks_in_a_window_on_a_1280x720_screen(qtbot, make_window, monkeypatch):
    monkeypatch.setattr(MainWindow, "_screen_geometry", lambda self: QRect(SCREEN), raising=False)
    w = make_window(first_launch=True, size=None, settings_file="fresh.ini")
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    assert w.open_image(ROOT / "resources" / "samples" / "coffee.png")
    assert w.open_pipeline(ROOT / "examples" / "tiny-cnn.json", ask=False)
    w.doc.select(1)  # a 3 x 3 convolution of three channels
    settle(w)
    ex = w.explore
    ex.actions["shift_input"].trigger()
    with qtbot.waitSignal(ex.shift_task.done, timeout=20_000):
        ex.update_shift()
    with qtbot.waitSignal(ex.sliding_task.done, timeout=20_000):
        ex.actions["sliding_player"].trigger()
    settle(w)
    assert w.width() <= SCREEN.width() and w.height() <= SCREEN.height()
    ex.shift_dock.raise_()
    QApplication.processEvents()
    check_shift_panel(ex.shift_panel)
    ex.player_dock.raise_()  # (shown again, it plans the steps again)
    QApplication.processEvents()
    qtbot.waitUntil(lambda: ex.player.plan is not None, timeout=20_000)
    QApplication.processEvents()
    check_player(ex.player)


@pytest.mark.skipif(FONT_PT is not None, reason="already in it")
def test_the_same_with_a_14_point_font(tmp_path):
    out = rerun_at_font(__file__)
    assert "1 skipped" in out, out[-2000:]  # (this test: the others passed)
