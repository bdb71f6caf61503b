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

Everything slow (ERF, cross-check, border modes, combined kernel) runs in
:class:`~convstudio.app.model.worker.BackgroundTask` workers; they run synchronously when the
renderer does (tests). :meth:`shutdown` stops them (the window calls it when it closes).

Coordinates: the layers may be computed on a preview copy of a large image (the renderer's
``factor``); every pixel index here is in that computed grid, and drawing maps it to
full-resolution input coordinates through :func:`~convstudio.app.views.receptive_overlay.layer_placement`.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QKeySequence, QPen
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QTabWidget

from convstudio.app.dialogs.border_compare import BorderCompareDialog
from convstudio.app.model.worker import BackgroundTask
from convstudio.app.panels.combined_panel import MAX_COMBINED_SIZE, CombinedKernelPanel, linear_run
from convstudio.app.panels.crosscheck_panel import CrossCheckPanel
from convstudio.app.panels.inspector import InspectorPanel, explanation_html
from convstudio.app.panels.receptive_panel import ReceptivePanel
from convstudio.app.panels.shapes_panel import ShapesPanel, dropped_cells
from convstudio.app.views.erf_overlay import ErfOverlay, erf_rgba, erf_summary
from convstudio.app.views.receptive_overlay import Mark, ReceptiveOverlay, cells_rect, layer_placement, window_on_layer
from convstudio.app.window.code_export import KINDS, copy_code, default_in_channels
from convstudio.core import Conv2d, Pipeline, PipelineError
from convstudio.core.crosscheck import crosscheck
from convstudio.core.explain import combined_kernel, effective_receptive_field, explain_pixel

__all__ = ["InsightController"]

_DROP_PEN_COLOUR = (235, 40, 40)


def _span(a: int, b: int) -> str:
    return f"{a}" if b - a == 1 else f"{a} to {b - 1}"


