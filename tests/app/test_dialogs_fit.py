"""Dialogs on small screens and the maps' info line: Layer ▸ Compare border modes and Learn ▸ Learn
a kernel open inside the available area of their parent's screen with every button whole, the
loss plot's labels are whole and apart, and the line above a layer's maps is shortened with "…"
(the whole of it in the tooltip) instead of being cut off mid-word.

The border modes dialog used to open at 1100 x 820 (taller than a 1280 x 720 screen: its Close
button below the screen's edge; 2212 px wide at 14 pt, its counts on one line), and the learner
at 520 x 520 (its buttons cut by 8 px on a 1366 x 768 screen at 150 %, 911 x 512 logical pixels).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import FONT_PT, rerun_at_font, settle, use_test_font
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QPainter, QPicture, QRegion
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget

from convstudio.app.dialogs.border_compare import MAP_MIN_SIZE, MODES, PREFERRED_SIZE, BorderCompareDialog
from convstudio.app.panels.learner import KernelLearner
from convstudio.app.panels.loss_plot import TidyAxis
from convstudio.app.qtsetup import pg
from convstudio.app.views.feature_view import FeatureMapGrid
from convstudio.app.window.main_window import MainWindow
from convstudio.core import Pipeline

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# The small screen (logical pixels) and, in the large-font run below, the application font.
SMALL = tuple(int(v) for v in os.environ.get("CONVSTUDIO_TEST_SCREEN", "1024x600").split("x"))
SHORT = (911, 512)  # 1366 x 768 at 150 %


@pytest.fixture
def screen(monkeypatch, qapp):
    """Pretend the window and its dialogs are on a screen whose available area is ``screen[0]``."""
    use_test_font(qapp)
    area = [QRect(0, 0, *SMALL)]
    for cls in (MainWindow, BorderCompareDialog, KernelLearner):
        monkeypatch.setattr(cls, "_screen_geometry", lambda self: QRect(area[0]), raising=False)
    return area


def window_with_a_conv_layer(qtbot, make_window) -> MainWindow:
    """The window as the app opens it on the pretended screen, the tiny CNN on a 3-channel image
    selected at its first (3 x 3, padded) conv layer."""
    w = make_window(first_launch=False, size=None, settings_file="fresh.ini")
    w.show()
    qtbot.waitExposed(w)
    image = np.random.default_rng(0).random((3, 120, 160), dtype=np.float32)
    w.doc.set_image_array(image, "test")
    w.doc.new_pipeline(Pipeline.load(EXAMPLES / "tiny-cnn.json"))
    w.doc.select(1)
    settle(w)
    return w


def wholly_visible(widget: QWidget) -> bool:
    """`widget` is shown and nothing clips or covers any of it."""
    return widget.isVisible() and QRegion(widget.rect()).subtracted(widget.visibleRegion()).isEmpty()


def check_on_screen(dialog: QWidget, area: QRect) -> None:
    """The dialog's frame inside `area`, every button of it whole and inside it."""
    assert area.contains(dialog.frameGeometry()), (dialog.frameGeometry(), area)
    buttons = [b for b in dialog.findChildren(QAbstractButton) if b.isVisible()]
    assert any(b.text() == "Close" for b in buttons)
    for b in buttons:
        assert dialog.rect().contains(QRect(b.mapTo(dialog, b.rect().topLeft()), b.size())), b.text()
        assert wholly_visible(b), f"{b.text()!r} is clipped"
        assert b.width() >= b.minimumSizeHint().width(), f"{b.text()!r} is narrower than its text"


# ------------------------------------------------------------------ Compare border modes


