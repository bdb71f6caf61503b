"""The kernel editor's actions in Chinese: every message an action shows (under the grid and in the
window's status line: what it did, that it changed nothing, why it was refused) is in the
interface's language, with no English word left but numbers and kept names, and the English texts
come back exactly after a switch back (convstudio/app/i18n.py, docs/developing.md "Translations")."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel
from PySide6.QtWidgets import QApplication

from convstudio.app import i18n
from convstudio.app.i18n_tour import english_words

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


@pytest.fixture
def window(make_window, english_after):
    """The first-launch window: its conv layer (Sobel x, a 3 x 3 kernel) selected."""
    w = make_window(first_launch=True)
    assert w.doc.selected_layer.type == "conv2d"
    np.testing.assert_array_equal(w.kernel_editor.weight(), SOBEL_X)
    return w


def assert_chinese(text: str) -> None:
    assert text, "no message"
    assert not english_words(text), text
    assert re.search(r"[\u4e00-\u9fff]", text), text


def shown(w) -> str:
    """The message under the grid, which the window's status line shows too."""
    text = w.kernel_editor.status_text()
    assert w.message_label.text() == text
    return text


def select(editor, top: int, left: int, bottom: int, right: int) -> None:
    view, model = editor.table_view(), editor.model()
    view.setCurrentIndex(model.index(top, left))
    view.selectionModel().select(QItemSelection(model.index(top, left), model.index(bottom, right)),
                                 QItemSelectionModel.SelectionFlag.ClearAndSelect)


def _normalise(ed):
    assert ed.set_cell(1, 1, "2")  # sum 2
    assert ed.normalize()


def _normalised_again(ed):
    _normalise(ed)
    assert not ed.normalize()


def _zero_block(ed):
    select(ed, 0, 0, 1, 1)
    assert ed.zero_selected_cells()


def _zero_cell(ed):
    select(ed, 0, 0, 0, 0)
    assert ed.zero_selected_cells()


def _copy_block(ed):
    select(ed, 0, 0, 1, 2)
    assert ed.copy_to_clipboard() == "-1\t0\t1\n-2\t0\t2"


def _paste_at_cell(ed):
    ed.table_view().setCurrentIndex(ed.model().index(1, 1))
    assert ed.paste_text("5\t6")


def _paste_past_the_edge(ed):
    ed.table_view().setCurrentIndex(ed.model().index(2, 2))
    assert not ed.paste_text("5\t6")


def _not_square(ed):
    ed.set_weight(np.ones((3, 5), np.float32))
    assert not ed.rotate90()


def _not_square_transpose(ed):
    ed.set_weight(np.ones((3, 5), np.float32))
    assert not ed.transpose()


def _read_only(ed):
    ed.set_editable(False)
    assert not ed.clear()


