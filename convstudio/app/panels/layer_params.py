"""Parameter editor for the selected layer.

The form is built for the layer's type (and, for conv2d, its form: one per-channel ``kernel`` or a
full ``weight``) and kept: selecting another layer of that kind shows the same form again, and
only the widgets are re-synced from the Document inside QSignalBlocker, so editing never echoes.
(Building a form and laying it out took a third of a layer selection's turn of the event loop;
docs/performance.md, round 10.) Every user change builds a new layer with
``dataclasses.replace`` and hands it to ``Document.replace_layer`` with a merge key (dragging a
spin box makes one undo step). A value the layer refuses (say output channels not divisible by the
groups) is shown in words next to its widget and nothing changes.

The per-layer-type forms and their widgets (:class:`PairSpin`, :class:`PaddingEditor`) are
:mod:`convstudio.app.panels.layer_forms`; they are re-exported here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from convstudio.app.editing.kernel_model import CellValueError, parse_cell_value
from convstudio.app.i18n import made_at_run_time, notifier, tr
from convstudio.app.model.document import Document
from convstudio.app.panels.layer_forms import (
    LAYER_FORMS,
    PAD_MODE_TIPS,
    ErrorLabel,
    LayerFormsMixin,
    PaddingEditor,
    PairSpin,
)
from convstudio.app.panels.layer_list_model import shape_text
from convstudio.core import Conv2d, Layer, PipelineError

__all__ = ["LayerParamsEditor", "PairSpin", "PaddingEditor", "resize_kernel", "resize_weight",
           "parse_number_list", "regroup_weight", "PAD_MODE_TIPS"]

# ------------------------------------------------------------------------------ array helpers


def resize_kernel(k: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Resize the last two axes to (kh, kw), keeping the anchor (centre, ``k // 2``) in place:
    values around it are kept, the rest is cropped or padded with zeros."""
    oh, ow = k.shape[-2:]
    out = np.zeros(k.shape[:-2] + (kh, kw), np.float32)
    dy, dx = kh // 2 - oh // 2, kw // 2 - ow // 2
    sy0, sx0 = max(0, -dy), max(0, -dx)
    ty0, tx0 = max(0, dy), max(0, dx)
    h = min(oh - sy0, kh - ty0)
    w = min(ow - sx0, kw - tx0)
    if h > 0 and w > 0:
        out[..., ty0:ty0 + h, tx0:tx0 + w] = k[..., sy0:sy0 + h, sx0:sx0 + w]
    return out


