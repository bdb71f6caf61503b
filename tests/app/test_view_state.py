"""The window's view state (convstudio.app.model.view_state.ViewState): its own rules, and that the
window, the menus and the layer view follow it both ways (display mode, level lock, clicked
pixel, background image load)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import settle

from convstudio.app.model.view_state import ViewState
from convstudio.app.views.colormaps import AUTO, DISPLAY_MODES
from convstudio.app.views.receptive_overlay import Mark


def recorder(signal) -> list:
    seen: list = []
    signal.connect(seen.append)
    return seen


def test_each_property_signals_real_changes_only(qapp):
    vs = ViewState()
    modes, locks, pixels, loads = (recorder(vs.displayModeChanged), recorder(vs.levelsLockChanged),
                                   recorder(vs.pixelChanged), recorder(vs.loadingChanged))
    assert vs.display_mode == AUTO and vs.levels_lock is None and vs.pixel is None
    mode = DISPLAY_MODES[0]
    vs.display_mode = mode
    vs.set_display_mode(mode)
    vs.set_levels_lock((0, 2))
    vs.levels_lock = (0.0, 2.0)  # the same levels, as floats
    vs.pixel = Mark(1, 2, 3)
    vs.set_pixel(Mark(1, 2, 3))
    vs.set_loading("a.png")
    vs.loading = Path("a.png")
    assert modes == [mode] and locks == [(0.0, 2.0)] and pixels == [Mark(1, 2, 3)]
    assert loads == [Path("a.png")] and vs.levels_locked
    vs.set_levels_lock(None)
    vs.set_pixel(None)
    vs.set_loading(None)
    assert locks[-1] is None and pixels[-1] is None and loads[-1] is None


@pytest.mark.parametrize("levels", [(1, 1), (2, 1), (0, float("nan")), "ab", (0,)])
def test_bad_values_are_refused_with_a_message(qapp, levels):
    vs = ViewState()
    with pytest.raises(ValueError, match="levels"):
        vs.set_levels_lock(levels)
    with pytest.raises(ValueError, match="unknown display mode 'sepia'"):
        vs.set_display_mode("sepia")
    assert vs.levels_lock is None and vs.display_mode == AUTO


def test_the_display_mode_is_one_value_that_every_control_follows(window):
    w = window
    vs = w.view_state
    assert vs.display_mode == w.layer_view.mode() == "contrast"
    vs.set_display_mode("diverging")  # the model: the view and the menu follow
    assert w.layer_view.mode() == "diverging" and w.mode_actions["diverging"].isChecked()
    w.mode_actions["minmax"].trigger()  # the menu
    assert vs.display_mode == w.layer_view.mode() == "minmax"
    w.layer_view.set_mode("abs")  # the grid's own box
    assert vs.display_mode == "abs" and w.mode_actions["abs"].isChecked()


def test_the_level_lock_is_one_value_that_every_control_follows(window):
    w = window
    vs = w.view_state
    act = w.actions_by_name["lock_levels"]
    shown = w.layer_view.current_levels()
    act.setChecked(True)  # the menu locks to what is on screen
    assert vs.levels_lock == shown == w.layer_view.shared_levels()
    vs.set_levels_lock((-5.0, 5.0))  # the model (symmetric: the signed maps keep 0 white)
    assert w.layer_view.shared_levels() == (-5.0, 5.0) == w.layer_view.current_levels()
    vs.set_levels_lock(None)
    assert not act.isChecked() and w.layer_view.shared_levels() is None
    w.layer_view._lock_box.setChecked(True)  # the grid's own box, as a click does
    assert vs.levels_lock == w.layer_view.shared_levels() is not None and act.isChecked()
    w.doc.select(2)  # another layer keeps the locked scale
    settle(w)
    assert w.layer_view.current_levels() == vs.levels_lock
    act.setChecked(False)
    assert vs.levels_lock is None and not w.layer_view._lock_box.isChecked()


def test_the_clicked_pixel_lives_in_the_view_state(window):
    w = window
    pixels = recorder(w.view_state.pixelChanged)
    mark = Mark(w.doc.selected, 3, 4, 0)
    w.insight.select_pixel(mark)
    assert w.view_state.pixel == w.insight.pixel == mark and pixels == [mark]
    settle(w)
    assert w.insight.inspector.explanation is not None
    w.doc.set_image_array(np.zeros((1, 20, 20), np.float32), "another")  # forgets the click
    assert w.view_state.pixel is None and pixels == [mark, None]


def test_the_image_being_loaded_is_in_the_view_state(window, tmp_path):
    w = window
    import cv2

    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.full((9, 11), 50, np.uint8))
    loads = recorder(w.view_state.loadingChanged)
    assert w.open_image(path, wait=False)
    assert w.view_state.loading == path and w.busy_label.text() == "loading a.png…"
    assert w.wait_for_loads()
    assert w.view_state.loading is None and loads == [path, None]
    assert w.doc.image_shape == (1, 9, 11)
    # A background load that an image opened at once replaces is dropped, with its note.
    other = tmp_path / "b.png"
    cv2.imwrite(str(other), np.full((5, 7), 80, np.uint8))
    assert w.open_image(path, wait=False)
    assert w.open_image(other)  # read at once
    assert w.view_state.loading is None and not w.image_loader.busy
    settle(w)
    assert w.doc.image_path == other and w.doc.image_shape == (1, 5, 7)


def test_the_pins_live_in_the_view_state(window):
    """A click pins through the overlay into the view state; whoever changes the state (here the
    test, as a future control would), the overlay follows, its boxes and its signal included."""
    w = window
    settle(w)
    pins = recorder(w.view_state.pinsChanged)
    overlay_changes: list[None] = []
    w.insight.overlay.pinsChanged.connect(lambda: overlay_changes.append(None))
    a, b = Mark(w.doc.selected, 1, 2, 0), Mark(w.doc.selected, 3, 4, 0)
    w.insight.overlay.pin(a)
    w.insight.overlay.pin(b)
    assert [m for _, m in w.view_state.pins] == [a, b] == w.insight.overlay.pins()
    assert len(pins) == 2 and len(overlay_changes) == 2
    w.view_state.set_pins(w.view_state.pins[1:])  # from outside the overlay: b stays
    assert w.insight.overlay.pins() == [b] and len(overlay_changes) == 3
    w.view_state.set_pins(w.view_state.pins)  # no change, no signal
    assert len(pins) == 3
    w.insight.clear_pins()
    assert w.view_state.pins == () and w.insight.overlay.pins() == []
