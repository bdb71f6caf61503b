"""The computation inspector: how the clicked output value was computed, written out as the tutorial
does.

For a conv layer: per input channel the window of input values (padding cells shaded, with the
value the padding mode put there), the kernel actually applied, their products and the channel's
sum, then the bias and the total, with the expression "0×0 + 1×1 + 3×2 + 4×3 = 19". For max
pooling the window with the winning cell marked; for average pooling the sum and the divisor; for
activations input -> output; for pad and stride layers where the value came from.

The numbers are :func:`convstudio.core.explain.explain_pixel`'s (the same ones ``convstudio info
--at L,C,I,J --json`` prints); this module only lays them out. Big windows are cut to
:data:`MAX_CELLS` x :data:`MAX_CELLS` cells on screen (the sums always run over every cell), and at
most :data:`MAX_CHANNELS` input channels are drawn in full (the others are listed with their sums).

The page's words are made with :func:`~convstudio.app.i18n.tr` (the dict's keys stay English, as
the core writes them); numbers, formulas and layer types (``conv2d``) stay as they are. The panel
makes its page again when the interface's language changes (docs/developing.md, "Translations").
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from convstudio.app.i18n import made_at_run_time, notifier, tr
from convstudio.app.views.colormaps import diverging_rgb
from convstudio.core.formatting import MINUS, format_short

__all__ = ["EXPLANATION_SECTIONS", "InspectorPanel", "explanation_html", "fmt", "MAX_CELLS", "MAX_CHANNELS",
           "MAX_EXPRESSION_TERMS"]

MAX_CELLS = 15
MAX_CHANNELS = 8
MAX_EXPRESSION_TERMS = 36

_PAD_BG = "#d9d9d9"
_PAD_FG = "#6b6b6b"
_BEYOND_BG = "#f0f0f0"
_WINNER_BG = "#ffe14d"
_CHAR_W = 8  # width of a digit in pixels; the panel measures its font
_TINT_STRENGTH = 0.45  # cell backgrounds stay light enough for black text


def fmt(v, digits: int = 4) -> str:
    """A number for a cell: integers as integers, others with `digits` significant digits, with
    typographic minus signs; ``None`` (a max-pooling window's padding) is −∞."""
    if v is None:
        return MINUS + "∞"
    return format_short(v, digits, whole_below=1e9, typographic=True)


def _esc(text: str) -> str:
    """`text` (a sentence of the page) for the rich text: ``<``, ``>`` and ``&`` escaped, quotes kept."""
    return html.escape(text, quote=False)


def _total(v) -> str:
    """Totals and output values: 6 significant digits (float32 holds about 7)."""
    return fmt(v, 6)


def _tint(v: float, m: float) -> str | None:
    """A light background for a signed value on the app's diverging scale (the strongest value,
    `m`, gets :data:`_TINT_STRENGTH` of its way), None for zero."""
    if m <= 0 or v == 0 or not math.isfinite(v):
        return None
    r, g, b = (int(c) for c in diverging_rgb(v, m, _TINT_STRENGTH))
    return f"#{r:02x}{g:02x}{b:02x}"


_CELL_BORDER = "border:1px solid #999"
_GRID_TABLE = "<table cellspacing='0' cellpadding='2' border='0' style='border-collapse:collapse'>"


def _grid_rows(values, *, padding=None, beyond=None, winner=None, tint: bool = False
               ) -> tuple[list[str], int, bool]:
    """The cells of a grid of numbers: each shown row's ``<td>`` elements (every cell draws its
    own border, so grids can share one table with cells that have none), the number of columns
    drawn, and whether rows were left out (a ⋮ row then follows)."""
    a = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=np.float64)
    rows, cols = a.shape
    shown_r, shown_c = min(rows, MAX_CELLS), min(cols, MAX_CELLS)
    # Explicit cell widths: Qt's rich text can under-size a table's columns and would break
    # "0.5529" over two lines.
    longest = max((len(fmt(values[r][c])) for r in range(shown_r) for c in range(shown_c)),
                  default=1)
    cell_w = _CHAR_W * longest + 8
    finite = a[np.isfinite(a)]
    m = float(np.abs(finite).max()) if finite.size else 0.0
    out = []
    for r in range(shown_r):
        tds = []
        for c in range(shown_c):
            v = values[r][c]
            attrs = f" align='right' width='{cell_w}' style='{_CELL_BORDER}'"
            text = fmt(v)
            style = ""
            if beyond is not None and beyond[r][c]:
                attrs += f" bgcolor='{_BEYOND_BG}'"
                text = "·"
                style = f"color:{_PAD_FG}"
            elif padding is not None and padding[r][c]:
                attrs += f" bgcolor='{_PAD_BG}'"
                style = f"color:{_PAD_FG}; font-style:italic"
            elif winner is not None and (r, c) == tuple(winner):
                attrs += f" bgcolor='{_WINNER_BG}'"
                style = "font-weight:bold"
            elif tint:
                colour = _tint(float(a[r, c]), m)
                if colour:
                    attrs += f" bgcolor='{colour}'"
            cell = html.escape(text)
            if style:
                cell = f"<span style='{style}'>{cell}</span>"
            tds.append(f"<td{attrs}>{cell}</td>")
        if shown_c < cols:
            tds.append(f"<td style='{_CELL_BORDER}'>…</td>")
        out.append("".join(tds))
    return out, shown_c + (shown_c < cols), shown_r < rows