def _delta(kh: int, kw: int, value: float) -> np.ndarray:
    d = np.zeros((kh, kw), np.float32)
    d[kh // 2, kw // 2] = value
    return d


def resize_weight(w: np.ndarray, cout: int, cin_g: int) -> np.ndarray:
    """Change the channel axes of a ``(Cout, Cin_g, kh, kw)`` weight: cropped, or grown with new
    output channels passing the mean of their inputs (a centred delta / Cin_g) and new input
    slices of zeros (they add nothing until edited)."""
    oc, oi, kh, kw = w.shape
    out = np.zeros((cout, cin_g, kh, kw), np.float32)
    out[:min(oc, cout), :min(oi, cin_g)] = w[:cout, :cin_g]
    if cout > oc:
        out[oc:] = _delta(kh, kw, 1.0 / cin_g)
    return out


def regroup_weight(w: np.ndarray, groups_old: int, groups_new: int, cin_g_new: int) -> np.ndarray:
    """Re-slice a weight for a new number of groups, keeping each output channel's kernels for
    the input channels it still sees."""
    cout, cin_g_old, kh, kw = w.shape
    cin_total_old = cin_g_old * groups_old
    out = np.zeros((cout, cin_g_new, kh, kw), np.float32)
    cout_g_new = cout // groups_new
    cout_g_old = cout // groups_old
    for o in range(cout):
        g_new = o // cout_g_new
        g_old = o // cout_g_old
        for c in range(cin_g_new):
            absolute = g_new * cin_g_new + c  # input channel this slice now reads
            rel = absolute - g_old * cin_g_old
            if 0 <= rel < cin_g_old and absolute < cin_total_old:
                out[o, c] = w[o, rel]
            elif cin_g_old:
                out[o, c] = w[o, absolute % cin_g_old]
    return out


def parse_number_list(text: str) -> list[float]:
    """Numbers separated by commas, semicolons or spaces; each may be an expression like 1/16."""
    parts = [p for p in re.split(r"[,;\s]+", text.strip()) if p]
    if not parts:
        raise CellValueError("type one number, or one per channel separated by commas")
    return [parse_cell_value(p) for p in parts]


# ------------------------------------------------------------------------------ the editor

#: Forms kept for reuse besides the one shown (one per layer type and conv form; there are fewer
#: than this many kinds of layer in most pipelines).
KEPT_FORMS = 12


class _Form(NamedTuple):
    """A built form and what the editor keeps of it."""

    body: QWidget
    form: QFormLayout
    syncers: list
    errors: dict
    widgets: dict


class LayerParamsEditor(LayerFormsMixin, QWidget):
    """Edits the selected layer's parameters through the Document.

    Signals
    -------
    message(str)
        A one-line note for the status bar (what a form switch kept or dropped).
    keepAlphaToggled(bool)
        The input's "Keep alpha channel" box was toggled (the window reads the file again, in
        the background).
    """

    message = Signal(str)
    keepAlphaToggled = Signal(bool)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._index = 0
        self._structure: tuple | None = None
        # forms built before, by structure, hidden under this editor (the shown one is not here)
        self._kept: dict[tuple, _Form] = {}
        self._syncers: list[Callable[[Layer], None]] = []
        self._errors: dict[str, ErrorLabel] = {}
        self.widgets: dict[str, QWidget] = {}
        notifier().languageChanged.connect(self._on_language_changed)

        self._title = QLabel()
        self._title.setObjectName("paramsTitle")
        made_at_run_time(self._title)
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._fit = QLabel()
        self._fit.setWordWrap(True)
        self._fit.setObjectName("paramsFit")
        made_at_run_time(self._fit)
        self._body = QWidget()
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        # (sideways where the dock is narrower than even a wrapped form: its spin boxes and
        # buttons would be cut otherwise)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._scroll.setWidget(self._body)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self._title)
        lay.addWidget(self._fit)
        lay.addWidget(self._scroll, 1)

        document.selectionChanged.connect(self._on_selection_changed)
        document.pipelineChanged.connect(self._on_pipeline_changed)
        document.imageChanged.connect(self._on_image_changed)
        self._refresh()

    # ------------------------------------------------------------------ public
    def error_text(self, key: str) -> str:
        """The reason shown next to widget `key` ('' if none)."""
        label = self._errors.get(key)
        return label.text() if label is not None and label.isVisibleTo(self) else ""

    def layer_index(self) -> int:
        return self._index

    # ------------------------------------------------------------------ Document -> widgets
    def _on_selection_changed(self, _i: int = 0) -> None:
        self._refresh()

    def _on_pipeline_changed(self) -> None:
        self._refresh()

    def _on_image_changed(self) -> None:
        self._refresh()

    def _layer(self) -> Layer | None:
        i = self._doc.selected
        return self._doc.pipeline.layers[i - 1] if i else None

    def _in_shape(self, i: int) -> tuple[int, int, int] | None:
        """Input shape of layer i (None if unknown)."""
        if i <= 1:
            return self._doc.image_shape
        infos = self._doc.analysis()
        return infos[i - 2].output_shape if i - 2 < len(infos) else None

    def _structure_of(self, layer: Layer | None) -> tuple:
        if layer is None:
            return ("input",)
        form = LAYER_FORMS.get(layer.type)
        variant = form.variant(layer) if form is not None and form.variant is not None else ""
        return (layer.type, variant)

    def _on_language_changed(self, _language: str) -> None:
        self._refresh()  # the texts made here, in the new language (docs/developing.md, "Translations")

    def _refresh(self) -> None:
        layer = self._layer()
        another = self._doc.selected != self._index
        self._index = self._doc.selected
        structure = self._structure_of(layer)
        if structure != self._structure:
            self._show_form(structure, layer)
        elif another:
            self._fresh_look()
        for sync in self._syncers:
            sync(layer)
        self._update_header(layer)

    def _update_header(self, layer: Layer | None) -> None:
        i = self._index
        if layer is None:
            shape = self._doc.image_shape
            self._title.setText(tr("0  Input  {shape}").format(shape=shape_text(shape) if shape else ""))
            self._fit.setText("")
            return
        self._title.setText(f"{i}  {layer.type}")
        infos = self._doc.analysis()
        info = infos[i - 1] if i - 1 < len(infos) else None
        if info is not None and info.error is not None:
            self._fit.setText("<span style='color:#c62828'>" + tr("⚠ Does not fit its input: {why}").format(
                why=info.error.reason) + "</span>")
        elif info is not None and info.waiting:
            self._fit.setText("<span style='color:gray'>" + tr("Waiting: an earlier layer does not fit.")
                              + "</span>")
        elif info is not None and info.output_shape is not None:
            inp = self._in_shape(i)
            rf = info.receptive_field
            self._fit.setText(
                tr("{inp} → {out}; receptive field {rf}, jump {jump}; {params} parameters").format(
                    inp=shape_text(inp) if inp else "?", out=shape_text(info.output_shape), rf=shape_text(rf.size),
                    jump=shape_text(rf.jump), params=info.params) + ("" if layer.enabled else tr(" (disabled)")))
        else:
            self._fit.setText("")

    # ------------------------------------------------------------------ building
    def _show_form(self, structure: tuple, layer: Layer | None) -> None:
        """Show the form for `structure`: kept from before, or built now. The form shown so far
        is kept in its place (the oldest beyond KEPT_FORMS is dropped)."""
        shown = self._scroll.takeWidget()
        if shown is not None and self._structure is None:
            shown.deleteLater()  # (the empty page shown before the first form)
        elif shown is not None:
            shown.hide()
            shown.setParent(self)  # (not a top-level window meanwhile)
            self._kept[self._structure] = _Form(shown, self._form, self._syncers, self._errors, self.widgets)
            while len(self._kept) > KEPT_FORMS:
                self._kept.pop(next(iter(self._kept))).body.deleteLater()
        self._structure = structure
        kept = self._kept.pop(structure, None)
        if kept is None:
            self._build(layer)
        else:
            self._body, self._form, self._syncers, self._errors, self.widgets = kept
            self._fresh_look()
        self._scroll.setWidget(self._body)

    def _fresh_look(self) -> None:
        """What a form remembers of the layer it showed before, which a form built for this layer
        would not have: its error notes and an unlinked rows/columns pair."""
        for label in self._errors.values():
            label.say("")
        for pair in self._body.findChildren(PairSpin):
            with QSignalBlocker(pair.link):
                pair.link.setChecked(True)

    def _build(self, layer: Layer | None) -> None:
        self._syncers = []
        self._errors = {}
        self.widgets = {}
        self._body = QWidget()
        outer = QVBoxLayout(self._body)
        outer.setContentsMargins(0, 0, 0, 0)
        self._form = QFormLayout()
        outer.addLayout(self._form)
        outer.addStretch(1)  # extra height goes below the form, not between its rows
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # A row too wide for the dock (a pair of spin boxes with its link button, the padding
        # editor) puts its field under its label instead of being cut at the right.
        self._form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if layer is None:
            self._build_input()
        else:
            form = LAYER_FORMS.get(layer.type)
            if form is not None:
                form.build(self, layer)
            else:
                note = QLabel(f"{layer.type} has no parameters: it acts on every value on its own.")
                note.setWordWrap(True)
                note.setEnabled(False)
                self._form.addRow(note)
            self._build_common()

    # ------------------------------------------------------------------ widgets -> Document
    def _commit(self, key: str, *, text: str | None = None, **changes: Any) -> bool:
        layer = self._layer()
        if layer is None:
            return False
        try:
            new = dataclasses.replace(layer, **changes)
            getattr(new, "pads", None)  # resolves a layer's padding once: a bad spec fails here, not later
        except (PipelineError, ValueError, TypeError) as exc:
            reason = exc.reason if isinstance(exc, PipelineError) else str(exc)
            if key in self._errors:
                self._errors[key].say(reason)
            self.message.emit(f"Layer {self._index}: {reason}")
            self._resync()
            return False
        if key in self._errors:
            self._errors[key].say("")
        label = self._label_of(key)
        self._doc.replace_layer(self._index, new, text=text or f"Layer {self._index}: {label}",
                                merge_key=key)
        return True

    def _label_of(self, key: str) -> str:
        return key.replace("_", " ")

    def _resync(self) -> None:
        layer = self._layer()
        for sync in self._syncers:
            sync(layer)

    def _conv(self) -> Conv2d:
        layer = self._layer()
        assert isinstance(layer, Conv2d)
        return layer

    def _set_kernel_size(self, size: tuple[int, int]) -> None:
        l = self._conv()
        if l.kernel is not None:
            self._commit("kernel_size", kernel=resize_kernel(l.kernel, *size))
        else:
            self._commit("kernel_size", weight=resize_kernel(l.weight, *size))

    def _set_out_channels(self, cout: int) -> None:
        l = self._conv()
        if cout % l.groups:
            self._errors["out_channels"].say(
                f"{cout} output channels cannot be split into {l.groups} groups: use a multiple "
                f"of {l.groups}")
            return
        self._errors["out_channels"].say("")
        w = resize_weight(l.weight, cout, l.weight.shape[1])
        bias = None
        if l.bias is not None:
            bias = np.zeros(cout, np.float32)
            bias[:min(cout, len(l.bias))] = l.bias[:cout]
        self._commit("out_channels", weight=w, bias=bias)

    def _set_in_channels(self, cin_g: int) -> None:
        l = self._conv()
        self._commit("in_channels", weight=resize_weight(l.weight, l.weight.shape[0], cin_g))

    def _fit_in_channels(self) -> None:
        l = self._conv()
        inp = self._in_shape(self._index)
        if inp is None:
            return
        if inp[0] % l.groups:
            self._errors["in_channels"].say(
                f"the input's {inp[0]} channels cannot be split into {l.groups} groups")
            return
        self._set_in_channels(inp[0] // l.groups)

    def _set_groups(self, groups: int) -> None:
        l = self._conv()
        cout = l.weight.shape[0]
        if cout % groups:
            self._errors["groups"].say(
                f"{cout} output channels cannot be split into {groups} groups "
                f"(choose a divisor of {cout})")
            self._resync()
            return
        self._errors["groups"].say("")
        inp = self._in_shape(self._index)
        cin_total = inp[0] if inp is not None else l.weight.shape[1] * l.groups
        if cin_total % groups:
            self._errors["groups"].say(
                f"the input's {cin_total} channels cannot be split into {groups} groups")
            self._resync()
            return
        w = regroup_weight(l.weight, l.groups, groups, cin_total // groups)
        self._commit("groups", weight=w, groups=groups)

    def _switch_conv_form(self, form: str) -> None:
        l = self._conv()
        inp = self._in_shape(self._index)
        c = inp[0] if inp is not None else 1
        if form == "weight" and l.kernel is not None:
            # The same operation written as a depthwise weight: results do not change.
            w = np.broadcast_to(l.kernel, (c, 1) + l.kernel.shape).copy()
            bias = None
            if l.bias is not None:
                bias = np.full(c, l.bias[0], np.float32) if l.bias_shared else l.bias
            ok = self._commit("form", text=tr("Layer {n}: full weight").format(n=self._index), weight=w,
                              kernel=None, groups=c, bias=bias, bias_shared=False)
            if ok:
                self.message.emit(f"Layer {self._index} is now a {c}×1 depthwise weight "
                                  f"(groups = {c}); same result.")
        elif form == "kernel" and l.weight is not None:
            k = l.weight[0, 0].copy()
            bias, shared = None, False
            if l.bias is not None:
                if np.all(l.bias == l.bias[0]):
                    bias, shared = l.bias[:1].copy(), True
                elif len(l.bias) == c:
                    bias = l.bias
            same = l.weight.shape == (c, 1) + k.shape and l.groups == c and \
                bool(np.all(l.weight == k))
            ok = self._commit("form", text=tr("Layer {n}: per channel kernel").format(n=self._index), kernel=k,
                              weight=None, groups=1, bias=bias, bias_shared=shared)
            if ok and not same:
                self.message.emit(f"Layer {self._index}: kept the kernel of output 0, input 0; "
                                  "the other slices were dropped (Undo brings them back).")

    def _toggle_bias(self, on: bool) -> None:
        l = self._conv()
        if not on:
            self._commit("bias", bias=None, bias_shared=False)
        elif l.bias is None:
            if l.kernel is not None:
                self._commit("bias", bias=np.zeros(1, np.float32), bias_shared=True)
            else:
                self._commit("bias", bias=np.zeros(l.weight.shape[0], np.float32))

    def _set_bias(self, text: str) -> None:
        l = self._conv()
        if not text.strip() and l.bias is None:
            return
        try:
            values = parse_number_list(text)
        except CellValueError as exc:
            self._errors["bias"].say(str(exc))
            return
        if l.kernel is not None:
            if len(values) == 1:
                self._commit("bias", bias=np.array(values, np.float32), bias_shared=True)
            else:
                self._commit("bias", bias=np.array(values, np.float32), bias_shared=False)
            return
        cout = l.weight.shape[0]
        if len(values) == 1:
            values = values * cout
        if len(values) != cout:
            self._errors["bias"].say(f"{len(values)} numbers given; the layer has {cout} output "
                                     "channels (give one number, or one per channel)")
            return
        self._commit("bias", bias=np.array(values, np.float32))
