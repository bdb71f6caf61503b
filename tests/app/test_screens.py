"""Small screens and changing screens: at 1280 x 720 (or 2560 x 1440 at 200 %) every cell of a
5 x 5 kernel, every kernel button and every layer name are on screen whole; a dock layout saved on
one screen size is not squeezed onto another."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import settle
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QRegion
from PySide6.QtWidgets import QTableView, QToolButton, QWidget

from convstudio.app.panels.shapes_panel import ShapesPanel
from convstudio.app.window.main_window import MainWindow
from convstudio.core import Conv2d, Pipeline, ReLU

SMALL = (1280, 720)
LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


INI = "settings.ini"  # the `settings` fixture's file: every launch below reads it afresh


def launch(make_window, *, first_launch: bool = True) -> MainWindow:
    """The app started on the test's settings file (a new QSettings on it, as a new launch)."""
    return make_window(first_launch=first_launch, size=None, settings_file=INI)


def five_by_five_window(qtbot, make_window) -> MainWindow:
    w = launch(make_window)
    w.doc.set_pipeline(Pipeline((
        Conv2d(kernel=np.full((5, 5), 1 / 25, np.float32), padding="same", name="blur"),
        ReLU(),
        Conv2d(kernel=np.ones((3, 3), np.float32)),
    )))
    w.doc.select(1)
    w.resize(*SMALL)
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    assert (w.width(), w.height()) == SMALL, "the window does not fit a 1280 x 720 screen"
    return w


def wholly_visible(widget: QWidget, rect: QRect) -> bool:
    """`rect` (in `widget`'s coordinates) is inside the widget and nothing covers or clips it."""
    return widget.isVisible() and QRegion(rect).subtracted(widget.visibleRegion()).isEmpty()


def check_kernel_panel(w: MainWindow) -> None:
    editor = w.kernel_editor
    assert w.kernel_dock.isVisible() and not w.kernel_dock.isFloating()
    grid = editor.findChild(QTableView, "kernelGrid")
    model = grid.model()
    assert (model.rowCount(), model.columnCount()) == (5, 5)
    viewport = grid.viewport()
    for r in range(5):
        for c in range(5):
            cell = grid.visualRect(model.index(r, c))
            assert viewport.rect().contains(cell), f"cell ({r}, {c}) at {cell} is outside the grid"
            assert wholly_visible(viewport, cell), f"cell ({r}, {c}) is clipped"
    bar = editor.findChild(QWidget, "kernelActions")
    buttons = bar.findChildren(QToolButton)
    assert len(buttons) >= 10  # presets, the eight actions, "More"
    for button in buttons:
        name = button.text()
        assert button.isVisible(), name
        assert button.width() >= button.sizeHint().width(), f"{name!r} is narrower than its text"
        assert bar.rect().contains(button.geometry()), f"{name!r} lies outside its bar"
        assert wholly_visible(button, button.rect()), f"{name!r} is clipped"


def test_a_5x5_kernel_and_every_kernel_button_fit_at_1280x720(qtbot, make_window):
    w = five_by_five_window(qtbot, make_window)
    if os.environ.get("CONVSTUDIO_TEST_SCALED") == "1":  # the run below: really at 200 %
        assert w.devicePixelRatioF() == 2.0
    check_kernel_panel(w)
    # The other layers are there too, and a 3 x 3 one is whole as well.
    assert w.layers_dock.isVisible() and w.params_dock.isVisible()
    w.doc.select(3)
    settle(w)
    grid = w.kernel_editor.findChild(QTableView, "kernelGrid")
    for r in range(3):
        for c in range(3):
            assert wholly_visible(grid.viewport(), grid.visualRect(grid.model().index(r, c)))


def test_a_lesson_opened_at_1280x720_keeps_the_window_on_screen(qtbot, make_window):
    w = five_by_five_window(qtbot, make_window)
    assert w.learn.open_lesson(0, ask=False)
    settle(w)
    assert w.learn.dock.isVisible()
    assert w.minimumSizeHint().height() <= SMALL[1] and w.minimumSizeHint().width() <= SMALL[0]
    assert (w.width(), w.height()) == SMALL
    grid = w.kernel_editor.findChild(QTableView, "kernelGrid")
    model = grid.model()
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            assert wholly_visible(grid.viewport(), grid.visualRect(model.index(r, c)))