def _more_rows(ncols: int) -> str:
    return f"<td colspan='{ncols}' align='center' style='{_CELL_BORDER}'>⋮</td>"


def _grid(values, *, caption: str = "", **how) -> str:
    """A grid of numbers as a table (:func:`_grid_rows` says how cells are drawn)."""
    rows, ncols, cut = _grid_rows(values, **how)
    out = [_GRID_TABLE]
    if caption:
        out.append(f"<caption><b>{html.escape(caption)}</b></caption>")
    out += [f"<tr>{r}</tr>" for r in rows]
    if cut:
        out.append(f"<tr>{_more_rows(ncols)}</tr>")
    out.append("</table>")
    return "".join(out)


def _equation(*terms) -> str:
    """Grids of one shape side by side in one table, with signs between them: each term is
    ``(caption, values, how)`` (`how`: :func:`_grid_rows`'s options) or a sign such as "×".
    One flat table, not a table of tables: Qt lays a nested table out several times over
    (a page of eight input channels took 25 ms instead of 8 on the GUI thread)."""
    grids = [(caption, *_grid_rows(values, **how)) for caption, values, how in
             (t for t in terms if not isinstance(t, str))]
    n_rows = len(grids[0][1])
    head, body, more = [], [[] for _ in range(n_rows)], []
    it = iter(grids)
    for t in terms:
        if isinstance(t, str):
            head.append("<td></td>")
            body[0].append(f"<td rowspan='{n_rows}' valign='middle'>&nbsp;<b>{html.escape(t)}</b>&nbsp;</td>")
            more.append("<td></td>")
            continue
        caption, rows, ncols, cut = next(it)
        head.append(f"<td colspan='{ncols}' align='center'><b>{html.escape(caption)}</b></td>")
        for k, r in enumerate(rows):
            body[k].append(r)
        more.append(_more_rows(ncols) if cut else f"<td colspan='{ncols}'></td>")
    out = [_GRID_TABLE, "<tr>" + "".join(head) + "</tr>"]
    out += ["<tr>" + "".join(cells) + "</tr>" for cells in body]
    if any(g[3] for g in grids):
        out.append("<tr>" + "".join(more) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _cut_note(rows: int, cols: int) -> str:
    if rows <= MAX_CELLS and cols <= MAX_CELLS:
        return ""
    return ("<p style='color:#b26a00'>"
            + tr("Showing the top-left {r} × {c} of the {rows} × {cols} cells; the sums run over all of them.").format(
                r=min(rows, MAX_CELLS), c=min(cols, MAX_CELLS), rows=rows, cols=cols) + "</p>")


def _span(idx: list[int]) -> str:
    if not idx:
        return ""
    if len(idx) == 1:
        return fmt(idx[0])
    step = idx[1] - idx[0]
    text = tr("{first} to {last}").format(first=fmt(idx[0]), last=fmt(idx[-1]))
    return text + (tr(" (every {step})").format(step=step) if step > 1 else "")


def _expression(window, kernel, total: float) -> str:
    terms = [f"{fmt(v)}×{fmt(k)}" for v, k in zip(np.ravel(window), np.ravel(kernel))]
    if len(terms) > MAX_EXPRESSION_TERMS:
        head = " + ".join(terms[:8])
        count = tr("({n} terms)").format(n=len(terms))
        return f"{head} + … {count} = {_total(total)}".replace("+ −", "− ")
    return (" + ".join(terms) + f" = {_total(total)}").replace("+ −", "− ")


def _padding_note(info: dict) -> str:
    return (f"<p style='color:{_PAD_FG}'><i>"
            + tr("Shaded cells lie in the padding (outside the layer's input); they hold what the padding mode "
                 "put there.") + "</i></p>")


def _rounding_note(info: dict) -> str:
    """Words for a map value that the exact arithmetic does not explain to float32 rounding."""
    if info.get("within_bound", True):
        return ""
    return ("<p style='color:#b26a00'>"
            + tr("The exact sum of these products is <b>{exact}</b>; the map's value differs from it by more "
                 "than float32 rounding allows for this sum ({bound}). The map was computed from other numbers "
                 "than the ones shown here (a stale map, or an input with infinities or NaN).").format(
                exact=html.escape(fmt(info["total"], 9)), bound=html.escape(fmt(info["bound"], 3)))
            + "</p>")


def _total_line(info: dict, *, one_channel: bool = False) -> str:
    """One number for the result: the value in the layer's map, which is what the window shows
    and `convstudio apply` writes. The float64 arithmetic agrees with it to float32 rounding; only
    when it does not is the exact sum named, in words (:func:`_rounding_note`). `one_channel`: a
    conv's sum of one input channel and no bias, which the line says."""
    layer = info["layer"]
    where = (tr("(the value in layer {n}'s map), from one input channel, no bias") if one_channel
             else tr("(the value in layer {n}'s map)")).format(n=layer)
    return ("<p style='font-size:large'>" + tr("Total: <b>{value}</b>").format(value=_total(info["output"]))
            + f" <span style='font-size:medium'>{_esc(where)}</span></p>")


def _conv_channel_html(p: dict, result: float) -> list[str]:
    """One input channel of a conv explanation: window × kernel = products, and the expression."""
    rows, cols = len(p["window"]), len(p["window"][0])
    head = tr("<b>Input channel {c}</b> — rows {rows}, cols {cols}: sum <b>{sum}</b>").format(
        c=p["input_channel"], rows=_esc(_span(p["rows"])), cols=_esc(_span(p["cols"])),
        sum=_total(p["sum"]))
    return [f"<p>{head}</p>",
            _equation((tr("window"), p["window"], {"padding": p["padding"]}), "×",
                      (tr("kernel"), p["kernel"], {"tint": True}), "=",
                      (tr("products"), p["products"], {"padding": p["padding"], "tint": True})),
            _cut_note(rows, cols),
            f"<p style='font-family:monospace'>"
            f"{html.escape(_expression(p['window'], p['kernel'], result))}</p>"]


def _conv_html(info: dict) -> list[str]:
    layer, value, inputs, bias = info["layer"], info["output"], info["inputs"], info["bias"]
    parts = []
    # The result first (one line, as the tutorial sums it up), then each channel's arithmetic.
    sums = " + ".join(_total(p["sum"]) for p in inputs)
    if bias:
        sums += " + " + tr("{bias} (bias)").format(bias=_total(bias))
    if len(inputs) > 1 or bias:
        line = f"{sums} = {_total(value)}".replace("+ −", "− ")
        what = tr("Total (channel sums and bias):") if bias else tr("Total (channel sums):")
        parts.append(f"<p>{_esc(what)} <span style='font-size:large'>"
                     f"{html.escape(line)}</span></p>")
        parts.append("<p>" + _esc(tr("That is the value in layer {n}'s map.").format(n=layer)) + "</p>")
    else:
        parts.append(_total_line(info, one_channel=True))
    parts += [_rounding_note(info), "<hr>"]
    for p in inputs[:MAX_CHANNELS]:
        # one channel and no bias: its sum is the total, so it ends on the map's value too
        parts += _conv_channel_html(p, value if len(inputs) == 1 and not bias else p["sum"])
    if len(inputs) > MAX_CHANNELS:
        rest = inputs[MAX_CHANNELS:]
        cells = "".join(f"<tr><td>{_esc(tr('input channel {c}').format(c=p['input_channel']))}</td>"
                        f"<td align='right'>{_total(p['sum'])}</td></tr>" for p in rest)
        more = tr("{n} more input channels (their windows are not drawn):").format(n=len(rest))
        parts.append(f"<p>{_esc(more)}</p><table cellpadding='2'>{cells}</table>")
    if any(any(any(r) for r in p["padding"]) for p in inputs):
        parts.append(_padding_note(info))
    return parts


def _pool_html(info: dict) -> list[str]:
    kind, value = info["kind"], info["output"]
    rows, cols = len(info["window"]), len(info["window"][0])
    caption = tr("window (max)") if kind == "max" else tr("window (average)")
    head = tr("Input channel {c} — rows {rows}, cols {cols}").format(
        c=info["channel"], rows=_span(info["rows"]), cols=_span(info["cols"]))
    parts = [f"<p>{_esc(head)}</p>",
             _grid(info["window"], padding=info["padding"], beyond=info.get("beyond"),
                   winner=info.get("winner_index") if kind == "max" else None, caption=caption),
             _cut_note(rows, cols)]
    if any(any(r) for r in info["padding"]):
        what = (tr("Shaded cells are padding; they pad with −∞: they never win.") if kind == "max" else
                tr("Shaded cells are padding; they count as 0 (and in the divisor unless count_include_pad "
                   "is off)."))
        parts.append(f"<p style='color:{_PAD_FG}'><i>{_esc(what)}</i></p>")
    if info.get("beyond") and any(any(r) for r in info["beyond"]):
        parts.append("<p style='color:#6b6b6b'><i>"
                     + _esc(tr("Cells marked · hang beyond the padded input (ceil mode): they count "
                                      "neither as a value nor in the divisor.")) + "</i></p>")
    if kind == "max":
        wr, wc = info["winner"]
        parts.append("<p>" + _esc(tr("The largest value wins: input row {row}, col {col} (highlighted; the "
                                            "first one in reading order on a tie).").format(row=wr, col=wc))
                     + "</p>")
    else:
        expr = info.get("expression", "")
        if len(expr) > 400:
            expr = tr("(sum of {n} values) / {divisor} = {value}").format(
                n=rows * cols, divisor=fmt(info["divisor"]), value=_total(value))
        parts.append("<p>" + _esc(tr("Sum {sum} / divisor {divisor}").format(
            sum=_total(info["sum"]), divisor=fmt(info["divisor"]))) + "</p>")
        parts.append(f"<p style='font-family:monospace'>{html.escape(expr)}</p>")
    return parts + [_total_line(info), _rounding_note(info)]


def _activation_html(info: dict) -> list[str]:
    x, y = info["input"], info["output"]
    formula = {
        "relu": f"relu(x) = max(0, x): max(0, {fmt(x, 6)})",
        "leaky_relu": tr("leaky_relu(x) = x if x > 0 else slope · x"),
        "abs": f"abs(x) = |x|: |{fmt(x, 6)}|",
        "sigmoid": f"sigmoid(x) = 1 / (1 + e^(−x)): 1 / (1 + e^({fmt(-x, 6)}))",
        "tanh": f"tanh({fmt(x, 6)})",
    }.get(info["type"], info["type"])
    return ["<p>" + tr("Input (same position in the previous layer): <b>{value}</b>").format(value=_total(x))
            + "</p>",
            f"<p style='font-family:monospace'>{html.escape(formula)} = {_total(y)}</p>",
            _total_line(info)]


def _pad_html(info: dict) -> list[str]:
    src = info.get("source")
    if src is None:
        return ["<p>" + _esc(tr("This cell is padding with a constant value.")) + "</p>", _total_line(info)]
    copied = tr("Copied from input row {row}, col {col} (value {value}).").format(
        row=src[0], col=src[1], value=_total(info["input"]))
    return [f"<p>{_esc(copied)}</p>", _total_line(info)]


def _stride_html(info: dict) -> list[str]:
    src = info["source"]
    kept = tr("Kept from input row {row}, col {col} (value {value}); the rows and columns in between are "
              "skipped.").format(row=src[0], col=src[1], value=_total(info["input"]))
    return [f"<p>{_esc(kept)}</p>", _total_line(info)]


def _conv_transpose_html(info: dict) -> list[str]:
    """The scatter seen from one output pixel: the input values that land on it, each times the
    kernel tap it meets there (docs/semantics.md, "conv_transpose2d")."""
    inputs = info["inputs"]
    head = ("<p>" + _esc(tr("A transposed convolution spreads every input value over the output with "
                                   "the kernel; these input values (rows and columns of the previous map) land "
                                   "on this pixel, each meeting one kernel tap.")) + "</p>")
    if not inputs or not inputs[0]["window"]:
        none = tr("No input value lands here: the value is the bias {bias}.").format(bias=_total(info["bias"]))
        return [head, f"<p>{_esc(none)}</p>", _total_line(info), _rounding_note(info)]
    no_padding = [{**p, "padding": [[False] * len(row) for row in p["window"]]} for p in inputs]
    return [head] + _conv_html({**info, "inputs": no_padding})


def _upsample_html(info: dict) -> list[str]:
    sources = info["sources"]
    rows = "".join(f"<tr><td>{_esc(tr('row {row}, col {col}').format(row=s['row'], col=s['col']))}</td>"
                   f"<td align='right'>{_total(s['value'])}"
                   f"</td><td align='right'>× {fmt(s['weight'], 6)}</td></tr>" for s in sources)
    how = (tr("Upsampling ({mode}) takes the nearest input pixel, floor(row / scale), floor(col / scale):")
           if info["mode"] == "nearest"
           else tr("Upsampling ({mode}) takes the input pixels around (row + 0.5) / scale − 0.5 (clamped at the "
                   "border), weighted by closeness:"))
    return ["<p>" + _esc(how.format(mode=info["mode"])) + "</p>",
            f"<table cellpadding='2'>{rows}</table>",
            f"<p style='font-family:monospace'>{html.escape(info['expression'])}</p>",
            _total_line(info), _rounding_note(info)]


def _identity_html(info: dict) -> list[str]:
    passes = tr("The layer is disabled: it passes its input ({value}) through.").format(value=_total(info["input"]))
    return [f"<p>{_esc(passes)}</p>",
            "<p>" + tr("Value in layer {n}'s map: <b>{value}</b>").format(n=info["layer"], value=_total(info["output"]))
            + "</p>"]


#: The page body for each ``kind`` of :func:`~convstudio.core.explain.explain_pixel` result. A new
#: kind (a new layer type's arithmetic) gets a ``_<kind>_html(info) -> list[str]`` and an entry;
#: until then its page shows the map's value only.
EXPLANATION_SECTIONS: dict[str, Callable[[dict], list[str]]] = {
    "conv": _conv_html,
    "max": _pool_html,
    "avg": _pool_html,
    "activation": _activation_html,
    "pad": _pad_html,
    "stride": _stride_html,
    "identity": _identity_html,
    "conv_transpose": _conv_transpose_html,
    "upsample": _upsample_html,
}


def explanation_html(info: dict, *, mode_note: str = "") -> str:
    """The inspector's page for one :func:`~convstudio.core.explain.explain_pixel` result."""
    parts = ["<p>" + tr("<b>Layer {n}</b> ({type}) · channel {channel} · row {row}, col {col}").format(
        n=info["layer"], type=html.escape(info["type"]), channel=info["channel"], row=info["row"], col=info["col"])
             + "</p>"]
    if mode_note:
        parts.append(f"<p style='color:#b26a00'>{html.escape(mode_note)}</p>")
    section = EXPLANATION_SECTIONS.get(info.get("kind"))
    parts += section(info) if section is not None else [_total_line(info)]
    return "".join(parts)


class InspectorPanel(QWidget):
    """The Inspector dock's content."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.browser = QTextBrowser()
        self.browser.setObjectName("inspectorText")
        self.browser.setOpenLinks(False)
        self.browser.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setStyleSheet("color: gray;")
        made_at_run_time(self.hint)  # (made with tr() here or by the window's controller)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.hint)
        layout.addWidget(self.browser, 1)
        global _CHAR_W
        _CHAR_W = max(6, QFontMetrics(self.browser.font()).horizontalAdvance("0") + 1)
        self.explanation: dict | None = None
        self._note = ""
        self._own_hint = False  # the hint is this panel's own first text (not the controller's)
        self.set_message(tr("Click a pixel of a layer's feature maps to see how its value was computed."))
        self._own_hint = True
        notifier().languageChanged.connect(self._on_language_changed)

    def _on_language_changed(self, _language: str) -> None:
        """The page (and the panel's own hint) again in the new language. The window's controller
        makes its messages and notes again too (app/window/insight.py)."""
        if self.explanation is not None:
            self.set_explanation(self.explanation, note=self._note)
        elif self._own_hint:
            self.hint.setText(tr("Click a pixel of a layer's feature maps to see how its value was computed."))

    def set_message(self, text: str) -> None:
        """Nothing to explain: say why (or what to do)."""
        self.explanation = None
        self._own_hint = False
        self.hint.setText(text)
        self.hint.setVisible(True)
        self.browser.clear()
        self.browser.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

    def set_status(self, text: str) -> None:
        """A short note above what is shown (e.g. "updating…"), which stays meanwhile."""
        self._own_hint = False
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    def set_explanation(self, info: dict, *, note: str = "", page: str | None = None) -> None:
        """Show `info` (from explain_pixel) with `note` (the mode note, already in the interface's
        language); `page` is ``explanation_html(info, mode_note=note)`` if already made."""
        where = ("layer", "channel", "row", "col")
        same = self.explanation is not None and all(self.explanation[k] == info[k] for k in where)
        self.explanation = info
        self._note = note
        self.hint.setVisible(False)
        bar = self.browser.verticalScrollBar()
        pos = bar.value()
        # A page's tables take one layout pass (12-30 ms); a scroll bar appearing with a long
        # page narrows it and made QTextEdit lay it out twice, 60-120 ms of the GUI thread per
        # clicked pixel. So the page is laid out with the bar there, and the bar goes only where
        # the page fits without it, which lays out a short page again (a few ms; docs/
        # performance.md, rounds 9 and 10).
        self.browser.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.browser.setHtml(page if page is not None else explanation_html(info, mode_note=note))
        if self.browser.document().size().height() <= self.browser.viewport().height():
            self.browser.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        if same:
            bar.setValue(pos)  # same pixel, new numbers: stay where the reader was

    # for tests and the status bar
    def text(self) -> str:
        return self.browser.toPlainText() if self.explanation is not None else self.hint.text()

    def shown_total(self) -> float | None:
        """The one number the page gives as the result (the map's value), or None."""
        return None if self.explanation is None else self.explanation["output"]
