"""Hover a weight in the kernel editor: every input pixel it multiplies lights up on the input view.

Weight sharing made visible: one weight of a convolution meets one input pixel at every output
position, so hovering it highlights a whole lattice of pixels (every stride-th pixel, offset by
the weight's place in the kernel times the dilation, less what falls in zero padding).
:func:`convstudio.session.connectivity.weight_footprint` computes the mask, in a background job
(large images), and the mask is drawn like the effective receptive field
(:class:`~convstudio.app.views.erf_overlay.ErfOverlay`, in the legend's red). Only the first
layer's weights multiply the image itself; for a deeper layer the status bar says so.
See docs/user-guide.md, "Hovering a weight".
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QModelIndex, QObject

from convstudio.app.i18n import tr
from convstudio.app.model.worker import Worker
from convstudio.app.views.erf_overlay import ErfOverlay, heat_images
from convstudio.core import Conv2d
from convstudio.session.connectivity import weight_footprint

__all__ = ["WeightHover"]


class WeightHover(QObject):
    """Connects the window's kernel editor to an overlay on its input view.

    ``mask`` is the ``(C, H, W) bool`` footprint shown now (None: nothing highlighted);
    ``cell`` the weight ``(out, in, a, b)`` it belongs to.
    """

    def __init__(self, window, worker: Worker) -> None:
        super().__init__(window)
        self.window = window
        self.worker = worker
        self.mask: np.ndarray | None = None
        self.cell: tuple[int, int, int, int] | None = None
        self.overlay = ErfOverlay(window.input_view)
        view = window.kernel_editor.table_view()
        view.setMouseTracking(True)
        view.entered.connect(self.hover)
        view.viewport().installEventFilter(self)
        worker.done.connect(self._on_done)
        worker.failed.connect(lambda _t, _m: self.clear())
        for signal in (window.doc.imageChanged, window.doc.pipelineChanged, window.doc.selectionChanged):
            signal.connect(self.clear)

    def weight_at(self, index: QModelIndex) -> tuple[int, int, int, int] | None:
        """The weight ``(out, in, a, b)`` under grid cell `index` (for a 2-D kernel: out = in =
        -1, the same kernel on every channel)."""
        ed = self.window.kernel_editor
        w = ed.weight()
        if w is None or not index.isValid():
            return None
        r, c = index.row(), index.column()
        if w.ndim == 2:
            return -1, -1, r, c
        if ed.is_mixing_matrix():
            return r, c, 0, 0
        o, i = ed.current_slice()
        return o, i, r, c

    def hover(self, index: QModelIndex) -> None:
        """Highlight the input pixels the weight under `index` multiplies (layer 1 only)."""
        doc = self.window.doc
        layer, cell = doc.selected_layer, self.weight_at(index)
        if cell is None or not isinstance(layer, Conv2d) or doc.image is None:
            self.clear()
            return
        if doc.selected != 1:
            self.clear()
            self.window.show_message(tr("This weight multiplies layer {n}'s output, not the image: the input "
                                        "view highlights the first layer's weights").format(n=doc.selected - 1))
            return
        self.cell = cell
        # the pixels of the input the maps are computed from (a preview of a large image)
        x = self.window.renderer.input if self.window.renderer.input is not None else doc.image
        shape = x.shape if x.ndim == 3 else (1, *x.shape)
        self.worker.submit(lambda ctx: _footprint_job(layer, shape, cell))

    def clear(self, *_args) -> None:
        self.worker.cancel()
        self.cell = None
        if self.mask is not None:
            self.mask = None
            self.overlay.set_erf(None)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.Leave:
            self.clear()
        return False

    def _on_done(self, _token: int, result) -> None:
        cell, mask, heat = result
        if cell != self.cell:
            return
        self.mask = mask
        self.overlay.show_heat(heat, mask.shape)


def _footprint_job(layer: Conv2d, shape, cell):
    """(cell, mask, the mask's heat images (:func:`heat_images`)): on the worker thread
    (whole-image work: 170 ms per hovered cell at 24 MP on the GUI thread)."""
    o, i, a, b = cell
    if o < 0:  # the kernel form: the same weight on every channel
        mask = np.zeros(shape, dtype=bool)
        for ch in range(shape[0]):
            mask |= weight_footprint(layer, shape, ch, 0, a, b)
    else:
        mask = weight_footprint(layer, shape, o, i, a, b)
    return cell, mask, heat_images(mask.astype(np.float32))
