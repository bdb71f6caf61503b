"""Fit shows, on screen, the whole input and the whole layer.

The views share one target rectangle (input coordinates) through the window's ViewLinker, held by
each grid's persistent focus ViewBox; what the user sees are the grid's tiles, each drawing some
region of input coordinates. These tests look at the tiles themselves: the input's and the layer's
corners mapped through the tile's transforms must land inside the tile and inside the viewport, and
the region a tile shows must be the linked target rectangle (the whole of it, widened on one axis
only as the tile's aspect requires), not the region of a lesson shown earlier or the layer's own
extent.

(The focus ViewBox reports a range change only when its *visible* range changes: a new target
that its aspect lock widens to the same visible range, e.g. ``(0.5, 0, 7, 6)`` then ``(0, 0, 8, 6)``
in a 4:3 box, used to leave the tiles on the old region.)
"""

from __future__ import annotations

import pytest
from conftest import grid_drawn, settle
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QGraphicsItem

from convstudio.app.views.feature_view import content_rect
from convstudio.lessons import LESSONS

SIZE = (1600, 1000)
TOL = 1.0  # pixels of the grid view


def _drawn(w) -> bool:
    """Both views have laid their tiles out for the region they show now."""
    return grid_drawn(w.input_view) and grid_drawn(w.layer_view)


def _tile_of(item: QGraphicsItem) -> QGraphicsItem:
    """The small view (the clipping frame) that draws ImageItem ``item``."""
    p = item.parentItem()
    while p is not None and not (p.flags() & QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape):
        p = p.parentItem()
    assert p is not None, "a tile's image is not inside a clipping frame"
    return p


def _on_screen(grid, k: int = 0):
    """(visible rect of tile ``k``, input -> scene mapping of that tile), in the scene of the
    grid's GraphicsView (its pixels): the tile's frame clipped to the part of the scene the
    viewport shows."""
    view = grid.grid_graphics_view()
    item = grid.tile_image_items()[k]
    tile = _tile_of(item)
    assert tile.isVisible() and view.isVisible()
    in_viewport = view.mapToScene(view.viewport().rect()).boundingRect()
    visible = tile.sceneBoundingRect().intersected(in_viewport)
    assert visible.width() > 16 and visible.height() > 16, "the tile is not on screen"

    def to_scene(x: float, y: float) -> QPointF:
        return QPointF(grid.tile_scene_pos(k, x, y))

    return visible, to_scene


def _inside(p: QPointF, r: QRectF) -> bool:
    return (r.left() - TOL <= p.x() <= r.right() + TOL
            and r.top() - TOL <= p.y() <= r.bottom() + TOL)


def _shown_input_rect(grid, k: int = 0) -> QRectF:
    """The region of input coordinates that tile ``k`` shows on screen."""
    visible, to_scene = _on_screen(grid, k)
    o, ex, ey = to_scene(0, 0), to_scene(1, 0), to_scene(0, 1)
    sx, sy = ex.x() - o.x(), ey.y() - o.y()
    assert sx > 0 and sy > 0
    return QRectF((visible.left() - o.x()) / sx, (visible.top() - o.y()) / sy,
                  visible.width() / sx, visible.height() / sy)


def _extent(grid) -> tuple:
    x = grid.maps()
    return content_rect(grid.placement(), x.shape[-2], x.shape[-1])


def _check_shows(w, rect: QRectF, what: str) -> None:
    """Every tile of both views shows ``rect``: all of it, widened on one axis only."""
    assert w.linker.target_rect() == rect, what
    eps = 0.02 * max(rect.width(), rect.height())
    for name, grid in (("input", w.input_view), ("layer", w.layer_view)):
        assert grid.view_rect() == rect, (what, name)
        for k in range(len(grid.tile_image_items())):
            shown = _shown_input_rect(grid, k)
            assert shown.adjusted(-eps, -eps, eps, eps).contains(rect), (what, name, k, shown, rect)
            assert (abs(shown.width() - rect.width()) <= eps
                    or abs(shown.height() - rect.height()) <= eps), (what, name, k, shown, rect)


def _check_whole_fit(w, what: str) -> None:
    """Both views show the whole input and the whole layer, and exactly the linked region."""
    xi, yi, wi, hi = _extent(w.input_view)
    xl, yl, wl, hl = _extent(w.layer_view)
    union = QRectF(min(xi, xl), min(yi, yl), 0, 0)
    union.setRight(max(xi + wi, xl + wl))
    union.setBottom(max(yi + hi, yl + hl))
    assert w.linker.target_rect() == union, what
    for name, grid in (("input", w.input_view), ("layer", w.layer_view)):
        assert grid.view_rect() == union, (what, name)
        for k in range(len(grid.tile_image_items())):
            visible, to_scene = _on_screen(grid, k)
            # the corners of the input and of the layer land inside the tile on screen
            for x0, y0, ww, hh in ((xi, yi, wi, hi), (xl, yl, wl, hl)):
                for corner in ((x0, y0), (x0 + ww, y0), (x0, y0 + hh), (x0 + ww, y0 + hh)):
                    p = to_scene(*corner)
                    assert _inside(p, visible), (what, name, k, corner, p, visible)
            # the image drawn covers its extent (its first and last columns whole)
            drawn = grid.tile_image_items()[k].sceneBoundingRect().adjusted(TOL, TOL, -TOL, -TOL)
            assert visible.contains(drawn), (what, name, k, drawn, visible)
    # and the tiles show the linked region: all of it, widened on one axis only
    _check_shows(w, union, what)