@pytest.mark.parametrize("size", [SMALL, SHORT], ids=["small", "short"])
def test_compare_border_modes_fits_a_small_screen(qtbot, make_window, screen, size):
    screen[0] = QRect(0, 0, *size)
    w = window_with_a_conv_layer(qtbot, make_window)
    dlg = w.insight.compare_border_modes()
    settle(w)
    qtbot.waitExposed(dlg)
    assert set(dlg.outputs) == set(MODES)  # with its numbers under the maps
    QApplication.processEvents()
    check_on_screen(dlg, screen[0])
    assert dlg.channel_spin.isVisible() and wholly_visible(dlg.channel_spin)
    # the maps shrank, not below their smallest size; the explanation is there, whole
    for view in dlg.views.values():
        maps = view.findChild(pg.GraphicsView).viewport()  # (what a widget shows is its children)
        assert wholly_visible(maps) and maps.height() > 0.4 * view.height()
        assert dlg.rect().contains(QRect(view.mapTo(dlg, view.rect().topLeft()), view.size()))
        assert view.width() >= MAP_MIN_SIZE.width() and view.height() >= MAP_MIN_SIZE.height()
    assert wholly_visible(dlg.note) and dlg.note.text()
    for stat in dlg.stats.values():
        assert wholly_visible(stat) and stat.heightForWidth(stat.width()) <= stat.height()
    dlg.close()


def test_compare_border_modes_opens_at_its_size_on_a_large_screen_and_comes_back_inside(
        qtbot, make_window, screen):
    screen[0] = QRect(0, 0, 2560, 1400)
    w = window_with_a_conv_layer(qtbot, make_window)
    dlg = w.insight.compare_border_modes()
    settle(w)
    assert dlg.size() == PREFERRED_SIZE.expandedTo(dlg.minimumSize())
    check_on_screen(dlg, screen[0])
    # closed, then opened again from a smaller screen: it shrinks to fit that one
    dlg.close()
    screen[0] = QRect(0, 0, *SMALL)
    dlg = w.insight.compare_border_modes()
    settle(w)
    QApplication.processEvents()
    check_on_screen(dlg, screen[0])
    dlg.close()


# ------------------------------------------------------------------ Learn a kernel


def open_learner(qtbot, w: MainWindow) -> KernelLearner:
    w.learner.action.trigger()  # Learn ▸ Learn a kernel...
    dialog = w.learner.dialog
    qtbot.waitExposed(dialog)
    QApplication.processEvents()
    return dialog


def check_loss_label(dialog: KernelLearner) -> bool:
    """The loss label is shown once, whole: turned along an axis at least as long as it (returns
    True), or written across above the plot (False)."""
    left = dialog.plot.getAxis("left")
    if left.label.isVisible():
        assert left.labelText == "loss (mean squared error)"
        assert left.geometry().height() >= left.label.boundingRect().width(), "the loss label is cut off"
        assert not dialog.loss_caption.isVisible()
        return True
    assert wholly_visible(dialog.loss_caption) and dialog.loss_caption.text() == "loss (mean squared error)"
    return False


@pytest.mark.parametrize("size", [SMALL, SHORT], ids=["small", "short"])
def test_the_learner_fits_a_small_screen(qtbot, make_window, screen, size):
    screen[0] = QRect(0, 0, *size)
    w = window_with_a_conv_layer(qtbot, make_window)
    dialog = open_learner(qtbot, w)
    check_on_screen(dialog, screen[0])
    assert {"Start", "Step", "Undo run", "Close"} <= {b.text() for b in dialog.findChildren(QAbstractButton)}
    along_the_axis = check_loss_label(dialog)
    if FONT_PT is None or size == SMALL:
        assert along_the_axis  # there is room for it there
    # a few steps: the curve and its ticks, the status line under the plot
    assert dialog.start(steps=5)
    qtbot.waitUntil(lambda: not dialog.running and len(dialog.losses) >= 5, timeout=20_000)
    QApplication.processEvents()
    check_on_screen(dialog, screen[0])
    check_loss_label(dialog)
    assert wholly_visible(dialog.status_label)
    dialog.close()


def test_the_learner_opens_at_the_size_of_its_contents_on_a_large_screen(qtbot, make_window, screen):
    screen[0] = QRect(0, 0, 2560, 1400)
    w = window_with_a_conv_layer(qtbot, make_window)
    dialog = open_learner(qtbot, w)
    assert dialog.width() >= 520 and dialog.height() >= 520
    assert dialog.size() == dialog._preferred_size()
    assert check_loss_label(dialog)
    # made small by hand: the label goes above the plot, and comes back along the axis
    dialog.resize(dialog.width(), dialog.minimumHeight())
    QApplication.processEvents()
    assert not check_loss_label(dialog)
    dialog.resize(dialog.width(), 900)
    QApplication.processEvents()
    assert check_loss_label(dialog)
    dialog.close()


