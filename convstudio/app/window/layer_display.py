"""What the main window shows: the input and the selected layer's maps (or a message saying why
there are none), the titles, the status-bar summary and readout, and messages and errors.

:class:`LayerDisplay` is mixed into :class:`~convstudio.app.window.main_window.MainWindow`; it
follows the Document's and the Renderer's signals and keeps the window's caches of what is on
screen (``_shown_input``, ``_shown_output``, ``_shown_placement``, ``_shown_index``) so that
nothing is redrawn that has not changed. It also makes the layer view and the View menu follow the
window's :class:`~convstudio.app.model.view_state.ViewState` (display mode, level lock).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from convstudio.app.i18n import known, layer_words, made_at_run_time, tr
from convstudio.app.panels.layer_list import layer_label, shape_text, time_text
from convstudio.app.views.feature_view import PixelInfo, Placement

__all__ = ["LayerDisplay"]


def _image_kind(shape: tuple[int, int, int]) -> str:
    return {1: tr("gray"), 3: "RGB", 4: "RGBA"}.get(shape[0]) or tr("{n} channels").format(n=shape[0])


class LayerDisplay:
    """The window's display of the document and the renderer's results (a mixin of ``MainWindow``)."""

    # ================================================================== Document -> views
    def _on_image_changed(self) -> None:
        self._shown_input = None
        self._shown_output = None
        self._update_image_label()
        self._update_title()
        self._update_summary()
        self._update_layer_view()

    def _on_pipeline_changed(self) -> None:
        self._sync_kernel_editor()
        self._update_summary()
        self._update_layer_view()
        self._update_title()

    def _on_selection_changed(self, _i: int) -> None:
        self._sync_kernel_editor()
        self._shown_output = None
        self._update_layer_view()

    def _on_dirty_changed(self, _dirty: bool) -> None:
        self._update_title()

    def _on_file_path_changed(self) -> None:
        self._update_title()

    def _refresh_all(self) -> None:
        self._update_image_label()
        self._update_title()
        self._sync_kernel_editor()
        self._update_summary()
        self._show_input()
        self._update_layer_view()

    def _on_language_changed(self, _language: str) -> None:
        """Make the texts built here again in the new language (docs/developing.md, "Translations")."""
        self._update_image_label()
        self._update_title()
        self._update_summary()
        self._update_input_title()
        self._update_layer_view()
        self.busy_label.setText(tr("computing…") if self.renderer.busy else "")
        self._update_preview_label()
        self._show_preview_scale()  # (a big image's own line: app/window/files.py)
        self._sync_kernel_editor()

    def _update_title(self) -> None:
        name = self.doc.file_path.name if self.doc.file_path else tr("untitled pipeline")
        image = known(self.doc.image_name) or tr("no image")
        self.setWindowTitle(tr("{name}[*] — {image} — ConvStudio").format(name=name, image=image))
        self.setWindowModified(self.doc.dirty)

    def _update_image_label(self) -> None:
        shape = self.doc.image_shape
        if shape is None:
            self.image_label.setText(tr("no image"))
            return
        c, h, w = shape
        self.image_label.setText(f"{known(self.doc.image_name)}  {w}×{h} {_image_kind(shape)}")
        self.image_label.setToolTip(tr("input shape {shape} (C×H×W), float32").format(shape=shape_text(shape)))

    # ================================================================== renderer -> views
    def _on_render_started(self, _generation: int) -> None:
        self.busy_label.setText(tr("computing…"))

    def _on_layer_updated(self, _generation: int, index: int, update) -> None:
        # Inexact (delta) outputs too: they differ from the exact ones by float32 rounding, and
        # the exact output replaces them moments later.
        if index == self.doc.selected:
            # What changed is known relative to the output the worker sent before; if that is
            # what the view shows, it redraws only those channels.
            changed = update.changed if update.base is not None \
                and update.base is self._shown_output else None
            self._show_layer_output(index, update.output, data_range=update.data_range,
                                    changed=changed, channel_ranges=update.ranges)

    def _on_layer_computed(self, _generation: int, index: int, _out: np.ndarray,
                           seconds: float) -> None:
        self.layer_panel.model.set_time(index, seconds)

    def _on_render_finished(self, generation: int, outputs: list, errors: dict) -> None:
        self.busy_label.setText("")
        self.layer_panel.model.set_run_result(self.renderer.times, errors)
        self._update_preview_label()
        self._show_input()
        self._update_layer_view()
        self._update_summary()

    def _update_preview_label(self) -> None:
        f = self.renderer.factor
        self.preview_label.setText(tr("preview 1/{f}").format(f=f) if f > 1 else "")
        self.preview_label.setToolTip(
            tr("The image has more than {mp} megapixels: the layers are computed on a copy shrunk {f}× "
               "(View ▸ Preview). Export is always full resolution.").format(
                mp=f"{self.renderer.preview_pixels / 1e6:.0f}", f=f) if f > 1 else "")

    def _placement(self, index: int) -> Placement:
        """Where layer `index`'s pixels sit in full-resolution input coordinates."""
        f = self.renderer.factor if self.renderer.input is not None else 1
        rf = self.doc.pipeline.receptive_fields()[index]
        return Placement(jump=(rf.jump[0] * f, rf.jump[1] * f), start=(rf.start[0] * f,
                         rf.start[1] * f), size=(rf.size[0] * f, rf.size[1] * f))

    def _show_input(self) -> None:
        x = self.renderer.input if self.renderer.input is not None else self.doc.image
        if x is None:
            self.input_view.clear()
            self._update_input_title()
            self._shown_input = None
            return
        if x is self._shown_input:
            return
        self._shown_input = x
        f = max(1, round(self.doc.image.shape[-1] / x.shape[-1])) if self.doc.image is not None \
            else 1
        self.input_view.set_maps(x, placement=Placement(jump=f, start=0, size=f),
                                 data_range=self.renderer.input_range()
                                 if x is self.renderer.input else None)
        self._update_input_title()

    def _update_input_title(self) -> None:
        name = known(self.doc.image_name) if self.doc.image is not None else ""
        self._input_title.setText(tr("0  input  {name}").format(name=name) if name else tr("0  input"))

    def _update_layer_view(self) -> None:
        i = self.doc.selected
        if self.doc.image is None:
            self._show_layer_message(tr("Open an image (File ▸ Open image, or a sample)."))
            return
        if i == 0:
            x = self.renderer.input if self.renderer.input is not None else self.doc.image
            self._layer_title.setText(tr("0  input: every channel"))
            known_ranges = x is self.renderer.input  # measured by the renderer's worker
            self._show_maps(x, Placement(jump=self.renderer.factor if self.renderer.input
                                         is not None else 1, start=0,
                                         size=self.renderer.factor if self.renderer.input
                                         is not None else 1),
                            data_range=self.renderer.input_range() if known_ranges else None,
                            channel_ranges=self.renderer.input_channel_ranges()
                            if known_ranges else None)
            return
        infos = self.doc.analysis()
        info = infos[i - 1] if i - 1 < len(infos) else None
        layer = self.doc.pipeline.layers[i - 1]
        title = f"{i}  {layer_label(layer)}"
        if info is not None and info.error is not None:
            self._layer_title.setText(title)
            self._show_layer_message(tr("⚠ Layer {n} does not fit its input:\n{why}").format(
                n=i, why=info.error.reason))
            return
        if info is not None and info.waiting:
            first = next((x.index for x in infos if x.error is not None), "?")
            self._layer_title.setText(title)
            self._show_layer_message(tr("Waiting: layer {first} does not fit its input, so layer {n} has "
                                        "nothing to work on.").format(first=first, n=i))
            return
        if i in self.renderer.errors:
            self._layer_title.setText(title)
            self._show_layer_message(tr("⚠ Layer {n} failed:\n{why}").format(n=i, why=self.renderer.errors[i]))
            return
        outputs = self.renderer.outputs
        if self.renderer.busy:
            if not self._same_layer_as_computed(i):
                # Layers were added, removed or moved: the last run's map i is another layer's.
                self._layer_title.setText(title)
                self._show_layer_message(tr("Computing layer {n}…").format(n=i))
            elif i == self._shown_index and self._layer_stack.currentWidget() is self.layer_view:
                # Keep this layer's maps until the new ones arrive (no flicker while dragging).
                self._layer_title.setText(title + tr("   (computing…)"))
            elif i <= len(outputs) and outputs[i - 1].ndim == 3:
                self._show_layer_output(i, outputs[i - 1])  # the last run's, until the new one
                self._layer_title.setText(title + tr("   (computing…)"))
            else:
                self._layer_title.setText(title)
                self._show_layer_message(tr("Computing layer {n}…").format(n=i))
            return
        if i > len(outputs):
            self._layer_title.setText(title)
            self._show_layer_message(tr("Layer {n} has not been computed.").format(n=i))
            return
        self._show_layer_output(i, outputs[i - 1])

    def _same_layer_as_computed(self, i: int) -> bool:
        """Whether the last run's output `i` belongs to layer `i` of the document (the same
        stack, edited in place), so that it may stand in until the new one arrives."""
        old = self.renderer.pipeline
        new = self.doc.pipeline
        return (old is not None and len(old) == len(new)
                and all(a.type == b.type for a, b in zip(old.layers[:i], new.layers[:i])))

    def _show_layer_output(self, i: int, out: np.ndarray, *,
                           data_range: tuple[float, float] | None = None,
                           changed: tuple[int, ...] | None = None,
                           channel_ranges: np.ndarray | None = None) -> None:
        layer = self.doc.pipeline.layers[i - 1]
        t = self.renderer.times[i - 1] if i - 1 < len(self.renderer.times) else None
        extra = f"   ({time_text(t)})" if t is not None else ""
        self._layer_title.setText(f"{i}  {layer_label(layer)}{extra}")
        if data_range is None:
            data_range = self.renderer.data_range(i, out)
        if channel_ranges is None:
            channel_ranges = self.renderer.channel_ranges(i, out)
        self._show_maps(out, self._placement(i), data_range=data_range, changed=changed,
                        channel_ranges=channel_ranges)

    def _show_maps(self, x: np.ndarray, placement: Placement, *,
                   data_range: tuple[float, float] | None = None,
                   changed: tuple[int, ...] | None = None,
                   channel_ranges: np.ndarray | None = None) -> None:
        self._shown_index = self.doc.selected
        self._layer_stack.setCurrentWidget(self.layer_view)
        if x is self._shown_output and placement == self._shown_placement:
            return
        self._shown_output = x
        self._shown_placement = placement
        self.layer_view.set_maps(x, placement=placement, data_range=data_range, changed=changed,
                                 channel_ranges=channel_ranges)

    def _show_layer_message(self, text: str) -> None:
        self._layer_message.setText(text)
        self._layer_stack.setCurrentWidget(self._layer_message)
        self._shown_output = None

    def _update_summary(self) -> None:
        if self.doc.image is None:
            self.summary_label.setText("")
            return
        parts = []
        times = self.renderer.times
        for info, layer in zip(self.doc.analysis(), self.doc.pipeline.layers):
            name = layer_words(layer.type.replace("2d", ""))
            if info.error is not None:
                parts.append(tr("{n} {name} ⚠ does not fit").format(n=info.index, name=name))
            elif info.waiting:
                parts.append(tr("{n} {name} waiting").format(n=info.index, name=name))
            else:
                t = times[info.index - 1] if info.index - 1 < len(times) else None
                parts.append(f"{info.index} {name} {shape_text(info.output_shape)}"
                             + (f" {time_text(t)}" if t is not None else ""))
        text = "  |  ".join(parts) if parts else tr("no layers: add one with Layer ▸ Add")
        self.summary_label.setText(text)
        self.summary_label.setToolTip("\n".join(parts))

    def _on_pixel_hovered(self, info: PixelInfo | None) -> None:
        if info is None:
            self.readout_label.setText("")
            return
        where = tr("input") if info.view_id == "input" else tr("layer {n}").format(n=self.doc.selected)
        self.readout_label.setText(f"{where}: {info.text()}")

    # ================================================================== view state -> views
    def _show_display_mode(self, mode: str) -> None:
        self.layer_view.set_mode(mode)  # (no-op when the grid's own box chose it)
        self._on_mode_changed(mode)  # the View menu's check mark

    def _show_levels_lock(self, levels: tuple[float, float] | None) -> None:
        if self.layer_view.shared_levels() != levels:
            self.layer_view.set_shared_levels(levels)
        self._on_levels_lock_changed(levels is not None)  # the View menu's check mark

    def _on_grid_levels_lock(self, _locked: bool) -> None:
        # The grid's "Lock levels" box locked the grid to its own levels (or unlocked it).
        self.view_state.set_levels_lock(self.layer_view.shared_levels())

    # ================================================================== messages
    def show_message(self, text: str, timeout_ms: int = 6000, *, error: bool = False) -> None:
        style = "color: #c62828;" if error else "color: #1f5fa8;"
        if self.message_label.styleSheet() != style:  # (restyling a widget is not free)
            self.message_label.setStyleSheet(style)
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self._message_clear.set_interval(timeout_ms)
        self._message_clear.trigger()  # (a newer message restarts the time)
        self.statusMessage.emit(text)

    def report_error(self, title: str, text: str) -> None:
        """One clear message (window-modal, not blocking the caller); the work stays."""
        self.show_message(text, 10000, error=True)
        if self._error_box is not None:
            self._error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        label = box.findChild(QLabel, "qt_msgbox_label")
        if label is not None:  # (`text` is made with tr() by the caller: docs/developing.md, "Translations")
            made_at_run_time(label)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: setattr(self, "_error_box", None))
        self._error_box = box
        box.open()
