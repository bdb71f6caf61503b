"""The Cross-check page in Chinese (convstudio/app/panels/crosscheck_panel.py and the cross-check part of
convstudio/app/window/insight_jobs.py): its status line, table and reference view's title after a check,
after clear(), with the box unticked, for a layer that does not fit, a failing layer, a failed check and
a preview copy, with no English left, and each made again on a language switch back and forth
(docs/developing.md, "Translations")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import settle

from convstudio.app import i18n
from convstudio.app.i18n_tour import english_words
from convstudio.app.panels.crosscheck_panel import HEADERS
from convstudio.core import Conv2d, ConvStudioError, Pipeline, ReLU
from convstudio.core import crosscheck as crosscheck_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(w, pipeline: Pipeline, image: np.ndarray, select: int = 1) -> None:
    w.doc.set_image_array(image, "test")
    w.doc.new_pipeline(pipeline)
    w.doc.select(select)
    settle(w)


def _image(c: int = 3, h: int = 40, w: int = 52) -> np.ndarray:
    return np.random.default_rng(0).random((c, h, w), dtype=np.float32)


def _tiny_cnn() -> Pipeline:
    """conv 3x3, relu, maxpool, conv 1x1, avgpool, tanh."""
    return Pipeline.load(EXAMPLES / "tiny-cnn.json")


def _texts(panel) -> list[str]:
    """Every text the panel shows: the box, the status line, the view's title and choices, the
    table's headers, cells and tooltips."""
    t = panel.table
    texts = [panel.check_box.text(), panel.check_box.toolTip(), panel.status.text(), panel.view_title.text()]
    texts += [panel.show_combo.itemText(i) for i in range(panel.show_combo.count())]
    texts += [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    for r in range(t.rowCount()):
        for c in range(t.columnCount()):
            texts += [t.item(r, c).text(), t.item(r, c).toolTip()]
    return texts


def _english(panel) -> dict[str, list[str]]:
    """The panel's texts with English words in them (layer types such as conv2d, numbers and the
    names of ALLOWED_WORDS are kept)."""
    return {text: english_words(text) for text in _texts(panel) if english_words(text)}


def test_a_check_in_chinese_then_english_then_chinese(plain_window, english_after):
    w = plain_window
    _load(w, _tiny_cnn(), _image(), select=4)
    panel = w.insight.crosscheck
    panel.check_box.setChecked(True)
    settle(w)
    english = _texts(panel)
    assert panel.status.text().startswith("All 6 layers agree with OpenCV within the float32 tolerance (")
    assert panel.view_title.text().startswith("Layer 4 (conv2d): OpenCV reference; max difference ")
    assert panel.selected_layer() == 4 and _english(panel)

    i18n.set_language(i18n.CHINESE)
    assert not _english(panel), _english(panel)
    assert panel.status.text().startswith("全部 6 层都与 OpenCV 一致，差异在 float32 容差之内（")
    assert panel.view_title.text().startswith("第 4 层（conv2d）：OpenCV 参考结果；最大差异 ")
    t = panel.table
    assert [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())] == \
        ["#", "层", "最大 |内核 − OpenCV|", "允许误差", "结果"]
    assert t.item(0, 4).text() == "✓ 一致"
    assert t.item(0, 1).text() == "卷积 3x3 3->4 填充 1"  # (describe_layer's words)
    assert t.item(3, 0).toolTip().startswith("第 4 层（conv2d）：最大 |内核 − OpenCV| = ")
    assert panel.selected_layer() == 4  # (the row shown stays)
    panel.show_combo.setCurrentIndex(1)  # |core - OpenCV|, its title made in Chinese
    settle(w)
    assert panel.view_title.text().startswith("第 4 层（conv2d）：|内核 − OpenCV|（参考结果舍入为 float32）；")
    assert not _english(panel), _english(panel)

    i18n.set_language(i18n.ENGLISH)
    assert panel.view_title.text().startswith(
        "Layer 4 (conv2d): |core − OpenCV| (the reference rounded to float32); max difference ")
    panel.show_combo.setCurrentIndex(0)
    settle(w)
    assert _texts(panel) == english  # every English text back, exactly
    assert [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())] == list(HEADERS)
    i18n.set_language(i18n.CHINESE)
    settle(w)
    assert not _english(panel), _english(panel)


