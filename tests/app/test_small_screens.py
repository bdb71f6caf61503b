"""Small screens and large fonts: the window opens no larger than the screen, and the Learn
docks open inside it.

A window's minimum size is the sum of its docks' and views' minimums; Qt grows a window to it
whatever size was asked for. On a 1024 x 600 netbook the window used to open at 1184 x 674 (the
map views' controls in one row made each view at least 350 px wide, the wide layout's Kernel
above the Layer parameters made it tall), and opening Learn ▸ Shift the input and the Sliding
window player beside the bottom docks widened it to 1558 px on every screen.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import FONT_PT, grid_drawn, rerun_at_font, settle, use_test_font
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QWidget

from convstudio.app.window.main_window import MainWindow

BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
# The small screen (logical pixels) and, in the large-font run below, the application font.
SMALL = tuple(int(v) for v in os.environ.get("CONVSTUDIO_TEST_SCREEN", "1024x600").split("x"))


@pytest.fixture
def screen(monkeypatch, qapp):
    """Pretend the window is on a screen whose available area is ``screen[0]`` (logical px)."""
    use_test_font(qapp)
    size = [QRect(0, 0, *SMALL)]
    monkeypatch.setattr(MainWindow, "_screen_geometry", lambda self: QRect(size[0]), raising=False)
    return size


def first_start(qtbot, make_window) -> MainWindow:
    """The app's first start on the pretended screen: the window sizes itself to it."""
    w = make_window(first_launch=True, size=None, settings_file="fresh.ini")
    w.show()
    qtbot.waitExposed(w)
    settle(w)
    return w


def fits(w: MainWindow, width: int, height: int) -> bool:
    hint = w.minimumSizeHint()
    return w.width() <= width and w.height() <= height and hint.width() <= width and hint.height() <= height


def open_learn_docks(w: MainWindow) -> list[QDockWidget]:
    docks = [w.explore.shift_dock, w.explore.player_dock]
    for dock in docks:
        w.explore.open_dock(dock)
        QApplication.processEvents()
    settle(w)
    return docks


