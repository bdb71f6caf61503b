"""The kernel grid editor: model -> view (set_weight shows, never emits) and view -> model (edits,
key presses and actions emit the full new weight once)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import shown_kernel_editor
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QRect, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QStyleOptionViewItem, QWidget

from convstudio.app.editing.kernel_editor import NO_KERNEL_HINT, KernelEditor
from convstudio.app.editing.kernel_model import (
    CellValueError,
    KernelTableModel,
    compact_cell_texts,
    contrast_text_colour,
    diverging_colour,
    format_cell_value,
    parse_cell_value,
)
from convstudio.app.views.colormaps import DIVERGING_LUT
from convstudio.core import kernels

DISPLAY = Qt.ItemDataRole.DisplayRole
EDIT = Qt.ItemDataRole.EditRole
BACKGROUND = Qt.ItemDataRole.BackgroundRole
FOREGROUND = Qt.ItemDataRole.ForegroundRole

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
ASYMMETRIC_3X3 = np.arange(9, dtype=np.float32).reshape(3, 3) - 4  # -4 ... 4, rank 2


@pytest.fixture
def editor(qtbot) -> KernelEditor:
    widget = shown_kernel_editor(qtbot, (440, 520))
    return widget


def _cell(editor: KernelEditor, row: int, col: int, role=DISPLAY):
    model = editor.model()
    return model.data(model.index(row, col), role)


def _select(editor: KernelEditor, top: int, left: int, bottom: int, right: int) -> None:
    view = editor.table_view()
    model = editor.model()
    view.setCurrentIndex(model.index(top, left))
    selection = QItemSelection(model.index(top, left), model.index(bottom, right))
    view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)


# ------------------------------------------------------------------------------ cell text
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", 2.0),
        ("-0.5", -0.5),
        ("2e-3", 0.002),
        ("1/16", 0.0625),
        (" 1/4 ", 0.25),
        ("(1+2)/9", 1 / 3),
        ("-2*3", -6.0),
        ("2**-3", 0.125),
        ("0,5", 0.5),
        ("+7", 7.0),
    ],
)
def test_parse_cell_value_accepts_numbers_and_fractions(text, expected):
    assert parse_cell_value(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    ["abc", "", "   ", "1/0", "1e39", "1e400", "nan", "inf", "__import__('os')", "1 2", "[1]", "True", "9**9**9"],
)
def test_parse_cell_value_refuses_garbage_with_a_reason(text):
    with pytest.raises(CellValueError) as caught:
        parse_cell_value(text)
    assert str(caught.value)


def test_diverging_colours_are_the_feature_maps_scale_with_readable_text():
    negative, zero, positive = (diverging_colour(v, 2.0) for v in (-2.0, 0.0, 2.0))
    assert negative.blue() > negative.red()
    assert positive.red() > positive.blue()
    assert min(zero.red(), zero.green(), zero.blue()) >= 240  # near-white
    assert diverging_colour(5.0, 0.0) == zero  # an all-zero slice
    # the same colour as the feature maps' table at the same share of the maximum
    lut_end = DIVERGING_LUT[-1]
    assert (positive.red(), positive.green(), positive.blue()) == tuple(int(c) for c in lut_end[:3])
    assert contrast_text_colour(negative) == QColor(Qt.GlobalColor.white)
    assert contrast_text_colour(zero) == QColor(Qt.GlobalColor.black)


# ------------------------------------------------------------------------------ model -> view
def test_set_weight_shows_values_colours_and_does_not_emit(editor, qtbot):
    with qtbot.assertNotEmitted(editor.weightEdited):
        editor.set_weight(SOBEL_X)
    assert editor.model().rowCount() == 3 and editor.model().columnCount() == 3
    assert _cell(editor, 0, 0) == "-1"
    assert _cell(editor, 1, 2) == "2"
    assert _cell(editor, 0, 1) == "0"
    negative = _cell(editor, 1, 0, BACKGROUND)
    positive = _cell(editor, 1, 2, BACKGROUND)
    zero = _cell(editor, 0, 1, BACKGROUND)
    assert negative.blue() > negative.red() and positive.red() > positive.blue()
    assert zero == diverging_colour(0.0, 2.0) and zero.lightness() >= 240  # the neutral, near-white
    # Max |value| gets the full colour: -2 is darker than -1.
    assert _cell(editor, 1, 0, BACKGROUND).lightness() < _cell(editor, 0, 0, BACKGROUND).lightness()
    assert _cell(editor, 1, 0, FOREGROUND) == QColor(Qt.GlobalColor.white)
    assert _cell(editor, 0, 1, FOREGROUND) == QColor(Qt.GlobalColor.black)
    np.testing.assert_array_equal(editor.weight(), SOBEL_X)
    assert editor.weight().dtype == np.float32


def test_weight_is_a_copy(editor):
    given = SOBEL_X.copy()
    editor.set_weight(given)
    given[0, 0] = 99
    returned = editor.weight()
    returned[1, 1] = 42
    np.testing.assert_array_equal(editor.weight(), SOBEL_X)


@pytest.mark.parametrize(
    ("size", "offsets", "anchor"),
    [(3, ["-1", "0", "1"], 1), (4, ["-2", "-1", "0", "1"], 2), (1, ["0"], 0), (5, ["-2", "-1", "0", "1", "2"], 2)],
)
def test_headers_are_offsets_from_the_anchor(editor, size, offsets, anchor):
    editor.set_weight(np.ones((size, size), np.float32))
    model = editor.model()
    assert [model.headerData(i, Qt.Orientation.Horizontal) for i in range(size)] == offsets
    assert [model.headerData(i, Qt.Orientation.Vertical) for i in range(size)] == offsets
    assert model.anchor() == (anchor, anchor)
    font = _cell(editor, anchor, anchor, Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont) and font.bold()
    if size > 1:
        assert _cell(editor, 0, 0, Qt.ItemDataRole.FontRole) is None


def test_edit_role_gives_text_that_reads_back_exactly(editor):
    editor.set_weight(np.array([[0.1, 1 / 3]], np.float32))
    for col in range(2):
        text = _cell(editor, 0, col, EDIT)
        assert isinstance(text, str)
        assert np.float32(parse_cell_value(text)) == editor.weight()[0, col]


# ------------------------------------------------------------------------------ view -> model
def test_set_data_emits_full_array_with_the_cell_changed(editor, qtbot):
    editor.set_weight(SOBEL_X)
    model = editor.model()
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert model.setData(model.index(0, 1), "2", EDIT)
    expected = SOBEL_X.copy()
    expected[0, 1] = 2
    (emitted,) = blocker.args
    assert emitted.dtype == np.float32 and emitted.shape == (3, 3)
    np.testing.assert_array_equal(emitted, expected)
    np.testing.assert_array_equal(editor.weight(), expected)
    assert _cell(editor, 0, 1) == "2"


def test_a_kernel_from_outside_clears_the_last_action_note(editor, qtbot):
    editor.set_weight(SOBEL_X)
    model = editor.model()
    with qtbot.waitSignal(editor.weightEdited, timeout=1000):
        assert model.setData(model.index(0, 1), "2", EDIT)
    assert editor.status_text().startswith("Set cell")
    editor.set_weight(editor.weight())  # the owner's echo: the note stays
    assert editor.status_text().startswith("Set cell")
    editor.set_weight(np.ones((2, 2), np.float32))  # another layer, an undo, a new pipeline
    assert "Set cell" not in editor.status_text()


def test_fraction_parses(editor, qtbot):
    editor.set_weight(np.zeros((3, 3), np.float32))
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.set_cell(2, 2, "1/4")
    assert blocker.args[0][2, 2] == np.float32(0.25)


def test_invalid_text_is_rejected_without_emission(editor, qtbot):
    editor.set_weight(SOBEL_X)
    model = editor.model()
    with qtbot.assertNotEmitted(editor.weightEdited), qtbot.waitSignal(editor.message, timeout=1000):
        assert not model.setData(model.index(0, 0), "abc", EDIT)
    assert _cell(editor, 0, 0) == "-1"
    assert "abc" in editor.status_text() and "unchanged" in editor.status_text()
    np.testing.assert_array_equal(editor.weight(), SOBEL_X)


def test_typing_the_same_value_emits_nothing(editor, qtbot):
    editor.set_weight(SOBEL_X)
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.set_cell(0, 0, "-1")


def _type_into_cell(editor: KernelEditor, qtbot, row: int, col: int, text: str) -> None:
    """Select a cell, type ``text`` (the first key opens the editor), press Enter."""
    view = editor.table_view()
    view.setCurrentIndex(editor.model().index(row, col))
    QTest.keyClick(view, text[0])
    line_edit = view.findChild(QLineEdit)
    assert line_edit is not None, "typing on a cell should open an editor"
    if len(text) > 1:
        QTest.keyClicks(line_edit, text[1:])
    QTest.keyClick(line_edit, Qt.Key.Key_Return)
    # The delegate commits and closes its editor through a queued call: wait until the cell's
    # editor is gone (its text was committed before).
    index = editor.model().index(row, col)
    qtbot.waitUntil(lambda: view.indexWidget(index) is None, timeout=2000)


def test_typing_in_the_grid_commits_on_enter(editor, qtbot):
    editor.set_weight(SOBEL_X)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        _type_into_cell(editor, qtbot, 1, 1, "2")
    expected = SOBEL_X.copy()
    expected[1, 1] = 2
    np.testing.assert_array_equal(blocker.args[0], expected)


def test_typing_a_fraction_in_the_grid(editor, qtbot):
    editor.set_weight(np.zeros((3, 3), np.float32))
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        _type_into_cell(editor, qtbot, 0, 2, "1/4")
    assert blocker.args[0][0, 2] == np.float32(0.25)


def test_typing_garbage_in_the_grid_is_rejected(editor, qtbot):
    editor.set_weight(SOBEL_X)
    with qtbot.assertNotEmitted(editor.weightEdited):
        _type_into_cell(editor, qtbot, 0, 0, "abc")
    assert _cell(editor, 0, 0) == "-1"
    assert "abc" in editor.status_text()


def test_owner_echo_keeps_the_cursor_and_emits_once(editor, qtbot):
    """A Document that stores each edit and calls set_weight back, as the main window does."""
    editor.set_weight(SOBEL_X)
    received = []

    def document_stores(weight):
        received.append(weight)
        editor.set_weight(weight)

    editor.weightEdited.connect(document_stores)
    _type_into_cell(editor, qtbot, 2, 1, "5")
    assert len(received) == 1
    assert editor.table_view().currentIndex().row() == 2
    assert editor.table_view().currentIndex().column() == 1
    assert editor.weight()[2, 1] == 5


def test_delete_key_zeroes_the_selection(editor, qtbot):
    editor.set_weight(np.ones((3, 3), np.float32))
    _select(editor, 0, 0, 1, 1)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        QTest.keyClick(editor.table_view(), Qt.Key.Key_Delete)
    expected = np.ones((3, 3), np.float32)
    expected[:2, :2] = 0
    np.testing.assert_array_equal(blocker.args[0], expected)


# ------------------------------------------------------------------------------ presets
def test_sobel_preset(editor, qtbot):
    editor.set_weight(np.zeros((3, 3), np.float32))
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.apply_preset("sobel_x")
    np.testing.assert_array_equal(blocker.args[0], kernels.get_preset("sobel_x").make())
    np.testing.assert_array_equal(np.abs(blocker.args[0]), np.abs(SOBEL_X))


def test_preset_of_another_size_reshapes_a_2d_kernel(editor, qtbot):
    editor.set_weight(np.zeros((3, 3), np.float32))
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.apply_preset("gaussian", size=5, sigma=1.0)
    assert blocker.args[0].shape == (5, 5)
    np.testing.assert_array_equal(blocker.args[0], kernels.gaussian(5, sigma=1.0))
    assert editor.model().rowCount() == 5
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.apply_preset("edge_1x2")
    assert blocker.args[0].shape == (1, 2)


def test_preset_of_another_size_is_refused_for_a_4d_weight(editor, qtbot):
    weight = np.zeros((2, 3, 3, 3), np.float32)
    editor.set_weight(weight)
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.apply_preset("edge_1x2")
        assert not editor.apply_preset("gaussian", size=5)
    assert "Preset is 5 x 5, the layer's kernel is 3 x 3: change the kernel size first" in editor.status_text()
    np.testing.assert_array_equal(editor.weight(), weight)


def test_sized_preset_is_built_at_the_layer_size_for_a_4d_weight(editor, qtbot):
    weight = np.zeros((2, 1, 3, 3), np.float32)
    editor.set_weight(weight)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.apply_preset("gaussian")
    np.testing.assert_array_equal(blocker.args[0][0, 0], kernels.gaussian(3, sigma=1.0))
    np.testing.assert_array_equal(blocker.args[0][1, 0], np.zeros((3, 3), np.float32))
    editor.set_weight(np.zeros((2, 1, 4, 4), np.float32))  # no odd-sized Gaussian fits
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.apply_preset("gaussian")
    assert "change the kernel size first" in editor.status_text()


def test_weight_preset_replaces_a_matching_weight_only(editor, qtbot):
    editor.set_weight(np.zeros((1, 3, 1, 1), np.float32))
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.apply_preset("rgb_to_gray")
    np.testing.assert_array_equal(blocker.args[0], kernels.RGB_TO_GRAY_WEIGHT)
    editor.set_weight(SOBEL_X)
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.apply_preset("rgb_to_gray")
    assert "1 x 3 x 1 x 1" in editor.status_text()


def test_preset_of_the_same_size_edits_one_slice_of_a_4d_weight(editor, qtbot):
    weight = np.zeros((2, 3, 3, 3), np.float32)
    editor.set_weight(weight)
    editor.set_current_slice(1, 2)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.apply_preset("sobel_x")
    expected = weight.copy()
    expected[1, 2] = kernels.get_preset("sobel_x").make()
    np.testing.assert_array_equal(blocker.args[0], expected)


def test_unknown_preset_is_a_message_not_an_exception(editor, qtbot):
    editor.set_weight(SOBEL_X)
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.apply_preset("no_such_kernel")
    assert "no_such_kernel" in editor.status_text()


def test_presets_menu_is_grouped_by_category_with_descriptions(editor):
    menu = editor.presets_menu()
    submenus = [action.menu() for action in menu.actions() if action.menu() is not None]
    categories = {p.category for p in kernels.PRESETS.values()}
    assert {m.title() for m in submenus} == categories
    entries = [a for m in submenus for a in m.actions()]
    assert len(entries) == len(kernels.PRESETS)
    for action in entries:
        assert action.toolTip() == kernels.PRESETS[action.data()].description


# ------------------------------------------------------------------------------ actions
def test_normalise_makes_the_sum_one(editor, qtbot):
    editor.set_weight(np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32))
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.normalize()
    assert float(blocker.args[0].sum()) == pytest.approx(1.0)
    assert blocker.args[0][1, 1] == pytest.approx(0.25)


def test_normalise_leaves_a_zero_sum_kernel_and_says_why(editor, qtbot):
    editor.set_weight(SOBEL_X)
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.normalize()
    np.testing.assert_array_equal(editor.weight(), SOBEL_X)
    assert "sums to 0" in editor.status_text() and "unchanged" in editor.status_text()


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("flip_horizontal", ASYMMETRIC_3X3[:, ::-1]),
        ("flip_vertical", ASYMMETRIC_3X3[::-1, :]),
        ("transpose", ASYMMETRIC_3X3.T),
    ],
)
def test_flips_and_transpose_are_exact(editor, qtbot, method, expected):
    editor.set_weight(ASYMMETRIC_3X3)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert getattr(editor, method)()
    np.testing.assert_array_equal(blocker.args[0], expected)


def test_rotate90_matches_core_and_four_turns_are_the_identity(editor, qtbot):
    editor.set_weight(ASYMMETRIC_3X3)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.rotate90()
    np.testing.assert_array_equal(blocker.args[0], kernels.rotate90(ASYMMETRIC_3X3))
    assert np.array_equal(blocker.args[0], np.rot90(ASYMMETRIC_3X3, 1)) or np.array_equal(
        blocker.args[0], np.rot90(ASYMMETRIC_3X3, -1)
    )
    for _ in range(3):
        editor.rotate90()
    np.testing.assert_array_equal(editor.weight(), ASYMMETRIC_3X3)


def test_rotate_and_transpose_refuse_non_square_kernels(editor, qtbot):
    editor.set_weight(np.arange(6, dtype=np.float32).reshape(2, 3))
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.rotate90()
        assert not editor.transpose()
    assert "2 x 3" in editor.status_text()
    assert not editor.actions_by_name()["transpose"].isEnabled()


def test_scale_clear_and_randomise(editor, qtbot):
    editor.set_weight(SOBEL_X)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.scale_by(0.5)
    np.testing.assert_array_equal(blocker.args[0], SOBEL_X * 0.5)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.randomise(rng=np.random.default_rng(7))
    first = blocker.args[0]
    assert first.shape == (3, 3) and first.dtype == np.float32
    editor.set_weight(SOBEL_X)
    editor.randomise(rng=np.random.default_rng(7))
    np.testing.assert_array_equal(editor.weight(), first)  # seeded: reproducible
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.clear()
    np.testing.assert_array_equal(blocker.args[0], np.zeros((3, 3), np.float32))
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.clear()  # already zero: nothing to undo
        assert not editor.scale_by(float("inf"))


def test_each_action_emits_exactly_once(editor, qtbot):
    editor.set_weight(ASYMMETRIC_3X3 + 10)
    emitted = []
    editor.weightEdited.connect(emitted.append)
    for action in (editor.flip_horizontal, editor.normalize, lambda: editor.scale_by(3), editor.transpose):
        before = len(emitted)
        assert action()
        assert len(emitted) == before + 1


# ------------------------------------------------------------------------------ clipboard
def test_copy_paste_round_trip_through_the_clipboard(editor, qtbot):
    editor.set_weight(ASYMMETRIC_3X3 / 8)
    text = editor.copy_to_clipboard()
    assert QApplication.clipboard().text() == text
    assert "\t" in text
    editor.set_weight(np.zeros((3, 3), np.float32))
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.paste_from_clipboard()
    np.testing.assert_array_equal(blocker.args[0], ASYMMETRIC_3X3 / 8)


def test_copy_takes_the_selection_and_ctrl_c_works_in_the_grid(editor, qtbot):
    editor.set_weight(ASYMMETRIC_3X3)
    _select(editor, 1, 1, 2, 2)
    QApplication.clipboard().clear()
    QTest.keyClick(editor.table_view(), Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(kernels.parse_tsv(QApplication.clipboard().text()), ASYMMETRIC_3X3[1:, 1:])


def test_paste_smaller_block_at_the_current_cell_with_ctrl_v(editor, qtbot):
    editor.set_weight(np.zeros((3, 3), np.float32))
    QApplication.clipboard().setText("1\t2\n3\t4\n")
    editor.table_view().setCurrentIndex(editor.model().index(1, 1))
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        QTest.keyClick(editor.table_view(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    expected = np.zeros((3, 3), np.float32)
    expected[1:, 1:] = [[1, 2], [3, 4]]
    np.testing.assert_array_equal(blocker.args[0], expected)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1\t2\t3\t4\n5\t6\t7\t8\n", "larger"),
        ("1\t2\n3\n", "row 2"),
        ("hello world", "not a number"),
        ("1\t2\t3\t4\n5\t6\t7\t8\n", "larger"),
        ("", "no text"),
    ],
)
def test_paste_refuses_large_ragged_or_garbage_text(editor, qtbot, text, why):
    editor.set_weight(SOBEL_X)
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.paste_text(text)
    assert editor.status_text().startswith("Nothing pasted")
    assert why in editor.status_text()
    np.testing.assert_array_equal(editor.weight(), SOBEL_X)


def test_paste_block_that_runs_past_the_edge_is_refused(editor, qtbot):
    editor.set_weight(SOBEL_X)
    editor.table_view().setCurrentIndex(editor.model().index(2, 2))
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.paste_text("1\t2\n3\t4")
    assert "run past" in editor.status_text()


# ------------------------------------------------------------------------------ 4-D weights
def test_slice_selection_edits_only_that_slice(editor, qtbot):
    weight = np.arange(8 * 3 * 5 * 5, dtype=np.float32).reshape(8, 3, 5, 5)
    editor.set_weight(weight)
    editor.set_current_slice(2, 1)
    assert editor.current_slice() == (2, 1)
    assert "weight 8 x 3 x 5 x 5 (editing out 2, in 1)" in editor.shape_text()
    np.testing.assert_array_equal(editor.current_values(), weight[2, 1])
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.set_cell(0, 0, -1)
    expected = weight.copy()
    expected[2, 1, 0, 0] = -1
    np.testing.assert_array_equal(blocker.args[0], expected)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.flip_vertical()
    expected[2, 1] = expected[2, 1, ::-1]
    np.testing.assert_array_equal(blocker.args[0], expected)


def test_slice_spin_boxes_choose_the_slice(editor, qtbot):
    weight = np.random.default_rng(0).normal(size=(4, 2, 3, 3)).astype(np.float32)
    editor.set_weight(weight)
    out_spin, in_spin = editor._out_spin, editor._in_spin  # the widgets a user clicks
    assert out_spin.isVisibleTo(editor) and in_spin.maximum() == 1 and out_spin.maximum() == 3
    with qtbot.waitSignal(editor.currentSliceChanged, timeout=1000):
        out_spin.setValue(3)
    in_spin.setValue(1)
    assert editor.current_slice() == (3, 1)
    np.testing.assert_array_equal(editor.current_values(), weight[3, 1])


def test_set_weight_keeps_the_slice_when_valid_and_clamps_otherwise(editor, qtbot):
    editor.set_weight(np.zeros((4, 3, 3, 3), np.float32))
    editor.set_current_slice(3, 2)
    with qtbot.assertNotEmitted(editor.weightEdited):
        editor.set_weight(np.ones((4, 3, 3, 3), np.float32))
    assert editor.current_slice() == (3, 2)
    editor.set_weight(np.ones((2, 3, 3, 3), np.float32))
    assert editor.current_slice() == (1, 2)
    with pytest.raises(IndexError):
        editor.set_current_slice(2, 0)


def test_2d_kernel_hides_the_slice_selector(editor):
    editor.set_weight(SOBEL_X)
    assert not editor._slice_row.isVisibleTo(editor)
    assert editor.current_slice() == (0, 0)
    assert "kernel 3 x 3" in editor.shape_text()


def test_1x1_weight_shows_the_channel_mixing_matrix(editor, qtbot):
    weight = np.arange(6, dtype=np.float32).reshape(2, 3, 1, 1)
    editor.set_weight(weight)
    assert editor.is_mixing_matrix()
    model = editor.model()
    assert (model.rowCount(), model.columnCount()) == (2, 3)
    assert [model.headerData(i, Qt.Orientation.Horizontal) for i in range(3)] == ["R", "G", "B"]
    assert [model.headerData(i, Qt.Orientation.Vertical) for i in range(2)] == ["out 0", "out 1"]
    assert _cell(editor, 1, 2) == "5"
    assert not editor._slice_row.isVisibleTo(editor)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.set_cell(1, 0, "0.5")
    expected = weight.copy()
    expected[1, 0, 0, 0] = 0.5
    assert blocker.args[0].shape == (2, 3, 1, 1)
    np.testing.assert_array_equal(blocker.args[0], expected)


def test_mixing_matrix_headers_for_other_channel_counts_and_row_normalise(editor, qtbot):
    editor.set_weight(np.ones((3, 4, 1, 1), np.float32))
    model = editor.model()
    assert model.headerData(3, Qt.Orientation.Horizontal) == "in 3"
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        assert editor.normalize()
    np.testing.assert_allclose(blocker.args[0][:, :, 0, 0].sum(axis=1), 1.0)


def test_single_1x1_kernel_is_a_plain_kernel(editor):
    editor.set_weight(np.full((1, 1, 1, 1), 2, np.float32))
    assert not editor.is_mixing_matrix()
    assert editor.model().headerData(0, Qt.Orientation.Horizontal) == "0"


# ------------------------------------------------------------------------------ info, state
def test_info_line_reports_sum_rank_and_separability(editor):
    editor.set_weight(np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 16)
    info = editor.info_text()
    assert "sum 1" in info and "separable" in info and "not separable" not in info
    assert "min 0.0625" in info and "max 0.25" in info
    editor.set_weight(ASYMMETRIC_3X3)
    assert "not separable (rank 2)" in editor.info_text()


def test_read_only_refuses_edits(editor, qtbot):
    editor.set_weight(SOBEL_X)
    editor.set_editable(False)
    model = editor.model()
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.set_cell(0, 0, 3)
        assert not editor.clear()
    assert editor.actions_by_name()["copy"].isEnabled()
    assert not editor.actions_by_name()["clear"].isEnabled()
    editor.set_editable(True)
    assert editor.set_cell(0, 0, 3)


def test_clear_weight_shows_the_hint(editor, qtbot):
    editor.set_weight(SOBEL_X)
    editor.clear_weight()
    assert editor.weight() is None
    assert editor._hint_label.isVisibleTo(editor) and editor._hint_label.text() == NO_KERNEL_HINT
    assert not editor.actions_by_name()["normalize"].isEnabled()
    with qtbot.assertNotEmitted(editor.weightEdited):
        assert not editor.normalize()
        assert editor.copy_to_clipboard() == ""
    editor.set_weight(SOBEL_X)
    assert editor.table_view().isVisibleTo(editor)


def test_set_weight_rejects_other_shapes(editor):
    with pytest.raises(ValueError):
        editor.set_weight(np.zeros((3,), np.float32))
    with pytest.raises(ValueError):
        editor.set_weight(np.zeros((1, 3, 3), np.float32))


@pytest.mark.perf
def test_a_255x255_kernel_sets_fast(editor):
    big = np.random.default_rng(1).normal(size=(255, 255)).astype(np.float32)
    editor.set_weight(np.zeros((3, 3), np.float32))
    start = time.perf_counter()
    editor.set_weight(big)
    QApplication.processEvents()  # includes the repaint of the visible cells
    editor.repaint()
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"setting a 255 x 255 kernel took {elapsed:.2f} s"


def test_a_255x255_kernel_sets_without_per_cell_widgets(editor, qtbot):
    big = np.random.default_rng(1).normal(size=(255, 255)).astype(np.float32)
    editor.set_weight(np.zeros((3, 3), np.float32))
    editor.set_weight(big)
    QApplication.processEvents()  # includes the repaint of the visible cells
    editor.repaint()
    assert editor.model().rowCount() == 255
    assert len(editor.findChildren(QWidget)) < 100
    assert editor.table_view().verticalScrollBar().maximum() > 0  # it scrolls


def test_model_standalone_reports_edits(qtbot):
    model = KernelTableModel()
    model.set_values(np.zeros((2, 2), np.float32))
    with qtbot.waitSignal(model.cellEdited, timeout=1000) as blocker:
        assert model.setData(model.index(1, 0), "1/8")
    assert blocker.args == [1, 0, 0.125]
    with qtbot.waitSignal(model.invalidInput, timeout=1000):
        assert not model.setData(model.index(0, 0), "x")


def test_tab_commits_and_moves_to_the_next_cell(editor, qtbot):
    editor.set_weight(np.zeros((3, 3), np.float32))
    view = editor.table_view()
    view.setCurrentIndex(editor.model().index(0, 0))
    QTest.keyClick(view, "3")
    line_edit = view.findChild(QLineEdit)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        QTest.keyClick(line_edit, Qt.Key.Key_Tab)
    assert blocker.args[0][0, 0] == 3
    assert (view.currentIndex().row(), view.currentIndex().column()) == (0, 1)


def test_enter_on_a_cell_starts_editing(editor, qtbot):
    editor.set_weight(SOBEL_X)
    view = editor.table_view()
    view.setCurrentIndex(editor.model().index(1, 0))
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert view.state() == view.State.EditingState
    line_edit = view.findChild(QLineEdit)
    assert line_edit.text() == "-2"


def test_compact_texts_shorten_towards_scientific_notation():
    texts = list(compact_cell_texts(0.001189))
    assert texts[0] == "0.001189"
    assert texts[-1] == "1e-3"
    for text in texts:
        assert parse_cell_value(text) == pytest.approx(0.001189, rel=0.5)
    assert list(compact_cell_texts(0.0)) == ["0"]
    assert format_cell_value(1.5e-5) == "1.5e-5"


def test_narrow_cells_show_fewer_digits_instead_of_eliding(editor):
    editor.set_weight(np.full((3, 3), 0.0123456, np.float32))
    delegate = editor.table_view().itemDelegate()
    option = QStyleOptionViewItem()
    option.initFrom(editor.table_view())
    option.rect = QRect(0, 0, 34, 30)
    delegate.initStyleOption(option, editor.model().index(0, 0))
    assert option.fontMetrics.horizontalAdvance(option.text) <= 30
    assert parse_cell_value(option.text) == pytest.approx(0.0123456, rel=0.3)


def test_info_line_for_large_and_near_zero_sum_kernels(editor):
    editor.set_weight(kernels.laplacian_of_gaussian(9, sigma=1.4))
    assert editor.info_text().startswith("sum ≈ 0") or editor.info_text().startswith("sum 0")
    editor.set_weight(np.ones((255, 255), np.float32))
    assert "rank not computed" in editor.info_text()
    editor.set_weight(np.ones((2, 3, 1, 1), np.float32))
    assert editor.info_text().startswith("row sums 3, 3")


def test_menu_and_button_actions_reach_the_methods(editor, qtbot):
    editor.set_weight(np.zeros((3, 3), np.float32))
    sobel_entry = next(
        action
        for submenu in (a.menu() for a in editor.presets_menu().actions() if a.menu() is not None)
        for action in submenu.actions()
        if action.data() == "sobel_x"
    )
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        sobel_entry.trigger()
    np.testing.assert_array_equal(blocker.args[0], SOBEL_X)
    with qtbot.waitSignal(editor.weightEdited, timeout=1000) as blocker:
        editor.actions_by_name()["flip_horizontal"].trigger()
    np.testing.assert_array_equal(blocker.args[0], SOBEL_X[:, ::-1])
