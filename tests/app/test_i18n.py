"""The Simplified Chinese interface (convstudio/app/i18n.py, docs/developing.md "Translations"): the
switch at run time, the way back to English, the catalogue's completeness, and the tour of every
menu, dock, dialog and lesson with no English left."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, QTranslator
from PySide6.QtWidgets import QAbstractButton, QLabel, QToolButton

from convstudio.app import i18n
from convstudio.app.i18n_tour import SourceRecorder, english_words, tour, tr_literals, untranslated

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "resources" / "i18n" / "convstudio_zh_CN.ts"


def test_switch_to_chinese_and_back_restores_every_english_text(make_window, english_after):
    w = make_window(first_launch=True)
    english = [(id(obj), field, text) for obj, field, text in i18n.visible_texts(w)]
    i18n.set_language(i18n.CHINESE)
    titles = [a.text() for a in w.menuBar().actions()]
    assert titles[:3] == ["文件(&F)", "编辑(&E)", "视图(&V)"]
    assert w.layers_dock.windowTitle() == "层"
    assert w.actions_by_name["open_image"].toolTip().startswith("打开图像")
    i18n.set_language(i18n.ENGLISH)
    back = [(id(obj), field, text) for obj, field, text in i18n.visible_texts(w)]
    assert back == english


def test_language_menu_switches_and_is_remembered(make_window, settings, english_after):
    w = make_window()
    assert w.language_actions[i18n.ENGLISH].isChecked()
    w.language_actions[i18n.CHINESE].trigger()
    assert i18n.current_language() == i18n.CHINESE
    assert settings.value(i18n.SETTINGS_KEY) == i18n.CHINESE
    assert i18n.language_from_settings(settings) == i18n.CHINESE
    assert w.language_actions[i18n.CHINESE].isChecked()
    assert w.language_actions[i18n.ENGLISH].text() == "English"  # each language under its own name
    w.language_actions[i18n.ENGLISH].trigger()
    assert w.menuBar().actions()[0].text() == "&File"


def test_text_set_with_tr_while_chinese_comes_back_in_english(qtbot, english_after):
    label = QLabel()
    qtbot.addWidget(label)
    i18n.set_language(i18n.CHINESE)
    label.setText(i18n.tr("Layer parameters"))
    assert label.text() == "层参数"
    i18n.set_language(i18n.ENGLISH)
    assert label.text() == "Layer parameters"


def test_the_ts_fallback_answers_as_the_compiled_catalogue(qapp, tmp_path):
    """Without the .qm, the .ts read directly gives the same translations lrelease compiles."""
    import subprocess
    import sys

    lrelease = Path(sys.executable).with_name("pyside6-lrelease")
    qm = tmp_path / "zh.qm"
    subprocess.run([str(lrelease), "-silent", str(TS), "-qm", str(qm)], check=True)
    compiled = QTranslator()
    assert compiled.load(str(qm))
    catalog = i18n.load_catalog(TS)
    fallback = i18n.CatalogTranslator(catalog)
    messages = ET.parse(TS).getroot().iter("message")
    sources = [m.findtext("source") for m in messages]
    assert len(catalog) == len(sources) > 400
    for source in sources:
        assert fallback.translate(i18n.CONTEXT, source) == compiled.translate(i18n.CONTEXT, source)
    assert fallback.translate(i18n.CONTEXT, "no such text") is None
    assert fallback.translate("QPushButton", "&File") is None


def test_english_words_keeps_the_allowed_tokens_only():
    assert english_words("卷积核 3×3，conv2d，步幅 2，ConvStudio，cat.png，*.json，x_i，打开(&O)") == []
    assert english_words("<b>层</b> 1 of 3") == ["of"]


def _collected_sources(recorded: set[str]) -> set[str]:
    spec = importlib.util.spec_from_file_location("update_translations", ROOT / "scripts" / "update-translations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.collected_sources(recorded, tr_literals(ROOT / "convstudio"))


def test_chinese_tour_leaves_no_english_and_the_catalogue_is_complete(make_window, english_after):
    """Every menu, dock, page, layer form, dialog and lesson in Chinese: nothing on screen is left in
    English, and every text the tour and the code's tr() calls ask for has a translation."""
    i18n.set_language(i18n.CHINESE)
    recorder = SourceRecorder()
    QCoreApplication.instance().installTranslator(recorder)
    try:
        w = make_window(first_launch=True, size=None, show=True)
        left: dict[str, tuple[str, list[str]]] = {}
        for step in tour(w):
            for where, text, words in untranslated():
                left.setdefault(text, (f"{step}: {where}", words))
    finally:
        QCoreApplication.instance().removeTranslator(recorder)
    catalog = i18n.load_catalog(TS)
    missing = sorted(s for s in _collected_sources(recorder.sources) if s not in catalog)
    report = [f"{where}: {text[:80]!r} {words[:5]}" for text, (where, words) in left.items()]
    assert not missing and not report, (f"{len(missing)} texts without a translation, e.g. {missing[:10]}; "
                                        f"{len(report)} texts in English on screen, e.g.\n" + "\n".join(report[:40]))


