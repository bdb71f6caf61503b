"""Recovering sessions: every crashed session in one dialog, newest first.

Each row shows the image's thumbnail, the time saved, the pipeline's summary (layer count and
types, the output shape on that image) and, for a damaged session, what could not be read. The
user restores one (Restore, or a double click), discards the chosen ones (after a confirmation;
only these are deleted), or closes the dialog (nothing is deleted; the sessions are offered again
at the next start). Thumbnails and shapes are read by a thread of the dialog's own, so a large
image never blocks the window; rows fill in as they arrive. See docs/user-guide.md ("Nothing is
lost").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QThread, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.i18n import tr, tr_noop
from convstudio.app.model.autosave_store import CrashedSession, _clean
from convstudio.core import ConvStudioError

__all__ = ["THUMBNAIL_SIZE", "Preview", "RestoreDialog", "make_preview", "thumbnail"]

THUMBNAIL_SIZE = 96
"""The longer side of a thumbnail, in pixels."""
PREVIEW_MAX_PIXELS = 40_000_000
"""Larger images get no thumbnail (reading them would take seconds)."""
_SESSION_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class Preview:
    """What the dialog shows of a session besides its record: ``thumbnail`` (h, w, 3) uint8 or
    None, the input and output shapes (C, H, W) when known, and why something is missing."""

    thumbnail: np.ndarray | None = None
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    note: str = ""


def thumbnail(x: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """A ``(C, H, W)`` image as an ``(h, w, 3) uint8`` picture with its longer side at most
    `size`, averaged over the pixels each covers (``cv2.INTER_AREA``). Three or four channels
    show as RGB (alpha dropped), any other count shows its first channel in gray. Values in
    [0, 1] map to 0...255 as the input view shows them; other ranges are stretched from their
    minimum to their maximum."""
    import cv2

    c, h, w = x.shape
    rgb = x[:3] if c in (3, 4) else np.repeat(x[:1], 3, axis=0)
    scale = min(1.0, size / max(h, w))
    out_w, out_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(np.ascontiguousarray(rgb.transpose(1, 2, 0), dtype=np.float32),
                       (out_w, out_h), interpolation=cv2.INTER_AREA).reshape(out_h, out_w, 3)
    lo, hi = float(small.min()), float(small.max())
    if lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    elif hi <= lo:
        hi = lo + 1.0
    scaled = (small.astype(np.float64) - lo) * (255.0 / (hi - lo))
    return np.ascontiguousarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def make_preview(session: CrashedSession, size: int = THUMBNAIL_SIZE) -> Preview:
    """Read the session's image (at most :data:`PREVIEW_MAX_PIXELS`) for its thumbnail and the
    pipeline's output shape on it. Never raises on a bad file; runs off the GUI thread."""
    from convstudio.core.imageio import image_size, load_image

    img = session.image
    x, note = None, ""
    path = img.path if img.kind == "file" else img.file if img.kind == "array" else None
    if path is not None:
        try:
            wh = image_size(path)
            if wh is not None and wh[0] * wh[1] > PREVIEW_MAX_PIXELS:
                note = tr("no preview: the image is too large")
            else:
                x = load_image(path, keep_alpha=img.keep_alpha, max_pixels=PREVIEW_MAX_PIXELS)
        except (ConvStudioError, OSError, ValueError) as exc:
            note = tr("no preview: {why}").format(why=exc)
        except MemoryError:
            note = tr("no preview: not enough memory")
    in_shape = tuple(int(v) for v in x.shape) if x is not None else img.shape
    if in_shape is not None and len(in_shape) == 2:
        in_shape = (1, *in_shape)
    out_shape = None
    if session.pipeline is not None and in_shape is not None:
        try:
            out_shape = tuple(session.pipeline.output_shapes(in_shape)[-1])
        except ConvStudioError as exc:
            note = (note + "; " if note else "") + tr("the pipeline does not fit the image: {why}").format(why=exc)
    return Preview(thumbnail(x, size) if x is not None else None, in_shape, out_shape, note)


def _shape_text(shape: tuple[int, ...]) -> str:
    return " × ".join(str(v) for v in shape)


def pipeline_text(session: CrashedSession) -> str:
    """:meth:`CrashedSession.pipeline_summary` in the interface's language (the store is Qt-free
    and English; the same words in English)."""
    p = session.pipeline
    if p is None:
        if session.pipeline_file:
            return tr("pipeline: only its file {name}").format(name=Path(session.pipeline_file).name)
        return tr("no pipeline")
    n = len(p)
    text = (tr("1 layer") if n == 1 else tr("{n} layers").format(n=n))
    if n:
        text += " (" + ", ".join(layer.type for layer in p.layers) + ")"
    where = Path(session.pipeline_file).name if session.pipeline_file else tr("untitled")
    if p.name:
        where += f" '{_clean(p.name, 60)}'"
    if session.dirty:
        where += tr(", unsaved changes")
    return f"{text}; {where}"