def test_clear_and_the_unticked_box_in_chinese(plain_window, english_after):
    w = plain_window
    panel = w.insight.crosscheck
    i18n.set_language(i18n.CHINESE)
    assert panel.status.text() == "已关闭：勾选此框，逐层比较 NumPy 内核与 OpenCV。"
    assert panel.view_title.text() == "选择一行，查看该层的 OpenCV 参考结果。"
    panel.check_box.setChecked(True)  # no image yet
    settle(w)
    assert panel.status.text() == "请先打开一幅图像。"
    _load(w, _tiny_cnn(), _image())
    assert panel.table.rowCount() == 6 and panel.view_title.text().startswith("第 1 层（conv2d）")
    panel.clear()
    assert panel.table.rowCount() == 0
    assert panel.view_title.text() == "选择一行，查看该层的 OpenCV 参考结果。"
    assert not _english(panel), _english(panel)
    _load(w, _tiny_cnn(), _image(), select=2)
    assert panel.table.rowCount() == 6
    panel.check_box.setChecked(False)  # the controller clears the panel and says it is off
    assert panel.table.rowCount() == 0
    assert panel.status.text() == "已关闭：勾选此框，逐层比较 NumPy 内核与 OpenCV。"
    assert panel.view_title.text() == "选择一行，查看该层的 OpenCV 参考结果。"
    assert not _english(panel), _english(panel)
    i18n.set_language(i18n.ENGLISH)
    assert panel.status.text() == "Off: tick the box to compare the NumPy core with OpenCV, layer by layer."
    assert panel.view_title.text() == "Select a row to see that layer's OpenCV reference."
    i18n.set_language(i18n.CHINESE)
    assert panel.status.text() == "已关闭：勾选此框，逐层比较 NumPy 内核与 OpenCV。"
    assert panel.view_title.text() == "选择一行，查看该层的 OpenCV 参考结果。"


def test_a_layer_that_does_not_fit_in_chinese(plain_window, english_after):
    w = plain_window
    panel = w.insight.crosscheck
    i18n.set_language(i18n.CHINESE)
    panel.check_box.setChecked(True)
    _load(w, Pipeline((ReLU(), Conv2d(kernel=np.ones((9, 9), np.float32)))), _image(c=1, h=6, w=6))
    assert panel.status.text() == "第 2 层与其输入不匹配：从这一层起没有可核对的内容。"
    assert "#c62828" in panel.status.styleSheet()  # (red)
    assert not _english(panel), _english(panel)
    i18n.set_language(i18n.ENGLISH)
    assert panel.status.text() == "Layer 2 does not fit its input: nothing to check from there on."
    i18n.set_language(i18n.CHINESE)
    assert panel.status.text() == "第 2 层与其输入不匹配：从这一层起没有可核对的内容。"


def test_failing_layers_in_chinese(plain_window, monkeypatch, english_after):
    w = plain_window
    real = crosscheck_module._reference64
    wrong_types = {"relu"}

    def wrong(layer, x, cancelled=None):
        ref = real(layer, x, cancelled)
        return ref + 0.01 if layer.type in wrong_types else ref

    monkeypatch.setattr(crosscheck_module, "_reference64", wrong)
    panel = w.insight.crosscheck
    i18n.set_language(i18n.CHINESE)
    panel.check_box.setChecked(True)
    _load(w, _tiny_cnn(), _image())
    assert panel.status.text() == "第 2 层与 OpenCV 的差异超出了容差。"
    assert panel.table.item(1, 4).text() == "✗ 不一致" and panel.row_colour(1) == "red"
    assert not _english(panel), _english(panel)
    i18n.set_language(i18n.ENGLISH)
    assert panel.status.text() == "Layer 2 differs from OpenCV by more than the tolerance."
    assert panel.table.item(1, 4).text() == "✗ differs"
    wrong_types.add("tanh")
    w.doc.set_layer_enabled(3, False)  # a new render, a new check: layers 2 and 6 differ
    settle(w)
    assert panel.status.text() == "Layers 2, 6 differ from OpenCV by more than the tolerance."
    i18n.set_language(i18n.CHINESE)
    assert panel.status.text() == "第 2, 6 层与 OpenCV 的差异超出了容差。"
    assert not _english(panel), _english(panel)


def test_a_failed_check_in_chinese(plain_window, monkeypatch, english_after):
    """The core's reason (a ConvStudioError's text) stays English inside the translated sentence."""
    from convstudio.app.window import insight_jobs

    def broken(*_args, **_kwargs):
        raise ConvStudioError("the reference broke")

    monkeypatch.setattr(insight_jobs, "crosscheck", broken)
    w = plain_window
    panel = w.insight.crosscheck
    i18n.set_language(i18n.CHINESE)
    panel.check_box.setChecked(True)
    _load(w, _tiny_cnn(), _image())
    text = panel.status.text()
    assert text == "交叉核对失败：the reference broke" and "#c62828" in panel.status.styleSheet()  # (red)
    i18n.set_language(i18n.ENGLISH)
    assert panel.status.text() == "Cross-check failed: the reference broke"
    i18n.set_language(i18n.CHINESE)
    assert panel.status.text() == text


def test_the_preview_copy_note_follows_a_switch(make_window, english_after):
    w = make_window(preview_pixels=10_000)
    panel = w.insight.crosscheck
    i18n.set_language(i18n.CHINESE)
    panel.check_box.setChecked(True)
    _load(w, Pipeline((ReLU(),)), _image(c=1, h=200, w=200))
    assert w.renderer.factor == 2
    assert panel.status.text().startswith("该层与 OpenCV 一致")
    assert panel.status.text().endswith("（在预览副本上，为图像的 1/2。）")
    assert not _english(panel), _english(panel)
    i18n.set_language(i18n.ENGLISH)
    assert panel.status.text().startswith("The layer agrees with OpenCV within the float32 tolerance")
    assert panel.status.text().endswith(" (On the preview copy, 1/2 of the image.)")
    i18n.set_language(i18n.CHINESE)
    assert panel.status.text().endswith("（在预览副本上，为图像的 1/2。）")
