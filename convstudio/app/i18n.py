"""The interface's languages: English (the source) and Simplified Chinese, switchable while the app runs.

Three parts (docs/developing.md, "Translations"):

- **The catalogue.** ``resources/i18n/convstudio_zh_CN.ts`` holds every English text with its
  translation, in one context, ``ConvStudio``. ``scripts/setup.sh`` and ``packaging/build.sh``
  compile it to ``convstudio_zh_CN.qm`` (``pyside6-lrelease``; not committed); without the ``.qm``
  (a plain ``pip install`` from the source tree) :class:`CatalogTranslator` reads the ``.ts``
  itself. Qt's own texts (standard buttons, line-edit menus) come from Qt's ``qtbase`` catalogue.
- **tr().** A text made while the app runs (an f-string with a number, an HTML page, a status
  message) is translated where it is made: ``tr("Layer {n} failed: {why}").format(n=..., why=...)``.
  The code that made it makes it again when :data:`notifier`'s ``languageChanged`` fires.
- **The walker.** Static texts (menus, actions, tooltips, dock titles, form labels, buttons) need
  no edit at all: on a language switch, and whenever a widget is shown while a translation is
  active, :func:`retranslate` visits the widget, its actions and its menus, records each English
  text in a dynamic property the first time it sees it, and sets the translation of that source.
  Switching back to English sets the recorded sources again, so every English text comes back
  exactly.

Why a walker rather than Qt Designer's ``retranslateUi`` pattern: the window's texts are set in
many modules, each owned and changed independently; a walker translates them all without an edit
in each, and a text that a module changes later is simply recorded again (its new source is the
text now shown, or, if that is a translation, its English source from the catalogue).
``pyside6-lupdate`` cannot see the walker's strings, so ``scripts/update-translations.py``
collects them from a real window, plus every ``tr(`` call site, and merges them into the ``.ts``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QLibraryInfo, QLocale, QObject, QTranslator, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMenu,
    QSpinBox,
    QTabBar,
    QWidget,
)

from convstudio.resources import resource_path

__all__ = ["CONTEXT", "ENGLISH", "CHINESE", "LANGUAGES", "SETTINGS_KEY", "tr", "notifier",
           "current_language", "set_language", "language_from_settings", "add_language_menu", "system_language",
           "retranslate", "retranslate_all", "load_catalog", "catalog_path", "CatalogTranslator",
           "visible_texts", "SKIP_PROPERTY", "known", "describe_layer", "layer_words",
           "RUNTIME_PROPERTY", "made_at_run_time", "tr_noop"]

CONTEXT = "ConvStudio"
ENGLISH = "en"
CHINESE = "zh_CN"
#: Each language under its own name, as the View > Language menu shows it.
LANGUAGES = {ENGLISH: "English", CHINESE: "简体中文"}
#: Where the chosen language is remembered (absent: the system's language).
SETTINGS_KEY = "ui/language"
#: A dynamic property: an object with it set to True is never translated by the walker (the
#: language names of the Language menu, file names of the Recent menus).
SKIP_PROPERTY = "i18n_skip"
#: A dynamic property: the fields (``text``, ``toolTip``, ``windowTitle``, ``items``...) whose texts
#: their owner makes with :func:`tr` and makes again on ``languageChanged``; the walker leaves them
#: alone (so that a formatted text is never taken for a source), the tour still checks them.
RUNTIME_PROPERTY = "i18n_runtime"
_SRC = "i18n_src_"
_OUT = "i18n_out_"


def tr(text: str, disambiguation: str | None = None) -> str:
    """`text` in the interface's language (the English source if it has no translation)."""
    return QCoreApplication.translate(CONTEXT, text, disambiguation)


def tr_noop(text: str) -> str:
    """`text` unchanged, marked for the collector: an English source that is passed on and
    translated later with ``tr(text)`` where it is shown (and shown again on a language switch)."""
    return text