ACTIONS = {
    "normalise refused (sum 0)": lambda ed: ed.normalize() and False,
    "normalise": _normalise,
    "normalise, nothing changed": _normalised_again,
    "scale": lambda ed: ed.scale_by(2),
    "scale refused (not finite)": lambda ed: ed.scale_by(float("inf")),
    "scale refused (overflow)": lambda ed: ed.scale_by(1e38),
    "flip horizontally": lambda ed: ed.actions_by_name()["flip_horizontal"].trigger(),
    "flip vertically": lambda ed: ed.actions_by_name()["flip_vertical"].trigger(),
    "rotate": lambda ed: ed.actions_by_name()["rotate90"].trigger(),
    "rotate refused (not square)": _not_square,
    "transpose": lambda ed: ed.actions_by_name()["transpose"].trigger(),
    "transpose refused (not square)": _not_square_transpose,
    "random": lambda ed: ed.randomise(np.random.default_rng(1)),
    "clear": lambda ed: ed.actions_by_name()["clear"].trigger(),
    "clear, nothing changed": lambda ed: (ed.clear(), ed.clear()),
    "zero cells": _zero_block,
    "zero a cell": _zero_cell,
    "copy the kernel": lambda ed: ed.copy_to_clipboard(),
    "copy cells": _copy_block,
    "paste the kernel": lambda ed: ed.paste_text("1 2 3\n4 5 6\n7 8 9"),
    "paste at the current cell": _paste_at_cell,
    "paste refused (no text)": lambda ed: ed.paste_text("  "),
    "paste refused (too large)": lambda ed: ed.paste_text("1 2 3 4"),
    "paste refused (past the edge)": _paste_past_the_edge,
    "preset": lambda ed: ed.apply_preset("gaussian"),
    "preset, nothing changed": lambda ed: ed.apply_preset("sobel_x"),
    "preset refused (a whole weight)": lambda ed: ed.apply_preset("rgb_to_gray"),
    "read-only": _read_only,
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_actions_message_is_chinese(window, action):
    i18n.set_language(i18n.CHINESE)
    ACTIONS[action](window.kernel_editor)
    assert_chinese(shown(window))


def test_the_preset_menu_and_scale_buttons_speak_chinese_too(window, monkeypatch):
    """What the Presets menu and Scale... show: the preset's name and the factor typed."""
    from convstudio.app.editing import kernel_actions

    i18n.set_language(i18n.CHINESE)
    ed = window.kernel_editor
    gaussian = next(a for m in ed.presets_menu().findChildren(type(ed.presets_menu()))
                    for a in m.actions() if a.data() == "gaussian")
    gaussian.trigger()
    assert_chinese(shown(window))
    assert i18n.tr("Gaussian blur") in shown(window)
    asked = []

    def get_text(_parent, title, label, text=""):
        asked.extend([title, label])
        return "1/0", True  # refused by the parser: its reason stays English after a Chinese frame

    monkeypatch.setattr(kernel_actions.QInputDialog, "getText", staticmethod(get_text))
    ed.actions_by_name()["scale"].trigger()
    for text in asked:
        assert_chinese(text)
    assert shown(window).startswith(i18n.tr("Not scaled: {why}").split("{")[0]), shown(window)
    assert not english_words(i18n.tr("Not scaled: {why}").split("{")[0])


def test_a_reason_from_the_core_stays_english_in_a_chinese_frame(window):
    i18n.set_language(i18n.CHINESE)
    assert not window.kernel_editor.paste_text("1 inf")
    frame, _, why = shown(window).partition("：")
    assert frame == "未粘贴", shown(window)
    assert why == "row 1, column 2: 'inf' is not a finite float32 number"


def test_without_a_kernel(window):
    i18n.set_language(i18n.CHINESE)
    window.doc.select(2)  # the ReLU
    ed = window.kernel_editor
    assert ed.weight() is None
    assert not ed.clear()
    assert_chinese(shown(window))
    assert ed.copy_to_clipboard() == ""
    assert_chinese(shown(window))
    i18n.set_language(i18n.ENGLISH)
    assert not ed.clear()
    assert shown(window) == "This layer has no kernel to edit."
    ed.copy_to_clipboard()
    assert shown(window) == "Nothing to copy: this layer has no kernel."


def test_english_comes_back_exactly(window):
    ed = window.kernel_editor
    i18n.set_language(i18n.CHINESE)
    assert not ed.normalize()
    assert_chinese(shown(window))
    i18n.set_language(i18n.ENGLISH)
    assert not ed.normalize()
    assert shown(window) == ("Not normalised: the kernel sums to 0 (as edge detectors do), and dividing by the "
                             "sum would divide by zero. Left unchanged.")
    assert ed.set_cell(1, 1, "2")
    assert ed.normalize()
    assert shown(window) == "Normalised: divided by the sum, 2."
    assert ed.scale_by(2)
    assert shown(window) == "Scaled by 2."
    assert not ed.scale_by(float("nan"))
    assert shown(window) == "Not scaled: nan is not a finite number."
    assert ed.flip_horizontal()
    assert shown(window) == "Flipped horizontally."
    ed.copy_to_clipboard()
    assert shown(window) == "Copied the 3 x 3 kernel as tab-separated text."
    assert QApplication.clipboard().text().count("\n") == 2
    select(ed, 0, 0, 1, 1)
    assert ed.zero_selected_cells()
    assert shown(window) == "Zeroed 2 x 2 cells."
    assert ed.clear() and not ed.clear()
    assert shown(window) == "Cleared: nothing changed."
    assert not ed.paste_text("1 2 3 4")
    assert shown(window) == ("Nothing pasted: the clipboard holds a 1 x 4 block, larger than the 3 x 3 kernel. "
                             "Change the kernel size first.")
    assert ed.apply_preset("gaussian")
    assert shown(window) == "Preset Gaussian blur."
    assert not ed.apply_preset("rgb_to_gray")
    assert shown(window) == ("Preset 'RGB to gray (1x1)' not applied: it is a 1 x 3 x 1 x 1 weight "
                             "(out x in x kh x kw) and this layer has a single 5 x 5 kernel. Change the layer's "
                             "channels and kernel size first.")
    ed.set_weight(np.ones((3, 5), np.float32))
    assert not ed.rotate90()
    assert shown(window) == "Cannot rotate a 3 x 5 kernel: it would change its shape."
    ed.set_editable(False)
    assert not ed.clear()
    assert shown(window) == "This layer's kernel is read-only."
