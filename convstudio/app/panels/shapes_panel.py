"""The "Shapes & formula" panel: every layer's output size written as the tutorial writes it, with
the numbers of the user's own image filled in, and the parameter count beside a fully connected
layer's.

Output size per axis (docs/semantics.md, "Output size"): floor((n + p - d×(k - 1) - 1) / s) + 1, which for
dilation 1 is the tutorial's floor((n + p - k + s) / s); pooling with ``ceil_mode`` rounds up and
drops a last window that would start in the padding. When the division is not exact the floor
leaves the last rows or columns of the previous map out of every window: the panel says which, and
the app highlights them on the views (:func:`dropped_cells`).

The formula functions are pure (no Qt) so they can be tested against ``Layer.output_shape``.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QTextBrowser, QTextEdit, QVBoxLayout, QWidget

from convstudio.app.i18n import ENGLISH, current_language, describe_layer, notifier, tr
from convstudio.core import AvgPool2d, Conv2d, Layer, MaxPool2d, Pad, Pipeline, Stride
from convstudio.core.formatting import format_ratio, format_shape
from convstudio.core.layers import Shape
from convstudio.session.connectivity import parameter_steps_html

__all__ = ["AXIS_FORMULAS", "AxisFormula", "ShapesPanel", "axis_formula", "dropped_cells", "fc_params_of",
           "shapes_html"]


_TIMES = " × "  # between the numbers of a shape


@dataclass(frozen=True)
class AxisFormula:
    """One axis of one layer: the formula with numbers, the result, and the input rows (or
    columns) ``[first, n)`` that no window reaches (None when every one is used)."""

    text: str
    out: int
    dropped: tuple[int, int] | None = None


def _window_formula(n: int, before: int, after: int, k: int, s: int, d: int,
                    ceil: bool) -> AxisFormula:
    """A sliding window (convolution, pooling): docs/semantics.md, "Output size"."""
    p = before + after
    span = n + p - d * (k - 1) - 1
    rnd = "ceil" if ceil else "floor"
    out = -(-span // s) + 1 if ceil else span // s + 1
    if d == 1:
        text = f"{rnd}(({n} + {p} - {k} + {s}) / {s}) = {out}"
        if not ceil and p == k - 1 and s > 1:  # the tutorial's simplified forms
            text += f"; p = k - 1: floor(({n} + {s} - 1) / {s})"
            text += f" = {n} / {s} = {out}" if n % s == 0 else f" = {out}"
    else:
        text = f"{rnd}(({n} + {p} - {d}×({k} - 1) - 1) / {s}) + 1 = {out}"
    if ceil and out > 0 and (out - 1) * s >= n + before:
        out -= 1
        text += f"; the last window would start in the padding, so it is dropped: {out}"
    dropped = None
    if out > 0:
        last = (out - 1) * s + d * (k - 1)  # last padded index any window reaches
        first = last + 1 - before  # in the layer's input coordinates
        if first < n:
            dropped = (max(first, 0), n)
    return AxisFormula(text, out, dropped)


def _sides(pads, axis: int) -> tuple[int, int]:
    """(before, after) of ``pads = (top, bottom, left, right)`` along `axis`."""
    return (pads[0], pads[1]) if axis == 0 else (pads[2], pads[3])


def _conv_formula(layer: Conv2d, n: int, axis: int) -> AxisFormula:
    return _window_formula(n, *_sides(layer.pads, axis), layer.kernel_size[axis], layer.stride[axis],
                           layer.dilation[axis], False)


def _pool_formula(layer: MaxPool2d | AvgPool2d, n: int, axis: int) -> AxisFormula:
    return _window_formula(n, *_sides(layer.pads, axis), layer.kernel_size[axis], layer.strides[axis],
                           layer.dilation_pair[axis], layer.ceil_mode)


def _pad_formula(layer: Pad, n: int, axis: int) -> AxisFormula:
    before, after = _sides(layer.pads, axis)
    return AxisFormula(f"{n} + {before} + {after} = {n + before + after}", n + before + after)


def _stride_formula(layer: Stride, n: int, axis: int) -> AxisFormula:
    s, o = layer.stride[axis], layer.offset[axis]
    out = -(-(n - o) // s)
    return AxisFormula(f"ceil(({n} - {o}) / {s}) = {out}", out)


def _conv_transpose_formula(layer, n: int, axis: int) -> AxisFormula:
    """docs/semantics.md, "conv_transpose2d": (n - 1)·s - 2p + d·(k - 1) + output_padding + 1."""
    k, s, p = layer.kernel_size[axis], layer.stride[axis], layer.padding[axis]
    d, op = layer.dilation[axis], layer.output_padding[axis]
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    return AxisFormula(f"({n} - 1)×{s} - 2×{p} + {d}×({k} - 1) + {op} + 1 = {out}", out)


def _upsample_formula(layer, n: int, axis: int) -> AxisFormula:
    s = layer.scale_factor[axis]
    return AxisFormula(f"{n} × {s} = {n * s}", n * s)


#: The output-size formula of each layer type that changes the size, ``f(layer, n, axis)``; a type
#: not listed keeps it ("unchanged = n"). A new type that changes the size gets an entry here.
AXIS_FORMULAS: dict[str, Callable[[Any, int, int], AxisFormula]] = {
    "conv2d": _conv_formula,
    "maxpool2d": _pool_formula,
    "avgpool2d": _pool_formula,
    "pad": _pad_formula,
    "stride": _stride_formula,
    "conv_transpose2d": _conv_transpose_formula,
    "upsample": _upsample_formula,
}


def axis_formula(layer: Layer, n: int, axis: int) -> AxisFormula:
    """The output length of `layer` along `axis` (0 rows, 1 columns) for an input of length `n`."""
    if not layer.enabled:
        return AxisFormula(tr("unchanged (layer disabled) = {n}").format(n=n), n)
    formula = AXIS_FORMULAS.get(layer.type)
    return AxisFormula(tr("unchanged = {n}").format(n=n), n) if formula is None else formula(layer, n, axis)


def _ratio_text(fc: int, params: int) -> str:
    """``format_ratio`` in the interface's language: English says "57 million times as many";
    Chinese counts in 万 and 亿 (10^4, 10^8) as its readers do."""
    if current_language() == ENGLISH or not params:
        return format_ratio(fc, params)
    q = fc / params
    if q < 1:
        return tr(" (only {q} times as many: on so small an input the kernels cost more)").format(q=f"{q:.2g}")
    if q >= 1e8:
        number = f"{q / 1e8:,.3g} 亿"
    elif q >= 1e4:
        number = f"{q / 1e4:.3g} 万"
    else:
        number = f"{q:,.0f}" if q >= 10 else f"{q:.1f}"
    return tr(" ({q} times as many)").format(q=number)


def fc_params_of(in_shape, out_shape) -> int:
    """Parameters of one fully connected layer mapping `in_shape` to `out_shape` (weights + biases)."""
    n_in = int(in_shape[0]) * int(in_shape[1]) * int(in_shape[2])
    n_out = int(out_shape[0]) * int(out_shape[1]) * int(out_shape[2])
    return n_in * n_out + n_out


def dropped_cells(layer: Layer, in_shape: Shape) -> list[tuple[int, int, int, int]]:
    """Cells ``(r0, r1, c0, c1)`` of the layer's input that the rounding leaves out of every window:
    a band of rows at the bottom and/or a band of columns at the right."""
    _, h, w = in_shape
    rows = axis_formula(layer, h, 0).dropped
    cols = axis_formula(layer, w, 1).dropped
    out = []
    if rows is not None:
        out.append((rows[0], rows[1], 0, w))
    if cols is not None:
        out.append((0, rows[0] if rows is not None else h, cols[0], cols[1]))
    return out


def _dropped_text(f: AxisFormula, what: str, prev: str) -> str:
    if f.dropped is None:
        return ""
    a, b = f.dropped
    n = b - a
    if what == "row":
        text = (tr("the floor drops 1 row of {prev} (row {a}): no window reaches it") if n == 1 else
                tr("the floor drops {n} rows of {prev} (rows {a}–{b}): no window reaches them"))
    else:
        text = (tr("the floor drops 1 column of {prev} (column {a}): no window reaches it") if n == 1 else
                tr("the floor drops {n} columns of {prev} (columns {a}–{b}): no window reaches them"))
    return "<br><span style='color:#c62828'>" + text.format(n=n, prev=prev, a=a, b=b - 1) + "</span>"


def _structure(layer: Layer) -> tuple:
    """`layer` without the values of its arrays (their shapes stay): what the page depends on."""
    return (type(layer).__name__,) + tuple(
        (f.name, ("array", v.shape) if isinstance(v, np.ndarray) else v)
        for f in dataclasses.fields(layer) for v in (getattr(layer, f.name),))


def shapes_html(pipeline: Pipeline, in_shape: Shape, selected: int = 0) -> str:
    """The panel's page: one row per layer, then the fully connected comparison."""
    infos = pipeline.analyze(in_shape)
    rows = [f"<tr><th>#</th><th>{tr('layer')}</th><th>{tr('output C × H × W')}</th><th>{tr('H (rows)')}</th>"
            f"<th>{tr('W (columns)')}</th><th align='right' style='white-space:nowrap'>{tr('params')}</th>"
            f"<th align='right'>{tr('one fully connected layer')}</th></tr>"]
    # Shapes and counts never break across lines ("68,719,738,88" over "0").
    rows.append(f"<tr><td>0</td><td>{tr('input')}</td><td style='white-space:nowrap'>{format_shape(in_shape, _TIMES)}"
                "</td><td></td><td></td><td align='right'>0</td><td></td></tr>")
    shape = tuple(in_shape)
    for info, layer in zip(infos, pipeline.layers):
        i = info.index
        bg = " bgcolor='#dbe8fb'" if i == selected else ""
        label = html.escape(describe_layer(layer) + ("" if layer.enabled else tr(" (disabled)")))
        if info.error is not None or info.waiting or info.output_shape is None:
            why = (html.escape(info.error.reason) if info.error is not None
                   else tr("waiting for an earlier layer"))
            rows.append(f"<tr{bg}><td>{i}</td><td>{label}</td><td colspan='5' "
                        f"style='color:#c62828'>⚠ {why}</td></tr>")
            shape = None
            break
        fh = axis_formula(layer, shape[1], 0)
        fw = axis_formula(layer, shape[2], 1)
        prev = tr("the input") if i == 1 else tr("layer {n}'s map").format(n=i - 1)
        fc = fc_params_of(shape, info.output_shape)
        rows.append(f"<tr{bg}><td>{i}</td><td>{label}</td>"
                    f"<td style='white-space:nowrap'>{format_shape(info.output_shape, _TIMES)}</td>"
                    f"<td>H: {html.escape(fh.text)}{_dropped_text(fh, 'row', prev)}</td>"
                    f"<td>W: {html.escape(fw.text)}{_dropped_text(fw, 'column', prev)}</td>"
                    f"<td align='right' style='white-space:nowrap'>{info.params:,}</td>"
                    f"<td align='right' style='white-space:nowrap'>{fc:,}</td></tr>")
        shape = info.output_shape
    table = ("<table cellspacing='0' cellpadding='4' border='1' "
             "style='border-collapse:collapse; border-color:#bbb'>" + "".join(rows) + "</table>")
    parts = [table]
    if shape is not None and len(pipeline):
        params = pipeline.params(in_shape)
        fc = pipeline.fc_params(in_shape)
        out = shape
        n_in = in_shape[0] * in_shape[1] * in_shape[2]
        n_out = out[0] * out[1] * out[2]
        ratio = _ratio_text(fc, params)
        versus = tr("{params} parameters vs {fc} for a fully connected layer")
        parts.append("<p style='font-size:large'><b>" + versus.format(params=f"{params:,}", fc=f"{fc:,}")
                     + f"{ratio}</b></p>")
        parts.append("<p>" + tr(
            "One fully connected layer doing the same mapping connects every one of the {in_shape} = {n_in} input "
            "values to every one of the {out_shape} = {n_out} output values: {n_in} × {n_out} weights + {n_out} "
            "biases = <b>{fc}</b>. A convolution shares one small kernel across every position instead. (The "
            "tutorial's example: a 1000 × 1000 image mapped to 1000 outputs already needs 10<sup>6</sup> × "
            "10<sup>3</sup> = 10<sup>9</sup> weights.)").format(
            in_shape=format_shape(in_shape, _TIMES), n_in=f"{n_in:,}", out_shape=format_shape(out, _TIMES),
            n_out=f"{n_out:,}", fc=f"{fc:,}") + "</p>")
    if shape is not None and 1 <= selected <= len(pipeline):
        parts.append(parameter_steps_html(pipeline, in_shape, selected, tr=tr))
    parts.append("<p style='color:gray'>" + tr(
        "Output size per axis: floor((n + p - d×(k - 1) - 1) / s) + 1, which for dilation d = 1 is the tutorial's "
        "floor((n + p - k + s) / s); n = input size, p = padding on both sides together, k = kernel, s = stride. "
        "Pooling with ceil mode rounds up. A transposed convolution runs the other way: (n - 1)×s - 2p + d×(k - 1) "
        "+ output padding + 1, p on each side.") + "</p>")
    return "".join(parts)


