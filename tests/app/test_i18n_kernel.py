"""The kernel editor's mixing matrix (a 1 x 1 or multi-channel weight) in Chinese: its headers, a
cell's tooltip, the message after a cell edit and the note of Normalise name the channels in
Chinese, with no English word left ("out" and "in" included), and English comes back exactly after
a switch back (convstudio/app/i18n.py, docs/developing.md "Translations")."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import shown_kernel_editor
from PySide6.QtCore import Qt

from convstudio.app import i18n
from convstudio.app.editing.kernel_editor import KernelEditor
from convstudio.app.i18n_tour import english_words

H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
TIP = Qt.ItemDataRole.ToolTipRole
# A 3 x 4 mixing matrix: four input channels (named "in 0".."in 3", not R, G, B); row 1 sums to 0.
MIXING = np.array([[1, 1, 1, 1], [1, -1, 2, -2], [0.5, 0.5, 0, 1]], np.float32).reshape(3, 4, 1, 1)


@pytest.fixture
def editor(qtbot):
    widget = shown_kernel_editor(qtbot)
    widget.set_weight(MIXING)
    assert widget.is_mixing_matrix()
    return widget


def assert_chinese(text: str) -> None:
    """No English word in `text`, and no Latin word but the formula's "x" ("out" and "in" are
    checked here too, whether or not the tour's list allows them)."""
    assert not english_words(text), text
    assert set(re.findall(r"[A-Za-z]+", text)) <= {"x"}, text
    assert re.search(r"[\u4e00-\u9fff]", text), text


def headers(editor: KernelEditor, role=Qt.ItemDataRole.DisplayRole) -> tuple[list[str], list[str]]:
    model = editor.model()
    return ([model.headerData(r, V, role) for r in range(model.rowCount())],
            [model.headerData(c, H, role) for c in range(model.columnCount())])


def test_the_headers_follow_a_language_switch(editor, qtbot, english_after):
    english = headers(editor)
    assert english == (["out 0", "out 1", "out 2"], ["in 0", "in 1", "in 2", "in 3"])
    english_tips = headers(editor, TIP)
    told = []
    editor.model().headerDataChanged.connect(lambda orientation, first, last: told.append((orientation, first, last)))
    i18n.set_language(i18n.CHINESE)
    assert sorted(told, key=lambda t: t[0].value) == [(H, 0, 3), (V, 0, 2)]  # the views ask for them again
    rows, columns = headers(editor)
    assert rows == ["输出 0", "输出 1", "输出 2"] and columns == ["输入 0", "输入 1", "输入 2", "输入 3"]
    for text in rows + columns + sum(headers(editor, TIP), []):
        assert_chinese(text)
    fits_headers(editor, qtbot)
    i18n.set_language(i18n.ENGLISH)
    assert headers(editor) == english and headers(editor, TIP) == english_tips
    fits_headers(editor, qtbot)


def fits_headers(editor: KernelEditor, qtbot) -> None:
    """The header views are as large as their new texts ask (not left at the old language's size)."""
    qtbot.waitUntil(lambda: not editor._cell_size_later.pending, timeout=2000)
    qtbot.wait(10)
    view = editor.table_view()
    vertical, horizontal = view.verticalHeader(), view.horizontalHeader()
    assert vertical.width() == vertical.sizeHint().width()
    assert horizontal.height() == horizontal.sizeHint().height()


def test_rgb_columns_keep_their_letters(qtbot, english_after):
    widget = KernelEditor()
    qtbot.addWidget(widget)
    widget.set_weight(np.ones((2, 3, 1, 1), np.float32))
    i18n.set_language(i18n.CHINESE)
    rows, columns = headers(widget)
    assert rows == ["输出 0", "输出 1"] and columns == ["R", "G", "B"]
    tip = widget.model().data(widget.model().index(1, 2), TIP)
    assert tip == "输出 1 += 1 x B", tip


def test_a_cells_tooltip(editor, english_after):
    model = editor.model()
    index = model.index(1, 3)
    english = model.data(index, TIP)
    assert english == "out 1 += -2 x in 3"
    i18n.set_language(i18n.CHINESE)
    chinese = model.data(index, TIP)
    assert_chinese(chinese)
    assert chinese == "输出 1 += -2 x 输入 3"
    i18n.set_language(i18n.ENGLISH)
    assert model.data(index, TIP) == english


def test_the_message_after_a_cell_edit(editor, qtbot, english_after):
    i18n.set_language(i18n.CHINESE)
    with qtbot.waitSignal(editor.message, timeout=1000) as blocker:
        assert editor.set_cell(1, 2, "0.5")
    chinese = editor.status_text()
    assert blocker.args == [chinese]
    assert_chinese(chinese)
    assert "(输出 1, 输入 2)" in chinese
    # a refused value names the cell in Chinese too (its reason is the parser's, in English)
    assert not editor.set_cell(2, 3, "abc")
    assert editor.status_text().startswith("单元格 (输出 2, 输入 3) 未改变："), editor.status_text()
    i18n.set_language(i18n.ENGLISH)
    assert editor.set_cell(1, 2, "0.25")
    assert editor.status_text() == "Set cell (out 1, in 2) to 0.25."
    assert not editor.set_cell(2, 3, "abc")
    assert editor.status_text().startswith("Cell (out 2, in 3) unchanged: ")


def test_the_note_of_normalise(editor, qtbot, english_after):
    i18n.set_language(i18n.CHINESE)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000):
        assert editor.normalize()
    note = editor.status_text()
    assert_chinese(note)
    assert "输出通道 1" in note, note  # the row left as it was
    assert not editor.normalize()  # again: nothing changes
    assert_chinese(editor.status_text())
    editor.set_weight(np.zeros((2, 4, 1, 1), np.float32))
    assert not editor.normalize()  # every row sums to 0: refused
    assert_chinese(editor.status_text())

    i18n.set_language(i18n.ENGLISH)
    editor.set_weight(MIXING)
    assert editor.normalize()
    assert editor.status_text() == ("Normalised each output channel (row) to sum 1; "
                                    "rows summing to 0 left unchanged: out 1.")
    assert not editor.normalize()
    assert editor.status_text() == ("Normalised each output channel (row) to sum 1; "
                                    "rows summing to 0 left unchanged: out 1: nothing changed.")
    editor.set_weight(np.ones((2, 4, 1, 1), np.float32))
    assert editor.normalize()
    assert editor.status_text() == "Normalised each output channel (row) to sum 1."
    editor.set_weight(np.zeros((2, 4, 1, 1), np.float32))
    assert not editor.normalize()
    assert editor.status_text() == "Not normalised: every output channel's weights sum to 0. Left unchanged."
