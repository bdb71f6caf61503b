"""A tour of the interface for its translations: every menu, dock and page (the cross-check page with a
check shown), the parameter form, the Inspector's page and the ERF summary of every layer kind, every
dialog the app opens, and every lesson.

:func:`tour` drives a real main window through these states and yields at each one, so that
``scripts/update-translations.py`` can collect the English texts the window shows and
``tests/app/test_i18n.py`` can check that none is left untranslated (docs/developing.md,
"Translations"). Dialogs are constructed and shown without running their event loops.
"""

from __future__ import annotations

import ast
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QCoreApplication, QEvent, QEventLoop, QModelIndex, Qt, QTranslator
from PySide6.QtWidgets import QAbstractItemView, QApplication, QMenu, QMessageBox, QTableView, QTextEdit, QWidget

from convstudio.app.i18n import CONTEXT, SKIP_PROPERTY, visible_texts

__all__ = ["tour", "dialogs", "TOUR_SIZE", "SourceRecorder", "tr_literals", "english_words", "ALLOWED_WORDS",
           "shown_texts", "untranslated"]

#: The window's size on the tour (the size the user guide's screenshots are taken at).
TOUR_SIZE = (1600, 1000)


def _settle(window) -> None:
    window.wait_idle(60_000)
    for _ in range(3):
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def _close(widget: QWidget) -> None:
    widget.close()
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _session_folders(root: Path, image) -> list[Path]:
    """Two autosaved sessions as the app leaves them (docs/user-guide.md, "Nothing is lost"): a
    good one, and a damaged one whose pipeline cannot be read (the image is intact)."""
    import json

    import numpy as np

    from convstudio.app.model.autosave_store import SESSION_FILE
    from convstudio.core import Pipeline, ReLU

    good = {"format": "convstudio-autosave", "version": 1, "pid": 1, "saved_at": 1_700_000_000.0,
            "pipeline": Pipeline([ReLU()]).to_dict(), "pipeline_file": None, "dirty": True, "selected": 1,
            "image": {"kind": "array", "file": "image-1.npy", "name": "tour.png"}}
    damaged = {**good, "saved_at": 1_700_000_060.0, "pipeline": None, "selected": "first"}
    folders = []
    for name, data in (("good", good), ("damaged", damaged)):
        folder = root / f"session-1-{name}"
        folder.mkdir()
        np.save(folder / "image-1.npy", image)
        (folder / SESSION_FILE).write_text(json.dumps(data), encoding="utf-8")
        folders.append(folder)
    return folders


def _export_dialogs(window, folder: Path) -> Iterator[tuple[str, QWidget]]:
    """The export dialog, for an image in memory and for a big image exported tile by tile."""
    from convstudio.app.dialogs.export import ExportDialog
    from convstudio.session.tiled_export import tiled_export_formats

    infos = window.doc.analysis()
    shapes = [window.doc.image_shape] + [i.output_shape for i in infos]
    for name, formats in (("export", None), ("export tiled", tiled_export_formats())):
        export = ExportDialog(window.doc.pipeline, shapes, layer=window.doc.selected,
                              folder=folder, stem="tour", parent=window, formats=formats)
        export.show()
        yield name, export
        _close(export)


def dialogs(window) -> Iterator[tuple[str, QWidget]]:
    """Each dialog the window can open, constructed and shown (closed after the caller resumes)."""
    from convstudio.app.dialogs.restore import RestoreDialog
    from convstudio.app.model.autosave_store import read_session

    with tempfile.TemporaryDirectory(prefix="convstudio-tour-") as folder:
        yield from _export_dialogs(window, Path(folder))
        sessions = [read_session(f) for f in _session_folders(Path(folder), window.doc.image[:, :8, :8])]
        restore = RestoreDialog(sessions, discard=lambda _s: None)
        restore.show()
        while not restore.previews_done():  # (the rows' texts grow with the previews)
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        QCoreApplication.processEvents()
        yield "restore", restore
        restore.shutdown()
        _close(restore)
    learner = window.learner.open()
    _settle(window)
    yield "learner", learner
    learner.hide()
    if window.doc.selected_layer is not None and window.insight.actions["compare_borders"].isEnabled():
        border = window.insight.compare_border_modes()
        if border is not None:
            _settle(window)
            yield "border modes", border
            border.hide()
    for name, make in (("shortcuts", window.show_shortcuts), ("about", window.show_about)):
        before = set(QApplication.topLevelWidgets())
        make()
        QCoreApplication.processEvents()
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w not in before]
        for box in boxes:
            yield name, box
            _close(box)


