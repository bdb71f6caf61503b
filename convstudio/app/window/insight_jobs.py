"""The slow parts of "seeing why", run in background workers: the computation inspector, the
effective receptive field (ERF), the OpenCV cross-check, border modes side by side and the combined
kernel.

A mixin of :class:`~convstudio.app.window.insight.InsightController` (see that module); it uses the
controller's ``window``, ``doc``, ``renderer``, panels and one
:class:`~convstudio.app.model.worker.Worker` per panel. Each job gets a
:class:`~convstudio.app.model.worker.JobContext` and runs inside the core's cancellation
(``convstudio.core.cancel``): an edit or a new click makes the running job stale, the core's loops
stop it, and its result is never delivered.
"""

from __future__ import annotations

import html

from convstudio.app.dialogs.border_compare import BorderCompareDialog, compares_borders
from convstudio.app.i18n import describe_layer, tr, tr_noop
from convstudio.app.model.worker import JobContext
from convstudio.app.panels.combined_panel import MAX_COMBINED_SIZE, linear_run
from convstudio.app.panels.crosscheck_panel import OFF_STATUS
from convstudio.app.panels.inspector import explanation_html
from convstudio.app.views.erf_overlay import HeatImages, erf_summary, heat_images
from convstudio.app.views.receptive_overlay import Mark, layer_placement
from convstudio.app.window.code_export import default_in_channels
from convstudio.core import Conv2d, Pipeline, RunCancelled
from convstudio.core.crosscheck import crosscheck
from convstudio.core.explain import combined_kernel, effective_receptive_field_part, explain_pixel

__all__ = ["InsightJobsMixin"]


def _span(a: int, b: int) -> str:
    """Cells a .. b - 1 of an axis: "3", or "3 to 5" in the interface's language."""
    return f"{a}" if b - a == 1 else tr("{first} to {last}").format(first=a, last=b - 1)


