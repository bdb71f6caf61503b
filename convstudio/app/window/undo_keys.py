"""Undo and redo keys while a text field or a spin box has the focus.

A ``QLineEdit`` (and the one inside every ``QSpinBox``) claims Ctrl+Z, Ctrl+Shift+Z and Ctrl+Y
for its own text history, so while a parameter field has the focus these keys never reach the
window's Undo and Redo, although the Edit menu offers them. :class:`UndoKeys` gives the keys to
the window's actions whenever the focused field holds nothing of its own to undo: no text typed
since its value was last committed (a spin box showing its value, a line edit not modified since
it was set or since its edit was finished). A field with a pending edit keeps the keys, so that
Ctrl+Z first takes back what was typed into it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)

__all__ = ["UndoKeys", "has_pending_edit"]

_HOOKED = "_convstudioUndoKeys"


def has_pending_edit(widget: QWidget) -> bool:
    """Whether `widget` (a line edit or spin box) shows text typed but not committed yet."""
    if isinstance(widget, QLineEdit) and isinstance(widget.parent(), QAbstractSpinBox):
        widget = widget.parent()
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        special = widget.specialValueText()
        if special and widget.value() == widget.minimum() and widget.text() == special:
            return False
        return widget.cleanText() != widget.textFromValue(widget.value())
    if isinstance(widget, QAbstractSpinBox):
        return False
    if isinstance(widget, QLineEdit):
        return widget.isModified() and not widget.isReadOnly()
    return False


class UndoKeys(QObject):
    """Routes the undo / redo keys of `window`'s focused fields to `undo` and `redo` (see the
    module docstring). Keep a reference (it is parented to the window)."""

    def __init__(self, window: QWidget, undo: QAction, redo: QAction) -> None:
        super().__init__(window)
        self._window = window
        self._actions = (undo, redo)
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._on_focus_changed)
        focused = QApplication.focusWidget()
        if focused is not None:
            self._on_focus_changed(None, focused)

    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if not isinstance(new, (QLineEdit, QAbstractSpinBox)) or not self._owns(new):
            return
        new.installEventFilter(self)  # (again: it only moves to the front)
        if isinstance(new, QLineEdit) and not new.property(_HOOKED):
            new.setProperty(_HOOKED, True)
            # a finished edit is committed (or refused, and said so): nothing pending any more
            new.editingFinished.connect(lambda e=new: e.setModified(False))

    def _owns(self, widget: QWidget) -> bool:
        """Whether `widget` is in the window, or in one of its floating docks."""
        w = widget
        while w is not None:
            if w is self._window:
                return True
            w = w.parentWidget()
        return False

    def action_for(self, event: QKeyEvent) -> QAction | None:
        """The window's undo or redo action whose shortcut `event` is, if it is enabled."""
        pressed = QKeySequence(event.keyCombination())
        for action in self._actions:
            if any(pressed.matches(s) == QKeySequence.SequenceMatch.ExactMatch
                   for s in action.shortcuts()):
                return action if action.isEnabled() else None
        return None

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(obj, QWidget) \
                and self.action_for(event) is not None and not has_pending_edit(obj):
            # Not the field's key: left unaccepted, the window's shortcut takes it.
            event.ignore()
            return True
        return False