def _layer_kinds(window) -> Iterator[str]:
    """Each kind of the Add menu alone on the image, selected, its first output pixel clicked as a
    user clicks it (``InsightController.select_pixel``: pinned, explained on the Inspector's page,
    its ERF summary on the Receptive fields page, with View ▸ ERF heat map on meanwhile)."""
    from convstudio.app.panels.layer_list import LAYER_CHOICES, new_layer
    from convstudio.app.views.receptive_overlay import Mark
    from convstudio.core import Pipeline

    insight = window.insight
    erf = insight.actions["erf"]
    erf_was_on = erf.isChecked()
    erf.setChecked(True)
    insight.inspector_dock.show()
    insight.show_page("receptive")  # (the ERF's text is written there)
    channels = window.doc.image_shape[0]
    for choice in LAYER_CHOICES:
        window.doc.new_pipeline(Pipeline([new_layer(choice.key, channels)]))
        window.doc.select(1)
        _settle(window)
        insight.select_pixel(Mark(1, 0, 0))
        _settle(window)
        yield f"layer {choice.key}"
    window.doc.select(0)  # the input's own form
    _settle(window)
    yield "layer 0, the input"
    erf.setChecked(erf_was_on)
    _settle(window)


def _crosscheck(window) -> Iterator[str]:
    """The Cross-check page with the check on (its status line, table and reference view's title),
    then off again (the check doubles the work of every render)."""
    insight = window.insight
    insight.show_page("crosscheck")
    box = insight.crosscheck.check_box
    was_on = box.isChecked()
    box.setChecked(True)
    _settle(window)
    yield "page crosscheck, checked"
    box.setChecked(was_on)
    _settle(window)


#: The lessons on which the tour opens the Learn menu's docks: a conv (the sliding window and the
#: shift of the input) and a pooling layer (the sliding window's maximum).
_DOCK_LESSONS = {"cross-correlation": ("sliding_player", "shift_input"), "pooling": ("sliding_player",)}


def _docks(window, lesson: str, keys: tuple[str, ...]) -> Iterator[str]:
    """Open the docks of `keys` (Learn menu actions) on the lesson shown, a step forward in the
    sliding window; hide them again (a dock computes only while shown)."""
    explore = window.explore
    docks = {"sliding_player": explore.player_dock, "shift_input": explore.shift_dock}
    for key in keys:
        explore.actions[key].trigger()
    _settle(window)
    explore.player.seek(1)
    yield f"lesson {lesson}: " + ", ".join(keys)
    for key in keys:
        docks[key].hide()
    _settle(window)


def _kernel_actions(window) -> Iterator[str]:
    """A few of the kernel editor's actions on the selected conv layer's kernel (Normalise, Scale,
    Flip), each message shown under the grid and in the status bar; the edits are undone after."""
    editor = window.kernel_editor
    if editor.weight() is None or not editor.is_editable():
        return
    steps = window.doc.undo_stack.index()
    for name, act in (("normalise", editor.normalize), ("scale", lambda: editor.scale_by(2)),
                      ("flip", editor.actions_by_name()["flip_horizontal"].trigger)):
        act()
        _settle(window)
        yield f"kernel {name}"
    while window.doc.undo_stack.index() > steps:
        window.doc.undo_stack.undo()
    _settle(window)


def tour(window) -> Iterator[str]:
    """Drive `window` (a shown MainWindow) through every state worth reading; yield the state's
    name at each. The window ends on its last lesson."""
    from convstudio.lessons import LESSONS

    window.resize(*TOUR_SIZE)
    _settle(window)
    yield "window"
    for key in window.insight.pages:
        window.insight.show_page(key)
        _settle(window)
        yield f"page {key}"
    yield from _crosscheck(window)
    window.view_state.set_pixel(None)
    yield from _layer_kinds(window)
    window.load_default()
    _settle(window)
    yield from _kernel_actions(window)
    for name, _dialog in dialogs(window):
        yield f"dialog {name}"
    for i, lesson in enumerate(LESSONS):
        window.learn.open_lesson(i, ask=False)
        _settle(window)
        yield f"lesson {lesson.id}"
        if lesson.id in _DOCK_LESSONS:
            yield from _docks(window, lesson.id, _DOCK_LESSONS[lesson.id])


# ====================================================================== collecting and checking
class SourceRecorder(QTranslator):
    """Installed in front of the real translators: records every English source asked for in the
    app's context (by :func:`~convstudio.app.i18n.tr` and by the walker) and answers nothing, so
    the real translators still answer."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.sources: set[str] = set()

    def translate(self, context, source_text, disambiguation=None, n=-1):
        if context == CONTEXT and source_text:
            self.sources.add(source_text)
        return None  # (Qt's null string: the real translators answer)

    def isEmpty(self) -> bool:  # noqa: N802 (Qt's name)
        return False


def tr_literals(folder: Path) -> dict[str, list[str]]:
    """Every ``tr("literal")`` and ``tr_noop("literal")`` call under `folder`: ``{source:
    ["path:line", ...]}``. A ``tr`` of an f-string is reported as an error (format after
    translating: ``tr("{n} px").format(n=n)``)."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tr", "tr_noop")
                    and node.args):
                continue
            arg = node.args[0]
            where = f"{path}:{node.lineno}"
            if isinstance(arg, ast.JoinedStr):
                raise ValueError(f"{where}: tr() of an f-string cannot be translated; format its result")
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, []).append(where)
    return found