def image_text(session: CrashedSession) -> str:
    """:meth:`CrashedSession.image_summary` in the interface's language."""
    img = session.image
    if img.kind == "none":
        return tr("no image")
    if img.kind == "lost":
        return tr("image lost")
    name = img.name or (img.path.name if img.path is not None else "")
    if img.kind == "too-large":
        return tr("image '{name}' (too large to autosave: open it again)").format(name=name)
    return tr("image '{name}'").format(name=name)


#: The notes of ``autosave_store`` (Qt-free, English) that the dialog and the restore's status message
#: (``app/model/autosave_restore.py``) translate, through :func:`note_text`; a field in braces
#: is kept as it is (a file name, or a reason from the core, which stays English: docs/developing.md,
#: "Translations"), except ``{note}``, itself a note (translated in turn). Fixed notes come before the
#: patterns that would also match them.
_NOTES = (
    tr_noop("{note}; its file {name} can be opened instead"),
    tr_noop("the pipeline could not be read: it is missing"),
    tr_noop("the pipeline could not be read: its names hold invalid characters"),
    tr_noop("the pipeline could not be read: {why}"),
    tr_noop("the pipeline's file name could not be read"),
    tr_noop("the image could not be read: {why}"),
    tr_noop("the image record could not be read ({why}); {name} is used"),
    tr_noop("the image is taken from {name}"),
    tr_noop("the time saved could not be read (the file's time is shown)"),
    tr_noop("the time saved could not be read"),
    tr_noop("whether it had unsaved changes could not be read (kept as unsaved)"),
    tr_noop("the selected layer could not be read (the input is selected)"),
    tr_noop("session.json is missing"),
    tr_noop("session.json is not a regular file"),
    tr_noop("session.json is larger than {size} MiB"),
    tr_noop("session.json cannot be read ({why})"),
    tr_noop("session.json is not UTF-8 text ({why})"),
    tr_noop("session.json is not marked as a version 1 autosave (read anyway)"),
    tr_noop("session.json does not hold an object"),
    tr_noop("session.json is not valid JSON ({why})"),
)
_NOTE_PATTERNS = [(note, re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.*)", re.escape(note)), re.DOTALL))
                  for note in _NOTES]


def note_text(note: str) -> str:
    """A note of ``autosave_store`` in the interface's language (unchanged if it is not one of
    :data:`_NOTES`)."""
    for template, pattern in _NOTE_PATTERNS:
        m = pattern.fullmatch(note)
        if m is not None:
            fields = m.groupdict()
            if "note" in fields:
                fields["note"] = note_text(fields["note"])
            return tr(template).format(**fields)
    return note


def state_text(session: CrashedSession) -> str:
    """:meth:`CrashedSession.state_text` in the interface's language (see :func:`note_text`)."""
    if not session.notes:
        return ""
    intact = []
    if session.pipeline is not None:
        intact.append(tr("the pipeline is intact"))
    if session.image.restorable:
        intact.append(tr("the image is intact"))
    return "; ".join(tuple(note_text(n) for n in session.notes) + tuple(intact))


def describe(session: CrashedSession) -> str:
    """:meth:`CrashedSession.describe` in the interface's language."""
    text = tr("Autosaved at {when}: {pipeline}; {image}.").format(
        when=session.saved_text(), pipeline=pipeline_text(session), image=image_text(session))
    state = state_text(session)
    return f"{text} {state[:1].upper()}{state[1:]}." if state else text


def row_text(session: CrashedSession, preview: Preview | None) -> str:
    """The lines of a session's row: when, the pipeline, the image, and what is damaged."""
    pipeline = pipeline_text(session)
    image = image_text(session)
    if preview is not None and preview.output_shape is not None:
        pipeline += tr("; output {shape}").format(shape=_shape_text(preview.output_shape))
    if preview is not None and preview.input_shape is not None:
        image += f", {_shape_text(preview.input_shape)}"
    lines = [tr("Saved {when}").format(when=session.saved_text()), pipeline, image]
    if preview is not None and preview.note:
        lines.append(preview.note)
    state = state_text(session)
    if state:
        lines.append(tr("Damaged: {what}").format(what=state))
    return "\n".join(lines)


