"""A one-line label that shortens its text with an ellipsis when it is narrower than the text.

A plain QLabel given less width than its text cuts the text off at the edge ("Exported layer 1
to /tr"), which reads as a different message. :class:`ElidedLabel` draws it shortened with "…"
where the text matters least (the middle of a message that ends in a file name, by default), and
keeps the whole text in :meth:`text` and in the tooltip.

The tooltip is its owner's, set with the text (the whole text, or more): the translation walker
leaves it alone (``i18n.made_at_run_time``), so that after a language switch it still says what the
label shows, whether or not the owner makes the text again.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QWidget

from convstudio.app.i18n import made_at_run_time

__all__ = ["ElidedLabel", "TitleLabel"]


class ElidedLabel(QLabel):
    """A QLabel for one line of plain text, drawn elided to its width (see the module docstring).

    ``mode``: where the ellipsis goes, a ``Qt.TextElideMode`` (default: the middle).
    ``keep_chars``: the layout may shrink the label down to about this many characters (or its
    whole text, if shorter), not below: a message beside a stretching neighbour stays readable.
    """

    def __init__(self, parent: QWidget | None = None, *,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle, keep_chars: int = 8) -> None:
        super().__init__(parent)
        self._mode = mode
        self._keep_chars = keep_chars
        self.setTextFormat(Qt.TextFormat.PlainText)
        made_at_run_time(self, "toolTip")  # (the owner's, with the text: see the module docstring)

    def shown_text(self) -> str:
        """The text as drawn now: all of it, or shortened with "…" to the label's width."""
        return self.fontMetrics().elidedText(self.text(), self._mode, max(0, self.contentsRect().width()))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        # keep_chars characters (an average one's width) or the whole text if shorter: the
        # layout may give it less than the whole text, and the text is then elided.
        hint = super().minimumSizeHint()
        keep = self.fontMetrics().averageCharWidth() * self._keep_chars
        return QSize(min(hint.width(), keep), hint.height())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        text = self.text()
        if not text:
            return
        painter = QPainter(self)
        self.style().drawItemText(painter, self.contentsRect(), int(self.alignment()), self.palette(),
                                  self.isEnabled(), self.shown_text(), self.foregroundRole())


class TitleLabel(ElidedLabel):
    """A title: elided at its end, its whole text in its tooltip (set with the text)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, mode=Qt.TextElideMode.ElideRight)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        super().setText(text)
        self.setToolTip(text)