def test_a_first_start_on_a_small_screen_fits_it(qtbot, make_window, screen):
    w = first_start(qtbot, make_window)
    assert (w.width(), w.height()) == SMALL
    assert fits(w, *SMALL)
    # the compact layout: the Kernel under the Layers (at 14 pt a tab beside them), whole
    assert w.dockWidgetArea(w.kernel_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    if FONT_PT is None:
        assert not w.tabifiedDockWidgets(w.kernel_dock)
    for dock in (w.layers_dock, w.kernel_dock, w.params_dock):
        assert dock.isVisible() and dock.height() >= dock.minimumSizeHint().height()
    if FONT_PT is None:  # no one-line text sets the width of Seeing why (a check box did: 409 px)
        assert w.insight.insight_dock.minimumSizeHint().width() <= 320


def test_the_learn_docks_open_as_tabs_where_the_bottom_row_has_no_room(qtbot, make_window, screen):
    w = first_start(qtbot, make_window)
    for dock in open_learn_docks(w):
        assert dock.isVisible() and w.dockWidgetArea(dock) == BOTTOM
        assert w.tabifiedDockWidgets(dock), f"{dock.objectName()} beside the others"
    assert fits(w, *SMALL), (w.size(), w.minimumSizeHint())
    # the one opened last is the tab shown; the Inspector keeps its width
    assert not w.explore.player_dock.visibleRegion().isEmpty()
    assert w.insight.inspector_dock.width() >= min(w.insight.inspector_dock.sizeHint().width(), 200)


def test_on_a_large_screen_they_open_beside_the_others(qtbot, make_window, screen):
    screen[0] = QRect(0, 0, 2560, 1400)
    w = first_start(qtbot, make_window)
    size = w.size()
    shift = w.explore.shift_dock
    w.explore.open_dock(shift)
    settle(w)
    assert not w.tabifiedDockWidgets(shift) and shift.width() > shift.minimumSizeHint().width()
    readable = w.explore.READABLE_DOCK_WIDTH
    for dock in (w.insight.insight_dock, w.insight.inspector_dock):
        assert dock.isVisible() and dock.width() >= min(dock.sizeHint().width(), readable)
    assert w.size() == size


def test_a_short_screen_puts_the_kernel_beside_the_layers_as_a_tab(qtbot, make_window, screen):
    """1366 x 768 at 150 %: 911 x 512 logical pixels, too short for the Layers above the Kernel."""
    screen[0] = QRect(0, 0, 911, 512)
    w = first_start(qtbot, make_window)
    assert w.tabifiedDockWidgets(w.kernel_dock) == [w.layers_dock]
    assert fits(w, 911, 512), (w.size(), w.minimumSizeHint())
    w.kernel_dock.raise_()
    QApplication.processEvents()
    assert w.kernel_dock.height() >= w.kernel_dock.minimumSizeHint().height()


def test_the_map_views_controls_wrap_instead_of_widening_the_view(qtbot, make_window):
    w = make_window(first_launch=True, size=(1300, 850), show=True)
    settle(w)
    grid = w.input_view
    bar = grid.findChild(QWidget, "gridControls")
    shown = [c for c in bar.findChildren(QWidget) if c.isVisible() and c.parent() is bar]
    one_row = sum(c.sizeHint().width() for c in shown)
    assert grid.minimumSizeHint().width() < one_row  # narrower than the controls in one row
    w.splitter.setSizes([grid.minimumSizeHint().width(), 2000])
    qtbot.waitUntil(lambda: grid_drawn(grid))
    QApplication.processEvents()
    rows = {c.geometry().top() for c in shown}
    assert len(rows) >= 2  # wrapped
    for c in shown:  # every control whole, inside its bar
        assert bar.rect().contains(c.geometry()), c
        assert c.width() >= c.minimumSizeHint().width()


@pytest.mark.skipif(FONT_PT is not None, reason="already in it")
def test_the_same_with_a_14_point_font_on_a_1280x720_screen(tmp_path):
    """The application font is set once per process: the checks above in a new one, at 14 pt."""
    out = rerun_at_font(__file__, ("test_a_first_start_on_a_small_screen_fits_it",
                                   "test_the_learn_docks_open_as_tabs_where_the_bottom_row_has_no_room"),
                        CONVSTUDIO_TEST_SCREEN="1280x720")
    assert "2 passed" in out, out[-2000:]


def test_a_long_layer_title_ends_in_an_ellipsis_with_the_whole_title_in_its_tooltip(
        qtbot, make_window, screen):
    from convstudio.core import Conv2d, Pipeline

    w = first_start(qtbot, make_window)
    name = "edge detectors for the second microscopy session, horizontal and vertical"
    w.doc.set_pipeline(Pipeline([Conv2d(weight=np.ones((4, 1, 3, 3), np.float32),
                                        padding="same", name=name)]))
    w.doc.select(1)
    settle(w)
    title = w._layer_title
    assert name in title.text() and title.toolTip() == title.text()
    shown = title.shown_text()
    assert shown != title.text() and shown.endswith("…")
    assert title.fontMetrics().horizontalAdvance(shown) <= title.contentsRect().width()


def test_the_receptive_field_texts_scroll_rather_than_overlap_in_a_short_dock(
        qtbot, make_window, screen):
    from convstudio.app.views.receptive_overlay import Mark

    w = first_start(qtbot, make_window)
    w.doc.select(1)
    w.insight.show_page("receptive")
    for col in (3, 10, 17, 24):  # four pins: more lines than the dock is tall
        w.insight.select_pixel(Mark(1, 0, col))
    settle(w)
    panel = w.insight.receptive
    qtbot.waitUntil(lambda: panel.pins_label.isVisible() and panel.pins_label.text().count("<li") >= 4)
    QApplication.processEvents()
    labels = [label for label in (panel.pins_label, panel.erf_label) if label.isVisible()]
    for label in labels:  # each as tall as its text at its width, none painted over another
        assert label.height() >= label.heightForWidth(label.width()), label.objectName()
    boxes = [label.geometry() for label in labels]
    assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    side = panel.findChild(QWidget, "receptiveSide")
    assert side.widget().minimumSizeHint().width() <= side.viewport().width()  # not cut at the right


def test_the_layer_parameters_fit_their_dock_without_scrolling_sideways(qtbot, make_window, screen):
    """The widest form (a conv layer's full weight: pairs of spin boxes with their link buttons,
    the Fit button, the padding editor) puts a field under its label where the row is too wide,
    rather than cutting it at the right of a narrow dock."""
    from convstudio.core import Conv2d, MaxPool2d, Pipeline

    w = first_start(qtbot, make_window)
    weight = np.zeros((4, 3, 3, 3), np.float32)
    w.doc.new_pipeline(Pipeline((Conv2d(weight=weight, padding=(1, 2)), MaxPool2d(kernel_size=2))))
    p = w.params_editor
    for layer in (1, 2):
        w.doc.select(layer)
        settle(w)
        body = p._scroll.widget()
        assert body.minimumSizeHint().width() <= p._scroll.viewport().width(), layer
        for key in ("kernel_size", "stride", "padding"):
            field = p.widgets[key]
            right = field.mapTo(body, field.rect().topRight()).x()
            assert field.isVisible() and right < p._scroll.viewport().width(), (layer, key)


def test_the_learn_menu_puts_its_lessons_in_a_submenu_where_it_would_not_fit(
        qtbot, make_window, monkeypatch):
    """Qt lays a menu taller than the screen out in columns over the menu bar."""
    w = make_window(first_launch=True, size=(1300, 850), show=True)
    settle(w)
    learn = w.learn
    titles = [a.text() for a in learn.lesson_actions]
    monkeypatch.setattr(learn, "_screen_height", lambda: 5000)
    learn.menu.aboutToShow.emit()
    assert all(a.isVisible() for a in learn.lesson_actions)
    assert not learn.lessons_menu_action.isVisible()
    one_column = learn._one_column_height()
    assert one_column > 600  # (its size hint is less where Qt lays it out in columns)
    monkeypatch.setattr(learn, "_screen_height", lambda: 600)  # a 1024 x 600 screen
    learn.menu.aboutToShow.emit()
    assert not any(a.isVisible() for a in learn.lesson_actions)
    assert learn.lessons_menu_action.isVisible()
    assert learn._one_column_height() < 600  # one column holds it now
    sub = learn.lessons_menu.actions()
    assert [a.text() for a in sub] == titles and all(a.isVisible() for a in sub)
    sub[3].trigger()  # a lesson opens from the submenu as from the menu
    settle(w)
    assert learn.index == 3


@pytest.mark.parametrize("docks_first", [False, True], ids=["lesson first", "docks first"])
@pytest.mark.parametrize("size", [(1024, 600), (911, 512)])
def test_the_window_stays_on_a_small_screen_as_docks_open(qtbot, make_window, screen, size,
                                                          docks_first):
    """A lesson, a conv layer's kernel and the Learn docks raise the docks' minimum heights after
    the first show; the window must not grow past the screen then either (nor stay taller once
    the minimum has fallen again)."""
    screen[0] = QRect(0, 0, *size)
    w = first_start(qtbot, make_window)
    if docks_first:
        open_learn_docks(w)
    assert w.learn.open_lesson("multi-output", ask=False)
    settle(w)
    w.doc.select(1)
    if not docks_first:
        open_learn_docks(w)
    qtbot.waitUntil(lambda: w.height() <= size[1], timeout=5000)
    assert fits(w, *size), (w.size(), w.minimumSizeHint())
    for dock in (w.kernel_dock, w.learn.dock):  # still there, as tabs where need be
        assert not dock.isHidden() and dock.height() >= dock.minimumSizeHint().height()