class _PreviewThread(QThread):
    """Makes the sessions' previews one after the other (plain values across the thread)."""

    preview = Signal(int, object)  # index in the dialog's sessions, Preview

    def __init__(self, sessions: Sequence[CrashedSession], parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("restore-previews")
        self._sessions = tuple(sessions)
        self._stop = False

    def stop(self) -> None:
        self._stop = True

    def run(self) -> None:  # worker thread
        for i, session in enumerate(self._sessions):
            if self._stop:
                return
            try:
                result = make_preview(session)
            except Exception as exc:  # noqa: BLE001 - a preview must never take the dialog down
                result = Preview(note=tr("no preview: {why}").format(why=f"{type(exc).__name__}: {exc}"))
            self.preview.emit(i, result)


class RestoreDialog(QDialog):
    """Every crashed session, newest first: restore one, discard the chosen ones, or close.

    Parameters
    ----------
    sessions
        The sessions to offer (any order; shown newest first).
    discard
        Deletes one session: returns None when it is gone, else why not.
    notes
        Lines shown above the list (e.g. sessions moved aside because nothing in them was
        readable).

    After ``exec()``, :attr:`chosen` is the session to restore, or None.
    """

    def __init__(self, sessions: Sequence[CrashedSession], *,
                 discard: Callable[[CrashedSession], str | None], notes: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover autosaved sessions")
        self.sessions = sorted(sessions, key=lambda s: s.saved_at, reverse=True)
        self.previews: dict[int, Preview] = {}
        self.chosen: CrashedSession | None = None
        self._discard = discard
        layout = QVBoxLayout(self)
        intro = QLabel("ConvStudio did not close properly (it crashed or was stopped). These "
                       "sessions were saved automatically: restore one, discard the ones you no "
                       "longer need, or close this window to be asked again at the next start.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.notes_label = QLabel("\n".join(notes))
        self.notes_label.setWordWrap(True)
        self.notes_label.setStyleSheet("color: #c62828;")
        self.notes_label.setVisible(bool(notes))
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.notes_label)
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        placeholder = QPixmap(THUMBNAIL_SIZE, THUMBNAIL_SIZE)
        placeholder.fill(QColor("#d0d0d0"))
        for i, session in enumerate(self.sessions):
            item = QListWidgetItem(QIcon(placeholder), row_text(session, None))
            item.setData(_SESSION_ROLE, i)
            item.setToolTip(describe(session))
            self.list.addItem(item)
        layout.addWidget(self.list, 1)
        buttons = QDialogButtonBox()
        self.restore_button = QPushButton("Restore")
        self.discard_button = QPushButton("Discard…")
        self.close_button = QPushButton("Close")
        buttons.addButton(self.restore_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.discard_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.restore_button.setDefault(True)
        self.restore_button.clicked.connect(self.restore_selected)
        self.discard_button.clicked.connect(self.discard_selected)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.itemDoubleClicked.connect(lambda _item: self.restore_selected())
        if self.sessions:
            self.list.setCurrentRow(0)
        self._update_buttons()
        self.resize(640, 420)
        self._thread: _PreviewThread | None = _PreviewThread(self.sessions, self)
        self._thread.preview.connect(self._on_preview)
        self._thread.start()

    # ------------------------------------------------------------------ rows
    def selected_sessions(self) -> list[CrashedSession]:
        rows = sorted(self.list.row(item) for item in self.list.selectedItems())
        return [self.sessions[self.list.item(r).data(_SESSION_ROLE)] for r in rows]

    def shown_sessions(self) -> list[CrashedSession]:
        """The sessions in the list, top to bottom."""
        return [self.sessions[self.list.item(r).data(_SESSION_ROLE)] for r in range(self.list.count())]

    def previews_done(self) -> bool:
        return self._thread is None or self._thread.isFinished()

    def _item_of(self, index: int) -> QListWidgetItem | None:
        for r in range(self.list.count()):
            if self.list.item(r).data(_SESSION_ROLE) == index:
                return self.list.item(r)
        return None

    def _on_preview(self, index: int, preview: Preview) -> None:
        self.previews[index] = preview
        item = self._item_of(index)
        if item is None:
            return  # discarded meanwhile
        item.setText(row_text(self.sessions[index], preview))
        t = preview.thumbnail
        if t is not None:
            h, w, _ = t.shape
            image = QImage(t.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def _update_buttons(self) -> None:
        n = len(self.list.selectedItems())
        self.restore_button.setEnabled(n == 1)
        self.discard_button.setEnabled(n >= 1)

    # ------------------------------------------------------------------ actions
    def restore_selected(self) -> None:
        chosen = self.selected_sessions()
        if len(chosen) == 1:
            self.chosen = chosen[0]
            self.accept()

    def confirm_discard(self, sessions: Sequence[CrashedSession]) -> bool:
        """Ask before deleting (Cancel is the default)."""
        n = len(sessions)
        what = tr("this autosaved session") if n == 1 else tr("these {n} autosaved sessions").format(n=n)
        box = QMessageBox(QMessageBox.Icon.Warning, tr("Discard autosaved sessions"),
                          tr("Delete {what}? This cannot be undone.").format(what=what),
                          QMessageBox.StandardButton.NoButton, self)
        box.setInformativeText("\n".join(describe(s) for s in sessions[:5]))
        discard = box.addButton(tr("Discard"), QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.exec()
        return box.clickedButton() is discard

    def discard_selected(self) -> None:
        chosen = self.selected_sessions()
        if not chosen or not self.confirm_discard(chosen):
            return
        failed = []
        for session in chosen:
            why = self._discard(session)
            if why is None:
                item = self._item_of(self.sessions.index(session))
                if item is not None:
                    self.list.takeItem(self.list.row(item))
            else:
                failed.append(tr("{name} could not be deleted: {why}").format(name=session.folder.name, why=why))
        if failed:
            self.notes_label.setText("\n".join(filter(None, [self.notes_label.text(), *failed])))
            self.notes_label.setVisible(True)
        if self.list.count() == 0:
            self.reject()
        elif not self.list.selectedItems():
            self.list.setCurrentRow(0)

    # ------------------------------------------------------------------ lifetime
    def shutdown(self) -> None:
        """Stop the preview thread and wait for it (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop()
            thread.wait()

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)
