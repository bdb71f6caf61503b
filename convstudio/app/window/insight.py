"""Seeing why: receptive fields, the effective receptive field, the computation inspector, the shape
formula, the OpenCV cross-check, border modes side by side, the combined kernel and code export,
wired into the main window.

:class:`InsightController` adds to a :class:`~convstudio.app.window.main_window.MainWindow`:

* hover a pixel of the selected layer: its receptive field on the input (padding part hatched red);
  click: pinned (Esc or "Clear pins" removes the pins), explained in the Inspector, and, with
  View ▸ ERF heat map, its effective receptive field as a heat map over the input;
* two docks at the bottom: "Seeing why" (pages Shapes & formula, Receptive fields, Cross-check,
  Combined kernel) and the Inspector beside it;
* Layer ▸ Compare border modes…, Layer ▸ Show combined kernel, Edit ▸ Copy as PyTorch / Copy as
  NumPy/OpenCV.

Everything slow (ERF, cross-check, border modes, combined kernel, code export) runs in
:class:`~convstudio.app.model.worker.Worker` s, one per panel (newest job wins).
:meth:`shutdown` stops them (the window calls it when it closes).

Coordinates: the layers may be computed on a preview copy of a large image (the renderer's
``factor``); every pixel index here is in that computed grid, and drawing maps it to
full-resolution input coordinates through :func:`~convstudio.app.views.receptive_overlay.layer_placement`.

The controller is split into mixins: :mod:`~convstudio.app.window.insight_actions` (actions, docks,
menus, layout, code export) and :mod:`~convstudio.app.window.insight_jobs` (inspector, ERF,
cross-check, border modes, combined kernel).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QMainWindow

from convstudio.app.dialogs.border_compare import BorderCompareDialog, compares_borders
from convstudio.app.i18n import made_at_run_time, notifier, tr
from convstudio.app.model.worker import Worker
from convstudio.app.panels.shapes_panel import dropped_cells
from convstudio.app.views.erf_overlay import ErfOverlay
from convstudio.app.views.receptive_overlay import Mark, ReceptiveOverlay, cells_rect, layer_placement, window_on_layer
from convstudio.app.window.insight_actions import InsightActionsMixin
from convstudio.app.window.insight_jobs import InsightJobsMixin, _span

__all__ = ["InsightController"]

_DROP_PEN_COLOUR = (235, 40, 40)

#: How long after a new image the shapes and receptive-field tables are rewritten (ms).
TABLES_DELAY_MS = 40


class InsightController(InsightActionsMixin, InsightJobsMixin, QObject):
    """See the module docstring. The window must offer ``doc``, ``renderer``, ``input_view``,
    ``layer_view``, ``linker``, ``layer_panel``, ``menuBar()``,
    ``show_message()``, ``centralWidget()`` and ``actions_by_name``."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.renderer = window.renderer
        self.erf_task = Worker("ConvStudio ERF", self)
        self.check_task = Worker("ConvStudio cross-check", self)
        self.border_task = Worker("ConvStudio border modes", self)
        self.combined_task = Worker("ConvStudio combined kernel", self)
        self.inspect_task = Worker("ConvStudio inspector", self)
        self.code_task = Worker("ConvStudio code export", self)  # Edit ▸ Copy as ... (insight_actions)
        self._code_asked: tuple[int, str] | None = None  # (token, language) of the newest copy asked for
        self._code_copied: tuple[int, str] | None = None  # (token, text) of the newest copied
        self.view_state = window.view_state  # holds the clicked pixel (``pixel``)
        self.erf: np.ndarray | None = None
        self.erf_origin = (0, 0)  # (row, col) of the input pixel where `erf` starts
        self._context_cache: tuple | None = None
        self._combined_key: tuple | None = None
        self._drop_keys: set = set()
        self._border_dialog: BorderCompareDialog | None = None
        self._border_layer: int | None = None
        self._closed = False
        self._erf_said: tuple = ()  # what the ERF's text says (InsightJobsMixin._say_erf)
        # A new image rewrites the shapes and receptive-field tables a moment later: the image
        # change's own slots then take 5 instead of 18 ms at 24 MP, and the window repaints and
        # takes input in between (a zero delay ran them in the same turn of the event loop;
        # docs/performance.md, round 4).
        self._tables_later = QTimer(self)
        self._tables_later.setSingleShot(True)
        self._tables_later.setInterval(TABLES_DELAY_MS)
        self._tables_later.timeout.connect(self._update_tables)

        self.overlay = ReceptiveOverlay(self._context, self, state=window.view_state)  # pins: the view state
        self.overlay.add_target(window.input_view, lambda: 0 if self._context() else None)
        self.overlay.add_target(window.layer_view, self._layer_view_index)
        self.overlay.pinsChanged.connect(self._update_pins_text)
        self.erf_overlay = ErfOverlay(window.input_view)

        self._build_actions()
        self._build_docks()
        made_at_run_time(self.receptive.erf_label)  # made with tr() here (_say_erf), again on a switch
        self._build_menus()
        self._connect()
        window.installEventFilter(self)
        self.refresh_all()


    def _connect(self) -> None:
        w, d, r = self.window, self.doc, self.renderer
        d.imageChanged.connect(self._on_image_changed)
        d.pipelineChanged.connect(self._on_pipeline_changed)
        d.pipelineReset.connect(self.forget_clicks)
        d.selectionChanged.connect(self._on_selection_changed)
        r.finished.connect(self._on_render_finished)
        w.layer_view.hovered.connect(self._on_layer_hovered)
        w.layer_view.clicked.connect(self._on_layer_clicked)
        self.receptive.layerActivated.connect(self._on_table_row)
        self.receptive.clearPinsRequested.connect(self.clear_pins)
        self.receptive.boxesToggled.connect(self.overlay.set_visible)
        self.shapes.highlightToggled.connect(lambda _on: self._update_dropped())
        self.tabs.currentChanged.connect(lambda _i: self._update_combined())
        self.insight_dock.visibilityChanged.connect(lambda _v: self._update_combined())
        self.crosscheck.enabledChanged.connect(self._on_crosscheck_toggled)
        notifier().languageChanged.connect(self._on_language_changed)
        self.inspect_task.done.connect(self._on_inspect_done)
        self.inspect_task.failed.connect(self._on_inspect_failed)
        self.erf_task.done.connect(self._on_erf_done)
        self.erf_task.failed.connect(self._on_erf_failed)
        self.check_task.done.connect(self._on_check_done)
        self.check_task.failed.connect(self._on_check_failed)
        self.combined_task.done.connect(self._on_combined_done)
        self.combined_task.failed.connect(self._on_combined_failed)
        self.code_task.done.connect(self._on_code_done)
        self.code_task.failed.connect(self._on_code_failed)

    # ================================================================== layout
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if obj is self.window and event.type() == QEvent.Type.Show:
            self.window.removeEventFilter(self)
            if getattr(self.window, "_default_layout_pending", False):
                QTimer.singleShot(0, self._apply_default_sizes)
        return False


    # ================================================================== tasks / teardown
    def tasks(self) -> list[Worker]:
        return [self.inspect_task, self.erf_task, self.check_task, self.border_task,
                self.combined_task, self.crosscheck.view_task, self.code_task]

    @property
    def busy(self) -> bool:
        """Whether a panel's newest job has not delivered yet."""
        return any(task.busy for task in self.tasks())

    def wait_idle(self, timeout_ms: int = 30_000) -> bool:
        return all(task.wait_idle(timeout_ms) for task in self.tasks())

    def shutdown(self) -> None:
        """Stop every worker thread and wait for it (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.erf_overlay.stop()
        if self._border_dialog is not None:
            self._border_dialog.close()
        for task in self.tasks():
            task.shutdown()

    # ================================================================== context
    def _context(self):
        """(pipeline, shapes, factor) of what is computed, or None."""
        x = self.renderer.input
        if x is None or self.doc.image is None:
            return None
        pipeline = self.doc.pipeline
        factor = self.renderer.factor
        key = (pipeline, x.shape, factor)
        c = self._context_cache
        if c is not None and c[0][0] is pipeline and c[0][1:] == key[1:]:
            return c[1]
        shapes = [tuple(x.shape)] + [info.output_shape for info in pipeline.analyze(x.shape)]
        ctx = (pipeline, shapes, factor)
        self._context_cache = (key, ctx)
        return ctx

    def _layer_view_index(self) -> int | None:
        return self.doc.selected if self.window.layer_view.maps() is not None else None

    def _computed(self, layer: int) -> bool:
        """Whether the renderer's outputs up to `layer` belong to the current pipeline."""
        r = self.renderer
        return (not r.busy and r.input is not None and layer <= len(r.outputs)
                and not any(i <= layer for i in r.errors))

    # ================================================================== Document / renderer
    def refresh_all(self) -> None:
        self._update_tables()
        self.overlay.refresh()
        self._update_dropped()
        self._update_actions()
        self._update_combined()
        self._update_inspector()
        self._update_pins_text()

    def _on_language_changed(self, _language: str) -> None:
        """The pages' texts, made again in the new language (docs/developing.md, "Translations")."""
        self._combined_key = None
        self.refresh_all()
        self._say_erf_again()
        self._refresh_border_dialog()

    def _on_image_changed(self) -> None:
        self._set_erf(None)
        self._tables_later.start()
        self._update_combined()
        self.forget_clicks()  # a click on another image explains nothing here

    def forget_clicks(self) -> None:
        """Drop the clicked pixel, the pins and the hover box (a new image or a new pipeline):
        the Inspector and the Receptive fields page go back to what they say before a click."""
        self.pixel = None
        self.inspect_task.cancel()
        self.erf_task.cancel()
        self._set_erf(None)
        self.overlay.set_hover(None)
        self.overlay.clear_pins()  # (pinsChanged rewrites the pins text)
        self._update_inspector()
        if self.actions["erf"].isChecked():
            self._say_erf("hint")

    def _on_pipeline_changed(self) -> None:
        self._update_tables()
        self.overlay.refresh()
        self._update_dropped()
        self._update_actions()
        self._update_combined()
        self._update_inspector()

    def _on_selection_changed(self, index: int) -> None:
        if self.pixel is not None and self.pixel.layer != index:
            self.pixel = None
            self._set_erf(None)
        self._update_tables()
        self.overlay.set_hover(None)
        self.overlay.refresh()
        self._update_dropped()
        self._update_actions()
        self._update_combined()
        self._update_inspector()
        if self.actions["erf"].isChecked() and self.pixel is None:
            self._say_erf("hint")

    def _on_render_finished(self, _generation: int, _outputs, _errors) -> None:
        if self._closed:
            return
        self.overlay.refresh()
        self._update_dropped()
        self._update_inspector()
        self._update_pins_text()
        if self.pixel is not None and self.actions["erf"].isChecked():
            self._request_erf()
        if self.crosscheck.is_on():
            self._run_crosscheck()
        self._refresh_border_dialog()
        self.erf_overlay.schedule()

    def _update_actions(self) -> None:
        layer = self.doc.selected_layer
        self.actions["compare_borders"].setEnabled(compares_borders(layer))
        self.actions["combined"].setEnabled(layer is not None)

    def _update_tables(self) -> None:
        self._tables_later.stop()  # (up to date now, whoever asked)
        if self._closed:
            return
        shape = self.doc.image_shape
        self.shapes.update_for(self.doc.pipeline, shape, self.doc.selected)
        self.receptive.update_table(self.doc.pipeline, shape, self.doc.analysis(),
                                    self.doc.selected)

    def _on_table_row(self, row: int) -> None:
        if 0 <= row <= len(self.doc.pipeline):
            self.doc.select(row)

    # ================================================================== receptive fields
    def _on_layer_hovered(self, info) -> None:
        sel = self.doc.selected
        if info is None or sel < 1 or info.view_id != self.window.layer_view.view_id \
                or info.channel < 0:
            self.overlay.set_hover(None)
            return
        self.overlay.set_hover(Mark(sel, info.row, info.col, info.channel))

    def _on_layer_clicked(self, info) -> None:
        sel = self.doc.selected
        if sel < 1 or info.channel < 0:
            return
        self.select_pixel(Mark(sel, info.row, info.col, info.channel))

    def select_pixel(self, mark: Mark, *, pin: bool = True) -> None:
        """Make `mark` the clicked pixel: pin its box, explain it, and (if on) show its ERF."""
        if pin:
            self.overlay.pin(mark)
        self.pixel = mark
        self._update_inspector()
        if not self.inspector_dock.isHidden():  # not closed by the user
            self.inspector_dock.raise_()
        if self.actions["erf"].isChecked():
            self._request_erf()

    def clear_pins(self) -> None:
        self.overlay.clear_pins()

    def _update_pins_text(self) -> None:
        ctx = self._context()
        lines = []
        if ctx is not None:
            pipeline, shapes, factor = ctx
            for colour, m in zip(self.overlay.pin_colours(), self.overlay.pins()):
                r0, r1, c0, c1 = window_on_layer(pipeline, m.layer, m.row, m.col)
                _, h, w = shapes[0]
                pad_r = max(0, -r0) + max(0, r1 - h)
                pad_c = max(0, -c0) + max(0, c1 - w)
                pad = ""
                if pad_r or pad_c:
                    rows = tr("{n} row") if pad_r == 1 else tr("{n} rows")
                    cols = tr("{n} column") if pad_c == 1 else tr("{n} columns")
                    pad = tr("; {rows} and {cols} of it in padding").format(
                        rows=rows.format(n=pad_r), cols=cols.format(n=pad_c))
                unit = tr(" (preview pixels)") if factor > 1 else ""
                lines.append((colour, tr("layer {n} (row {row}, col {col}): input rows {rows}, cols {cols}{unit} — "
                                         "{h} × {w}{pad}").format(
                    n=m.layer, row=m.row, col=m.col, rows=_span(r0, r1), cols=_span(c0, c1), unit=unit,
                    h=r1 - r0, w=c1 - c0, pad=pad)))
        self.receptive.set_pins(lines)

    # ================================================================== rounding highlight
    def _update_dropped(self) -> None:
        view = self.window.input_view
        keys = set()
        ctx = self._context()
        sel = self.doc.selected
        if ctx is not None and sel >= 1 and self.shapes.highlight_box.isChecked():
            pipeline, shapes, factor = ctx
            prev = shapes[sel - 1] if sel - 1 < len(shapes) else None
            if prev is not None and sel < len(shapes) and shapes[sel] is not None:
                placement = layer_placement(pipeline, sel - 1, factor)
                pen = QPen(QColor(*_DROP_PEN_COLOUR))
                pen.setCosmetic(True)
                pen.setWidthF(1.5)
                for n, cells in enumerate(dropped_cells(pipeline.layers[sel - 1], prev)):
                    key = ("dropped", n)
                    view.add_rect_overlay(key, cells_rect(placement, cells), pen=pen,
                                          brush=QColor(*_DROP_PEN_COLOUR, 90))
                    keys.add(key)
        for key in self._drop_keys - keys:
            view.remove_overlay(key)
        self._drop_keys = keys

    def dropped_overlay_keys(self) -> list:
        return sorted(self._drop_keys)