#: The narrowest width the page is laid out at: below it the table would break words in the
#: middle ("channe" over "l"); a narrower dock scrolls the page sideways instead.
MIN_PAGE_WIDTH = 680


class _Page(QTextBrowser):
    """A text browser laid out at its width, but never narrower than MIN_PAGE_WIDTH."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setLineWrapMode(QTextEdit.LineWrapMode.FixedPixelWidth)
        self.setLineWrapColumnOrWidth(MIN_PAGE_WIDTH)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        width = max(MIN_PAGE_WIDTH, self.viewport().width())
        if self.lineWrapColumnOrWidth() != width:
            self.setLineWrapColumnOrWidth(width)


class ShapesPanel(QWidget):
    """The dock's content: the page and a box to highlight what the rounding drops.

    Signals
    -------
    highlightToggled(bool)
    """

    highlightToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.browser = _Page()
        self.browser.setObjectName("shapesText")
        # (short: the page's width is the Seeing why dock's minimum; the tooltip says the rest)
        self.highlight_box = QCheckBox("Highlight what the floor drops")
        self.highlight_box.setChecked(True)
        self.highlight_box.setToolTip("Mark on the views the cells of the previous map that no "
                                      "window of the selected layer reaches")
        self.highlight_box.toggled.connect(self.highlightToggled)
        self.note = QLabel()
        self.note.setStyleSheet("color: #c62828;")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.highlight_box)
        top.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.browser, 1)
        self._key = None
        self._args: tuple | None = None
        notifier().languageChanged.connect(self._on_language_changed)

    def _on_language_changed(self, _language: str) -> None:
        self._key = None  # the page again, in the new language (docs/developing.md, "Translations")
        if self._args is not None:
            self.update_for(*self._args)

    def update_for(self, pipeline: Pipeline, in_shape: Shape | None, selected: int) -> None:
        self._args = (pipeline, in_shape, selected)
        # The page shows sizes, never weight values: a kernel edit leaves it as it is (building
        # it and laying out its rich text cost a few ms on every keystroke otherwise).
        key = (tuple(_structure(layer) for layer in pipeline.layers), in_shape, selected)
        if key == self._key:
            return
        self._key = key
        if in_shape is None:
            self.browser.setHtml("<p>" + tr("Open an image: the sizes depend on it.") + "</p>")
            return
        bar = self.browser.verticalScrollBar()
        pos = bar.value()
        self.browser.setHtml(shapes_html(pipeline, in_shape, selected))
        bar.setValue(pos)

    def text(self) -> str:
        return self.browser.toPlainText()
