"""The window's image too large to load whole: which preview the Document holds, and the image
loader's job that reads it (docs/scale.md, "In the app"; the reading itself is
:mod:`convstudio.session.preview`).

The Document holds the preview as its image (an array like any other: the renderer computes on
it as on any image, with the app's own preview scale on top if it is still too large).
:class:`BigImage` remembers that this array is a preview of a file, at which scale, so that the
window can say so and File ▸ Export can compute from the file at full resolution. It forgets as
soon as the Document's image is replaced by anything else (another file, a pattern, a paste).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from convstudio.app.model.document import Document
from convstudio.app.model.worker import JobContext
from convstudio.core import ConvStudioError
from convstudio.session.preview import Preview, TiledSource, load_for_app

__all__ = ["BigImage", "read_for_window"]


class BigImage(QObject):
    """Whether the Document's image is a preview of a larger file (see the module docstring).

    Signals
    -------
    changed()
        A preview became the image, or the image is no longer one.
    """

    changed = Signal()

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._preview: Preview | None = None
        self._pending: Preview | None = None
        self._shown: np.ndarray | None = None  # the Document's array for the preview
        document.imageChanged.connect(self._on_image_changed)

    @property
    def preview(self) -> Preview | None:
        """The preview the Document shows, or None when its image is whole."""
        return self._preview

    @property
    def source(self) -> TiledSource | None:
        """The file to compute from at full resolution, or None."""
        return None if self._preview is None else self._preview.source

    @property
    def factor(self) -> int:
        """Full-resolution pixels per pixel of the Document's image (1: the image is whole)."""
        return 1 if self._preview is None else self._preview.factor

    def show(self, preview: Preview) -> None:
        """Make `preview` the Document's image (one ``imageChanged``, then ``changed``)."""
        self._pending = preview
        try:
            self._doc.set_image_array(preview.array, preview.name)
        finally:
            self._pending = None

    def _on_image_changed(self) -> None:
        if self._pending is not None:
            self._preview, self._shown = self._pending, self._doc.image
        elif self._preview is not None and self._doc.image is not self._shown:
            self._preview, self._shown = None, None
        else:
            return
        self.changed.emit()


def read_for_window(ctx: JobContext, path: Path, keep_alpha: bool,
                    max_pixels: int) -> tuple[Path, np.ndarray | Preview]:
    """The image loader's job (worker thread): the whole image, or a :class:`Preview` of one too
    large; while a preview is read, ``(rows_done, rows_total)`` is sent whenever the percentage
    moves."""
    last = [-1]

    def progress(done: int, total: int) -> None:
        percent = 100 * done // max(1, total)
        if percent != last[0]:
            last[0] = percent
            ctx.progress((done, total))

    try:
        return path, load_for_app(path, keep_alpha=keep_alpha, max_pixels=max_pixels, progress=progress)
    except MemoryError:
        raise ConvStudioError(f"'{path.name}' is too large for the memory available") from None
