"""Parameter editor for the selected layer.

The form is built for the layer's type (and, for conv2d, its form: one per-channel ``kernel`` or a
full ``weight``) and rebuilt only when that changes; otherwise the widgets are re-synced from the
Document inside QSignalBlocker, so editing never echoes. Every user change builds a new layer with
``dataclasses.replace`` and hands it to ``Document.replace_layer`` with a merge key (dragging a
spin box makes one undo step). A value the layer refuses (say output channels not divisible by the
groups) is shown in words next to its widget and nothing changes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.editing.kernel_model import CellValueError, format_cell_value, parse_cell_value
from convstudio.app.model.document import Document
from convstudio.app.panels.layer_list import shape_text
from convstudio.core import (
    AvgPool2d,
    Conv2d,
    Layer,
    LeakyReLU,
    MaxPool2d,
    Pad,
    PipelineError,
    Stride,
)
from convstudio.core.layers import (
    CONV_PAD_MODES,
    MAX_CHANNELS,
    MAX_DILATION,
    MAX_KERNEL,
    MAX_PADDING,
    MAX_STRIDE,
    PAD_LAYER_MODES,
)

__all__ = ["LayerParamsEditor", "PairSpin", "PaddingEditor", "resize_kernel", "resize_weight",
           "parse_number_list"]

PAD_MODE_TIPS = {
    "zeros": "zeros: pad with 0",
    "reflect": "reflect: mirror without repeating the edge (OpenCV BORDER_REFLECT_101)",
    "replicate": "replicate: repeat the edge pixel (OpenCV BORDER_REPLICATE)",
    "circular": "circular: wrap around (OpenCV BORDER_WRAP)",
    "constant": "constant: pad with the value below",
}


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


# ------------------------------------------------------------------------------ small widgets


def _combo() -> QComboBox:
    c = QComboBox()
    # Long item texts must not make the dock wider than it is.
    c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    c.setMinimumContentsLength(8)
    return c


def _spin(lo: int, hi: int, tip: str = "") -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setKeyboardTracking(False)  # typing "255" must not visit 2 and 25 on the way
    s.setAccelerated(True)
    s.setMinimumWidth(48)
    if tip:
        s.setToolTip(tip)
    return s


class PairSpin(QWidget):
    """Two spin boxes (rows, columns) with a link toggle that keeps them equal.

    Signals: ``valueChanged(tuple)`` on user changes only.
    """

    valueChanged = Signal(tuple)

    def __init__(self, lo: int, hi: int, *, tip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.h = _spin(lo, hi, f"{tip} (rows)" if tip else "rows")
        self.w = _spin(lo, hi, f"{tip} (columns)" if tip else "columns")
        self.link = QToolButton()
        self.link.setText("=")
        self.link.setCheckable(True)
        self.link.setChecked(True)
        self.link.setToolTip("Same value for rows and columns")
        self.link.setAutoRaise(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.h, 1)
        lay.addWidget(QLabel("×"))
        lay.addWidget(self.w, 1)
        lay.addWidget(self.link)
        self.h.valueChanged.connect(self._on_h_changed)
        self.w.valueChanged.connect(self._on_w_changed)
        self.link.toggled.connect(self._on_link_changed)

    def value(self) -> tuple[int, int]:
        return (self.h.value(), self.w.value())

    def set_value(self, v: tuple[int, int]) -> None:
        with QSignalBlocker(self.h), QSignalBlocker(self.w), QSignalBlocker(self.link):
            self.h.setValue(int(v[0]))
            self.w.setValue(int(v[1]))
            if v[0] != v[1]:
                self.link.setChecked(False)

    def _on_h_changed(self, value: int) -> None:
        if self.link.isChecked() and self.w.value() != value:
            with QSignalBlocker(self.w):
                self.w.setValue(value)
        self.valueChanged.emit(self.value())

    def _on_w_changed(self, value: int) -> None:
        if self.link.isChecked() and self.h.value() != value:
            with QSignalBlocker(self.h):
                self.h.setValue(value)
        self.valueChanged.emit(self.value())

    def _on_link_changed(self, linked: bool) -> None:
        if linked and self.h.value() != self.w.value():
            with QSignalBlocker(self.w):
                self.w.setValue(self.h.value())
            self.valueChanged.emit(self.value())


class PaddingEditor(QWidget):
    """valid / same / symmetric (each side ph, pw) / per side (top, bottom, left, right).

    Signals: ``changed(object)`` with the padding spec of the pipeline format.
    """

    changed = Signal(object)
    KINDS = (("valid", "valid (none)"),
             ("same", "same (output = ceil(input / stride); up to 1 more in ceil mode)"),
             ("symmetric", "symmetric"), ("sides", "per side"))

    def __init__(self, *, allow_same: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = _combo()
        for key, label in self.KINDS:
            if key == "same" and not allow_same:
                continue
            self.kind.addItem(label, key)
        self.kind.setToolTip("How many rows and columns of padding are added around the input")
        self.sym = PairSpin(0, MAX_PADDING, tip="padding on each side")
        self.sides = [_spin(0, MAX_PADDING, t) for t in ("top", "bottom", "left", "right")]
        sides_box = QWidget()
        sl = QHBoxLayout(sides_box)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.setSpacing(2)
        for s, t in zip(self.sides, ("T", "B", "L", "R")):
            lab = QLabel(t)
            lab.setToolTip(s.toolTip())
            sl.addWidget(lab)
            sl.addWidget(s, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(QWidget())
        self.stack.addWidget(self.sym)
        self.stack.addWidget(sides_box)
        self.resolved = QLabel()
        self.resolved.setObjectName("paddingResolved")
        self.resolved.setEnabled(False)
        self.resolved.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.kind)
        lay.addWidget(self.stack)
        lay.addWidget(self.resolved)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.sym.valueChanged.connect(self._emit)
        for s in self.sides:
            s.valueChanged.connect(self._emit)

    def spec(self) -> Any:
        kind = self.kind.currentData()
        if kind in ("valid", "same"):
            return kind
        if kind == "symmetric":
            ph, pw = self.sym.value()
            return ph if ph == pw else (ph, pw)
        return tuple(s.value() for s in self.sides)

    def set_spec(self, spec: Any, pads: tuple[int, int, int, int]) -> None:
        if isinstance(spec, str):
            kind = spec
        elif isinstance(spec, tuple) and len(spec) == 4:
            kind = "sides"
        else:
            kind = "symmetric"
        blockers = [QSignalBlocker(self.kind), QSignalBlocker(self.sym)] + \
            [QSignalBlocker(s) for s in self.sides]
        ix = self.kind.findData(kind)
        self.kind.setCurrentIndex(max(0, ix))
        t, b, l, r = pads
        self.sym.set_value((max(t, b), max(l, r)))
        for s, v in zip(self.sides, pads):
            s.setValue(int(v))
        self._show_kind(kind)
        del blockers
        self.resolved.setText(f"top {t}, bottom {b}, left {l}, right {r}")

    def _show_kind(self, kind: str) -> None:
        self.stack.setCurrentIndex({"valid": 0, "same": 0, "symmetric": 1, "sides": 2}[kind])
        self.stack.setVisible(kind in ("symmetric", "sides"))

    def _on_kind_changed(self, _index: int) -> None:
        kind = self.kind.currentData()
        if kind == "sides":
            # Start from what the symmetric spins said, so switching keeps the numbers.
            ph, pw = self.sym.value()
            for s, v in zip(self.sides, (ph, ph, pw, pw)):
                with QSignalBlocker(s):
                    s.setValue(v)
        elif kind == "symmetric":
            t, b, l, r = (s.value() for s in self.sides)
            self.sym.set_value((max(t, b), max(l, r)))
        self._show_kind(kind)
        self._emit()

    def _emit(self, *_args) -> None:
        self.changed.emit(self.spec())


class _ErrorLabel(QLabel):
    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setStyleSheet("color: #c62828;")
        self.setVisible(False)

    def say(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))


# ------------------------------------------------------------------------------ the editor


class LayerParamsEditor(QWidget):
    """Edits the selected layer's parameters through the Document.

    Signals
    -------
    message(str)
        A one-line note for the status bar (what a form switch kept or dropped).
    """

    message = Signal(str)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._index = 0
        self._structure: tuple | None = None
        self._syncers: list[Callable[[Layer], None]] = []
        self._errors: dict[str, _ErrorLabel] = {}
        self.widgets: dict[str, QWidget] = {}

        self._title = QLabel()
        self._title.setObjectName("paramsTitle")
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._fit = QLabel()
        self._fit.setWordWrap(True)
        self._fit.setObjectName("paramsFit")
        self._body = QWidget()
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
            return (self._doc.selected, "input")
        form = ""
        if isinstance(layer, Conv2d):
            form = "kernel" if layer.kernel is not None else "weight"
        return (self._doc.selected, layer.type, form)

    def _refresh(self) -> None:
        layer = self._layer()
        self._index = self._doc.selected
        structure = self._structure_of(layer)
        if structure != self._structure:
            self._structure = structure
            self._build(layer)
        for sync in self._syncers:
            sync(layer)
        self._update_header(layer)

    def _update_header(self, layer: Layer | None) -> None:
        i = self._index
        if layer is None:
            shape = self._doc.image_shape
            self._title.setText(f"0  Input  {shape_text(shape) if shape else ''}")
            self._fit.setText("")
            return
        self._title.setText(f"{i}  {layer.type}")
        infos = self._doc.analysis()
        info = infos[i - 1] if i - 1 < len(infos) else None
        if info is not None and info.error is not None:
            self._fit.setText(f"<span style='color:#c62828'>⚠ Does not fit its input: "
                              f"{info.error.reason}</span>")
        elif info is not None and info.waiting:
            self._fit.setText("<span style='color:gray'>Waiting: an earlier layer does not fit."
                              "</span>")
        elif info is not None and info.output_shape is not None:
            inp = self._in_shape(i)
            rf = info.receptive_field
            self._fit.setText(
                f"{shape_text(inp) if inp else '?'} → {shape_text(info.output_shape)}; "
                f"receptive field {rf.size[0]}×{rf.size[1]}, jump {rf.jump[0]}×{rf.jump[1]}; "
                f"{info.params} parameters" + ("" if layer.enabled else " (disabled)"))
        else:
            self._fit.setText("")

    # ------------------------------------------------------------------ building
    def _build(self, layer: Layer | None) -> None:
        self._syncers = []
        self._errors = {}
        self.widgets = {}
        old = self._scroll.takeWidget()
        self._body = QWidget()
        outer = QVBoxLayout(self._body)
        outer.setContentsMargins(0, 0, 0, 0)
        self._form = QFormLayout()
        outer.addLayout(self._form)
        outer.addStretch(1)  # extra height goes below the form, not between its rows
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if layer is None:
            self._build_input()
        else:
            if isinstance(layer, Conv2d):
                self._build_conv(layer)
            elif isinstance(layer, (MaxPool2d, AvgPool2d)):
                self._build_pool(layer)
            elif isinstance(layer, Pad):
                self._build_pad()
            elif isinstance(layer, Stride):
                self._build_stride()
            elif isinstance(layer, LeakyReLU):
                self._build_number("negative_slope", "Negative slope",
                                   "Slope for x < 0: out = slope · x", lambda l: l.negative_slope)
            else:
                note = QLabel(f"{layer.type} has no parameters: it acts on every value on its own.")
                note.setWordWrap(True)
                note.setEnabled(False)
                self._form.addRow(note)
            self._build_common()
        self._scroll.setWidget(self._body)
        if old is not None:
            old.deleteLater()

    def _row(self, key: str, label: str, widget: QWidget, tip: str = "") -> None:
        if tip:
            widget.setToolTip(tip)
        self.widgets[key] = widget
        self._form.addRow(label, widget)
        err = _ErrorLabel()
        self._errors[key] = err
        self._form.addRow("", err)

    def _build_input(self) -> None:
        keep = QCheckBox("Keep alpha channel (RGBA as 4 channels)")
        keep.setToolTip("By default an alpha channel is dropped; tick to keep it as channel 4 "
                        "(the image is read again)")
        keep.toggled.connect(self._doc.set_keep_alpha)
        self.widgets["keep_alpha"] = keep
        self._form.addRow(keep)
        note = QLabel("Layer 0 is the input image. Select a layer to edit its parameters, or "
                      "add one with Layer ▸ Add.")
        note.setWordWrap(True)
        note.setEnabled(False)
        self._form.addRow(note)

        def sync(_layer) -> None:
            with QSignalBlocker(keep):
                keep.setChecked(self._doc.keep_alpha)
        self._syncers.append(sync)

    def _build_common(self) -> None:
        name = QLineEdit()
        name.setPlaceholderText("optional name")
        name.editingFinished.connect(lambda: self._commit(
            "name", name=name.text().strip() or None, text="Rename layer"))
        self._row("name", "Name", name, "A label for this layer, saved in the pipeline file")
        enabled = QCheckBox("Enabled")
        enabled.setToolTip("A disabled layer passes its input through unchanged")
        enabled.toggled.connect(lambda on: self._commit("enabled", enabled=on))
        self.widgets["enabled"] = enabled
        self._form.addRow("", enabled)

        def sync(layer: Layer) -> None:
            with QSignalBlocker(name), QSignalBlocker(enabled):
                if not name.hasFocus():
                    name.setText(layer.name or "")
                enabled.setChecked(layer.enabled)
        self._syncers.append(sync)

    def _pair_row(self, key: str, label: str, lo: int, hi: int, tip: str,
                  get: Callable[[Layer], tuple[int, int]],
                  commit: Callable[[tuple[int, int]], None]) -> PairSpin:
        w = PairSpin(lo, hi, tip=tip)
        w.valueChanged.connect(commit)
        self._row(key, label, w, tip)

        def sync(layer: Layer) -> None:
            w.set_value(get(layer))
        self._syncers.append(sync)
        return w

    def _padding_row(self, key: str, allow_same: bool, get_spec, get_pads) -> PaddingEditor:
        ed = PaddingEditor(allow_same=allow_same)
        ed.changed.connect(lambda spec: self._commit(key, padding=spec))
        self._row(key, "Padding", ed)

        def sync(layer: Layer) -> None:
            ed.set_spec(get_spec(layer), get_pads(layer))
        self._syncers.append(sync)
        return ed

    def _mode_row(self, key: str, modes: tuple[str, ...], attr: str) -> QComboBox:
        combo = _combo()
        for m in modes:
            combo.addItem(m, m)
            combo.setItemData(combo.count() - 1, PAD_MODE_TIPS[m], Qt.ItemDataRole.ToolTipRole)
        combo.currentIndexChanged.connect(lambda _i: self._commit(key, **{attr: combo.currentData()}))
        self._row(key, "Padding mode", combo, "What the padding is filled with")

        def sync(layer: Layer) -> None:
            with QSignalBlocker(combo):
                combo.setCurrentIndex(combo.findData(getattr(layer, attr)))
        self._syncers.append(sync)
        return combo

    def _build_number(self, key: str, label: str, tip: str, get: Callable[[Layer], float]) -> QLineEdit:
        edit = QLineEdit()
        edit.editingFinished.connect(lambda: self._commit_number(key, edit.text()))
        self._row(key, label, edit, tip + " (expressions such as 1/16 work)")

        def sync(layer: Layer) -> None:
            if not edit.hasFocus() or not edit.isModified():
                with QSignalBlocker(edit):
                    edit.setText(format_cell_value(get(layer), 6))
        self._syncers.append(sync)
        return edit

    def _commit_number(self, key: str, text: str) -> None:
        try:
            value = parse_cell_value(text)
        except CellValueError as exc:
            self._errors[key].say(str(exc))
            return
        self._commit(key, **{key: value})

    # -- conv
    def _build_conv(self, layer: Conv2d) -> None:
        form = _combo()
        form.addItem("per channel kernel (image filter)", "kernel")
        form.addItem("full weight (CNN layer)", "weight")
        form.setItemData(0, "One (kh, kw) kernel applied to every channel on its own",
                         Qt.ItemDataRole.ToolTipRole)
        form.setItemData(1, "A (Cout, Cin/groups, kh, kw) weight: every output channel sums over "
                         "its group's input channels", Qt.ItemDataRole.ToolTipRole)
        form.currentIndexChanged.connect(lambda _i: self._switch_conv_form(form.currentData()))
        self._row("form", "Form", form)

        self._pair_row("kernel_size", "Kernel size", 1, MAX_KERNEL,
                       "Kernel height and width; resizing keeps the values around the centre",
                       lambda l: l.kernel_size, self._set_kernel_size)

        if layer.weight is not None:
            cout = _spin(1, MAX_CHANNELS, "Output channels (Cout): one feature map each")
            cout.valueChanged.connect(self._set_out_channels)
            self._row("out_channels", "Out channels", cout)
            cin = _spin(1, MAX_CHANNELS, "Input channels each output channel sees (Cin / groups)")
            fit = QPushButton("Fit")
            fit.setToolTip("Set the input channels per group to what reaches this layer")
            fit.clicked.connect(self._fit_in_channels)
            box = QWidget()
            bl = QHBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            bl.addWidget(cin, 1)
            bl.addWidget(fit)
            cin.valueChanged.connect(self._set_in_channels)
            self._row("in_channels", "In ch. / group", box)
            self.widgets["in_channels_spin"] = cin
            groups = _spin(1, MAX_CHANNELS, "Split inputs and outputs into this many independent "
                           "groups (groups = channels: depthwise)")
            groups.valueChanged.connect(self._set_groups)
            self._row("groups", "Groups", groups)

            def sync_channels(l: Conv2d) -> None:
                with QSignalBlocker(cout), QSignalBlocker(cin), QSignalBlocker(groups):
                    cout.setValue(l.weight.shape[0])
                    cin.setValue(l.weight.shape[1])
                    groups.setValue(l.groups)
                inp = self._in_shape(self._index)
                fit.setEnabled(inp is not None and inp[0] % l.groups == 0
                               and inp[0] // l.groups != l.weight.shape[1])
            self._syncers.append(sync_channels)

        self._pair_row("stride", "Stride", 1, MAX_STRIDE, "Step between windows",
                       lambda l: l.stride, lambda v: self._commit("stride", stride=v))
        self._pair_row("dilation", "Dilation", 1, MAX_DILATION,
                       "Spacing between kernel taps (1 = dense)",
                       lambda l: l.dilation, lambda v: self._commit("dilation", dilation=v))
        self._padding_row("padding", True, lambda l: l.padding, lambda l: l.pads)
        self._mode_row("padding_mode", CONV_PAD_MODES, "padding_mode")

        has_bias = QCheckBox("Bias")
        bias = QLineEdit()
        bias.setPlaceholderText("one number, or one per output channel")
        bias.setToolTip("Added after the weighted sum: one number for every channel, or one per "
                        "output channel, separated by commas")
        has_bias.toggled.connect(self._toggle_bias)
        bias.editingFinished.connect(lambda: self._set_bias(bias.text()))
        box = QWidget()
        bl = QHBoxLayout(box)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(has_bias)
        bl.addWidget(bias, 1)
        self._row("bias", "Bias", box)
        self.widgets["bias_check"] = has_bias
        self.widgets["bias_edit"] = bias

        def sync_bias(l: Conv2d) -> None:
            with QSignalBlocker(has_bias), QSignalBlocker(bias):
                has_bias.setChecked(l.bias is not None)
                bias.setEnabled(l.bias is not None)
                if not bias.hasFocus():
                    if l.bias is None:
                        bias.setText("")
                    elif l.bias_shared:
                        bias.setText(format_cell_value(float(l.bias[0]), 6))
                    else:
                        bias.setText(", ".join(format_cell_value(float(v), 6) for v in l.bias))
        self._syncers.append(sync_bias)

        self._build_number("scale", "Scale", "Multiplies the weights, not the bias "
                           "(GIMP's divisor is 1 / scale)", lambda l: l.scale)
        flip = QCheckBox("Flip kernel (true convolution)")
        flip.setToolTip("Rotate every kernel by 180°: convolution instead of cross-correlation")
        flip.toggled.connect(lambda on: self._commit("flip", flip=on))
        self.widgets["flip"] = flip
        self._form.addRow("", flip)

        def sync_misc(l: Conv2d) -> None:
            with QSignalBlocker(form), QSignalBlocker(flip):
                form.setCurrentIndex(form.findData("kernel" if l.kernel is not None else "weight"))
                flip.setChecked(l.flip)
        self._syncers.append(sync_misc)

    # -- pooling
    def _build_pool(self, layer: MaxPool2d | AvgPool2d) -> None:
        self._pair_row("kernel_size", "Window", 1, MAX_KERNEL, "Pooling window height and width",
                       lambda l: l.kernel_size, lambda v: self._commit("kernel_size", kernel_size=v))
        default = QCheckBox("Stride = window")
        default.setToolTip("The usual pooling: windows side by side, no overlap")
        self.widgets["stride_default"] = default
        self._form.addRow("", default)
        stride = self._pair_row("stride", "Stride", 1, MAX_STRIDE, "Step between windows",
                                lambda l: l.strides, lambda v: self._commit("stride", stride=v))
        default.toggled.connect(lambda on: self._commit(
            "stride", stride=None if on else self._layer().strides))
        self._padding_row("padding", True, lambda l: l.padding, lambda l: l.pads)
        ceil = QCheckBox("Ceil mode (keep a last partial window)")
        ceil.toggled.connect(lambda on: self._commit("ceil_mode", ceil_mode=on))
        self.widgets["ceil_mode"] = ceil
        self._form.addRow("", ceil)
        checks = [default, ceil]
        if isinstance(layer, AvgPool2d):
            cip = QCheckBox("Count padding in the average")
            cip.setToolTip("Divide by the whole window (True, PyTorch's default) or only by the "
                           "real pixels in it")
            cip.toggled.connect(lambda on: self._commit("count_include_pad", count_include_pad=on))
            self.widgets["count_include_pad"] = cip
            self._form.addRow("", cip)
            checks.append(cip)
        else:
            self._pair_row("dilation", "Dilation", 1, MAX_DILATION, "Spacing between window taps",
                           lambda l: l.dilation, lambda v: self._commit("dilation", dilation=v))

        def sync(l) -> None:
            blockers = [QSignalBlocker(c) for c in checks]
            default.setChecked(l.stride is None)
            ceil.setChecked(l.ceil_mode)
            if isinstance(l, AvgPool2d):
                checks[2].setChecked(l.count_include_pad)
            del blockers
            stride.setEnabled(l.stride is not None)
        self._syncers.append(sync)

    # -- pad / stride layers
    def _build_pad(self) -> None:
        self._padding_row("padding", False, lambda l: l.padding, lambda l: l.pads)
        self._mode_row("mode", PAD_LAYER_MODES, "mode")
        value = self._build_number("value", "Value", "The constant padded with (mode constant)",
                                   lambda l: l.value)

        def sync(l: Pad) -> None:
            value.setEnabled(l.mode == "constant")
        self._syncers.append(sync)

    def _build_stride(self) -> None:
        self._pair_row("stride", "Stride", 1, MAX_STRIDE, "Keep every n-th row / column",
                       lambda l: l.stride, lambda v: self._commit("stride", stride=v))
        self._pair_row("offset", "Offset", 0, MAX_STRIDE - 1,
                       "First row / column kept (less than the stride)",
                       lambda l: l.offset, lambda v: self._commit("offset", offset=v))

    # ------------------------------------------------------------------ widgets -> Document
    def _commit(self, key: str, *, text: str | None = None, **changes: Any) -> bool:
        layer = self._layer()
        if layer is None:
            return False
        try:
            new = dataclasses.replace(layer, **changes)
            if isinstance(new, (Conv2d, MaxPool2d, AvgPool2d)):
                new.pads  # noqa: B018 - resolves the padding once: a bad spec fails here, not later
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
            ok = self._commit("form", text=f"Layer {self._index}: full weight", weight=w,
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
            ok = self._commit("form", text=f"Layer {self._index}: per channel kernel", kernel=k,
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