def test_nothing_is_cut_off_in_chinese_at_1600_by_1000(make_window, english_after):
    i18n.set_language(i18n.CHINESE)
    w = make_window(first_launch=True, size=(1600, 1000), show=True)
    w.wait_idle()
    cut = []
    for widget in w.findChildren(QLabel) + w.findChildren(QAbstractButton):
        if not widget.isVisible() or (isinstance(widget, QLabel) and (widget.wordWrap() or "<" in widget.text())):
            continue
        if isinstance(widget, QToolButton) and widget.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly:
            continue  # (its text is the tooltip)
        text = widget.text().replace("&", "")
        if text and widget.fontMetrics().horizontalAdvance(text) > widget.width():
            cut.append((widget.objectName() or type(widget).__name__, text, widget.width()))
    assert not cut


def test_restore_texts_in_english_are_the_stores_own(tmp_path, qapp):
    """The dialog's translatable summaries say, in English, exactly what the Qt-free store says."""
    from convstudio.app.dialogs.restore import describe, image_text, pipeline_text, state_text
    from convstudio.app.i18n_tour import _session_folders
    from convstudio.app.model.autosave_store import read_session

    for folder in _session_folders(tmp_path, np.zeros((1, 4, 4), np.float32)):
        s = read_session(folder)
        assert (pipeline_text(s), image_text(s), state_text(s), describe(s)) == (
            s.pipeline_summary(), s.image_summary(), s.state_text(), s.describe())
    assert any(read_session(f).damaged for f in tmp_path.iterdir())


def test_player_texts_follow_a_language_switch(make_window, english_after):
    """The sliding window's step texts are made again on a switch, and come back in English."""
    from convstudio.lessons import LESSONS

    w = make_window(first_launch=True, show=True)
    w.learn.open_lesson(next(i for i, les in enumerate(LESSONS) if les.id == "cross-correlation"), ask=False)
    w.explore.actions["sliding_player"].trigger()
    w.wait_idle()
    english = w.explore.player.expression.text()
    assert english.startswith("Output (0, 0), step 1 of ")
    i18n.set_language(i18n.CHINESE)
    chinese = w.explore.player.expression.text()
    assert chinese.startswith("输出 (0, 0)，第 1 / ") and not english_words(chinese)
    i18n.set_language(i18n.ENGLISH)
    assert w.explore.player.expression.text() == english


def test_a_parameter_form_kept_through_a_switch_comes_back_in_the_new_language(make_window, english_after):
    """The parameter editor keeps the forms it built, hidden, for the next layer of their kind: a
    switch of language reaches them too, and switching back brings their English back."""
    w = make_window(first_launch=True, show=True)
    p = w.params_editor
    w.doc.select(2)  # relu: its form is built, then kept while layer 1's is shown
    relu_enabled = p.widgets["enabled"]
    assert relu_enabled.text() == "Enabled"
    w.doc.select(1)
    assert not relu_enabled.isVisibleTo(p)
    i18n.set_language(i18n.CHINESE)
    w.doc.select(2)
    assert p.widgets["enabled"] is relu_enabled and relu_enabled.text() == "启用"
    w.doc.select(1)
    i18n.set_language(i18n.ENGLISH)
    w.doc.select(2)
    assert p.widgets["enabled"] is relu_enabled and relu_enabled.text() == "Enabled"