class InsightController(QObject):
    """See the module docstring. The window must offer ``doc``, ``renderer``, ``input_view``,
    ``layer_view``, ``linker``, ``layer_panel``, ``menuBar()``,
    ``show_message()``, ``centralWidget()`` and ``actions_by_name``."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.renderer = window.renderer
        self.erf_task = BackgroundTask("ConvStudio ERF", self)
        self.check_task = BackgroundTask("ConvStudio cross-check", self)
        self.border_task = BackgroundTask("ConvStudio border modes", self)
        self.combined_task = BackgroundTask("ConvStudio combined kernel", self)
        self.inspect_task = BackgroundTask("ConvStudio inspector", self)
        self.pixel: Mark | None = None  # the clicked output pixel (inspector, ERF)
        self.erf: np.ndarray | None = None
        self._context_cache: tuple | None = None
        self._combined_key: tuple | None = None
        self._drop_keys: set = set()
        self._border_dialog: BorderCompareDialog | None = None
        self._border_layer: int | None = None
        self._closed = False

        self.overlay = ReceptiveOverlay(self._context, self)
        self.overlay.add_target(window.input_view, lambda: 0 if self._context() else None)
        self.overlay.add_target(window.layer_view, self._layer_view_index)
        self.overlay.pinsChanged.connect(self._update_pins_text)
        self.erf_overlay = ErfOverlay(window.input_view)

        self._build_actions()
        self._build_docks()
        self._build_menus()
        self._connect()
        window.installEventFilter(self)
        self.refresh_all()

    # ================================================================== building
    def _action(self, text: str, slot, *, tip: str, shortcut=None, checkable: bool = False) -> QAction:
        act = QAction(text, self.window)
        act.setToolTip(tip)
        act.setStatusTip(tip)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setCheckable(checkable)
        if checkable:
            act.toggled.connect(slot)
        else:
            act.triggered.connect(lambda _c=False: slot())
        return act

    def _build_actions(self) -> None:
        w = self.window
        a = self.actions = {}
        a["erf"] = self._action("ERF heat map", self._on_erf_toggled, checkable=True,
                                tip="Show the effective receptive field of the clicked pixel "
                                    "(the exact gradient of its value with respect to every "
                                    "input pixel) as a heat map over the input")
        a["clear_pins"] = self._action("Clear receptive-field pins", self.clear_pins,
                                       shortcut="Esc", tip="Remove every pinned receptive-field "
                                                           "box")
        a["clear_pins"].setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        w.centralWidget().addAction(a["clear_pins"])
        a["compare_borders"] = self._action("Compare border modes…", self.compare_border_modes,
                                            tip="Show the selected conv layer with zeros / "
                                                "reflect / replicate / circular padding side by "
                                                "side")
        a["combined"] = self._action("Show combined kernel", self.show_combined,
                                     tip="The single kernel equivalent to the linear layers up "
                                         "to the selected one")
        a["copy_pytorch"] = self._action("Copy as PyTorch", lambda: self.copy_code("pytorch"),
                                         tip="Copy the pipeline as an nn.Sequential with its "
                                             "weights")
        a["copy_numpy"] = self._action("Copy as NumPy/OpenCV", lambda: self.copy_code("numpy"),
                                       tip="Copy the pipeline as a standalone NumPy + OpenCV "
                                           "script")
        by_name = getattr(w, "actions_by_name", None)
        if isinstance(by_name, dict):
            by_name["clear_pins"] = a["clear_pins"]  # listed in Help ▸ Keyboard shortcuts

    def _dock(self, title: str, name: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.window.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        w = self.window
        self.inspector = InspectorPanel()
        self.shapes = ShapesPanel()
        self.receptive = ReceptivePanel(self.actions["erf"])
        self.receptive.addAction(self.actions["clear_pins"])
        self.crosscheck = CrossCheckPanel(w.linker)
        self.combined = CombinedKernelPanel()
        # The four bottom panels are pages of one dock rather than four tabified docks: PySide6
        # 6.11's QMainWindow leaves a stray, painted tab bar behind when a second group of
        # tabified docks is formed (the Inspector / Layer parameters group is the only one).
        self.tabs = QTabWidget()
        self.tabs.setObjectName("insightTabs")
        self.tabs.setDocumentMode(True)
        self.pages = {"shapes": self.shapes, "receptive": self.receptive,
                      "crosscheck": self.crosscheck, "combined": self.combined}
        for key, title in (("shapes", "Shapes && formula"), ("receptive", "Receptive fields"),
                           ("crosscheck", "Cross-check"), ("combined", "Combined kernel")):
            self.tabs.addTab(self.pages[key], title)
        self.tabs.setCurrentWidget(self.receptive)
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.insight_dock = self._dock("Seeing why", "insightDock", self.tabs, bottom)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector, bottom)
        self.docks = [self.insight_dock, self.inspector_dock]
        self._arrange_docks()

    def _arrange_docks(self) -> None:
        # Side by side at the bottom, under the views: the inspector is wide (window × kernel =
        # products per channel) and wants to be seen together with the maps it explains.
        self.window.splitDockWidget(self.insight_dock, self.inspector_dock,
                                    Qt.Orientation.Horizontal)

    def show_page(self, key: str) -> None:
        """Show one of the bottom pages ("shapes", "receptive", "crosscheck", "combined")."""
        self.insight_dock.show()
        self.insight_dock.raise_()
        self.tabs.setCurrentWidget(self.pages[key])

    def _build_menus(self) -> None:
        w = self.window
        bar = w.menuBar()
        menus = {a.text().replace("&", "").lower(): a.menu() for a in bar.actions()
                 if isinstance(a.menu(), QMenu)}
        edit, view, layer = menus.get("edit"), menus.get("view"), menus.get("layer")
        if edit is not None:
            edit.addSeparator()
            edit.addAction(self.actions["copy_pytorch"])
            edit.addAction(self.actions["copy_numpy"])
        if view is not None:
            view.addSeparator()
            view.addAction(self.actions["erf"])
            view.addAction(self.actions["clear_pins"])
        if layer is not None:
            layer.addSeparator()
            layer.addAction(self.actions["compare_borders"])
            layer.addAction(self.actions["combined"])
        panels = getattr(w, "_panels_menu", None)
        if isinstance(panels, QMenu):
            for dock in self.docks:
                panels.addAction(dock.toggleViewAction())
            pages = panels.addMenu("Seeing why &pages")
            for key, title in (("shapes", "Shapes && formula"), ("receptive", "Receptive fields"),
                               ("crosscheck", "Cross-check"), ("combined", "Combined kernel")):
                pages.addAction(title).triggered.connect(lambda _c=False, k=key: self.show_page(k))
        # The layer list's right-click menu: its own actions and the two about one layer.
        view_widget = w.layer_panel.view
        view_widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view_widget.customContextMenuRequested.connect(self._on_layer_context_menu)

    def _on_layer_context_menu(self, pos) -> QMenu:
        lp = self.window.layer_panel
        menu = QMenu(lp.view)
        for key in ("duplicate", "move_up", "move_down", "toggle", "remove"):
            if key in lp.actions:
                menu.addAction(lp.actions[key])
        menu.addSeparator()
        menu.addAction(self.actions["compare_borders"])
        menu.addAction(self.actions["combined"])
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(lp.view.viewport().mapToGlobal(pos))
        return menu

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
        self.inspect_task.done.connect(self._on_inspect_done)
        self.inspect_task.failed.connect(self._on_inspect_failed)
        self.erf_task.done.connect(self._on_erf_done)
        self.erf_task.failed.connect(self._on_erf_failed)
        self.check_task.done.connect(self._on_check_done)
        self.check_task.failed.connect(self._on_check_failed)
        self.combined_task.done.connect(self._on_combined_done)
        self.combined_task.failed.connect(self._on_combined_failed)

    # ================================================================== layout
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if obj is self.window and event.type() == QEvent.Type.Show:
            self.window.removeEventFilter(self)
            if getattr(self.window, "_default_layout_pending", False):
                QTimer.singleShot(0, self._apply_default_sizes)
        return False

    def _apply_default_sizes(self) -> None:
        if self._closed:
            return
        w = self.window
        w.resizeDocks([self.insight_dock], [280], Qt.Orientation.Vertical)
        width = max(400, w.width())
        w.resizeDocks([self.insight_dock, self.inspector_dock], [int(width * 0.58),
                                                                 int(width * 0.42)],
                      Qt.Orientation.Horizontal)

    def reset_layout(self) -> None:
        """Put the docks back where they start (View ▸ Reset layout)."""
        w = self.window
        for dock in self.docks:
            dock.setFloating(False)
            w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            dock.show()
        self._arrange_docks()
        self._apply_default_sizes()

    # ================================================================== tasks / teardown
    def tasks(self) -> list[BackgroundTask]:
        return [self.inspect_task, self.erf_task, self.check_task, self.border_task,
                self.combined_task]

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

    def _on_image_changed(self) -> None:
        self._set_erf(None)
        self._update_tables()
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
            self.receptive.set_erf_text("<span style='color:gray'>ERF heat map: click a pixel "
                                        "of the selected layer.</span>")

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
            self.receptive.set_erf_text("<span style='color:gray'>ERF heat map: click a pixel "
                                        "of the selected layer.</span>")

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
        self.actions["compare_borders"].setEnabled(isinstance(layer, Conv2d))
        self.actions["combined"].setEnabled(layer is not None)

    def _update_tables(self) -> None:
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
                    pad = f"; {pad_r} row{'s' if pad_r != 1 else ''} and {pad_c} column" \
                          f"{'s' if pad_c != 1 else ''} of it in padding"
                unit = " (preview pixels)" if factor > 1 else ""
                lines.append((colour, f"layer {m.layer} (row {m.row}, col {m.col}): input rows "
                                      f"{_span(r0, r1)}, cols {_span(c0, c1)}{unit} — "
                                      f"{r1 - r0} × {c1 - c0}{pad}"))
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

    # ================================================================== inspector
    def _update_inspector(self) -> None:
        m = self.pixel
        if m is None:
            self.inspect_task.cancel()
            sel = self.doc.selected
            self.inspector.set_message(
                "Click a pixel of the selected layer's maps to see how its value was computed."
                if sel >= 1 else "The input is not computed by anything: select a layer and "
                                 "click one of its pixels.")
            return
        if self.renderer.busy:
            # keep what is shown (no flicker while a value is dragged); the result follows
            self.inspector.set_status(f"updating layer {m.layer}…")
            return
        ctx = self._context()
        if ctx is None or not self._computed(m.layer):
            self.inspect_task.cancel()
            self.inspector.set_message(f"Layer {m.layer} has no output to explain (it does not "
                                       "fit its input, or an earlier layer does not).")
            return
        _, shapes, factor = ctx
        c, h, w = shapes[m.layer]
        if not (0 <= m.channel < c and 0 <= m.row < h and 0 <= m.col < w):
            self.pixel = None
            self.inspect_task.cancel()
            self.inspector.set_message("The clicked pixel is no longer in the layer's map.")
            return
        note = (f"Computed on the preview copy (1/{factor} of the image; View ▸ Preview large "
                "images switches it off)." if factor > 1 else "")
        pipeline, x = self.doc.pipeline, self.renderer.input
        outputs = list(self.renderer.outputs[:m.layer])

        def job(_cancelled, p=pipeline, xx=x, outs=outputs, mark=m, nt=note):
            # In the worker: a huge kernel's window lists and their page take a while to build.
            info = explain_pixel(p, xx, mark.layer, mark.channel, mark.row, mark.col, outputs=outs)
            return mark, p, info, explanation_html(info, mode_note=nt)

        self.inspector.set_status("computing…")
        self.inspect_task.submit(job)

    def _on_inspect_done(self, _token: int, result) -> None:
        mark, pipeline, info, page = result
        if mark != self.pixel or pipeline is not self.doc.pipeline:
            return
        self.inspector.set_explanation(info, page=page)

    def _on_inspect_failed(self, _token: int, message: str) -> None:
        self.inspector.set_message(message)

    # ================================================================== ERF
    def _on_erf_toggled(self, on: bool) -> None:
        if not on:
            self.erf_task.cancel()
            self._set_erf(None)
            self.receptive.set_erf_text("")
            return
        if not self.insight_dock.isHidden():
            self.show_page("receptive")  # where the ERF's numbers are written
        if self.pixel is None:
            self.receptive.set_erf_text("<span style='color:gray'>ERF heat map: click a pixel of "
                                        "the selected layer.</span>")
            return
        self._request_erf()

    def _request_erf(self) -> None:
        m = self.pixel
        if m is None or not self._computed(m.layer):
            return
        pipeline, x = self.doc.pipeline, self.renderer.input
        outputs = list(self.renderer.outputs[:m.layer])
        self.receptive.set_erf_text(f"<span style='color:gray'>Computing the effective receptive "
                                    f"field of layer {m.layer} (row {m.row}, col {m.col})…</span>")

        def job(cancelled, p=pipeline, xx=x, outs=outputs, mark=m):
            g = effective_receptive_field(p, xx, mark.layer, mark.channel, mark.row, mark.col,
                                          outputs=outs)
            if cancelled():
                from convstudio.core import RunCancelled

                raise RunCancelled()
            total = g.sum(axis=0)
            scale = float(np.abs(total).max()) if total.size else 0.0
            return {"mark": mark, "pipeline": p, "input": xx, "erf": g,
                    "rgba": erf_rgba(total, scale), "summary": erf_summary(g)}

        self.erf_task.submit(job)

    def _on_erf_done(self, _token: int, result: dict) -> None:
        if (result["mark"] != self.pixel or result["pipeline"] is not self.doc.pipeline
                or result["input"] is not self.renderer.input
                or not self.actions["erf"].isChecked()):
            return
        self._set_erf(result["erf"], result["rgba"])
        m, s = result["mark"], result["summary"]
        ctx = self._context()
        rf = self.doc.pipeline.receptive_fields()[m.layer]
        parts = [f"<b>ERF</b> of layer {m.layer}, channel {m.channel}, row {m.row}, col {m.col}: "
                 "how much each input pixel moves this value (∂y/∂x; red positive, blue "
                 "negative, transparent: no influence)."]
        if s["extent"] is not None:
            r0, r1, c0, c1 = s["extent"]
            parts.append(f"Nonzero over rows {_span(r0, r1)}, cols {_span(c0, c1)} "
                         f"({r1 - r0} × {c1 - c0}; the theoretical field is {rf.size[0]} × "
                         f"{rf.size[1]}); {s['nonzero']:,} pixels influence it.")
            pr, pc = s["peak"]
            parts.append(f"Sum of all gradients {s['sum']:.4g}; strongest at row {pr}, col {pc}.")
        else:
            parts.append("Every gradient is 0 here: no input pixel changes this value (a ReLU "
                         "that is off, or a max pool whose winner lies elsewhere).")
        if ctx is not None and ctx[2] > 1:
            parts.append(f"(Preview pixels: 1/{ctx[2]} of the image.)")
        self.receptive.set_erf_text(" ".join(parts))

    def _on_erf_failed(self, _token: int, message: str) -> None:
        self._set_erf(None)
        self.receptive.set_erf_text(f"<span style='color:#c62828'>ERF: {html.escape(message)}</span>")

    def _set_erf(self, g: np.ndarray | None, rgba: np.ndarray | None = None) -> None:
        self.erf = g
        self.erf_overlay.set_erf(g, rgba)

    # ================================================================== cross-check
    def _on_crosscheck_toggled(self, on: bool) -> None:
        if on:
            self._run_crosscheck()
        else:
            self.check_task.cancel()
            self.crosscheck.clear()
            self.crosscheck.set_status("Off: tick the box to compare the NumPy core with OpenCV, "
                                       "layer by layer.")

    def _run_crosscheck(self) -> None:
        r = self.renderer
        n = len(self.doc.pipeline)
        if r.busy:
            self.crosscheck.set_status("Waiting for the layers to be computed…")
            return
        if r.input is None:
            self.crosscheck.set_status("Open an image first.")
            return
        if r.errors or len(r.outputs) < n:
            first = min(r.errors) if r.errors else len(r.outputs) + 1
            self.crosscheck.clear()
            self.crosscheck.set_status(f"Layer {first} does not fit its input: nothing to check "
                                       "from there on.", error=True)
            return
        pipeline, x, outputs = self.doc.pipeline, r.input, list(r.outputs)
        self.crosscheck.set_status(f"Checking {n} layers against OpenCV…")

        def job(cancelled, p=pipeline, xx=x, outs=outputs):
            return p, outs, crosscheck(p, xx, outputs=outs, keep_reference=True,
                                       cancelled=cancelled)

        self.check_task.submit(job)

    def _on_check_done(self, _token: int, result) -> None:
        pipeline, outputs, checks = result
        if pipeline is not self.doc.pipeline or not self.crosscheck.is_on():
            return
        factor = self.renderer.factor
        placements = [layer_placement(pipeline, c.index, factor) for c in checks]
        labels = [pipeline.layers[c.index - 1].describe() for c in checks]
        self.crosscheck.set_results(checks, outputs, placements, labels, prefer=self.doc.selected)
        if factor > 1:
            self.crosscheck.status.setText(self.crosscheck.status.text()
                                           + f" (On the preview copy, 1/{factor} of the image.)")

    def _on_check_failed(self, _token: int, message: str) -> None:
        self.crosscheck.set_status(f"Cross-check failed: {message}", error=True)

    # ================================================================== border modes
    def compare_border_modes(self) -> BorderCompareDialog | None:
        i = self.doc.selected
        layer = self.doc.selected_layer
        if not isinstance(layer, Conv2d):
            self.window.show_message("Select a conv layer to compare its border modes.")
            return None
        if not self._computed(i):
            self.window.show_message(f"Layer {i} is not computed yet (or does not fit its input).")
            return None
        if self._border_dialog is None:
            self._border_dialog = BorderCompareDialog(self.border_task, self.window)
        dlg = self._border_dialog
        self._border_layer = i
        self._show_border(dlg, i, layer)
        dlg.show()
        dlg.raise_()
        return dlg

    def _show_border(self, dlg: BorderCompareDialog, i: int, layer: Conv2d) -> None:
        r = self.renderer
        x = r.input if i == 1 else r.outputs[i - 2]
        dlg.show_layer(i, layer, x, self.doc.pipeline, r.factor, mode=self.window.layer_view.mode())

    def _refresh_border_dialog(self) -> None:
        dlg, i = self._border_dialog, self._border_layer
        if dlg is None or i is None or not dlg.isVisible():
            return
        layers = self.doc.pipeline.layers
        if i <= len(layers) and isinstance(layers[i - 1], Conv2d) and self._computed(i):
            self._show_border(dlg, i, layers[i - 1])

    @property
    def border_dialog(self) -> BorderCompareDialog | None:
        return self._border_dialog

    # ================================================================== combined kernel
    def show_combined(self) -> None:
        self.show_page("combined")
        self._update_combined()

    def _combined_shown(self) -> bool:
        return (self.tabs.currentWidget() is self.combined
                and not self.insight_dock.isHidden())

    def _update_combined(self) -> None:
        """Compose the kernel of the run ending at the selected layer, when the page is shown
        (otherwise when it next is: composing costs one backward pass per output channel)."""
        if not self._combined_shown():
            return
        sel = self.doc.selected
        pipeline = self.doc.pipeline
        shape = self.doc.image_shape
        key = (pipeline, sel, shape)
        if key == self._combined_key:
            return
        self._combined_key = key
        first, note = linear_run(pipeline, sel)
        if first is None:
            self.combined_task.cancel()
            self.combined.set_message(note)
            return
        infos = self.doc.analysis()
        if shape is None:
            in_channels = default_in_channels(pipeline)
        elif first == 1:
            in_channels = shape[0]
        else:
            prev = infos[first - 2].output_shape if first - 2 < len(infos) else None
            if prev is None:
                self.combined_task.cancel()
                self.combined.set_message(f"Layer {first - 1} does not fit its input, so the run "
                                          f"from layer {first} has no input.")
                return
            in_channels = prev[0]
        layers = pipeline.layers[first - 1:sel]
        rf = Pipeline(layers).receptive_fields()[-1]
        if max(rf.size) > MAX_COMBINED_SIZE:
            self.combined_task.cancel()
            self.combined.set_message(f"Layers {first}–{sel} are linear, but their combined "
                                      f"kernel is {rf.size[0]} × {rf.size[1]}: too large to show "
                                      f"(the limit is {MAX_COMBINED_SIZE}).")
            return
        labels = [lay.describe() for lay in layers]

        def job(_cancelled, lays=layers, c=in_channels):
            return key, combined_kernel(lays, c)

        self._combined_meta = (first, sel, labels, note)
        self.combined.set_message(f"Composing layers {first}–{sel}…")
        self.combined_task.submit(job)

    def _on_combined_done(self, _token: int, result) -> None:
        key, ck = result
        if key != self._combined_key:
            return
        first, last, labels, note = self._combined_meta
        self.combined.set_result(ck, first, last, labels, note)

    def _on_combined_failed(self, _token: int, message: str) -> None:
        self.combined.set_message(f"No combined kernel: {message}")

    # ================================================================== code export
    def copy_code(self, kind: str) -> str | None:
        name = KINDS[kind][0]
        pipeline = self.doc.pipeline
        c = default_in_channels(pipeline, self.doc.image_shape)
        try:
            text = copy_code(kind, pipeline, c)
        except (PipelineError, ValueError) as exc:
            self.window.show_message(f"Cannot write {name} code: {exc}", error=True)
            return None
        lines = text.count("\n")
        self.window.show_message(f"Copied {lines} lines of {name} code to the clipboard "
                                 f"({c} input channel{'s' if c != 1 else ''}).")
        return text
