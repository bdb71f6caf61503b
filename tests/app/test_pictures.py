"""Pictures that do not mislead: what the views draw is what the numbers say.

Small maps keep distinct values distinct, the ERF heat map reads as its legend, no "-0" in a range,
thin strong edges survive a shrunk map, the "same" padding label tells the output size, a map
without negative values is grey, and every result a lesson's text names is what its pipeline gives.
"""

from __future__ import annotations

import ast
import math
import re

import numpy as np
import pytest
from conftest import grid_drawn, settle
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QColor

from convstudio.app.panels.layer_params import PaddingEditor
from convstudio.app.qtsetup import pg
from convstudio.app.views.colormaps import (
    DIVERGING_LUT,
    FULL_RANGE_PIXELS,
    GREY_LUT,
    display_for,
    lut_index,
    map_display,
)
from convstudio.app.views.erf_overlay import ERF_NEGATIVE, ERF_POSITIVE, ErfOverlay, erf_rgba
from convstudio.app.views.feature_view import (
    FeatureMapGrid,
    ImageView,
    PixelInfo,
    display_block_reduce,
    format_number,
)
from convstudio.app.views.receptive_overlay import PIN_COLOURS
from convstudio.app.views.value_labels import format_value
from convstudio.core import AvgPool2d, Conv2d, MaxPool2d
from convstudio.lessons import LESSONS, get_lesson


@pytest.fixture
def grid(qtbot):
    g = FeatureMapGrid(view_id="pictures")
    g.resize(420, 420)
    qtbot.addWidget(g)
    g.show()
    qtbot.waitExposed(g)
    return g


def shade(display, value: float) -> int:
    return lut_index(value, display.levels, len(display.lut))


def rendered(values: np.ndarray, display) -> np.ndarray:
    """``(H, W, 3)`` colours pyqtgraph renders for a map shown with ``display``."""
    item = pg.ImageItem()
    item.setImage(display.prepare(values), autoLevels=False, levels=display.levels,
                  lut=display.lut)
    item.render()
    q = item.qimage
    h, w = values.shape
    return np.array([[q.pixelColor(j, i).getRgb()[:3] for j in range(w)] for i in range(h)])


def screen_colour(grid: FeatureMapGrid, x: float, y: float) -> tuple[int, int, int]:
    """The colour on screen at input coordinates ``(x, y)`` of the grid's first map."""
    gv = grid.grid_graphics_view()
    image = gv.viewport().grab().toImage()
    p = gv.mapFromScene(grid.tile_scene_pos(0, x, y))
    return QColor(image.pixel(p.x(), p.y())).getRgb()[:3]


# ------------------------------------------------------------------ 1. small maps, distinct shades


def test_lesson_one_output_has_a_shade_per_value(qapp):
    lesson = get_lesson("cross-correlation")
    out = lesson.build_pipeline().run(lesson.make_image())[0]
    np.testing.assert_array_equal(out, [[[19, 25], [37, 43]]])
    d = display_for(out, "contrast")
    shades = [shade(d, v) for v in (19, 25, 37, 43)]
    assert len(set(shades)) == 4, shades  # 37 and 43 were both white
    colours = rendered(out[0], d)
    assert len({tuple(c) for c in colours.reshape(-1, 3)}) == 4
    assert tuple(colours[1, 1]) == (255, 255, 255)  # the largest is the end of the scale


