"""The Chinese interface of "seeing why" and of the texts the tour does not reach: the inspector's page
for every kind of layer, the ERF's summary and the pinned pixels' spans, Edit ▸ Undo / Redo, File ▸
Recent ▸ Clear list and the status bar's message, each with no English left and English again after
a switch back (convstudio/app/i18n.py, docs/developing.md "Translations")."""

from __future__ import annotations

import numpy as np
from conftest import settle
from PySide6.QtGui import QTextDocument

from convstudio.app import i18n
from convstudio.app.i18n_tour import english_words
from convstudio.app.panels.inspector import InspectorPanel, explanation_html
from convstudio.app.views.feature_view import PixelInfo
from convstudio.core import (
    Abs,
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    LeakyReLU,
    MaxPool2d,
    Pad,
    Pipeline,
    ReLU,
    Sigmoid,
    Stride,
    Tanh,
    Upsample,
)
from convstudio.core.explain import explain_pixel

TUTORIAL_EXPRESSION = "0×0 + 1×1 + 3×2 + 4×3 = 19"


def _plain(page: str) -> str:
    doc = QTextDocument()
    doc.setHtml(page)
    return doc.toPlainText()


def _ramp(c: int, h: int, w: int) -> np.ndarray:
    return (np.arange(c * h * w, dtype=np.float32).reshape(c, h, w) % 7 - 3) / 4


def _tutorial() -> tuple[Pipeline, np.ndarray]:
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
    return Pipeline((Conv2d(weight=np.array([[[[0, 1], [2, 3]]]], np.float32)),)), x


def _pages() -> dict[str, str]:
    """The inspector's page for each kind of layer and each of its notes, in the language now."""
    rng = np.random.default_rng(3)
    x3 = _ramp(3, 9, 11)
    cases = {
        # two input channels, a bias, padding and a dilated window (rows "0 to 4 (every 2)")
        "conv": (Pipeline((Conv2d(weight=rng.standard_normal((2, 3, 3, 3)).astype(np.float32),
                                  bias=np.array([0.5, -1], np.float32), padding=1, dilation=(2, 2)),)),
                 x3, (1, 1, 0, 0)),
        "conv, more channels than drawn": (Pipeline((Conv2d(weight=np.ones((1, 10, 2, 2), np.float32)),)),
                                           _ramp(10, 4, 4), (1, 0, 1, 1)),
        "conv, a huge window": (Pipeline((Conv2d(kernel=np.ones((17, 17), np.float32) / 289, padding="same"),)),
                                _ramp(1, 20, 20), (1, 0, 10, 10)),
        "max pool, padded": (Pipeline((MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=1),)), x3, (1, 1, 0, 0)),
        "avg pool, padded": (Pipeline((AvgPool2d(kernel_size=(3, 3), stride=(2, 2), padding=1),)), x3, (1, 2, 0, 0)),
        "avg pool, ceil mode": (Pipeline((AvgPool2d(kernel_size=(2, 2), ceil_mode=True),)), x3, (1, 2, 4, 5)),
        "relu": (Pipeline((ReLU(),)), x3, (1, 0, 1, 1)),
        "leaky relu": (Pipeline((LeakyReLU(),)), x3, (1, 0, 1, 2)),
        "abs": (Pipeline((Abs(),)), x3, (1, 0, 1, 2)),
        "sigmoid": (Pipeline((Sigmoid(),)), x3, (1, 0, 1, 2)),
        "tanh": (Pipeline((Tanh(),)), x3, (1, 0, 1, 2)),
        "pad, constant": (Pipeline((Pad(padding=2, mode="constant", value=1.0),)), x3, (1, 0, 0, 0)),
        "pad, reflect": (Pipeline((Pad(padding=2, mode="reflect"),)), x3, (1, 0, 0, 0)),
        "stride": (Pipeline((Stride(),)), x3, (1, 0, 2, 3)),
        "transposed conv": (Pipeline((ConvTranspose2d(weight=np.ones((3, 1, 4, 4), np.float32), stride=(2, 2),
                                                      padding=(1, 1)),)), x3, (1, 0, 4, 3)),
        "transposed conv, nothing lands": (Pipeline((ConvTranspose2d(weight=np.ones((3, 1, 1, 1), np.float32),
                                                                     bias=np.array([0.25], np.float32),
                                                                     stride=(2, 2)),)), x3, (1, 0, 1, 1)),
        "upsample nearest": (Pipeline((Upsample(),)), x3, (1, 0, 3, 4)),
        "upsample bilinear": (Pipeline((Upsample(mode="bilinear"),)), x3, (1, 0, 3, 4)),
        "disabled": (Pipeline((Conv2d(kernel=np.ones((3, 3), np.float32), enabled=False),)), x3, (1, 0, 2, 2)),
    }
    note = i18n.tr("Computed on the preview copy (1/{f} of the image; View ▸ Preview large images switches it "
                   "off).").format(f=2)
    pages = {name: explanation_html(explain_pixel(p, x, *where), mode_note=note)
             for name, (p, x, where) in cases.items()}
    p, x = _tutorial()
    out = p.run(x)
    out[0][0, 0, 0] = 19.5  # a doctored map value: the page says the map is not this arithmetic
    pages["conv, a stale map"] = explanation_html(explain_pixel(p, x, 1, 0, 0, 0, outputs=out))
    return pages