def known(text: str) -> str:
    """`text` in the interface's language if the catalogue holds it, else `text` unchanged.

    For names that are data (an image's name, which is a lesson's title when a lesson is open, or
    a file name): they are looked up without asking the translators, so that a file name is never
    collected as a text to translate (``scripts/update-translations.py``).
    """
    return _State.forward.get(text, text) if text else text


def describe_layer(layer) -> str:
    """``layer.describe()`` (``conv 3x3 per channel pad same``) with its words in the interface's
    language; numbers and JSON names stay."""
    return layer_words(layer.describe())


def layer_words(text: str) -> str:
    """`text` (a layer's description or type) with the words of :func:`describe_layer` translated."""
    if _State.language == ENGLISH:
        return text
    words = {"conv": tr("conv"), "convT": tr("convT"), "conv_transpose": tr("convT"), "per channel": tr("per channel"),
             "padded": tr("padded"), "pad": tr("pad"), "maxpool": tr("maxpool"), "avgpool": tr("avgpool"),
             "stride": tr("stride"), "upsample": tr("upsample"),
             # the short keys before a number: s2, d2x1, p1, op1, g2
             "s": tr("stride"), "d": tr("dilation"), "p": tr("pad"), "op": tr("output padding"), "g": tr("groups")}
    text = _LAYER_KEYS.sub(lambda m: f"{words[m.group(1)]} {m.group(2)}", text)
    return _LAYER_WORDS.sub(lambda m: words[m.group(0)], text)


_LAYER_WORDS = re.compile(
    r"\b(?:convT|conv_transpose|conv|per channel|padded|pad|maxpool|avgpool|stride|upsample)\b")
_LAYER_KEYS = re.compile(r"\b(s|d|p|op|g)(\d+(?:x\d+)?)\b")


def made_at_run_time(obj: QObject, *fields: str) -> QObject:
    """Mark `fields` of `obj` (default ``text``) as made with :func:`tr` by their owner, who sets
    them again when ``languageChanged`` fires: the walker leaves them alone. Returns `obj`."""
    done = set(QObject.property(obj, RUNTIME_PROPERTY) or ())
    QObject.setProperty(obj, RUNTIME_PROPERTY, sorted(done | set(fields or ("text",))))
    return obj


def catalog_path(language: str, suffix: str) -> Path:
    """The shipped catalogue of `language` (``suffix`` ``.ts`` or ``.qm``)."""
    return resource_path("i18n", f"convstudio_{language}{suffix}")


def load_catalog(path: Path) -> dict[str, str]:
    """The finished translations of a ``.ts`` file: ``{source: translation}``.

    Unfinished or empty translations are left out, as ``pyside6-lrelease`` leaves them out.
    """
    catalog: dict[str, str] = {}
    root = ET.parse(path).getroot()
    for context in root.iter("context"):
        if context.findtext("name") != CONTEXT:
            continue
        for message in context.iter("message"):
            source = message.findtext("source")
            node = message.find("translation")
            if source is None or node is None or node.get("type") in ("unfinished", "obsolete", "vanished"):
                continue
            if node.text:
                catalog[source] = node.text
    return catalog