class InsightJobsMixin:
    """Inspector, ERF, cross-check, border modes and combined kernel of :class:`InsightController`."""

    @property
    def pixel(self) -> Mark | None:
        """The clicked output pixel that the inspector and the ERF explain; the window's
        :class:`~convstudio.app.model.view_state.ViewState` holds it (``pixelChanged``)."""
        return self.view_state.pixel

    @pixel.setter
    def pixel(self, mark: Mark | None) -> None:
        self.view_state.set_pixel(mark)

    # ================================================================== inspector
    def _update_inspector(self) -> None:
        m = self.pixel
        if m is None:
            self.inspect_task.cancel()
            sel = self.doc.selected
            self.inspector.set_message(
                tr("Click a pixel of the selected layer's maps to see how its value was computed.")
                if sel >= 1
                else tr("The input is not computed by anything: select a layer and click one of its pixels."))
            return
        if self.renderer.busy:
            # keep what is shown (no flicker while a value is dragged); the result follows
            self.inspector.set_status(tr("updating layer {n}…").format(n=m.layer))
            return
        ctx = self._context()
        if ctx is None or not self._computed(m.layer):
            self.inspect_task.cancel()
            self.inspector.set_message(tr("Layer {n} has no output to explain (it does not fit its input, or an "
                                          "earlier layer does not).").format(n=m.layer))
            return
        _, shapes, factor = ctx
        c, h, w = shapes[m.layer]
        if not (0 <= m.channel < c and 0 <= m.row < h and 0 <= m.col < w):
            self.pixel = None
            self.inspect_task.cancel()
            self.inspector.set_message(tr("The clicked pixel is no longer in the layer's map."))
            return
        note = (tr("Computed on the preview copy (1/{f} of the image; View ▸ Preview large images switches it "
                   "off).").format(f=factor) if factor > 1 else "")
        pipeline, x = self.doc.pipeline, self.renderer.input
        outputs = list(self.renderer.outputs[:m.layer])

        def job(_ctx: JobContext, p=pipeline, xx=x, outs=outputs, mark=m, nt=note):
            # In the worker: a huge kernel's window lists and their page take a while to build.
            info = explain_pixel(p, xx, mark.layer, mark.channel, mark.row, mark.col, outputs=outs)
            return mark, p, info, nt, explanation_html(info, mode_note=nt)

        self.inspector.set_status(tr("computing…"))
        self.inspect_task.submit(job)

    def _on_inspect_done(self, _token: int, result) -> None:
        mark, pipeline, info, note, page = result
        if mark != self.pixel or pipeline is not self.doc.pipeline:
            return
        self.inspector.set_explanation(info, note=note, page=page)

    def _on_inspect_failed(self, _token: int, message: str) -> None:
        self.inspector.set_message(message)

    # ================================================================== ERF
    def _say_erf(self, *what) -> None:
        """Write the ERF's text on the Receptive fields page: ``()`` nothing, ``("hint",)``,
        ``("computing", mark)``, ``("done", mark, summary, (rf_h, rf_w), factor)`` or
        ``("failed", message)``. What is said is kept, to be said again in another language."""
        self._erf_said = what
        self.receptive.set_erf_text(self._erf_text(*what) if what else "")

    def _say_erf_again(self) -> None:
        """The ERF's text in the interface's language now (``languageChanged``)."""
        what = getattr(self, "_erf_said", ())
        if what:
            self._say_erf(*what)

    @staticmethod
    def _erf_text(kind: str, *args) -> str:
        if kind == "hint":
            return ("<span style='color:gray'>"
                    + html.escape(tr("ERF heat map: click a pixel of the selected layer."), quote=False) + "</span>")
        if kind == "computing":
            (m,) = args
            return ("<span style='color:gray'>"
                    + html.escape(tr("Computing the effective receptive field of layer {n} (row {row}, col {col})…")
                                  .format(n=m.layer, row=m.row, col=m.col), quote=False) + "</span>")
        if kind == "failed":
            (message,) = args  # (the core's words, in English: docs/developing.md, "Translations")
            return ("<span style='color:#c62828'>" + html.escape(tr("ERF: {why}").format(why=message))
                    + "</span>")
        m, s, (rf_h, rf_w), factor = args
        parts = [tr("<b>ERF</b> of layer {n}, channel {channel}, row {row}, col {col}: how much each input pixel "
                    "moves this value (∂y/∂x; red positive, blue negative, transparent: no influence).").format(
            n=m.layer, channel=m.channel, row=m.row, col=m.col)]
        if s["extent"] is not None:
            r0, r1, c0, c1 = s["extent"]
            parts.append(tr("Nonzero over rows {rows}, cols {cols} ({h} × {w}; the theoretical field is {rf_h} × "
                            "{rf_w}); {n} pixels influence it.").format(
                rows=_span(r0, r1), cols=_span(c0, c1), h=r1 - r0, w=c1 - c0, rf_h=rf_h, rf_w=rf_w,
                n=f"{s['nonzero']:,}"))
            pr, pc = s["peak"]
            parts.append(tr("Sum of all gradients {sum}; strongest at row {row}, col {col}.").format(
                sum=f"{s['sum']:.4g}", row=pr, col=pc))
        else:
            parts.append(tr("Every gradient is 0 here: no input pixel changes this value (a ReLU that is off, or a "
                            "max pool whose winner lies elsewhere)."))
        if factor > 1:
            parts.append(tr("(Preview pixels: 1/{f} of the image.)").format(f=factor))
        return " ".join(parts)

    def _on_erf_toggled(self, on: bool) -> None:
        if not on:
            self.erf_task.cancel()
            self._set_erf(None)
            self._say_erf()
            return
        if not self.insight_dock.isHidden():
            self.show_page("receptive")  # where the ERF's numbers are written
        if self.pixel is None:
            self._say_erf("hint")
            return
        self._request_erf()

    def _request_erf(self) -> None:
        m = self.pixel
        if m is None or not self._computed(m.layer):
            return
        pipeline, x = self.doc.pipeline, self.renderer.input
        outputs = list(self.renderer.outputs[:m.layer])
        self._say_erf("computing", m)

        def job(ctx: JobContext, p=pipeline, xx=x, outs=outputs, mark=m):
            # the gradient on the box the value is computed from (zeros outside it): no
            # full-size array, no whole-image scans (they took 0.4-0.9 s at 24 MP)
            part, at = effective_receptive_field_part(p, xx, mark.layer, mark.channel, mark.row,
                                                      mark.col, outputs=outs)
            if ctx.cancelled():
                raise RunCancelled()
            heat = heat_images(part, at)
            return {"mark": mark, "pipeline": p, "input": xx, "heat": heat,
                    "summary": erf_summary(heat.erf, heat.origin)}

        self.erf_task.submit(job)

    def _on_erf_done(self, _token: int, result: dict) -> None:
        if (result["mark"] != self.pixel or result["pipeline"] is not self.doc.pipeline
                or result["input"] is not self.renderer.input
                or not self.actions["erf"].isChecked()):
            return
        self._set_erf(result["heat"], result["input"].shape)
        m, s = result["mark"], result["summary"]
        ctx = self._context()
        rf = self.doc.pipeline.receptive_fields()[m.layer]
        self._say_erf("done", m, s, (rf.size[0], rf.size[1]), ctx[2] if ctx is not None else 1)

    def _on_erf_failed(self, _token: int, message: str) -> None:
        self._set_erf(None)
        self._say_erf("failed", message)

    def _set_erf(self, heat: HeatImages | None, shape: tuple[int, ...] | None = None) -> None:
        """Show the ERF's heat images on the input of `shape` (None: no ERF); its gradient is
        kept as :attr:`erf`, over the box of the input that starts at :attr:`erf_origin`."""
        if heat is None:
            self.erf, self.erf_origin = None, (0, 0)
            self.erf_overlay.set_erf(None)
            return
        self.erf, self.erf_origin = heat.erf, heat.origin
        self.erf_overlay.show_heat(heat, shape)

    # ================================================================== cross-check
    # The panel keeps each status as an English source with its fields and makes it again on a
    # language switch (app/panels/crosscheck_panel.py): the sources here are marked with tr_noop.
    def _on_crosscheck_toggled(self, on: bool) -> None:
        if on:
            self._run_crosscheck()
        else:
            self.check_task.cancel()
            self.crosscheck.clear()
            self.crosscheck.set_status(OFF_STATUS)

    def _run_crosscheck(self) -> None:
        r = self.renderer
        n = len(self.doc.pipeline)
        if r.busy:
            self.crosscheck.set_status(tr_noop("Waiting for the layers to be computed…"))
            return
        if r.input is None:
            self.crosscheck.set_status(tr_noop("Open an image first."))
            return
        if r.errors or len(r.outputs) < n:
            first = min(r.errors) if r.errors else len(r.outputs) + 1
            self.crosscheck.clear()
            self.crosscheck.set_status(tr_noop("Layer {first} does not fit its input: nothing to check from there "
                                               "on."), error=True, first=first)
            return
        pipeline, x, outputs = self.doc.pipeline, r.input, list(r.outputs)
        self.crosscheck.set_status(tr_noop("Checking {n} layers against OpenCV…"), n=n)

        def job(ctx: JobContext, p=pipeline, xx=x, outs=outputs):
            return p, outs, crosscheck(p, xx, outputs=outs, keep_reference=True,
                                       cancelled=ctx.cancelled)

        self.check_task.submit(job)

    def _on_check_done(self, _token: int, result) -> None:
        pipeline, outputs, checks = result
        if pipeline is not self.doc.pipeline or not self.crosscheck.is_on():
            return
        factor = self.renderer.factor
        placements = [layer_placement(pipeline, c.index, factor) for c in checks]
        labels = [pipeline.layers[c.index - 1].describe() for c in checks]  # (English: the panel translates)
        self.crosscheck.set_results(checks, outputs, placements, labels, prefer=self.doc.selected, factor=factor)

    def _on_check_failed(self, _token: int, message: str) -> None:
        # (the core's message stays English inside the translated sentence)
        self.crosscheck.set_status(tr_noop("Cross-check failed: {why}"), error=True, why=message)

    # ================================================================== border modes
    def compare_border_modes(self) -> BorderCompareDialog | None:
        i = self.doc.selected
        layer = self.doc.selected_layer
        if not compares_borders(layer):
            self.window.show_message(tr("Select a conv layer to compare its border modes."))
            return None
        if not self._computed(i):
            self.window.show_message(tr("Layer {n} is not computed yet (or does not fit its input).").format(n=i))
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
        if i <= len(layers) and compares_borders(layers[i - 1]) and self._computed(i):
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
                self.combined.set_message(tr("Layer {n} does not fit its input, so the run from layer {first} has "
                                             "no input.").format(n=first - 1, first=first))
                return
            in_channels = prev[0]
        layers = pipeline.layers[first - 1:sel]
        rf = Pipeline(layers).receptive_fields()[-1]
        if max(rf.size) > MAX_COMBINED_SIZE:
            self.combined_task.cancel()
            self.combined.set_message(tr("Layers {first}–{last} are linear, but their combined kernel is {h} × {w}: "
                                         "too large to show (the limit is {limit}).").format(
                first=first, last=sel, h=rf.size[0], w=rf.size[1], limit=MAX_COMBINED_SIZE))
            return
        labels = [describe_layer(lay) for lay in layers]

        def job(_ctx: JobContext, lays=layers, c=in_channels):
            return key, combined_kernel(lays, c)

        self._combined_meta = (first, sel, labels, note)
        self.combined.set_message(tr("Composing layers {first}–{last}…").format(first=first, last=sel))
        self.combined_task.submit(job)

    def _on_combined_done(self, _token: int, result) -> None:
        key, ck = result
        if key != self._combined_key:
            return
        first, last, labels, note = self._combined_meta
        self.combined.set_result(ck, first, last, labels, note)

    def _on_combined_failed(self, _token: int, message: str) -> None:
        self.combined.set_message(tr("No combined kernel: {why}").format(why=message))