def test_reset_layout_at_1280x720_gives_the_layout_that_fits(qtbot, make_window):
    w = five_by_five_window(qtbot, make_window)
    w.addDockWidget(RIGHT, w.kernel_dock)  # where it sits on a large screen: 170 px wide here
    w.reset_layout()
    settle(w)
    check_kernel_panel(w)


@pytest.mark.skipif(os.environ.get("CONVSTUDIO_TEST_SCALED") == "1", reason="already scaled")
def test_the_same_at_2560x1440_and_200_percent(tmp_path):
    """QT_SCALE_FACTOR is read when the application starts: the checks above, in a new one."""
    env = dict(os.environ, QT_SCALE_FACTOR="2", QT_QPA_PLATFORM="offscreen",
               CONVSTUDIO_TEST_SCALED="1")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x",
         f"{__file__}::test_a_5x5_kernel_and_every_kernel_button_fit_at_1280x720",
         f"{__file__}::test_layer_names_are_whole_in_the_receptive_field_table"],
        env=env, cwd=str(Path(__file__).resolve().parents[2]), capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout, done.stdout[-2000:]


def test_layer_names_are_whole_in_the_receptive_field_table(qtbot, make_window):
    w = five_by_five_window(qtbot, make_window)
    w.insight.show_page("receptive")
    settle(w)
    table = w.insight.receptive.table
    assert table.isVisible()
    names = [table.item(r, 1).text() for r in range(table.rowCount())]
    assert names[:2] == ["input", "conv 5x5 per channel pad same"] and "conv 3x3 per channel" in names
    metrics = table.fontMetrics()
    for name in names + [table.horizontalHeaderItem(1).text()]:
        # the cell's text area is the column less a few pixels of margin on each side
        assert table.columnWidth(1) >= metrics.horizontalAdvance(name) + 6, name
    for r in range(table.rowCount()):
        assert table.rowHeight(r) < 2 * metrics.height() + 4  # one line: no name wraps


def test_shapes_page_never_breaks_a_number_or_a_word(qtbot):
    panel = ShapesPanel()
    qtbot.addWidget(panel)
    panel.resize(520, 300)  # the page in a narrow dock
    panel.show()
    pipeline = Pipeline((Conv2d(kernel=np.ones((5, 5), np.float32), padding="same"), ReLU()))
    panel.update_for(pipeline, (1, 512, 512), 1)
    qtbot.waitExposed(panel)
    doc = panel.browser.document()
    blocks = []
    block = doc.firstBlock()
    while block.isValid():
        blocks.append(block)
        block = block.next()
    # read once the page is laid out: every paragraph broken into its lines
    qtbot.waitUntil(lambda: all(b.layout().lineCount() > 0 for b in blocks))
    seen = set()
    for block in blocks:
        text, layout = block.text(), block.layout()
        if text.strip():
            seen.add(text)
            if any(ch.isdigit() for ch in text) and "," in text and " " not in text:
                assert layout.lineCount() == 1, f"{text!r} is broken over {layout.lineCount()} lines"
            for i in range(1, layout.lineCount()):
                start = layout.lineAt(i).textStart()
                assert text[start - 1].isspace() or not text[start - 1].isalnum() \
                    or not text[start].isalnum(), f"{text!r} broken inside a word at {start}"
    assert "68,719,738,880" in seen and "conv 5x5 per channel pad same" in seen


# ------------------------------------------------------------------ saved layouts and screens


@pytest.fixture
def screen(monkeypatch):
    """Pretend the window is on a screen of the size put in ``screen[0]`` (available area)."""
    size = [QRect(0, 0, *SMALL)]
    monkeypatch.setattr(MainWindow, "_screen_geometry", lambda self: QRect(size[0]), raising=False)
    return size


def save_a_custom_layout(qtbot, make_window) -> MainWindow:
    w = launch(make_window)
    w.resize(*SMALL)
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    # Something no default layout does: the Kernel at the bottom, the parameters closed.
    w.addDockWidget(BOTTOM, w.kernel_dock)
    w.params_dock.close()
    settle(w)
    # saved once the main window has laid the docks out anew: the Kernel below the centre
    qtbot.waitUntil(lambda: w.kernel_dock.isVisible() and not w.params_dock.isVisible()
                    and w.kernel_dock.y() >= w.centralWidget().geometry().bottom())
    w.save_settings()
    w.shutdown()
    return w