@pytest.mark.parametrize("seed", range(4))
def test_distinct_values_of_small_maps_get_distinct_shades(seed):
    rng = np.random.default_rng(seed)
    for h, w in ((2, 2), (3, 5), (10, 12), (64, 64)):
        n = h * w
        assert n <= FULL_RANGE_PIXELS
        scale = float(rng.uniform(0.01, 100.0))
        # distinct values, steps of one unit: finer than a LUT entry only above 2 * 255 values
        signed = (rng.permutation(n) - n // 2).astype(np.float32).reshape(1, h, w) * scale
        unsigned = rng.permutation(n).astype(np.float32).reshape(1, h, w) * scale
        for x in (signed, unsigned):
            d = display_for(x, "contrast")
            lo, hi = d.levels
            assert lo <= float(x.min()) and float(x.max()) <= hi  # nothing is clipped
            width = (hi - lo) / len(d.lut)  # one LUT entry
            values = np.unique(x)
            shades = np.array([shade(d, v) for v in values])
            assert np.all(np.diff(shades) >= 0)  # the order is kept
            if np.diff(values).min() >= width:
                assert len(set(shades.tolist())) == len(values)
            else:  # more values than the LUT has entries: neighbours may share one, no more
                far = np.diff(values) >= 2 * width
                assert np.all(np.diff(shades)[far] > 0)
    # a generic small map: values a LUT entry or more apart never share a shade
    x = rng.standard_normal((1, 9, 11)).astype(np.float32)
    d = display_for(x, "contrast")
    width = (d.levels[1] - d.levels[0]) / len(d.lut)
    v = np.sort(x.ravel())
    s = np.array([shade(d, a) for a in v])
    a, b = np.triu_indices(len(v), 1)
    apart = (v[b] - v[a]) >= 2 * width
    assert np.all(s[b][apart] > s[a][apart])


def test_large_maps_still_saturate_the_brightest_few():
    x = np.random.default_rng(3).standard_normal((1, 200, 300)).astype(np.float32)
    x[0, 100, :120] = 5.0
    d = display_for(x, "contrast")
    assert d.levels[1] < 5.0  # the clip is for large maps, where 0.35 % is many values


# ------------------------------------------------------------------ 2. the ERF reads as its legend


def test_erf_colours_are_the_legends():
    g = np.zeros((5, 6), np.float32)
    g[1, 1], g[2, 2], g[3, 3], g[4, 4] = 2.0, -2.0, 0.5, 1e-6
    rgba = erf_rgba(g)
    assert tuple(rgba[1, 1]) == (*ERF_POSITIVE, 255)  # strongest: the legend's red, opaque
    assert tuple(rgba[2, 2]) == (*ERF_NEGATIVE, 255)
    assert tuple(rgba[3, 3, :3]) == ERF_POSITIVE and 0 < rgba[3, 3, 3] < 255  # weaker: fainter
    assert rgba[4, 4, 3] > 0  # the faintest influence still shows
    assert np.all(rgba[g == 0, 3] == 0)  # no influence: transparent
    alpha = rgba[..., 3][[4, 3, 1], [4, 3, 1]]
    assert np.all(np.diff(alpha.astype(int)) > 0)  # stronger is more opaque


def test_erf_on_screen_is_not_tinted_by_the_pin(grid, qtbot):
    x = np.full((1, 8, 8), 0.5, np.float32)
    grid.set_maps(x)
    grid.auto_range()
    pin = PIN_COLOURS[0]
    grid.add_rect_overlay("pin", (1, 1, 6, 6), pen=pg.mkPen(pin, width=2),
                          brush=QBrush(QColor(*pin, 38)))
    qtbot.waitUntil(lambda: grid_drawn(grid) and "pin" in grid._tiles[0].overlays)
    plain = screen_colour(grid, 7.5, 7.5)  # outside the pin and the heat map
    assert plain == (128, 128, 128)
    assert screen_colour(grid, 3.5, 3.5) != plain  # the pin's fill tints the cells it covers
    overlay = ErfOverlay(grid)
    erf = np.zeros((1, 8, 8), np.float32)
    erf[0, 2, 2] = 1.0  # the strongest
    erf[0, 4, 5] = -0.5
    overlay.set_erf(erf)
    qtbot.waitUntil(lambda: grid_drawn(grid) and len(overlay.heat_items()) == 1)
    assert screen_colour(grid, 3.5, 3.5) == plain  # no influence: the image as it is
    assert screen_colour(grid, 2.5, 2.5) == ERF_POSITIVE  # the legend's strongest red
    r, _g, b = screen_colour(grid, 5.5, 4.5)
    assert b > 128 > r  # negative: blue
    overlay.set_erf(None)
    qtbot.waitUntil(lambda: grid_drawn(grid) and overlay.heat_items() == [])
    assert screen_colour(grid, 3.5, 3.5) != plain  # the pin's fill is back


def test_erf_box_lands_on_its_pixels_and_only_on_maps_of_its_shape(grid, qtbot):
    """A gradient given as a box (where it starts, the maps' shape it belongs to) is drawn on
    those pixels of the map, and not at all on maps of another shape (a new image, or the
    preview switched off while the old ERF is still set)."""
    x = np.full((1, 8, 8), 0.5, np.float32)
    grid.set_maps(x)
    grid.auto_range()
    qtbot.waitUntil(lambda: grid_drawn(grid))
    plain = screen_colour(grid, 0.5, 0.5)
    overlay = ErfOverlay(grid)
    box = np.zeros((1, 2, 3), np.float32)
    box[0, 1, 2] = 1.0  # map pixel (row 4, col 5)
    overlay.set_erf(box, origin=(3, 3), shape=x.shape)
    qtbot.waitUntil(lambda: grid_drawn(grid) and len(overlay.heat_items()) == 1)
    assert screen_colour(grid, 5.5, 4.5) == ERF_POSITIVE
    assert screen_colour(grid, 3.5, 3.5) == plain  # in the box, no influence
    assert screen_colour(grid, 2.5, 1.5) == plain
    grid.set_maps(np.full((1, 16, 16), 0.5, np.float32))
    overlay.refresh()
    assert overlay.heat_items() == []


def test_erf_covers_a_map_shrunk_for_display(grid, qtbot):
    x = np.random.default_rng(0).random((1, 900, 1000), dtype=np.float32)
    grid.set_maps(x)
    grid.auto_range()
    qtbot.waitUntil(lambda: grid_drawn(grid))
    tile = grid._tiles[0]
    assert tile.steps() != (1, 1)
    overlay = ErfOverlay(grid)
    overlay.set_erf(np.ones((1, 900, 1000), np.float32))
    qtbot.waitUntil(lambda: grid_drawn(grid) and len(overlay.heat_items()) == 1)
    (heat,) = overlay.heat_items()
    for px, py in ((0, 0), (1000, 900), (333, 444)):
        got = heat.mapToScene(QPointF(px, py))
        want = grid.tile_scene_pos(0, px, py)
        assert abs(got.x() - want.x()) < 1e-6 and abs(got.y() - want.y()) < 1e-6


def test_erf_stays_on_its_pixels_over_a_cropped_map(grid, qtbot, monkeypatch):
    """Zoomed in on a large map, the tile's item holds a crop (views/shrink.py): the heat image
    must still land on the map's own pixels, before and after a pan that crops again."""
    from convstudio.app.views import shrink

    monkeypatch.setattr(shrink, "CROP_LIMIT", 100_000)
    x = np.random.default_rng(1).random((1, 900, 1000), dtype=np.float32)
    grid.set_maps(x)
    overlay = ErfOverlay(grid)
    overlay.set_erf(np.ones((1, 900, 1000), np.float32))
    qtbot.waitUntil(lambda: grid_drawn(grid) and len(overlay.heat_items()) == 1)
    tile = grid._tiles[0]
    for rect in (QRectF(600, 500, 60, 40), QRectF(100, 150, 60, 40)):
        grid.view_box().setRange(rect=rect, padding=0)
        qtbot.waitUntil(lambda: grid_drawn(grid) and tile.crop() is not None)
        crop = tile.crop()
        (heat,) = overlay.heat_items()
        qtbot.waitUntil(lambda h=heat: h.mapToScene(QPointF(0, 0)) == grid.tile_scene_pos(0, 0, 0))
        for px, py in ((crop[2], crop[0]), (rect.x() + 7, rect.y() + 3), (999, 899)):
            got = heat.mapToScene(QPointF(px, py))
            want = grid.tile_scene_pos(0, px, py)
            assert abs(got.x() - want.x()) < 1e-6 and abs(got.y() - want.y()) < 1e-6


# ------------------------------------------------------------------ 3. no "-0"


def test_negative_zero_prints_as_zero(grid):
    assert format_number(-0.0) == "0" and format_number(np.float32(-0.0)) == "0"
    assert format_number(-0.0, ".4f") == "0.0000"
    assert format_number(-1e-7, ".4f") == "0.0000"  # rounds to zero: no sign either
    assert format_number(-1.5) == "-1.5" and format_number(-1e-7) == "-1e-07"
    assert format_number(float("-inf")) == "-inf" and format_number(float("nan")) == "nan"
    assert format_value(-0.0) == "0" and format_value(np.float32(-0.0)) == "0"
    assert PixelInfo("v", 0, 1, 2, -0.0).text().endswith("value 0.0000")
    assert PixelInfo("v", -1, 1, 2, (-0.0, 1.0, 0.5)).text().endswith("(0.0000, 1.0000, 0.5000)")
    blurred = np.array([[[-0.0, 0.25], [0.5, 1.0]]], np.float32)
    assert math.copysign(1.0, float(blurred.min())) == -1.0  # the min is -0.0
    grid.set_maps(blurred)
    assert "range [0, 1]" in grid._title.text()
    grid.set_maps(blurred, data_range=(-0.0, 1.0))
    assert "range [0, 1]" in grid._title.text()


# ------------------------------------------------------------------ 4. thin edges in shrunk maps


def test_block_reduction_keeps_a_one_pixel_line():
    x = np.zeros((512, 512), np.float32)
    x[:, 257] = 1.0  # a column no subsampling step in 2..256 samples
    for s in (2, 3, 4, 8):
        y = display_block_reduce(x, s, s)
        assert y.shape == x[::s, ::s].shape
        assert np.all(y[:, 257 // s] == 1.0)
        assert np.count_nonzero(y) == y.shape[0]
    x[:, 257] = -1.0  # a negative edge stays negative
    assert np.all(display_block_reduce(x, 4, 4)[:, 64] == -1.0)
    x[300, :] = 0.5  # a weaker row next to it is kept too
    y = display_block_reduce(x, 4, 4)
    assert np.all(y[75, :64] == 0.5) and y[75, 64] == -1.0  # the larger magnitude wins
    assert display_block_reduce(x, 1, 1) is x


def _block_extreme_reference(x: np.ndarray, r: int, c: int) -> np.ndarray:
    """One block at a time: NaN if the block has one, else its largest |value|, + on a tie."""
    h, w = x.shape
    out = np.empty((-(-h // r), -(-w // c)), x.dtype)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            b = x[i * r:(i + 1) * r, j * c:(j + 1) * c]
            hi, lo = b.max(), b.min()
            out[i, j] = lo if -lo > hi else hi
    return out


@pytest.mark.parametrize("seed", range(4))
def test_block_reduction_matches_a_block_by_block_reference(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        r, c = (int(v) for v in rng.integers(1, 20, 2))  # column blocks below and above 8
        x = rng.integers(-3, 4, (h, w)).astype(np.float32)  # small integers: many ties
        if rng.random() < 0.3:
            x[rng.integers(h), rng.integers(w)] = np.nan
        np.testing.assert_array_equal(display_block_reduce(x, r, c),
                                      _block_extreme_reference(x, r, c))


def test_shrunk_tile_shows_a_thin_line(grid, qtbot):
    x = np.zeros((1, 512, 512), np.float32)
    x[0, :, 257] = 1.0
    grid.resize(220, 220)  # the map about 128 pixels wide on screen: shrunk about 4 times
    grid.set_mode("minmax")
    grid.set_maps(x)
    grid.auto_range()
    qtbot.waitUntil(lambda: grid_drawn(grid))
    sr, sc = grid._tiles[0].steps()
    assert sc >= 3
    shown = grid.tile_image_items()[0].image
    assert shown.shape == x[0, ::sr, ::sc].shape
    assert np.all(shown[:, 257 // sc] == 1.0)  # was 0: x[::s, ::s] skips column 257


def test_shrunk_image_view_shows_a_thin_line(qtbot):
    view = ImageView(view_id="thin")
    view.resize(200, 200)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    x = np.zeros((1, 512, 512), np.float32)
    x[0, :, 257] = 1.0
    view.set_image(x, mode="minmax")
    view.auto_range()
    view.graphics_view().viewport().grab()  # paints, so the item renders
    item = view.image_item()
    xds, yds = item._lastDownsample
    assert xds > 1
    q = item.qimage
    assert q.width() == math.ceil(512 / xds)
    column = [QColor(q.pixel(257 // xds, r)).getRgb()[:3] for r in range(q.height())]
    assert all(c == (255, 255, 255) for c in column)  # pyqtgraph's block mean gave 1 / xds
    assert item.image.shape == (512, 512) and np.shares_memory(item.image, x)  # the full map


# ------------------------------------------------------------------ 5. the "same" padding label


def test_same_padding_label_tells_the_output_size(qtbot):
    ed = PaddingEditor()
    qtbot.addWidget(ed)
    label = ed.kind.itemText(ed.kind.findData("same"))
    assert label == dict(PaddingEditor.KINDS)["same"]
    assert "ceil(input / stride)" in label and "input size" not in label
    for n in range(1, 14):
        for k in range(1, 6):
            for s in range(1, 5):
                want = math.ceil(n / s)
                for d in (1, 2):
                    conv = Conv2d(kernel=np.ones((k, k), np.float32), stride=s, dilation=d,
                                  padding="same")
                    assert conv.output_shape((1, n, n))[1:] == (want, want)
                for pool in (MaxPool2d, AvgPool2d):
                    kw = dict(kernel_size=k, stride=s, padding="same")
                    try:
                        floor_mode = pool(**kw).output_shape((1, n, n))[1]
                        ceil_mode = pool(**kw, ceil_mode=True).output_shape((1, n, n))[1]
                    except Exception:  # noqa: BLE001  (padding the layer refuses)
                        continue
                    assert floor_mode == want
                    assert ceil_mode in (want, want + 1)  # "up to 1 more in ceil mode"


# ------------------------------------------------------------------ 6. non-negative maps are grey


def test_map_without_negative_values_is_grey_in_a_signed_layer():
    rng = np.random.default_rng(1)
    luma = rng.random((6, 7), dtype=np.float32)
    opponent = rng.random((6, 7), dtype=np.float32) - 0.5
    layer = np.stack([luma, opponent])
    for mode in ("auto", "contrast"):
        d = display_for(layer, mode)
        assert d.mode == "diverging"
        grey = map_display(d, mode, float(luma.min()))
        assert grey.lut is GREY_LUT and grey.levels == (0.0, d.levels[1])
        assert map_display(d, mode, float(opponent.min())) is d
    d = display_for(layer, "diverging")  # chosen explicitly: every map diverging
    assert map_display(d, "diverging", 0.0) is d


def test_grid_draws_a_non_negative_channel_grey(grid, qtbot):
    rng = np.random.default_rng(2)
    layer = np.stack([rng.random((6, 7), dtype=np.float32),
                      rng.random((6, 7), dtype=np.float32) - 0.5])
    grid.set_mode("contrast")
    grid.set_maps(layer)
    assert grid.resolved_mode() == "diverging"
    items = grid.tile_image_items()
    assert np.array_equal(items[0].lut, GREY_LUT) and np.array_equal(items[1].lut, DIVERGING_LUT)
    assert "grey" in grid._title.text()
    grid.set_focused_channel(0)
    assert np.array_equal(grid.focus_view().current_lut(), GREY_LUT)
    assert grid.focus_view().current_levels()[0] == 0.0
    grid.set_focused_channel(1)
    assert np.array_equal(grid.focus_view().current_lut(), DIVERGING_LUT)
    grid.set_focused_channel(None)
    grid.set_mode("diverging")
    assert np.array_equal(grid.tile_image_items()[0].lut, DIVERGING_LUT)


def test_lesson_seven_draws_luma_grey(qtbot, make_window):
    w = make_window(size=(1200, 800))
    w.show()
    assert w.learn.open_lesson("one-by-one")
    settle(w)
    qtbot.waitUntil(lambda: w.layer_view.maps() is not None
                    and w.layer_view.maps().shape[0] == 2, timeout=10_000)
    luma = w.layer_view.maps()[0]
    assert float(luma.min()) >= 0 and float(w.layer_view.maps()[1].min()) < 0
    w.layer_view.grab()
    items = w.layer_view.tile_image_items()
    assert np.array_equal(items[0].lut, GREY_LUT)
    q = items[0].qimage
    pixels = [QColor(q.pixel(i, j)).getRgb()[:3] for i in range(0, q.width(), 7)
              for j in range(0, q.height(), 7)]
    assert all(r == g == b for r, g, b in pixels)  # grey, not diverging red
    assert len(set(pixels)) > 10
    assert np.array_equal(items[1].lut, DIVERGING_LUT)  # red minus blue is signed


# ------------------------------------------------------------------ 7. lessons keep their word


def _promised_maps(text: str) -> list[np.ndarray]:
    return [np.array(ast.literal_eval(m), np.float64)
            for m in re.findall(r"\[\[[-\d., \[\]]*\]\]", text)]


def _promised_sums(text: str) -> list[tuple[str, int]]:
    return [(expr.strip(), int(value))
            for expr, value in re.findall(r"([\d×+() ]*×[\d×+() ]*)=\s*(\d+)", text)]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.id)
def test_every_result_a_lesson_names_is_what_its_pipeline_gives(lesson):
    p = lesson.build_pipeline()
    # what the lesson opens is what the text is about: no layer waiting to be ticked on
    assert all(layer.enabled for layer in p.layers), "a disabled layer would stack, not replace"
    outs = [np.asarray(o, np.float64) for o in p.run(lesson.make_image())]
    maps = [o[c] for o in outs for c in range(o.shape[0])]
    for want in _promised_maps(lesson.explanation):
        assert any(m.shape == want.shape and np.array_equal(m, want) for m in maps), \
            f"{lesson.id}: the text promises {want.tolist()}"
    for expr, value in _promised_sums(lesson.explanation):
        assert eval(expr.replace("×", "*"), {"__builtins__": {}}) == value, expr  # noqa: S307
        assert any(np.any(m == value) for m in maps), f"{lesson.id}: {value} is not an output"
    # the tutorial's numbers it states are the ones the text names
    for layer, want in lesson.expected.get("outputs", {}).items():
        np.testing.assert_array_equal(outs[layer - 1], np.array(want, np.float64))
    # a lesson another one points to exists
    for target in re.findall(r"lesson:([\w-]+)", lesson.explanation):
        assert get_lesson(target) is not lesson


def test_the_pooling_results_each_have_a_lesson():
    promised = {(l.id, tuple(map(tuple, m.tolist())))
                for l in LESSONS for m in _promised_maps(l.explanation)}
    for result in (((4, 5), (7, 8)), ((2, 3), (5, 6)), ((10,),), ((5, 7), (13, 15))):
        assert any(r == result for _id, r in promised), result
    assert {"pooling-padding-2", "pooling-padding-3"} <= {l.id for l in LESSONS}