@pytest.mark.parametrize("before, lesson_id", [
    ("cross-correlation", "edge-detector"),      # output a column narrower than the input
    ("pooling-padding", "pooling-padding-2"),    # windows reaching beyond the input
    ("edge-detector", "pooling-padding-2"),
])
def test_fit_shows_the_whole_input_and_layer_in_the_tiles(qtbot, make_window, before, lesson_id):
    w = make_window(first_launch=False, size=SIZE)
    w.show()
    qtbot.waitExposed(w)

    assert w.learn.open_lesson(before, ask=False)
    settle(w)
    _check_whole_fit(w, f"{before} opened")

    # reached with Next, as a user walks the lessons
    for _ in range(len(LESSONS)):
        if w.learn.lesson.id == lesson_id:
            break
        w.learn.panel.next_button.click()
        settle(w)
    assert w.learn.lesson.id == lesson_id
    _check_whole_fit(w, f"{lesson_id} reached from {before}")

    # the layer's own Fit (its extent only), then Fit to window (Ctrl+0)
    w.layer_view.auto_range()
    qtbot.waitUntil(lambda: _drawn(w))
    _check_shows(w, QRectF(*_extent(w.layer_view)), f"{lesson_id}: the layer's Fit")
    w.actions_by_name["zoom_fit"].trigger()
    qtbot.waitUntil(lambda: _drawn(w))
    _check_whole_fit(w, f"{lesson_id} after the layer's Fit, then Fit to window")

    # the region the enlarged map's box would show (the fit widened to that box's aspect: the
    # same visible range there, another target), then Fit to window
    widened = w.layer_view.view_box().viewRect()
    w.linker.set_rect(widened)
    qtbot.waitUntil(lambda: _drawn(w))
    _check_shows(w, widened, f"{lesson_id}: the focus box's visible range")
    w.actions_by_name["zoom_fit"].trigger()
    qtbot.waitUntil(lambda: _drawn(w))
    _check_whole_fit(w, f"{lesson_id} after another region, then Fit to window")

    # zoomed onto one pixel, then Fit to window
    w.linker.set_rect((1.0, 1.0, 0.5, 0.5))
    w.actions_by_name["zoom_fit"].trigger()
    qtbot.waitUntil(lambda: _drawn(w))
    _check_whole_fit(w, f"{lesson_id} zoomed in, then Fit to window")


def test_a_lesson_opened_fresh_shows_everything(qtbot, make_window):
    w = make_window(first_launch=False, size=SIZE)
    w.show()
    qtbot.waitExposed(w)
    for lesson_id in ("edge-detector", "pooling-padding-2"):
        assert w.learn.open_lesson(lesson_id, ask=False)
        settle(w)
        _check_whole_fit(w, f"{lesson_id} opened")


def test_a_new_target_with_the_same_visible_range_reaches_the_tiles_and_linked_views(qtbot):
    """The focus ViewBox's target changes, its visible range does not (the aspect lock widened the
    old target to what the new one is): the tiles and the linked grid still follow the target."""
    import numpy as np
    from PySide6.QtWidgets import QWidget

    from convstudio.app.views.feature_view import FeatureMapGrid, ViewLinker

    # As in the window: the grids and their linker belong to a parent widget, which Qt deletes
    # with them (left to Python's collector, parentless views die in no defined order).
    host = QWidget()
    qtbot.addWidget(host)
    linker = ViewLinker(host)
    grids = [FeatureMapGrid(linker=linker, parent=host), FeatureMapGrid(linker=linker, parent=host)]
    for g in grids:
        g.setWindowFlag(Qt.WindowType.Window)  # each its own top-level window, owned by host
        g.resize(500, 400)
        g.set_maps(np.zeros((2, 2, 40), np.float32))
        g.show()
    for g in grids:
        qtbot.waitExposed(g)
    qtbot.waitUntil(lambda: all(grid_drawn(g) for g in grids))
    grids[0].view_box().setRange(rect=QRectF(0, 0, 40, 2), padding=0)  # very wide: y is widened
    vb = grids[0].view_box()
    widened = vb.viewRect()
    assert widened != vb.targetRect()
    vb.setRange(rect=widened, padding=0)  # same visible range, another target
    assert vb.viewRect() == widened
    assert linker.target_rect() == widened
    qtbot.waitUntil(lambda: all(grid_drawn(g) for g in grids))
    for g in grids:
        assert g.view_rect() == widened
        for k in range(len(g.tile_image_items())):
            shown = _shown_input_rect(g, k)
            eps = 0.02 * max(widened.width(), widened.height())
            assert shown.adjusted(-eps, -eps, eps, eps).contains(widened), (k, shown, widened)
            assert (abs(shown.width() - widened.width()) <= eps
                    or abs(shown.height() - widened.height()) <= eps), (k, shown, widened)
