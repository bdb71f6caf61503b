"""Zoomed in on a large map, views colour only the part around what is on screen.

At one map pixel per screen pixel or more a view used to hand its ImageItem the whole map, which
pyqtgraph coloured whole (about 90 ms per 24 MP map). These tests check the crops: what they hold,
where they are drawn (a bright pixel must land where the placement puts it) and that panning or
zooming out of a crop crops again.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import grid_drawn
from PySide6.QtCore import QPointF, QRectF

from convstudio.app.views import shrink
from convstudio.app.views.display import display_block_reduce
from convstudio.app.views.feature_view import FeatureMapGrid
from convstudio.app.views.image_view import ImageView
from convstudio.app.views.placement import Placement
from convstudio.app.views.shrink import CROP_ALIGN, covers, crop_blocks, crop_window

# ---------------------------------------------------------------- the window arithmetic


def test_small_maps_are_never_cropped():
    assert crop_window((10, 20, 10, 20), (1000, 1000)) is None  # 1 MP <= CROP_LIMIT
    assert covers(None, (10, 20, 10, 20), (1000, 1000))


@pytest.mark.parametrize("seed", range(4))
def test_a_crop_holds_what_is_visible_and_stays_within_the_map(seed):
    rng = np.random.default_rng(seed)
    h, w = 3000, 4000
    for _ in range(500):
        steps = (int(rng.choice([1, 2, 3, 5, 7])), int(rng.choice([1, 2, 4, 6])))
        r0, c0 = rng.uniform(-500, h + 500), rng.uniform(-500, w + 500)
        r1, c1 = r0 + rng.uniform(0.5, 900), c0 + rng.uniform(0.5, 900)
        crop = crop_window((r0, r1, c0, c1), (h, w), steps)
        if crop is None:  # nearly all of the map is wanted: shown whole
            assert (min(r1, h) - max(r0, 0)) * (min(c1, w) - max(c0, 0)) > h * w // 3
            continue
        top, bottom, left, right = crop
        assert 0 <= top < bottom <= h and 0 <= left < right <= w
        ar, ac = math.lcm(CROP_ALIGN, steps[0]), math.lcm(CROP_ALIGN, steps[1])
        for edge, end, a in ((top, 0, ar), (bottom, h, ar), (left, 0, ac), (right, w, ac)):
            assert edge % a == 0 or edge == end  # on block edges of the shrunk map
        assert covers(crop, (r0, r1, c0, c1), (h, w))
        # at most the visible part, a quarter of it again on each side, and the alignment
        assert bottom - top <= 1.5 * max(r1 - r0, 1) + 2 * ar
        assert right - left <= 1.5 * max(c1 - c0, 1) + 2 * ac


@pytest.mark.parametrize("steps", [(2, 2), (3, 5), (7, 1)])
def test_a_crop_of_the_shrunk_map_is_the_shrunk_crop(steps):
    """Crops fall on block edges: cropping the map shrunk whole gives exactly the crop shrunk
    (the tile crops a plane the shrinker made once for the whole map)."""
    rng = np.random.default_rng(sum(steps))
    m = rng.standard_normal((1500, 1700)).astype(np.float32)
    for visible in [(100, 300, 200, 500), (1300, 1500, 1400, 1700), (-50, 40, 1650, 1800)]:
        crop = crop_window(visible, m.shape, steps)
        r0, r1, c0, c1 = crop
        whole = display_block_reduce(m, *steps)
        np.testing.assert_array_equal(crop_blocks(whole, crop, steps),
                                      display_block_reduce(m[r0:r1, c0:c1], *steps))


def test_a_crop_is_given_up_when_it_would_be_nearly_all_of_the_map():
    assert crop_window((0, 1900, 0, 2900), (2000, 3000)) is None
    assert crop_window((0, 500, 0, 500), (2000, 3000)) == (0, 640, 0, 640)


def test_a_view_off_the_map_gets_the_nearest_edge_not_the_whole_map():
    crop = crop_window((-900, -400, 5000, 5600), (3000, 4000))
    assert crop is not None and crop[0] == 0 and crop[3] == 4000
    assert (crop[1] - crop[0]) * (crop[3] - crop[2]) < 3000 * 4000 // 10


# ---------------------------------------------------------------- the views


def spot_map(shape, spots) -> np.ndarray:
    x = np.zeros(shape, dtype=np.float32)
    x[0, 0, 0] = -1.0  # the levels span [-1, 1]: zero is the middle colour
    for r, c in spots:
        x[0, r, c] = 1.0
    return x


def colour_at(widget, scene_view, scene_pos) -> tuple[int, int, int]:
    """The colour the widget shows at `scene_pos` of graphics view `scene_view`."""
    view_pos = scene_view.mapFromScene(scene_pos)
    image = widget.grab().toImage()
    at = scene_view.viewport().mapTo(widget, view_pos)
    c = image.pixelColor(at.x(), at.y())
    return c.red(), c.green(), c.blue()


def shown_grid(qtbot, size=(640, 520), **kw) -> FeatureMapGrid:
    g = FeatureMapGrid(view_id=kw.pop("view_id", "layer"), **kw)
    g.resize(*size)
    qtbot.addWidget(g)
    g.show()
    qtbot.waitExposed(g)
    return g


def shown_view(qtbot) -> ImageView:
    v = ImageView(view_id="layer", title="one map")
    v.resize(400, 340)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    return v


@pytest.fixture
def small_crop_limit(monkeypatch):
    monkeypatch.setattr(shrink, "CROP_LIMIT", 100_000)  # a 1200 x 1500 map counts as large


@pytest.mark.parametrize("placement", [None, Placement(jump=(2, 2), start=(-3, 5), size=(7, 7))])
def test_a_zoomed_in_tile_holds_a_crop_and_draws_it_in_place(qtbot, small_crop_limit, placement):
    g = shown_grid(qtbot)
    p = placement or Placement()
    spots = [(400, 600), (1100, 1400)]
    x = spot_map((2, 1200, 1500), spots)
    g.set_maps(x)
    g.set_maps(x, placement=placement)
    qtbot.waitUntil(lambda: grid_drawn(g))
    tile, item = g._tiles[0], g.tile_image_items()[0]
    assert tile.steps() != (1, 1) and tile.crop() is None

    def look_at(r, c, size=40):
        x0, y0 = p.origin
        jr, jc = p.jump
        g.view_box().setRange(rect=QRectF(x0 + (c - size / 2) * jc, y0 + (r - size / 2) * jr,
                                          size * jc, size * jr), padding=0)
        qtbot.waitUntil(lambda: grid_drawn(g))

    for r, c in spots:
        look_at(r, c)
        assert tile.steps() == (1, 1)
        crop = tile.crop()
        assert crop is not None and crop[0] <= r < crop[1] and crop[2] <= c < crop[3]
        np.testing.assert_array_equal(item.image, x[0, crop[0]:crop[1], crop[2]:crop[3]])
        assert item.image.size < x[0].size // 20
        # the bright pixel is drawn where the placement puts it, its neighbours are not
        x0, y0 = p.origin
        jr, jc = p.jump
        centre = tile.scene_pos_of(x0 + (c + 0.5) * jc, y0 + (r + 0.5) * jr)
        beside = tile.scene_pos_of(x0 + (c + 2.5) * jc, y0 + (r + 0.5) * jr)
        gv = g.grid_graphics_view()
        assert colour_at(g, gv, centre) != colour_at(g, gv, beside)
        assert colour_at(g, gv, centre) == colour_at(g, gv, tile.scene_pos_of(
            x0 + (spots[0][1] + 0.5) * jc, y0 + (spots[0][0] + 0.5) * jr)) or (r, c) != spots[0]
        info = g.pixel_info_at_scene_pos(centre)
        assert (info.row, info.col, info.value) == (r, c, 1.0)
    # a small pan stays in the crop; zooming out shows the whole map shrunk again
    before = tile.crop()
    look_at(spots[1][0] - 3, spots[1][1] - 3)
    assert tile.crop() == before
    g.auto_range()
    qtbot.waitUntil(lambda: grid_drawn(g))
    assert tile.crop() is None and tile.steps() != (1, 1)


def test_abs_mode_and_true_colour_crop_before_they_convert(qtbot, small_crop_limit, monkeypatch):
    g = shown_grid(qtbot, (500, 400), view_id="input", true_color=True)
    rng = np.random.default_rng(1)
    x = rng.random((4, 1200, 1500), dtype=np.float32)
    x[3] = np.where(rng.random((1200, 1500)) < 0.5, 0.25, 1.0)  # some transparency
    g.set_maps(x)
    g.set_true_color(True)
    qtbot.waitUntil(lambda: grid_drawn(g))
    from convstudio.app.views import map_tile

    seen = []
    real = map_tile.rgb_for_display
    monkeypatch.setattr(map_tile, "rgb_for_display", lambda a: seen.append(a.shape) or real(a))
    g.view_box().setRange(rect=QRectF(700, 500, 60, 50), padding=0)
    qtbot.waitUntil(lambda: grid_drawn(g))
    tile, item = g._tiles[0], g.tile_image_items()[0]
    r0, r1, c0, c1 = tile.crop()
    assert seen and all(s[1] * s[2] < 1200 * 1500 // 20 for s in seen)
    np.testing.assert_array_equal(item.image, real(x[:, r0:r1, c0:c1]))
    # one map in |x|: the absolute values of the crop only
    y = rng.standard_normal((2, 1200, 1500)).astype(np.float32)
    g.set_true_color(False)
    g.set_maps(y)
    g.set_mode("abs")
    qtbot.waitUntil(lambda: grid_drawn(g))
    tile, item = g._tiles[1], g.tile_image_items()[1]
    r0, r1, c0, c1 = tile.crop()
    np.testing.assert_array_equal(item.image, np.abs(y[1, r0:r1, c0:c1]))


def test_panning_far_crops_again_and_draws_the_new_part(qtbot, small_crop_limit):
    g = shown_grid(qtbot)
    x = spot_map((1, 1200, 1500), [(100, 100), (1000, 1300)])
    g.set_maps(x)
    qtbot.waitUntil(lambda: grid_drawn(g))
    tile = g._tiles[0]
    g.view_box().setRange(rect=QRectF(80, 80, 40, 40), padding=0)
    qtbot.waitUntil(lambda: grid_drawn(g))
    first = tile.crop()
    assert first[1] < 1000 and first[3] < 1300  # the far spot is not in the first crop
    for k in range(1, 11):  # a drag in ten steps
        g.view_box().setRange(rect=QRectF(80 + 122 * k, 80 + 92 * k, 40, 40), padding=0)
        qtbot.waitUntil(lambda: grid_drawn(g))
    crop = tile.crop()
    assert crop != first and crop[0] <= 1000 < crop[1] and crop[2] <= 1300 < crop[3]
    gv = g.grid_graphics_view()
    assert colour_at(g, gv, tile.scene_pos_of(1300.5, 1000.5)) != colour_at(
        g, gv, tile.scene_pos_of(1302.5, 1000.5))


def test_the_single_view_renders_a_crop_and_follows_the_view(qtbot, small_crop_limit):
    v = shown_view(qtbot)
    spots = [(300, 200), (1000, 1350)]
    x = spot_map((1, 1200, 1500), spots)
    v.set_image(x, channel=0)
    item = v.image_item()
    v.grab()
    assert item.crop() is None
    for r, c in spots:
        v.view_box().setRange(rect=QRectF(c - 20, r - 15, 40, 30), padding=0)
        v.grab()  # paints, rendering the crop
        crop = item.crop()
        assert crop is not None and crop[0] <= r < crop[1] and crop[2] <= c < crop[3]
        assert item.qimage.width() == crop[3] - crop[2] and item.qimage.height() == crop[1] - crop[0]
        gv = v.graphics_view()
        centre = v.view_box().mapViewToScene(QPointF(c + 0.5, r + 0.5))
        beside = v.view_box().mapViewToScene(QPointF(c + 2.5, r + 0.5))
        assert colour_at(v, gv, centre) != colour_at(v, gv, beside)
    v.auto_range()
    v.grab()
    assert item.crop() is None


def test_a_tile_zoomed_on_part_of_a_large_map_shows_its_shrunk_crop(qtbot, small_crop_limit):
    g = shown_grid(qtbot)
    x = np.random.default_rng(5).standard_normal((2, 2400, 3000)).astype(np.float32)
    g.set_maps(x)
    g.view_box().setRange(rect=QRectF(1000, 800, 700, 560), padding=0)
    qtbot.waitUntil(lambda: grid_drawn(g))
    tile, item = g._tiles[1], g.tile_image_items()[1]
    steps, crop = tile.steps(), tile.crop()
    assert steps != (1, 1) and crop is not None
    r0, r1, c0, c1 = crop
    want = display_block_reduce(x[1, r0:r1, c0:c1], *steps)
    qtbot.waitUntil(lambda: item.image.shape == want.shape and np.array_equal(item.image, want),
                    timeout=10_000)
    assert item.image.size <= display_block_reduce(x[1], *steps).size // 3
    # the readout still reads the map itself under the cursor
    info = g.pixel_info_at_scene_pos(tile.scene_pos_of(1350.5, 1080.5))
    assert (info.row, info.col, info.value) == (1080, 1350, float(x[1, 1080, 1350]))


def test_the_single_view_shrunk_on_part_of_a_large_map_renders_that_part(qtbot, small_crop_limit):
    v = shown_view(qtbot)
    x = spot_map((1, 2400, 3000), [(1100, 1500)])
    v.set_image(x, channel=0)
    item = v.image_item()
    v.view_box().setRange(rect=QRectF(1000, 700, 1000, 850), padding=0)
    v.grab()
    xds, yds = item._computeDownsampleFactors()
    crop = item.crop()
    assert (xds, yds) != (1, 1) and crop is not None
    r0, r1, c0, c1 = crop
    assert (item.qimage.height(), item.qimage.width()) == (-(-(r1 - r0) // yds), -(-(c1 - c0) // xds))
    gv = v.graphics_view()
    spot = v.view_box().mapViewToScene(QPointF(1500.5, 1100.5))
    away = v.view_box().mapViewToScene(QPointF(1500.5 + 8 * xds, 1100.5))
    assert colour_at(v, gv, spot) != colour_at(v, gv, away)  # a one-pixel line survives shrinking
