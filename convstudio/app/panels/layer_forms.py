"""The layer parameter editor's forms: one per layer type, and the small widgets they are built of.

:class:`LayerFormsMixin` is mixed into :class:`~convstudio.app.panels.layer_params.LayerParamsEditor`:
each ``_build_*`` method adds the rows for one layer type to the editor's form layout and registers
a syncer that re-reads the layer into its widgets (inside QSignalBlocker, so nothing echoes). The
widgets commit their changes through the editor's ``_commit``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.editing.kernel_model import CellValueError, format_cell_value, parse_cell_value
from convstudio.app.i18n import made_at_run_time, tr
from convstudio.core import AvgPool2d, Conv2d, ConvTranspose2d, Layer, LeakyReLU, MaxPool2d, Pad, Stride, Upsample
from convstudio.core.layers import (
    CONV_PAD_MODES,
    MAX_CHANNELS,
    MAX_DILATION,
    MAX_KERNEL,
    MAX_PADDING,
    MAX_STRIDE,
    PAD_LAYER_MODES,
    UPSAMPLE_MODES,
)
from convstudio.core.upsampling import MAX_SCALE

__all__ = ["LAYER_FORMS", "LayerForm", "LayerFormsMixin", "PairSpin", "PaddingEditor", "ErrorLabel", "PAD_MODE_TIPS"]

PAD_MODE_TIPS = {
    "zeros": "zeros: pad with 0",
    "reflect": "reflect: mirror without repeating the edge (OpenCV BORDER_REFLECT_101)",
    "replicate": "replicate: repeat the edge pixel (OpenCV BORDER_REPLICATE)",
    "circular": "circular: wrap around (OpenCV BORDER_WRAP)",
    "symmetric": "symmetric: mirror repeating the edge pixel (OpenCV BORDER_REFLECT)",
    "constant": "constant: pad with the value below",
}

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
    """valid / same / equal sides (ph rows top and bottom, pw columns left and right) / per side.

    (The key "symmetric" means equal amounts on both sides; it has nothing to do with the
    "symmetric" border mode, which says what the padding is filled with.)

    Signals: ``changed(object)`` with the padding spec of the pipeline format.
    """

    changed = Signal(object)
    KINDS = (("valid", "valid (none)"),
             ("same", "same (output = ceil(input / stride); up to 1 more in ceil mode)"),
             ("symmetric", "equal sides"), ("sides", "per side"))

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
        made_at_run_time(self.resolved)  # (the form is synced again on languageChanged)
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
        self.resolved.setText(tr("top {t}, bottom {b}, left {l}, right {r}").format(t=t, b=b, l=l, r=r))

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


class ErrorLabel(QLabel):
    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setStyleSheet("color: #c62828;")
        self.setVisible(False)

    def say(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))


# ------------------------------------------------------------------------------ the forms


class LayerFormsMixin:
    """The per-layer-type forms of :class:`~convstudio.app.panels.layer_params.LayerParamsEditor`.

    Relies on the editor's state (``_doc``, ``_index``, ``_form``, ``widgets``, ``_errors``,
    ``_syncers``) and methods (``_commit``, ``_layer``, ``_in_shape`` and the conv setters such as
    ``_set_kernel_size``, ``_set_bias``).
    """

    def _row(self, key: str, label: str, widget: QWidget, tip: str = "") -> None:
        if tip:
            widget.setToolTip(tip)
        self.widgets[key] = widget
        self._form.addRow(label, widget)
        err = ErrorLabel()
        self._errors[key] = err
        self._form.addRow("", err)

    def _build_input(self) -> None:
        keep = QCheckBox("Keep alpha channel (RGBA as 4 channels)")
        keep.setToolTip("By default an alpha channel is dropped; tick to keep it as channel 4 "
                        "(the image is read again)")
        keep.toggled.connect(self.keepAlphaToggled)
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
            "name", name=name.text().strip() or None, text=tr("Rename layer")))
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
            combo.setItemData(combo.count() - 1, PAD_MODE_TIPS.get(m, m), Qt.ItemDataRole.ToolTipRole)
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
            self._build_conv_channels()

        self._pair_row("stride", "Stride", 1, MAX_STRIDE, "Step between windows",
                       lambda l: l.stride, lambda v: self._commit("stride", stride=v))
        self._pair_row("dilation", "Dilation", 1, MAX_DILATION,
                       "Spacing between kernel taps (1 = dense)",
                       lambda l: l.dilation, lambda v: self._commit("dilation", dilation=v))
        self._padding_row("padding", True, lambda l: l.padding, lambda l: l.pads)
        self._mode_row("padding_mode", CONV_PAD_MODES, "padding_mode")

        self._build_bias_row()

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

    def _build_conv_channels(self) -> None:
        """Out channels, in channels per group (with Fit) and groups: the full weight form only."""
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

    def _build_bias_row(self) -> None:
        """The Bias row: a check box and one number, or one per output channel."""
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

    # -- pooling
    def _build_pool(self) -> None:
        """The rows max and average pooling share: window, stride, padding, ceil mode."""
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

        def sync(l: MaxPool2d | AvgPool2d) -> None:
            with QSignalBlocker(default), QSignalBlocker(ceil):
                default.setChecked(l.stride is None)
                ceil.setChecked(l.ceil_mode)
            stride.setEnabled(l.stride is not None)
        self._syncers.append(sync)

    def _build_maxpool(self, _layer: MaxPool2d) -> None:
        self._build_pool()
        self._pair_row("dilation", "Dilation", 1, MAX_DILATION, "Spacing between window taps",
                       lambda l: l.dilation, lambda v: self._commit("dilation", dilation=v))

    def _build_avgpool(self, _layer: AvgPool2d) -> None:
        self._build_pool()
        cip = QCheckBox("Count padding in the average")
        cip.setToolTip("Divide by the whole window (True, PyTorch's default) or only by the "
                       "real pixels in it")
        cip.toggled.connect(lambda on: self._commit("count_include_pad", count_include_pad=on))
        self.widgets["count_include_pad"] = cip
        self._form.addRow("", cip)

        def sync(l: AvgPool2d) -> None:
            with QSignalBlocker(cip):
                cip.setChecked(l.count_include_pad)
        self._syncers.append(sync)

    # -- pad / stride layers, activations with a parameter
    def _build_pad(self, _layer: Pad) -> None:
        self._padding_row("padding", False, lambda l: l.padding, lambda l: l.pads)
        self._mode_row("mode", PAD_LAYER_MODES, "mode")
        value = self._build_number("value", "Value", "The constant padded with (mode constant)",
                                   lambda l: l.value)

        def sync(l: Pad) -> None:
            value.setEnabled(l.mode == "constant")
        self._syncers.append(sync)

    def _build_stride(self, _layer: Stride) -> None:
        self._pair_row("stride", "Stride", 1, MAX_STRIDE, "Keep every n-th row / column",
                       lambda l: l.stride, lambda v: self._commit("stride", stride=v))
        self._pair_row("offset", "Offset", 0, MAX_STRIDE - 1,
                       "First row / column kept (less than the stride)",
                       lambda l: l.offset, lambda v: self._commit("offset", offset=v))

    # -- layers that enlarge
    def _build_conv_transpose(self, _layer: ConvTranspose2d) -> None:
        note = QLabel("Weight and bias come from the pipeline file ([in][out/groups][kh][kw]).")
        note.setWordWrap(True)
        note.setEnabled(False)
        self._form.addRow(note)
        for key, label, lo, hi, tip in (
                ("stride", "Stride", 1, MAX_STRIDE, "Output pixels per input pixel step"),
                ("padding", "Padding", 0, MAX_PADDING, "Rows / columns cropped from each side"),
                ("output_padding", "Output padding", 0, MAX_STRIDE - 1,
                 "Rows / columns added at the bottom / right (less than the stride or dilation)"),
                ("dilation", "Dilation", 1, MAX_DILATION, "Spacing between kernel taps")):
            self._pair_row(key, label, lo, hi, tip, lambda l, k=key: getattr(l, k),
                           lambda v, k=key: self._commit(k, **{k: v}))

    def _build_upsample(self, _layer: Upsample) -> None:
        self._pair_row("scale_factor", "Scale", 1, MAX_SCALE, "Output pixels per input pixel",
                       lambda l: l.scale_factor, lambda v: self._commit("scale_factor", scale_factor=v))
        mode = _combo()
        for m in UPSAMPLE_MODES:
            mode.addItem(m, m)
        mode.currentIndexChanged.connect(lambda _i: self._commit("mode", mode=mode.currentData()))
        self._row("mode", "Mode", mode, "nearest: repeat each value; bilinear: interpolate "
                  "(PyTorch's align_corners=False)")

        def sync(l: Upsample) -> None:
            with QSignalBlocker(mode):
                mode.setCurrentIndex(mode.findData(l.mode))
        self._syncers.append(sync)

    def _build_leaky_relu(self, _layer: LeakyReLU) -> None:
        self._build_number("negative_slope", "Negative slope", "Slope for x < 0: out = slope · x",
                           lambda l: l.negative_slope)


@dataclass(frozen=True)
class LayerForm:
    """How the parameter editor shows one layer type.

    ``build(editor, layer)`` adds the type's rows (a :class:`LayerFormsMixin` method). ``variant``,
    if given, names the layer's sub-form (conv2d: ``"kernel"`` or ``"weight"``): the form is
    rebuilt when it changes, and otherwise only re-synced.
    """

    build: Callable[[Any, Any], None]
    variant: Callable[[Any], str] | None = None


#: The parameter form of each layer type; a type not listed shows "no parameters". A new type
#: with parameters: a ``_build_<type>`` method above and an entry here.
LAYER_FORMS: dict[str, LayerForm] = {
    "conv2d": LayerForm(LayerFormsMixin._build_conv,
                        variant=lambda l: "kernel" if l.kernel is not None else "weight"),
    "maxpool2d": LayerForm(LayerFormsMixin._build_maxpool),
    "avgpool2d": LayerForm(LayerFormsMixin._build_avgpool),
    "pad": LayerForm(LayerFormsMixin._build_pad),
    "stride": LayerForm(LayerFormsMixin._build_stride),
    "leaky_relu": LayerForm(LayerFormsMixin._build_leaky_relu),
    "conv_transpose2d": LayerForm(LayerFormsMixin._build_conv_transpose),
    "upsample": LayerForm(LayerFormsMixin._build_upsample),
}
