"""The Learn menu: every lesson opens its image, pipeline, selected layer and explanation; Previous
and Next walk the whole tutorial; tiny maps carry their numbers."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QUrl

from convstudio.app.views.value_labels import format_value
from convstudio.app.window.learn import contents_html, lesson_html
from convstudio.app.window.main_window import MainWindow
from convstudio.core import Pipeline
from convstudio.lessons import LESSONS


def _menu_titles(w: MainWindow) -> list[str]:
    return [a.text().replace("&", "") for a in w.menuBar().actions()]


def test_learn_menu_lists_every_lesson_in_order(window):
    w = window
    titles = _menu_titles(w)
    assert "Learn" in titles and titles.index("Learn") == titles.index("Help") - 1
    assert [a.text() for a in w.learn.lesson_actions] == [l.title for l in LESSONS]
    assert [a.data() for a in w.learn.lesson_actions] == [l.id for l in LESSONS]
    assert not w.learn.dock.isVisible()


@pytest.mark.parametrize("index", range(len(LESSONS)), ids=[l.id for l in LESSONS])
def test_each_lesson_opens(window, index):
    w = window
    lesson = LESSONS[index]
    w.show()
    w.learn.lesson_actions[index].trigger()
    doc = w.doc
    np.testing.assert_array_equal(doc.image, lesson.make_image())
    assert doc.image_name == lesson.title
    assert doc.pipeline == Pipeline.from_dict(lesson.pipeline)
    assert doc.selected == lesson.select_layer
    assert not doc.dirty and doc.file_path is None
    assert w.learn.index == index and w.learn.dock.isVisible()
    text = w.learn.panel.text()
    assert lesson.title in text and f"Lesson {index + 1} of {len(LESSONS)}" in text
    # the tutorial's numbers, as the renderer computed them for the window
    assert w.renderer.wait_idle(10_000)
    for layer, values in lesson.expected.get("outputs", {}).items():
        np.testing.assert_allclose(w.renderer.outputs[layer - 1], np.asarray(values, np.float32),
                                   rtol=1e-5, atol=1e-5)
    for layer, shape in lesson.expected.get("shapes", {}).items():
        assert w.renderer.outputs[layer - 1].shape == tuple(shape)


def test_first_lesson_shows_19_25_37_43(window, qtbot):
    w = window
    w.show()
    qtbot.waitExposed(w)
    assert w.learn.open_lesson("cross-correlation")
    assert w.renderer.wait_idle(10_000)
    np.testing.assert_array_equal(w.renderer.outputs[0], [[[19, 25], [37, 43]]])
    np.testing.assert_array_equal(w.layer_view.maps(), [[[19, 25], [37, 43]]])
    # the numbers are written on the pixels of both views, and fit on screen
    inp, out = w.learn.value_labels
    for labels in (inp, out):
        labels.refresh()
    assert inp.texts() == [["0", "1", "2", "3", "4", "5", "6", "7", "8"]]
    assert out.texts() == [["19", "25", "37", "43"]]
    qtbot.waitUntil(lambda: out.visible_count() == 4 and inp.visible_count() == 9, timeout=3000)


def test_value_labels_only_on_tiny_maps(window, qtbot):
    w = window
    w.show()
    w.learn.open_lesson("one-by-one")  # a photo: no labels
    assert w.renderer.wait_idle(10_000)
    for labels in w.learn.value_labels:
        labels.refresh()
        assert labels.count() == 0
    w.learn.open_lesson("multi-output")  # 2 input maps of 3 x 3, 3 output maps of 2 x 2
    assert w.renderer.wait_idle(10_000)
    inp, out = w.learn.value_labels
    inp.refresh()
    out.refresh()
    assert inp.count() == 18 and out.count() == 12
    assert ["56", "72", "104", "120"] in out.texts()
    # one channel enlarged (double click): its labels alone
    w.layer_view.set_focused_channel(2)
    out.refresh()
    assert out.texts() == [["96", "128", "192", "224"]]
    w.layer_view.set_focused_channel(None)
    out.set_enabled(False)
    assert out.count() == 0


def test_format_value():
    assert [format_value(v) for v in (19.0, -1.0, 0.0, 0.5, 1 / 3, 0.0625, float("nan"))] == \
        ["19", "-1", "0", "0.5", "0.333", "0.0625", "nan"]


def test_next_and_previous_walk_every_lesson(window):
    w = window
    learn = w.learn
    assert not learn.panel.previous_button.isEnabled()
    assert learn.open_lesson(0)
    seen = [learn.index]
    while learn.panel.next_button.isEnabled():
        learn.panel.next_button.click()
        seen.append(learn.index)
        assert w.doc.pipeline == Pipeline.from_dict(LESSONS[learn.index].pipeline)
    assert seen == list(range(len(LESSONS)))
    assert not learn.next()  # the end
    back = [learn.index]
    while learn.panel.previous_button.isEnabled():
        learn.actions["previous_lesson"].trigger()
        back.append(learn.index)
    assert back == list(reversed(range(len(LESSONS))))
    assert not learn.previous()


def test_opening_a_lesson_asks_when_dirty(window):
    w = window
    w.learn.open_lesson("cross-correlation")
    w.kernel_editor.set_cell(0, 0, "5")
    assert w.doc.dirty
    edited = w.doc.pipeline
    asked = []
    w.confirm_discard = lambda: asked.append("keep") or False  # type: ignore[method-assign]
    assert not w.learn.open_lesson("edge-detector")
    here = [l.id for l in LESSONS].index("cross-correlation")
    assert asked == ["keep"] and w.doc.pipeline == edited and w.learn.index == here
    w.confirm_discard = lambda: asked.append("discard") or True  # type: ignore[method-assign]
    assert w.learn.next()
    assert asked == ["keep", "discard"] and w.learn.lesson.id == LESSONS[here + 1].id
    assert not w.doc.dirty


def test_contents_page_links_open_lessons(window):
    w = window
    panel = w.learn.panel
    assert all(l.title in panel.text() for l in LESSONS)
    panel.browser.anchorClicked.emit(QUrl("lesson:pooling"))
    assert w.learn.lesson.id == "pooling"
    assert "lesson:" + LESSONS[0].id in contents_html()
    assert "What to look for" in lesson_html(LESSONS[0], 0, len(LESSONS))


def test_unknown_lesson_is_a_message(window):
    w = window
    before = w.doc.pipeline
    assert not w.learn.open_lesson("no-such-lesson")
    assert "no-such-lesson" in w.message_label.text() and w.doc.pipeline == before


def test_lesson_shortcuts_are_listed(window):
    w = window
    assert w.learn.actions["next_lesson"].shortcut().toString() == "Alt+Right"
    assert w.actions_by_name["previous_lesson"].shortcut().toString() == "Alt+Left"


def test_lesson_from_the_command_line(qapp, tmp_path, capsys):
    import cv2

    from convstudio.app.launch import run_app
    from convstudio.cli import main

    out = tmp_path / "lesson.png"
    assert run_app(lesson="cross-correlation", screenshot=str(out)) == 0
    img = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[:2] == (1000, 1600)
    assert list(tmp_path.iterdir()) == [out]  # a screenshot never autosaves

    assert run_app(lesson="nope", screenshot=str(tmp_path / "no.png")) == 2
    assert "--lesson nope" in capsys.readouterr().err and not (tmp_path / "no.png").exists()
    assert main(["--lesson", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no lesson 'nope'" in err and "edge-detector" in err