def test_a_layout_saved_on_a_small_screen_is_not_restored_on_a_large_one(qtbot, make_window, screen, tmp_path):
    save_a_custom_layout(qtbot, make_window)
    assert QSettings(str(tmp_path / INI), QSettings.Format.IniFormat).value("window/screen") == "1280x720"
    screen[0] = QRect(0, 0, 2560, 1440)
    w = launch(make_window, first_launch=False)
    # The default size for that screen, not the small one saved.
    assert (w.width(), w.height()) == (1440, 900)
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    assert w.dockWidgetArea(w.kernel_dock) == RIGHT and w.dockWidgetArea(w.params_dock) == RIGHT
    assert w.kernel_dock.isVisible() and w.params_dock.isVisible()
    assert w.kernel_dock.width() > 250  # the default sizes, not a column squeezed by the centre
    assert w.corner(Qt.Corner.BottomLeftCorner) == BOTTOM


def test_a_layout_saved_on_a_screen_of_the_same_size_is_restored(qtbot, make_window, screen):
    save_a_custom_layout(qtbot, make_window)
    w = launch(make_window, first_launch=False)
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    assert w.dockWidgetArea(w.kernel_dock) == BOTTOM
    assert not w.params_dock.isVisible()


def test_a_saved_window_larger_than_the_screen_gives_the_default_layout(qtbot, make_window, screen, tmp_path):
    save_a_custom_layout(qtbot, make_window)
    # The same key but a smaller available area (a taskbar grew, the resolution was lowered and
    # raised...): the saved window no longer fits.
    settings = QSettings(str(tmp_path / INI), QSettings.Format.IniFormat)
    screen[0] = QRect(0, 0, 640, 480)
    settings.setValue("window/screen", "640x480")
    settings.sync()
    w = launch(make_window, first_launch=False)
    assert w.width() <= 640 or w.width() == w.minimumSizeHint().width()
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    assert w.dockWidgetArea(w.kernel_dock) != BOTTOM and w.params_dock.isVisible()


def test_settings_without_a_screen_size_give_the_default_layout(qtbot, make_window, screen, tmp_path):
    save_a_custom_layout(qtbot, make_window)
    settings = QSettings(str(tmp_path / INI), QSettings.Format.IniFormat)
    settings.remove("window/screen")  # saved by an earlier version
    settings.sync()
    w = launch(make_window, first_launch=False)
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    assert w.dockWidgetArea(w.kernel_dock) != BOTTOM and w.params_dock.isVisible()


def test_the_compact_layout_comes_back_whole(qtbot, make_window, screen):
    w = five_by_five_window(qtbot, make_window)
    assert w.corner(Qt.Corner.BottomLeftCorner) == LEFT
    w.save_settings()
    w.shutdown()
    again = launch(make_window, first_launch=False)
    again.resize(*SMALL)
    again.show()
    qtbot.waitExposed(again)
    again.doc.set_pipeline(w.doc.pipeline)
    again.doc.select(1)
    settle(again)
    assert again.corner(Qt.Corner.BottomLeftCorner) == LEFT
    assert again.dockWidgetArea(again.kernel_dock) == LEFT
    check_kernel_panel(again)


def test_a_long_status_message_is_shortened_with_an_ellipsis_not_cut(qtbot, make_window):
    """At 1280 x 720 the status bar cannot hold an export message with a long path: it is drawn
    shortened in the middle, the file name whole at the end, and the tooltip has all of it."""
    w = five_by_five_window(qtbot, make_window)
    folder = "/home/someone/Pictures/microscopy/2026-12-05 cells, second session/exports"
    text = f"Exported layer 1 to {folder}/layer1_ch0-7.png"
    w.show_message(text)
    settle(w)
    label = w.message_label
    shown = label.shown_text()
    assert label.text() == text and label.toolTip() == text
    assert shown != text and "…" in shown
    assert shown.startswith("Exported layer") and shown.endswith("layer1_ch0-7.png")
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    assert wholly_visible(label, label.contentsRect())
    # a short message is drawn whole
    w.show_message("Saved pipeline.json")
    settle(w)
    assert label.shown_text() == "Saved pipeline.json"
    # when its time is up, the message goes with its tooltip (no stale path on hover)
    w.show_message(text, timeout_ms=10)
    qtbot.waitUntil(lambda: label.text() == "", timeout=5000)
    assert label.toolTip() == ""
