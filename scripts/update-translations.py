#!/usr/bin/env python3
"""Collect the interface's English texts and merge them into resources/i18n/convstudio_zh_CN.ts.

``pyside6-lupdate`` cannot see the texts the translation walker translates (convstudio/app/i18n.py),
so this script collects them where they are: it opens a real window offscreen in Chinese, takes it
through every menu, dock, page, layer form, dialog and lesson (convstudio/app/i18n_tour.py) with a
recorder in front of the translators, and adds every ``tr("literal")`` of the code. New texts are
added as unfinished (an empty translation), existing translations are kept. Then compile with
``pyside6-lrelease`` (docs/developing.md, "Translations").

    .venv/bin/python scripts/update-translations.py            # merge, list what needs translating
    .venv/bin/python scripts/update-translations.py --check    # exit 1 if a text has no translation
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TS = ROOT / "resources" / "i18n" / "convstudio_zh_CN.ts"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def is_source(text: str, templates: list[re.Pattern]) -> bool:
    """Whether `text` is an English source (not a number, a translation, or a formatted tr() text)."""
    return bool(re.search(r"[A-Za-z]{2}", text)) and not any(t.fullmatch(text) for t in templates)


def collected_sources(asked: set[str], literals) -> set[str]:
    """The texts to translate: every ``tr("literal")`` of the code (a format string included) and
    every text the tour asked for that is neither a number nor a formatted ``tr()`` text."""
    templates = template_patterns(literals)
    return ({s for s in asked if is_source(s, templates)}
            | {s for s in literals if re.search(r"[A-Za-z]{2}", s)})


def template_patterns(literals) -> list[re.Pattern]:
    """A pattern per ``tr("... {x} ...")`` literal matching the texts it formats to."""
    pats = []
    for s in literals:
        if "{" in s:
            parts = re.split(r"\{[^{}]*\}", s)
            pats.append(re.compile(".*?".join(re.escape(p) for p in parts), re.DOTALL))
    return pats


def collect(ts_catalog_language: str = "zh_CN") -> tuple[set[str], list[tuple[str, str, list[str]]]]:
    """Open a window, take the tour in `ts_catalog_language`; return the English sources it asked
    for and the texts left in English on screen along the way."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from convstudio.app import i18n
    from convstudio.app.i18n_tour import SourceRecorder, tour, untranslated
    from convstudio.app.model.document import Document
    from convstudio.app.model.renderer import Renderer
    from convstudio.app.qtsetup import GuiThreadGarbageCollector
    from convstudio.app.window.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    collector = GuiThreadGarbageCollector()
    left: dict[tuple[str, str], list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="convstudio-i18n-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        i18n.set_language(ts_catalog_language)
        recorder = SourceRecorder(app)
        app.installTranslator(recorder)
        doc = Document()
        window = MainWindow(doc, Renderer(doc), settings=settings, first_launch=True)
        window.confirm_discard = lambda: True
        window.report_error = lambda title, text: print(f"  (error shown: {title}: {text})")
        window.show()
        try:
            for step in tour(window):
                for where, text, words in untranslated():
                    left.setdefault((where, text), words + [step])
        finally:
            window.shutdown()
            window.close()
            app.removeTranslator(recorder)
            i18n.set_language(i18n.ENGLISH)
            collector.stop()
    return recorder.sources, [(w, t, ws) for (w, t), ws in left.items()]


def read_ts(path: Path) -> tuple[ET.ElementTree, ET.Element]:
    if path.is_file():
        tree = ET.parse(path)
        root = tree.getroot()
    else:
        root = ET.Element("TS", version="2.1", language="zh_CN", sourcelanguage="en")
        tree = ET.ElementTree(root)
    context = next((c for c in root.iter("context") if c.findtext("name") == "ConvStudio"), None)
    if context is None:
        context = ET.SubElement(root, "context")
        ET.SubElement(context, "name").text = "ConvStudio"
    return tree, context


def merge(path: Path, sources: set[str]) -> tuple[list[str], list[str]]:
    """Add the `sources` missing from the .ts (unfinished); return (added, without a translation)."""
    tree, context = read_ts(path)
    known = {m.findtext("source"): m for m in context.iter("message")}
    added = sorted(s for s in sources if s not in known)
    for s in added:
        message = ET.SubElement(context, "message")
        ET.SubElement(message, "source").text = s
        ET.SubElement(message, "translation", type="unfinished")
    missing = []
    for m in context.iter("message"):
        node = m.find("translation")
        if m.findtext("source") in sources and (node is None or not node.text or node.get("type") == "unfinished"):
            missing.append(m.findtext("source"))
    ET.indent(tree, "    ")
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ET.tostring(tree.getroot(), encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n", encoding="utf-8")
    return added, missing


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a text lacks a translation")
    p.add_argument("--ts", type=Path, default=TS)
    a = p.parse_args(argv)
    from convstudio.app.i18n_tour import tr_literals

    literals = tr_literals(ROOT / "convstudio")
    asked, left = collect()
    sources = collected_sources(asked, literals)
    if a.check:
        from convstudio.app.i18n import load_catalog

        catalog = load_catalog(a.ts) if a.ts.is_file() else {}
        missing = sorted(s for s in sources if s not in catalog)
    else:
        added, missing = merge(a.ts, sources)
        print(f"{a.ts.relative_to(ROOT)}: {len(sources)} texts, {len(added)} new")
    for s in missing:
        print(f"  no translation: {s!r}")
    for where, text, words in left:
        print(f"  English on screen ({words[-1]}; {where}): {text[:120]!r} -> {words[:-1]}")
    return 1 if a.check and (missing or left) else 0


if __name__ == "__main__":
    sys.exit(main())