def test_every_inspector_page_is_chinese_and_back_in_english(qapp, english_after):
    english = {name: _plain(page) for name, page in _pages().items()}
    for name, text in english.items():  # (each page's English words: the check sees them)
        assert english_words(text), name
    i18n.set_language(i18n.CHINESE)
    chinese = {name: _plain(page) for name, page in _pages().items()}
    left = {name: english_words(text) for name, text in chinese.items() if english_words(text)}
    assert not left, left
    assert "第 1 层" in chinese["conv"] and "总计" in chinese["conv"] and "偏置" in chinese["conv"]
    assert "输入通道 0——第 −1 至 3（间隔 2） 行、第 −1 至 3（间隔 2） 列" in chinese["conv"]
    assert "conv2d" in chinese["conv"] and "upsample" in chinese["upsample nearest"]  # layer types stay
    huge = chinese["conv, a huge window"]
    assert "（共 289 项）" in huge and "显示 17 × 17 个格子中左上角的 15 × 15 个" in huge
    assert "标有 · 的格子" in chinese["avg pool, ceil mode"] and "除数 1" in chinese["avg pool, ceil mode"]
    assert "19.5" in chinese["conv, a stale map"] and "float32" in chinese["conv, a stale map"]
    i18n.set_language(i18n.ENGLISH)
    assert {name: _plain(page) for name, page in _pages().items()} == english


def test_the_inspector_follows_a_language_switch(plain_window, english_after):
    w = plain_window
    p, x = _tutorial()
    w.doc.set_image_array(x, "test")
    w.doc.new_pipeline(p)
    w.doc.select(1)
    settle(w)
    panel = w.insight.inspector
    assert english_words(panel.text())  # the hint, in English
    i18n.set_language(i18n.CHINESE)
    settle(w)
    assert panel.text() == "单击所选层特征图上的一个像素，查看它的值是如何算出来的。"
    w.layer_view.clicked.emit(PixelInfo("layer", 0, 0, 0, 19.0))
    settle(w)
    text = panel.text()
    assert panel.explanation is not None and TUTORIAL_EXPRESSION in text
    assert text.startswith("第 1 层（conv2d）· 通道 0 · 第 0 行，第 0 列")
    assert not english_words(text), english_words(text)  # (conv2d, the layer's type, stays)
    assert "总计：19" in text
    i18n.set_language(i18n.ENGLISH)  # the page shown is made again, in English
    text = panel.text()
    assert text.startswith("Layer 1 (conv2d) · channel 0 · row 0, col 0")
    assert "Total: 19" in text and TUTORIAL_EXPRESSION in text
    settle(w)
    assert panel.text() == text
    i18n.set_language(i18n.CHINESE)
    assert "总计：19" in panel.text() and not english_words(panel.text())


def test_a_panel_alone_makes_its_page_again(qtbot, english_after):
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    i18n.set_language(i18n.CHINESE)
    assert panel.text() == "单击某一层特征图上的一个像素，查看它的值是如何算出来的。"
    i18n.set_language(i18n.ENGLISH)
    assert panel.text() == "Click a pixel of a layer's feature maps to see how its value was computed."
    p, x = _tutorial()
    panel.set_explanation(explain_pixel(p, x, 1, 0, 1, 1))
    assert "Total: 43" in panel.text()
    i18n.set_language(i18n.CHINESE)
    assert "总计：43" in panel.text() and not english_words(panel.text())


def test_erf_summary_and_pinned_spans_in_chinese(plain_window, english_after):
    w = plain_window
    ins = w.insight
    p = Pipeline((Conv2d(kernel=np.ones((3, 3), np.float32), padding=1),
                  Conv2d(kernel=np.ones((3, 3), np.float32), padding=1)))
    w.doc.set_image_array(_ramp(1, 12, 14), "test")
    w.doc.new_pipeline(p)
    w.doc.select(2)
    settle(w)
    i18n.set_language(i18n.CHINESE)
    ins.actions["erf"].setChecked(True)
    settle(w)
    assert ins.receptive.erf_label.text() == \
        "<span style='color:gray'>ERF 热图：单击所选层的一个像素。</span>"
    w.layer_view.clicked.emit(PixelInfo("layer", 0, 5, 6, float(w.renderer.outputs[1][0, 5, 6])))
    settle(w)
    erf = ins.receptive.erf_label.text()
    pins = ins.receptive.pins_label.text()
    for text in (erf, pins):
        assert not english_words(text), english_words(text)
        assert " to " not in text
    assert "非零范围为第 3 至 7 行、第 4 至 8 列（5 × 5；理论感受野为 5 × 5）" in erf
    assert "输入的第 3 至 7 行、第 4 至 8 列" in pins
    i18n.set_language(i18n.ENGLISH)
    erf = ins.receptive.erf_label.text()
    assert "Nonzero over rows 3 to 7, cols 4 to 8 (5 × 5; the theoretical field is 5 × 5)" in erf
    assert "input rows 3 to 7, cols 4 to 8" in ins.receptive.pins_label.text()
    i18n.set_language(i18n.CHINESE)
    assert "非零范围为第 3 至 7 行" in ins.receptive.erf_label.text()