#: Latin words a Chinese interface keeps: names, layer types, units, keys, formula variables.
ALLOWED_WORDS = frozenset({
    "ConvStudio", "PyTorch", "NumPy", "OpenCV", "ONNX", "SciPy", "HTML", "JSON", "TSV", "PNG", "JPEG",
    "TIFF", "BigTIFF", "Zarr", "zlib", "BMP", "WebP", "RGB", "ERF", "MSE", "SGD", "Adam", "FFT", "FC", "CNN", "nn",
    "Sequential",
    "Ctrl", "Shift", "Alt", "Esc", "Del", "Delete", "Backspace", "Enter", "Up", "Down", "Left", "Right",
    "px", "ms", "s", "KB", "MB", "GB", "MiB", "GiB", "KiB", "float32", "float64", "uint8", "uint16",
    "conv2d", "conv_transpose2d", "maxpool2d", "avgpool2d", "pad", "stride", "relu", "leaky_relu",
    "abs", "sigmoid", "tanh", "upsample", "zeros", "reflect", "replicate", "circular", "constant",
    "nearest", "bilinear", "max", "min", "exp", "floor", "ceil", "sum", "argmax", "inf", "nan",
    "valid", "same", "symmetric", "start", "size", "jump", "groups",
    "Sobel", "Scharr", "Prewitt", "Laplacian", "Gaussian", "GIMP", "ReLU", "Leaky", "Sigmoid", "Tanh",
    # formula variables and PyTorch's names for them
    "dy", "dx", "kh", "kw", "Cin", "Cout", "align_corners", "True", "False", "corr2d",
    # commands
    "convstudio", "fit",
})
_TAGS = re.compile(r"<[^>]*>|&[a-zA-Z]+;|&#\d+;")
_SKIPPED = re.compile(r"(?:^|\s)/\S+"  # paths
                      r"|\(&.\)|&(?=\w)"  # mnemonics
                      r"|\*?\.[a-z0-9]{2,5}\b"  # extensions
                      r"|[\w.-]+\.(?:png|jpg|jpeg|tif|tiff|bmp|webp|npy|json|onnx|tsv|ini)\b",  # file names
                      re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def english_words(text: str) -> list[str]:
    """The Latin words of `text` (tags, entities, mnemonics, file names and extensions removed)
    that are neither allowed names nor formula variables (one letter, maybe with digits)."""
    plain = _SKIPPED.sub(" ", _TAGS.sub(" ", text))
    return [w for w in _WORD.findall(plain)
            if w not in ALLOWED_WORDS and not re.fullmatch(r"[A-Za-z][0-9]*|[A-Za-z]_[A-Za-z0-9]*", w)]


def _item_view_texts(view: QAbstractItemView) -> Iterator[str]:
    model = view.model()
    if model is None:
        return
    top = QModelIndex()
    columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount(top)  # (private there)
    for i in range(columns):
        head = model.headerData(i, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
        if isinstance(head, str):
            yield head
    if isinstance(view, QTableView) and not view.verticalHeader().isHidden():  # the row headers
        for i in range(model.rowCount(top)):
            head = model.headerData(i, Qt.Orientation.Vertical, Qt.ItemDataRole.DisplayRole)
            if isinstance(head, str):
                yield head
    for r in range(model.rowCount(top)):
        for c in range(columns):
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = model.data(model.index(r, c), role)
                if isinstance(value, str):
                    yield value


def shown_texts() -> Iterator[tuple[str, str]]:
    """``(where, text)`` for every text on screen now: the visible widgets of the visible windows
    (labels, buttons, titles, tooltips, item views, text browsers) and every action of their menus
    and toolbars."""
    for top in QApplication.topLevelWidgets():
        if not top.isVisible() or isinstance(top, QMenu):
            continue
        for obj, field, text in visible_texts(top):
            if (isinstance(obj, QWidget) and not obj.isVisible()) or obj.property(SKIP_PROPERTY):
                continue
            yield f"{type(top).__name__} > {obj.objectName() or type(obj).__name__}.{field}", text
        for w in top.findChildren(QWidget):
            if not w.isVisible():
                continue
            if isinstance(w, QTextEdit):
                yield f"{type(top).__name__} > {w.objectName() or type(w).__name__}", w.toPlainText()
            elif isinstance(w, QAbstractItemView):
                for text in _item_view_texts(w):
                    yield f"{type(top).__name__} > {w.objectName() or type(w).__name__} (item)", text


def untranslated() -> list[tuple[str, str, list[str]]]:
    """``(where, text, English words)`` for every text on screen now with English left in it."""
    out = []
    for where, text in shown_texts():
        words = english_words(text)
        if words:
            out.append((where, text, words))
    return out
