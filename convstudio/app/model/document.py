"""The Document: the one mutable state of the app.

It holds the current image, the current :class:`~convstudio.core.Pipeline` (an immutable core
value), the selected layer, the pipeline's file path and an undo stack. Widgets are views: they
read from the Document, ask it for changes, and repaint when it emits. Setters validate first and
emit only when something really changed.

Every pipeline edit is a :class:`PipelineCommand` on the ``QUndoStack`` holding the pipeline before
and after, so undo and redo restore pipelines exactly. Consecutive edits carrying the same
``merge_key`` (dragging a spin box, retyping one kernel cell) merge into one command.

"Modified" (``dirty``) means the pipeline differs from the one last saved or opened: an edit that
brings it back (a layer switched off and on again, a value typed back) leaves it unmodified,
wherever that happens in the undo history.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from convstudio.app.i18n import tr
from convstudio.core import ConvStudioError, Layer, LayerInfo, Pipeline, PipelineError, as_chw

__all__ = ["Document", "PipelineCommand"]

_MERGE_ID = 0x0C5


class PipelineCommand(QUndoCommand):
    """Undo command: swap the Document's pipeline between `before` and `after`.

    The selection is part of the command, so undoing an edit shows the layer it touched.
    """

    def __init__(self, doc: Document, before: Pipeline, after: Pipeline, text: str, *,
                 merge_key: Any = None, select_before: int, select_after: int) -> None:
        super().__init__(text)
        self.doc = doc
        self.before = before
        self.after = after
        self.merge_key = merge_key
        self.select_before = select_before
        self.select_after = select_after

    def redo(self) -> None:
        self.doc._apply_pipeline(self.after, self.select_after)

    def undo(self) -> None:
        self.doc._apply_pipeline(self.before, self.select_before)

    def id(self) -> int:
        return _MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, PipelineCommand) or other.merge_key is None \
                or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        self.select_after = other.select_after
        # Dragging a value back to where it started leaves nothing to undo.
        if self.after == self.before:
            self.setObsolete(True)
        return True


class Document(QObject):
    """The app's state. See the module docstring.

    Signals
    -------
    imageChanged()
        A new image (array, name or path).
    pipelineChanged()
        The pipeline value changed (any edit, undo, redo, open).
    selectionChanged(int)
        The selected layer index changed (0 = the input).
    dirtyChanged(bool)
        The pipeline has (True) or no longer has (False) changes not saved to its file.
    filePathChanged()
        The pipeline's file path changed (Save as, Open).
    pipelineReset()
        A new pipeline replaced the old one together with its history (New, Open): what was
        shown about the old one (a clicked pixel, a lesson) no longer applies. Emitted after
        ``pipelineChanged``.
    """

    imageChanged = Signal()
    pipelineChanged = Signal()
    selectionChanged = Signal(int)
    dirtyChanged = Signal(bool)
    filePathChanged = Signal()
    pipelineReset = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._image: np.ndarray | None = None
        self._image_name = ""
        self._image_path: Path | None = None
        self._keep_alpha = False
        self._pipeline = Pipeline()
        self._selected = 0
        self._file_path: Path | None = None
        self._analysis_cache: tuple[Pipeline, tuple, list[LayerInfo]] | None = None
        self._saved_pipeline = self._pipeline  # as last saved or opened: "unmodified"
        self._reset_count = 0
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        # after every push, undo and redo (the stack's index is final by then)
        self.undo_stack.indexChanged.connect(self._check_clean)

    # ------------------------------------------------------------------ image
    @property
    def image(self) -> np.ndarray | None:
        """The input, ``(C, H, W) float32``, read-only; None before the first image."""
        return self._image

    @property
    def image_name(self) -> str:
        return self._image_name

    @property
    def image_path(self) -> Path | None:
        return self._image_path

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        return None if self._image is None else tuple(self._image.shape)  # type: ignore[return-value]

    @property
    def keep_alpha(self) -> bool:
        return self._keep_alpha

    def set_keep_alpha(self, keep: bool, *, reload: bool = True) -> None:
        """Whether the next image loaded keeps its alpha channel; with `reload` the current file
        is read again here (the window reads it on its image loader instead)."""
        keep = bool(keep)
        if keep == self._keep_alpha:
            return
        self._keep_alpha = keep
        if reload and self._image_path is not None:
            try:
                self.load_image(self._image_path)
            except ConvStudioError:
                pass  # the file went away: keep what is shown

    def load_image(self, path: str | os.PathLike) -> None:
        """Read an image file and make it the input.

        Raises
        ------
        ImageIOError
            The file is missing, corrupt, unsupported or too large; the current image stays.
        """
        from convstudio.core.imageio import load_image

        p = Path(path)
        x = load_image(p, keep_alpha=self._keep_alpha)
        self._set_image(x, p.name, p)

    def set_loaded_image(self, x: np.ndarray, path: str | os.PathLike) -> None:
        """Make an image already read from `path` (by ``load_image``, e.g. in a worker thread)
        the input; the path is remembered as the current image file."""
        p = Path(path)
        self._set_image(as_chw(x), p.name, p)

    def set_converted_image(self, x: np.ndarray, name: str) -> None:
        """Make an image converted for it the input, as it is: a ``(C, H, W) float32`` array of
        finite values that nothing else holds (a pasted image, made on the image loader's
        thread). Unlike :meth:`set_image_array` it neither copies nor scans it (at 24 MP that
        took 135 ms on the GUI thread)."""
        self._set_image(x, name, None)

    def set_image_array(self, x: Any, name: str = "image") -> None:
        """Make an array the input: ``(H, W)`` or ``(C, H, W)``, any real dtype (cast to float32).

        Raises
        ------
        PipelineError
            Not a usable image array (wrong number of axes, empty, not numeric, not finite).
        """
        a = as_chw(x)
        if not np.isfinite(a).all():
            raise PipelineError("the image holds NaN or infinite values")
        self._set_image(a if a is not x else a.copy(), name, None)

    def _set_image(self, x: np.ndarray, name: str, path: Path | None) -> None:
        x = np.ascontiguousarray(x, dtype=np.float32)
        x.setflags(write=False)
        self._image, self._image_name, self._image_path = x, name, path
        self.imageChanged.emit()

    # ------------------------------------------------------------------ pipeline
    @property
    def pipeline(self) -> Pipeline:
        return self._pipeline

    @property
    def file_path(self) -> Path | None:
        """Where the pipeline was opened from or last saved to (None: never saved)."""
        return self._file_path

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def set_pipeline(self, p: Pipeline, *, text: str | None = None, merge_key: Any = None,
                     select: int | None = None) -> None:
        """Replace the whole pipeline as one undoable edit (nothing happens if it is equal).
        `text` names the edit in Edit ▸ Undo, in the interface's language (made with ``tr()``)."""
        if not isinstance(p, Pipeline):
            raise TypeError(f"expected a Pipeline, got {type(p).__name__}")
        if p == self._pipeline:
            return
        sel_before = self._selected
        sel_after = self._clamp(self._selected if select is None else select, len(p))
        text = tr("Change pipeline") if text is None else text
        self.undo_stack.push(PipelineCommand(self, self._pipeline, p, text, merge_key=merge_key,
                                             select_before=sel_before, select_after=sel_after))
        self._check_clean()  # (a merge need not move the index)

    def replace_layer(self, i: int, layer: Layer, *, text: str | None = None,
                      merge_key: Any = None) -> None:
        """Replace layer `i` (1-based; 0 is the input and cannot be replaced)."""
        self._check_index(i)
        if not isinstance(layer, Layer):
            raise TypeError(f"expected a Layer, got {type(layer).__name__}")
        if layer == self._pipeline.layers[i - 1]:
            return
        key = None if merge_key is None else ("layer", i, merge_key)
        self.set_pipeline(self._pipeline.replace_layer(i - 1, layer),
                          text=text or tr("Edit layer {n}").format(n=i), merge_key=key, select=i)

    def add_layer(self, layer: Layer, at: int | None = None) -> None:
        """Insert `layer` so that it becomes layer `at` (1-based; default: after the selected
        layer) and select it."""
        if at is None:
            at = self._selected + 1
        if not 1 <= at <= len(self._pipeline) + 1:
            raise IndexError(f"cannot insert at layer {at} of {len(self._pipeline)}")
        self.set_pipeline(self._pipeline.insert_layer(at - 1, layer),
                          text=tr("Add {type} layer").format(type=layer.type), select=at)

    def remove_layer(self, i: int) -> None:
        self._check_index(i)
        layer = self._pipeline.layers[i - 1]
        self.set_pipeline(self._pipeline.remove_layer(i - 1), text=tr("Remove layer {n} ({type})").format(
                              n=i, type=layer.type),
                          select=min(i, len(self._pipeline) - 1))

    def duplicate_layer(self, i: int) -> None:
        self._check_index(i)
        layer = self._pipeline.layers[i - 1]
        self.set_pipeline(self._pipeline.insert_layer(i, layer),
                          text=tr("Duplicate layer {n} ({type})").format(n=i, type=layer.type), select=i + 1)

    def move_layer(self, src: int, dst: int) -> None:
        """Move layer `src` so that it becomes layer `dst` (both 1-based)."""
        self._check_index(src)
        self._check_index(dst)
        if src == dst:
            return
        self.set_pipeline(self._pipeline.move_layer(src - 1, dst - 1),
                          text=tr("Move layer {src} to {dst}").format(src=src, dst=dst), select=dst)

    def set_layer_enabled(self, i: int, enabled: bool) -> None:
        import dataclasses

        self._check_index(i)
        layer = self._pipeline.layers[i - 1]
        if layer.enabled == bool(enabled):
            return
        self.set_pipeline(
            self._pipeline.replace_layer(i - 1, dataclasses.replace(layer, enabled=bool(enabled))),
            text=(tr("Enable layer {n}") if enabled else tr("Disable layer {n}")).format(n=i), select=self._selected)

    def new_pipeline(self, p: Pipeline | None = None) -> None:
        """Start afresh with `p` (default empty): no file, no undo history, not dirty."""
        self._reset(p or Pipeline(), None)

    def open_pipeline(self, path: str | os.PathLike) -> None:
        """Read a pipeline file and make it current (history cleared, not dirty).

        Raises
        ------
        PipelineError
            Missing or malformed file; the current pipeline stays.
        """
        p = Path(path)
        self.adopt_pipeline(Pipeline.load(p), p)

    def adopt_pipeline(self, pipeline: Pipeline, path: str | os.PathLike) -> None:
        """Make `pipeline`, already read from `path` (e.g. on a worker thread), current, as
        :meth:`open_pipeline` does: history cleared, not dirty, `path` its file."""
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"expected a Pipeline, got {type(pipeline).__name__}")
        self._reset(pipeline, Path(path))

    def save_pipeline(self, path: str | os.PathLike | None = None) -> Path:
        """Write the pipeline (atomically) to `path`, or to its own file; marks it clean.

        Raises
        ------
        ConvStudioError / OSError
            The file could not be written; the Document stays dirty.
        ValueError
            No path given and the pipeline has never been saved.
        """
        target = Path(path) if path is not None else self._file_path
        if target is None:
            raise ValueError("the pipeline has no file yet: give a path")
        pipeline = self._pipeline
        pipeline.save(target)
        self.mark_saved(pipeline, target)
        return target

    @property
    def reset_count(self) -> int:
        """How many times a new pipeline replaced the old one with its history (New, Open): a
        job started for one document compares it to know whether the document is still that one."""
        return self._reset_count

    def mark_saved(self, pipeline: Pipeline, path: str | os.PathLike) -> bool:
        """`pipeline`, a value this document held, was written to `path` (e.g. by a worker
        thread while editing went on): `path` becomes the file, and "unmodified" means equal to
        `pipeline` from now on. The document is clean if it still holds that pipeline; otherwise
        it stays modified, and undoing back to `pipeline` makes it clean. Returns whether it is
        clean now."""
        target = Path(path)
        changed = target != self._file_path
        self._file_path = target
        self._saved_pipeline = pipeline
        if self._pipeline is pipeline or self._pipeline == pipeline:
            self.undo_stack.setClean()
        else:
            # The history's clean point (if any) is the state saved before: the file no longer
            # holds it. Without a clean point, _check_clean finds the saved pipeline by value.
            self.undo_stack.resetClean()
        if changed:
            self.filePathChanged.emit()
        return not self.dirty

    def _reset(self, pipeline: Pipeline, path: Path | None) -> None:
        was_dirty = self.dirty
        with_signals_blocked = self.undo_stack.blockSignals(True)
        try:
            self.undo_stack.clear()
            self.undo_stack.setClean()
        finally:
            self.undo_stack.blockSignals(with_signals_blocked)
        path_changed = path != self._file_path
        self._reset_count += 1
        self._file_path = path
        self._saved_pipeline = pipeline
        self._apply_pipeline(pipeline, self._clamp(self._selected, len(pipeline)), force=True)
        if path_changed:
            self.filePathChanged.emit()
        if was_dirty:
            self.dirtyChanged.emit(False)
        self.pipelineReset.emit()

    # ------------------------------------------------------------------ selection
    @property
    def selected(self) -> int:
        """Selected layer index, 0 = the input, up to len(pipeline)."""
        return self._selected

    def select(self, i: int) -> None:
        i = int(i)
        if not 0 <= i <= len(self._pipeline):
            raise IndexError(f"no layer {i}: the pipeline has {len(self._pipeline)} layers")
        if i != self._selected:
            self._selected = i
            self.selectionChanged.emit(i)

    @property
    def selected_layer(self) -> Layer | None:
        return self._pipeline.layers[self._selected - 1] if self._selected else None

    # ------------------------------------------------------------------ analysis
    def analysis(self) -> list[LayerInfo]:
        """Shapes, receptive fields and errors of every layer for the current image's shape
        (``[]`` without an image). Cached per pipeline and shape."""
        shape = self.image_shape
        if shape is None:
            return []
        c = self._analysis_cache
        if c is not None and c[0] is self._pipeline and c[1] == shape:
            return c[2]
        infos = self._pipeline.analyze(shape)
        self._analysis_cache = (self._pipeline, shape, infos)
        return infos

    def first_error(self) -> LayerInfo | None:
        """The first layer that does not fit its input, if any."""
        return next((info for info in self.analysis() if info.error is not None), None)

    # ------------------------------------------------------------------ internals
    def _apply_pipeline(self, p: Pipeline, select: int, *, force: bool = False) -> None:
        # State first, signals after: a view reacting to pipelineChanged may read the selection.
        changed = force or p is not self._pipeline
        self._pipeline = p
        select = self._clamp(select, len(p))
        selection_changed = select != self._selected
        self._selected = select
        if changed:
            self.pipelineChanged.emit()
        if selection_changed:
            self.selectionChanged.emit(select)

    def _on_clean_changed(self, clean: bool) -> None:
        self.dirtyChanged.emit(not clean)

    def _check_clean(self, *_args) -> None:
        """Back at the saved pipeline by another way than undo (an edit undone by hand, a layer
        switched off and on): make this point of the history the clean one."""
        stack = self.undo_stack
        if not stack.isClean() and self._pipeline == self._saved_pipeline:
            stack.setClean()

    def _check_index(self, i: int) -> None:
        if not 1 <= i <= len(self._pipeline):
            raise IndexError(f"no layer {i}: the pipeline has {len(self._pipeline)} layers")

    @staticmethod
    def _clamp(i: int, n: int) -> int:
        return max(0, min(int(i), n))