def test_undo_and_redo_are_named_in_the_language_shown(make_window, english_after):
    w = make_window(show=True)
    undo, redo = w.actions_by_name["undo"], w.actions_by_name["redo"]
    assert (undo.text(), redo.text()) == ("&Undo", "&Redo")
    assert not undo.isEnabled() and not redo.isEnabled()
    i18n.set_language(i18n.CHINESE)
    assert (undo.text(), redo.text(), undo.toolTip()) == ("撤销(&U)", "重做(&R)", "撤销")
    w.doc.add_layer(Conv2d(kernel=np.ones((3, 3), np.float32)))
    w.doc.add_layer(MaxPool2d())
    assert undo.isEnabled() and not redo.isEnabled()
    assert undo.text() == "撤销 添加 maxpool2d 层(&U)" and undo.toolTip() == "撤销 添加 maxpool2d 层"
    undo.trigger()
    assert len(w.doc.pipeline) == 1 and redo.isEnabled()
    assert undo.text() == "撤销 添加 conv2d 层(&U)"
    assert redo.text() == "重做 添加 maxpool2d 层(&R)" and redo.toolTip() == "重做 添加 maxpool2d 层"
    button = w.toolbar.widgetForAction(redo)
    assert button.toolTip() == "重做 添加 maxpool2d 层"
    for act in (undo, redo):
        assert not english_words(act.text().replace("conv2d", "").replace("maxpool2d", ""))
    i18n.set_language(i18n.ENGLISH)  # the step names stay as they were recorded
    assert undo.text() == "&Undo 添加 conv2d 层" and redo.toolTip() == "Redo 添加 maxpool2d 层"
    w.doc.add_layer(ReLU())  # a step recorded in English
    assert (undo.text(), undo.toolTip()) == ("&Undo Add relu layer", "Undo Add relu layer")
    assert (redo.text(), redo.isEnabled()) == ("&Redo", False)
    w.doc.undo_stack.undo()
    w.doc.undo_stack.undo()
    assert (undo.text(), undo.isEnabled()) == ("&Undo", False)
    assert redo.text() == "&Redo 添加 conv2d 层" and redo.isEnabled()
    assert [s.toString() for s in undo.shortcuts()] == ["Ctrl+Z"]
    assert {s.toString() for s in redo.shortcuts()} == {"Ctrl+Shift+Z", "Ctrl+Y"}
    redo.trigger()
    assert len(w.doc.pipeline) == 1 and redo.text() == "&Redo Add relu layer"


def test_clear_list_of_the_recent_menus(make_window, settings, tmp_path, english_after):
    settings.setValue("recent/images", [str(tmp_path / "a.png"), str(tmp_path / "b.png")])
    w = make_window()
    assert w.recent_images_menu.actions()[-1].text() == "Clear list"
    i18n.set_language(i18n.CHINESE)
    assert w.recent_images_menu.actions()[-1].text() == "清空列表"  # (made in English, then walked)
    w._update_recent_menus()  # (made again while Chinese, as when an image is opened)
    texts = [a.text() for a in w.recent_images_menu.actions() if not a.isSeparator()]
    assert texts == ["&1 a.png", "&2 b.png", "清空列表"]
    i18n.set_language(i18n.ENGLISH)
    texts = [a.text() for a in w.recent_images_menu.actions() if not a.isSeparator()]
    assert texts == ["&1 a.png", "&2 b.png", "Clear list"]
    i18n.set_language(i18n.CHINESE)
    assert w.recent_images_menu.actions()[-1].text() == "清空列表"
    w.recent_images_menu.actions()[-1].trigger()
    assert not w.recent_images_menu.isEnabled()


def test_the_status_message_and_its_tooltip_agree_after_a_switch(make_window, english_after):
    w = make_window()
    label = w.message_label
    i18n.set_language(i18n.CHINESE)
    w.show_message(i18n.tr("Select a conv layer to compare its border modes."))
    assert label.text() == label.toolTip() == "选择一个卷积层来比较它的边界模式。"
    i18n.set_language(i18n.ENGLISH)
    assert label.toolTip() == label.text()
    w.show_message(i18n.tr("Select a conv layer to compare its border modes."))
    i18n.set_language(i18n.CHINESE)
    assert label.toolTip() == label.text()
    i18n.set_language(i18n.ENGLISH)
    assert label.toolTip() == label.text() == "Select a conv layer to compare its border modes."