def _tick_rects(axis) -> list[QRectF]:
    picture = QPicture()
    painter = QPainter(picture)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [spec[0] for spec in specs[2]]


@pytest.mark.parametrize("height", [110, 160, 300])
def test_log_tick_labels_never_overlap(qtbot, height):
    """A decade of losses on a short log axis: pyqtgraph's own axis labels 2 ... 9 where they
    overlap (at the top of the decade); the learner's axis leaves those out, never the decade."""
    plots = {}
    for name, axis in (("pyqtgraph", pg.AxisItem("left")), ("tidy", TidyAxis("left"))):
        plot = pg.PlotWidget(axisItems={"left": axis})
        qtbot.addWidget(plot)
        plot.setLogMode(x=False, y=True)
        plot.setYRange(0, 1, padding=0)  # 1 to 10
        plot.resize(300, height)
        plot.show()
        qtbot.waitExposed(plot)
        QApplication.processEvents()
        plots[name] = _tick_rects(plot.getAxis("left"))
    tidy = plots["tidy"]
    assert len(tidy) >= 2
    for i, a in enumerate(tidy):
        for b in tidy[i + 1:]:
            assert not a.intersects(b), (a, b)
    if height == 110:  # (the check above means something: the plain axis does overlap here)
        plain = plots["pyqtgraph"]
        assert any(a.intersects(b) for i, a in enumerate(plain) for b in plain[i + 1:])


# ------------------------------------------------------------------ the line above the maps


def test_the_info_line_above_the_maps_is_elided_with_the_whole_text_in_its_tooltip(qtbot):
    grid = FeatureMapGrid(view_id="info")
    qtbot.addWidget(grid)
    rng = np.random.default_rng(1)
    # a map without negative values beside one with: "grey: maps without negatives" is said too
    layer = np.stack([rng.random((6, 7), dtype=np.float32), rng.random((6, 7), dtype=np.float32) - 0.5])
    grid.resize(1600, 400)
    grid.show()
    qtbot.waitExposed(grid)
    grid.set_mode("contrast")
    grid.set_maps(layer, title="conv 3x3 3->2 pad 1")
    QApplication.processEvents()
    line = grid._title
    text = line.text()
    assert "range [" in text and "grey: maps without negatives" in text
    assert line.toolTip() == text
    assert line.shown_text() == text  # wide: all of it
    # narrow: shortened at its end with "…", never wider than the label; the tooltip says it all
    grid.resize(300, 400)
    QApplication.processEvents()
    shown = line.shown_text()
    assert shown != text and shown.endswith("…") and text.startswith(shown[:-1])
    assert line.fontMetrics().horizontalAdvance(shown) <= line.contentsRect().width()
    assert line.toolTip() == text and line.text() == text
    # wide again (the label follows every resize), and a new text replaces the tooltip
    grid.resize(1600, 400)
    QApplication.processEvents()
    assert line.shown_text() == text
    grid.set_maps(layer[:1], title="conv")
    assert line.toolTip() == line.text() != text


# ------------------------------------------------------------------ at 14 pt


@pytest.mark.skipif(FONT_PT is not None, reason="already in it")
def test_the_same_with_a_14_point_font(tmp_path):
    """The application font is set once per process: the dialog checks above in a new one, at 14 pt
    (the learner's plot then too short for its turned label on the 911 x 512 screen)."""
    out = rerun_at_font(__file__, ("test_compare_border_modes_fits_a_small_screen",
                                   "test_the_learner_fits_a_small_screen",
                                   "test_the_learner_opens_at_the_size_of_its_contents_on_a_large_screen"),
                        CONVSTUDIO_TEST_SCREEN="1024x600")
    assert "5 passed" in out, out[-2000:]