class CatalogTranslator(QTranslator):
    """A translator that answers from a ``{source: translation}`` dict (the ``.ts`` read directly,
    when the compiled ``.qm`` is missing)."""

    def __init__(self, catalog: dict[str, str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._catalog = dict(catalog)

    def translate(self, context, source_text, disambiguation=None, n=-1):
        # None is Qt's null string: "no translation here", the next translator is asked
        # (an empty string would be taken as the translation).
        if context != CONTEXT or source_text is None:
            return None
        return self._catalog.get(source_text)

    def isEmpty(self) -> bool:  # noqa: N802 (Qt's name)
        return not self._catalog


class _Notifier(QObject):
    #: The interface's language changed (its code): re-make texts built with tr().
    languageChanged = Signal(str)


class _State:
    language = ENGLISH
    translators: list[QTranslator] = []
    reverse: dict[str, str] = {}  # translation -> source, for the language now active
    forward: dict[str, str] = {}  # source -> translation, for the language now active
    watcher: QObject | None = None
    notifier: _Notifier | None = None


def notifier() -> _Notifier:
    """The object whose ``languageChanged(str)`` fires after a switch (texts already walked)."""
    if _State.notifier is None:
        _State.notifier = _Notifier()
    return _State.notifier


def current_language() -> str:
    return _State.language


def system_language() -> str:
    """Chinese if the system's locale is a Chinese one, English otherwise."""
    return CHINESE if QLocale.system().name().lower().startswith("zh") else ENGLISH


def language_from_settings(settings, default: str | None = None) -> str:
    """The language saved in `settings` (a QSettings), or `default` (by default the system's) if
    none or an unknown one is saved."""
    value = settings.value(SETTINGS_KEY, "") if settings is not None else ""
    if value in LANGUAGES:
        return str(value)
    return default if default in LANGUAGES else system_language()


class _LanguageMenu(QObject):
    """View > Language: keeps the check mark on the language shown (a child of the menu, so its
    connection to :data:`notifier` ends with the menu)."""

    def __init__(self, window, menu: QMenu) -> None:
        super().__init__(menu)
        self.window = window
        group = QActionGroup(self)
        group.setExclusive(True)
        self.actions: dict[str, QAction] = {}
        for code, name in LANGUAGES.items():
            act = menu.addAction(name)
            act.setProperty(SKIP_PROPERTY, True)  # each language under its own name
            act.setCheckable(True)
            act.setData(code)
            group.addAction(act)
            act.triggered.connect(lambda _checked=False, code=code: self.choose(code))
            self.actions[code] = act
        self.show_current(current_language())
        notifier().languageChanged.connect(self.show_current)

    def choose(self, code: str) -> None:
        settings = getattr(self.window, "settings", None)
        if settings is not None:
            settings.setValue(SETTINGS_KEY, code)
        if code != current_language():
            set_language(code)

    def show_current(self, language: str) -> None:
        act = self.actions.get(language)
        if act is not None and not act.isChecked():
            act.setChecked(True)


def add_language_menu(window, menu: QMenu) -> QMenu:
    """Add View > Language to `menu`: one checkable entry per language; choosing one switches at
    once and saves it in ``window.settings``. ``window.language_actions`` maps codes to entries."""
    sub = menu.addMenu("Lan&guage")
    sub.setObjectName("languageMenu")
    window.language_actions = _LanguageMenu(window, sub).actions
    return sub


def _translators_for(language: str) -> tuple[list[QTranslator], dict[str, str]]:
    if language == ENGLISH:
        return [], {}
    ts = catalog_path(language, ".ts")
    catalog = load_catalog(ts) if ts.is_file() else {}
    ours: QTranslator = QTranslator()
    qm = catalog_path(language, ".qm")
    if not (qm.is_file() and ours.load(str(qm))):
        ours = CatalogTranslator(catalog)
    found = [ours]
    qt = QTranslator()  # Qt's own texts: OK / Cancel, the line edits' menus...
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        found.append(qt)
    return found, catalog


def set_language(language: str) -> None:
    """Make `language` (a key of :data:`LANGUAGES`) the interface's language, at once: translators
    installed, every window walked, ``languageChanged`` emitted. Unknown codes mean English."""
    app = QCoreApplication.instance()
    if language not in LANGUAGES:
        language = ENGLISH
    if app is None:
        raise RuntimeError("set_language needs a QApplication")
    translators, catalog = _translators_for(language)
    previous_reverse = _State.reverse
    for t in _State.translators:
        app.removeTranslator(t)
    _State.translators = translators
    for t in translators:
        t.setParent(app)
        app.installTranslator(t)
    _State.language = language
    _State.reverse = {v: k for k, v in catalog.items()}
    _State.forward = catalog
    _install_watcher(app, active=language != ENGLISH)
    retranslate_all(previous_reverse)
    notifier().languageChanged.emit(language)


# ====================================================================== the walker
def _combo_items(w: QComboBox) -> list[str]:
    return [w.itemText(i) for i in range(w.count())]


def _set_combo_items(w: QComboBox, texts: list[str]) -> None:
    for i, t in enumerate(texts[:w.count()]):
        w.setItemText(i, t)


def _tabs(w: QTabBar) -> list[str]:
    return [w.tabText(i) for i in range(w.count())]


def _set_tabs(w: QTabBar, texts: list[str]) -> None:
    for i, t in enumerate(texts[:w.count()]):
        w.setTabText(i, t)


def _tab_tips(w: QTabBar) -> list[str]:
    return [w.tabToolTip(i) for i in range(w.count())]


def _set_tab_tips(w: QTabBar, texts: list[str]) -> None:
    for i, t in enumerate(texts[:w.count()]):
        w.setTabToolTip(i, t)


def _own_tooltip(action: QAction) -> str:
    """An action's tooltip if set on purpose (Qt makes one from the text otherwise)."""
    tip = action.toolTip()
    plain = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()
    return "" if tip.rstrip("…").strip() == plain else tip


# (field, the class it applies to, getter, setter); a getter returns str or list[str].
_FIELDS: list[tuple[str, type, Callable, Callable]] = [
    ("windowTitle", QWidget, QWidget.windowTitle, QWidget.setWindowTitle),
    ("toolTip", QWidget, QWidget.toolTip, QWidget.setToolTip),
    ("statusTip", QWidget, QWidget.statusTip, QWidget.setStatusTip),
    ("text", QLabel, QLabel.text, QLabel.setText),
    ("text", QAbstractButton, QAbstractButton.text, QAbstractButton.setText),
    ("title", QGroupBox, QGroupBox.title, QGroupBox.setTitle),
    ("placeholder", QLineEdit, QLineEdit.placeholderText, QLineEdit.setPlaceholderText),
    ("special", QAbstractSpinBox, QAbstractSpinBox.specialValueText, QAbstractSpinBox.setSpecialValueText),
    ("suffix", QSpinBox, QSpinBox.suffix, QSpinBox.setSuffix),
    ("prefix", QSpinBox, QSpinBox.prefix, QSpinBox.setPrefix),
    ("suffix", QDoubleSpinBox, QDoubleSpinBox.suffix, QDoubleSpinBox.setSuffix),
    ("prefix", QDoubleSpinBox, QDoubleSpinBox.prefix, QDoubleSpinBox.setPrefix),
    ("items", QComboBox, _combo_items, _set_combo_items),
    ("placeholder", QComboBox, QComboBox.placeholderText, QComboBox.setPlaceholderText),
    ("tabs", QTabBar, _tabs, _set_tabs),
    ("tabTips", QTabBar, _tab_tips, _set_tab_tips),
]
_ACTION_FIELDS: list[tuple[str, Callable, Callable]] = [
    ("text", QAction.text, QAction.setText),
    ("toolTip", _own_tooltip, QAction.setToolTip),
    ("statusTip", QAction.statusTip, QAction.setStatusTip),
]


def _source_of(text: str, reverse: dict[str, str]) -> str:
    return reverse.get(text, text)


def _walk_value(obj: QObject, field: str, value, reverse: dict[str, str]):
    """The translation of `obj`'s `field`, recording its source; None if nothing is to be set."""
    out = QObject.property(obj, _OUT + field)
    src = QObject.property(obj, _SRC + field)
    if isinstance(value, list):
        out = list(out) if out is not None else None
        src = list(src) if src is not None else None
        if src is None or value != out or len(src) != len(value):
            src = [_source_of(v, reverse) for v in value]
        new = [tr(s) if s else s for s in src]
    else:
        if src is None or value != out:
            src = _source_of(value, reverse)
        if not src and not out:
            return None
        new = tr(src) if src else src
    QObject.setProperty(obj, _SRC + field, src)
    QObject.setProperty(obj, _OUT + field, new)
    return None if new == value else new


def _skipped(obj: QObject) -> bool:
    return bool(QObject.property(obj, SKIP_PROPERTY))


def _retranslate_action(action: QAction, reverse: dict[str, str]) -> None:
    if _skipped(action):
        return
    runtime = QObject.property(action, RUNTIME_PROPERTY) or ()
    for field, get, put in _ACTION_FIELDS:
        if field in runtime:
            continue
        new = _walk_value(action, field, get(action), reverse)
        if new is not None:
            put(action, new)


def _retranslate_widget(w: QWidget, reverse: dict[str, str]) -> None:
    if _skipped(w):
        return
    box = QObject.parent(w)
    if (isinstance(w, QAbstractButton) and isinstance(box, QDialogButtonBox)
            and box.standardButton(w) != QDialogButtonBox.StandardButton.NoButton):
        return  # Qt translates its standard buttons itself
    runtime = QObject.property(w, RUNTIME_PROPERTY) or ()
    for field, cls, get, put in _FIELDS:
        if isinstance(w, cls) and field not in runtime:
            new = _walk_value(w, field, get(w), reverse)
            if new is not None:
                put(w, new)
    for action in QWidget.actions(w):  # (unbound: some widgets have an `actions` dict)
        _retranslate_action(action, reverse)
        menu = action.menu()
        if isinstance(menu, QMenu):
            for sub in menu.actions():
                _retranslate_action(sub, reverse)


def retranslate(root: QWidget, reverse: dict[str, str] | None = None) -> None:
    """Translate `root` and every widget, action and menu under it into the active language.

    `reverse` maps translations of the language shown so far back to their English sources (so
    that a text set with :func:`tr` is recorded as its source); by default the active language's.
    """
    rev = _State.reverse if reverse is None else reverse
    widgets = [root, *root.findChildren(QWidget)]
    for w in widgets:
        _retranslate_widget(w, rev)
    for action in root.findChildren(QAction):
        _retranslate_action(action, rev)


def retranslate_all(reverse: dict[str, str] | None = None) -> None:
    """:func:`retranslate` every top-level widget of the application."""
    app = QApplication.instance()
    if app is None:
        return
    for w in app.topLevelWidgets():
        retranslate(w, reverse)


class _ShowWatcher(QObject):
    """While a translation is active: translate each widget when it is shown (new dialogs, forms
    rebuilt for another layer, menus filled on demand)."""

    def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Show and isinstance(obj, QWidget):
            if QWidget.isWindow(obj):
                retranslate(obj)
            else:
                _retranslate_widget(obj, _State.reverse)
        return False


def _install_watcher(app: QCoreApplication, *, active: bool) -> None:
    if active and _State.watcher is None:
        _State.watcher = _ShowWatcher(app)
        app.installEventFilter(_State.watcher)
    elif not active and _State.watcher is not None:
        app.removeEventFilter(_State.watcher)
        _State.watcher.deleteLater()
        _State.watcher = None


# ====================================================================== what is on screen
def _visible_widget_texts(w: QWidget) -> Iterable[tuple[str, str]]:
    for field, cls, get, _put in _FIELDS:
        if isinstance(w, cls):
            value = get(w)
            for v in value if isinstance(value, list) else [value]:
                if v:
                    yield f"{type(w).__name__}.{field}", v


def visible_texts(root: QWidget) -> list[tuple[QObject, str, str]]:
    """Every text `root` and what is under it show: ``(object, field, text)`` for widgets,
    actions and menus (hidden widgets included; tests filter what they need)."""
    found: list[tuple[QObject, str, str]] = []
    for w in [root, *root.findChildren(QWidget)]:
        found.extend((w, field, text) for field, text in _visible_widget_texts(w))
    actions = {id(a): a for a in root.findChildren(QAction)}
    for w in [root, *root.findChildren(QWidget)]:
        for a in QWidget.actions(w):
            actions.setdefault(id(a), a)
            if a.menu() is not None:
                for sub in a.menu().actions():
                    actions.setdefault(id(sub), sub)
    for a in actions.values():
        for field, get, _put in _ACTION_FIELDS:
            text = get(a)
            if text:
                found.append((a, f"QAction.{field}", text))
    return found
