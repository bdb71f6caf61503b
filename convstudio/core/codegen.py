"""Code export: a pipeline as PyTorch source or as a standalone NumPy + OpenCV script.

Both generators return Python source text (the app copies it to the clipboard):

* :func:`to_pytorch` defines ``build_model() -> torch.nn.Sequential``. Its forward reproduces the
  pipeline on ``(N, C, H, W)`` float32 tensors: ``model.layer<i>`` is pipeline layer i (1-based;
  disabled layers are left out), so iterating over the children yields every layer's output.
* :func:`to_numpy_opencv` writes a plain script (NumPy and OpenCV only, no ConvStudio import) that
  defines ``run(x) -> list[np.ndarray]`` for ``(C, H, W)`` float32 input, returning every layer's
  output exactly as :meth:`Pipeline.run` does (a disabled layer passes its input through), and
  that prints every layer's output shape for an image given on the command line.

Numbers are exact: the effective float32 weights (scaled, flipped, the kernel form repeated per
channel) are written with ``repr(float(v))``, which reads back to the very same float32.

How the PyTorch translation handles what PyTorch does differently
------------------------------------------------------------------
* "same" padding: ConvStudio puts the extra row/column of an even kernel on the top/left (as
  OpenCV's anchor does); PyTorch's ``padding='same'`` puts it at the bottom/right. Every
  asymmetric padding is therefore an explicit ``nn.ZeroPad2d((left, right, top, bottom))`` before
  a ``padding=0`` convolution; symmetric zero padding stays ``nn.Conv2d(padding=(ph, pw))``.
* Non-zero padding modes: ``nn.ReflectionPad2d`` / ``nn.ReplicationPad2d`` / ``nn.CircularPad2d``
  (torch >= 2.1) before the convolution. PyTorch refuses a reflect pad that is not smaller than the
  input side and a circular pad larger than it, where NumPy (and so ConvStudio) mirrors or wraps
  repeatedly; the generated code says so in a comment naming the smallest input that works.
* Pooling: ``nn.MaxPool2d`` / ``nn.AvgPool2d`` take one padding per axis (at most half the
  kernel, not counting dilation) and decide ceil_mode's "drop a window that starts in the padding"
  by that padding. Symmetric padding within that limit maps straight onto them. Otherwise, without
  ceil_mode, an explicit pad (-inf for max, zeros for avg with count_include_pad) then a
  ``padding=0`` pool is exact. Every remaining case (asymmetric or over-the-limit padding with
  ceil_mode, asymmetric avg pooling with count_include_pad=False) becomes a small ``Pool2d``
  module defined in the generated code: it pads explicitly, pools with ``padding=0``, divides
  window sums (``divisor_override=1``) by the count of real pixels where needed, and crops the
  ceil_mode result to ConvStudio's size. Nothing is approximated.
* On a GPU, PyTorch may run float32 convolutions in TF32; the header says how to turn that off.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import numpy as np

from .errors import PipelineError
from .layers import AvgPool2d, Conv2d, Layer, LeakyReLU, MaxPool2d, Pad, Stride
from .pipeline import Pipeline

__all__ = ["to_pytorch", "to_numpy_opencv"]

_MAX_COMMENT = 100


# --------------------------------------------------------------------------------------------
# Shared helpers


def _num(v: float) -> str:
    """A float (or float32) as Python source that reads back to exactly the same value."""
    return repr(float(v))


def _nested(a: np.ndarray, indent: int) -> str:
    """A float array as a nested list literal, one innermost row per line."""
    if a.ndim == 1:
        return "[" + ", ".join(_num(v) for v in a.tolist()) + "]"
    pad = " " * (indent + 4)
    inner = (",\n" + pad).join(_nested(s, indent + 4) for s in a)
    return "[\n" + pad + inner + ",\n" + " " * indent + "]"


def _safe(text: object) -> str:
    """User text (a pipeline or layer name) made safe for a one-line comment or a string."""
    s = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return s if len(s) <= _MAX_COMMENT else s[: _MAX_COMMENT - 3] + "..."


def _pipeline_name(pipeline: Pipeline) -> str:
    return _safe(pipeline.name) if pipeline.name else "(unnamed)"


def _tuple(p) -> str:
    return "(" + ", ".join(str(int(v)) for v in p) + ")"


def _layers(pipeline: Pipeline, in_channels: int) -> Iterator[tuple[int, Layer, int]]:
    """(1-based index, layer, input channels) for every layer, checking the channel counts."""
    if isinstance(in_channels, bool) or not isinstance(in_channels, (int, np.integer)) \
            or in_channels < 1:
        raise ValueError(f"in_channels must be a positive integer, got {in_channels!r}")
    c = int(in_channels)
    for i, layer in enumerate(pipeline.layers, start=1):
        cout = c
        if layer.enabled and isinstance(layer, Conv2d):
            cin, cout = layer.channels(c)
            if cin != c:
                raise PipelineError(
                    f"expects {cin} input channels ({layer.groups} group(s) of "
                    f"{layer.weight.shape[1]}) but its input has {c}", layer=i, key="weight")
            if layer.kernel is not None and layer.bias is not None and not layer.bias_shared \
                    and layer.bias.shape[0] != c:
                raise PipelineError(
                    f"has {layer.bias.shape[0]} numbers but the input has {c} channels",
                    layer=i, key="bias")
        yield i, layer, c
        c = cout


def _channels_text(c: int) -> str:
    if c == 1:
        return "1 channel, e.g. a gray image in [0, 1]"
    if c in (3, 4):
        return f"{c} channels, e.g. an {'RGB' if c == 3 else 'RGBA'} image in [0, 1]"
    return f"{c} channels"


def _title(i: int, layer: Layer) -> str:
    text = f"layer {i}: {_safe(layer.describe())}"
    if layer.name:
        text += f' "{_safe(layer.name)}"'
    return text


def _same_note(layer: Layer) -> str | None:
    if getattr(layer, "padding", None) != "same":
        return None
    t, b, l, r = layer.pads
    if t == b and l == r:
        return None
    return (f"'same' padding of an even window puts the extra row/column on the top/left "
            f"({t}/{b} rows, {l}/{r} columns), as ConvStudio and OpenCV do; PyTorch's "
            f"padding='same' would put it at the bottom/right")


def _pad_limit_note(pads, mode: str) -> str | None:
    """PyTorch's limits on reflect / circular padding, for this layer's input size."""
    t, b, l, r = pads
    if mode == "reflect" and (t or b or l or r):
        return (f"PyTorch's ReflectionPad2d needs each pad smaller than the input "
                f"side, so this layer's input must be at least {max(t, b) + 1} x "
                f"{max(l, r) + 1} (H x W); ConvStudio mirrors repeatedly for larger pads")
    if mode == "circular" and (t or b or l or r):
        return (f"PyTorch's CircularPad2d wraps around at most once, so this "
                f"layer's input must be at least {max(t, b, 1)} x {max(l, r, 1)} (H x W); "
                "ConvStudio wraps repeatedly for larger pads (nn.CircularPad2d needs torch >= "
                "2.1)")
    return None


def _call(prefix: str, args: list[str], indent: int, suffix: str = "") -> list[str]:
    """``prefix(arg, arg, ...)suffix`` wrapped at ~99 columns, continuation lines aligned."""
    first = " " * indent + prefix + "("
    lines, cur = [], first
    for n, arg in enumerate(args):
        piece = arg + (", " if n < len(args) - 1 else ")" + suffix)
        if len(cur) + len(piece.rstrip()) > 99 and cur.strip() not in ("", first.strip()):
            lines.append(cur.rstrip())
            cur = " " * len(first) + piece
        else:
            cur += piece
    if not args:
        cur += ")" + suffix
    lines.append(cur.rstrip())
    return lines


def _comment_block(lines: list[str], indent: str = "") -> list[str]:
    """Wrap text lines into '# ' comment lines of at most ~100 columns."""
    out = []
    for line in lines:
        out.extend(textwrap.wrap(line, width=96 - len(indent), initial_indent=indent + "# ",
                                 subsequent_indent=indent + "#   ")
                   or [indent + "#"])
    return out


# --------------------------------------------------------------------------------------------
# PyTorch


_TORCH_HELPERS = {
    "load_weights": '''
def load_weights(conv: nn.Conv2d, weight, bias=None) -> nn.Conv2d:
    """Copy embedded float32 values (nested lists) into a convolution."""
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        if bias is not None:
            conv.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return conv
''',
    "Abs": '''
class Abs(nn.Module):
    """|x|, element-wise."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.abs(x)
''',
    "Subsample": '''
class Subsample(nn.Module):
    """ConvStudio's stride layer: keeps rows offset_h, offset_h + stride_h, ... and likewise
    columns."""

    def __init__(self, stride, offset):
        super().__init__()
        self.stride = tuple(stride)
        self.offset = tuple(offset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (sh, sw), (oh, ow) = self.stride, self.offset
        return x[..., oh::sh, ow::sw]

    def extra_repr(self) -> str:
        return f"stride={self.stride}, offset={self.offset}"
''',
    "Pool2d": '''
def pool_output_size(n, k, stride, before, after, dilation=1, ceil_mode=False):
    """Pooling output length; with ceil_mode a last window that would start in the bottom/right
    padding is dropped (the rule PyTorch applies with symmetric padding)."""
    span = n + before + after - dilation * (k - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= n + before:
        out -= 1
    return out


class Pool2d(nn.Module):
    """Max or average pooling with any (top, bottom, left, right) padding, as ConvStudio does it.

    nn.MaxPool2d / nn.AvgPool2d take one padding per axis, at most half the kernel, and decide
    ceil_mode's "drop a window that starts in the padding" by that padding. Here the input is
    padded explicitly (-inf for max, zeros for avg), pooled with padding=0 (a ceil_mode window
    hanging past the padded input counts neither as a value nor in the divisor), and the result
    is cropped to ConvStudio's size. With count_include_pad=False the window sums are divided by
    the number of real pixels in each window.
    """

    def __init__(self, kind, kernel_size, stride, pads, dilation=(1, 1), ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kind = kind
        self.kernel_size = tuple(kernel_size)
        self.stride = tuple(stride)
        self.pads = tuple(pads)  # top, bottom, left, right
        self.dilation = tuple(dilation)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        t, b, l, r = self.pads
        h, w = x.shape[-2:]
        ho = pool_output_size(h, kh, sh, t, b, dh, self.ceil_mode)
        wo = pool_output_size(w, kw, sw, l, r, dw, self.ceil_mode)
        if self.kind == "max":
            xp = F.pad(x, (l, r, t, b), value=float("-inf"))
            y = F.max_pool2d(xp, self.kernel_size, self.stride, 0, self.dilation, self.ceil_mode)
        elif self.count_include_pad:
            xp = F.pad(x, (l, r, t, b))
            y = F.avg_pool2d(xp, self.kernel_size, self.stride, 0, self.ceil_mode)
        else:
            xp = F.pad(x, (l, r, t, b))
            total = F.avg_pool2d(xp, self.kernel_size, self.stride, 0, self.ceil_mode,
                                 divisor_override=1)
            real = F.pad(x.new_ones((1,) * (x.dim() - 2) + (h, w)), (l, r, t, b))
            count = F.avg_pool2d(real, self.kernel_size, self.stride, 0, self.ceil_mode,
                                 divisor_override=1)
            y = total / count
        return y[..., :ho, :wo]

    def extra_repr(self) -> str:
        return (f"{self.kind}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"pads={self.pads}, dilation={self.dilation}, ceil_mode={self.ceil_mode}, "
                f"count_include_pad={self.count_include_pad}")
''',
}

_TORCH_PAD_MODULES = {
    "zeros": "nn.ZeroPad2d",
    "reflect": "nn.ReflectionPad2d",
    "replicate": "nn.ReplicationPad2d",
    "circular": "nn.CircularPad2d",
}


class _TorchEmitter:
    def __init__(self, pipeline: Pipeline, in_channels: int):
        self.pipeline = pipeline
        self.in_channels = in_channels
        self.helpers: set[str] = set()
        self.notes: list[str] = []
        self.weights: list[tuple[str, str, np.ndarray]] = []  # (name, comment, array)
        self.body: list[str] = []

    def pad_module(self, pads, mode: str, value: float = 0.0) -> str:
        t, b, l, r = pads
        lrtb = _tuple((l, r, t, b))
        if mode == "constant":
            return f"nn.ConstantPad2d({lrtb}, {_num(value)})"
        return f"{_TORCH_PAD_MODULES[mode]}({lrtb})"

    def emit(self) -> str:
        for i, layer, c in _layers(self.pipeline, self.in_channels):
            if not layer.enabled:
                self.body.append(f"    # {_title(i, layer)}: disabled, left out")
                self.body.append("")
                continue
            self.body.append(f"    # {_title(i, layer)}")
            method = getattr(self, "_" + layer.type, None)
            if method is None:
                raise PipelineError(f"layer type {layer.type!r} has no PyTorch translation",
                                    layer=i)
            method(i, layer, c)
            self.body.append("")
        return self.assemble()

    def add(self, i: int, expr: str | tuple[str, list[str]], comments: list[str] = ()) -> None:
        """model.add_module("layer<i>", expr); a (callable, args) pair is wrapped at ~99
        columns."""
        self.body.extend(_comment_block(list(comments), "    "))
        head = f'    model.add_module("layer{i}", '
        if isinstance(expr, str):
            self.body.append(f"{head}{expr})")
        else:
            lines = _call(expr[0], expr[1], len(head), suffix=")")
            self.body.append(head + lines[0].lstrip())
            self.body.extend(lines[1:])

    # -- layers
    def _conv2d(self, i: int, layer: Conv2d, c: int) -> None:
        w = layer.effective_weight(c)
        bias = layer.effective_bias(c)
        groups = layer.effective_groups(c)
        cout, cin_g, kh, kw = w.shape
        t, b, l, r = layer.pads
        wname = f"LAYER{i}_WEIGHT"
        shape_note = f"(out, in/groups, kh, kw) = {tuple(w.shape)}"
        extras = []
        if layer.flip:
            extras.append("flipped")
        if layer.scale != 1.0:
            extras.append(f"scale {_num(layer.scale)} applied")
        if layer.kernel is not None:
            extras.append(f"the kernel repeated for each of the {c} channels")
        if extras:
            shape_note += ", " + ", ".join(extras)
        self.weights.append((wname, shape_note, w))
        bname = "None"
        if bias is not None:
            bname = f"LAYER{i}_BIAS"
            self.weights.append((bname, f"({cout},)", np.asarray(bias, dtype=np.float32)))
        comments = []
        symmetric_zeros = layer.padding_mode == "zeros" and t == b and l == r
        explicit_pad = not symmetric_zeros and (t or b or l or r)
        if explicit_pad:
            note = _same_note(layer)
            if note:
                comments.append(note)
            limit = _pad_limit_note(layer.pads, layer.padding_mode)
            if limit:
                comments.append(limit)
                self.notes.append(f"layer {i}: {limit}")
        self.body.extend(_comment_block(comments, "    "))
        padding = _tuple((t, l)) if symmetric_zeros else "0"
        self.helpers.add("load_weights")
        self.body.extend(_call("conv = nn.Conv2d", [
            str(c), str(cout), f"kernel_size={_tuple((kh, kw))}", f"stride={_tuple(layer.stride)}",
            f"padding={padding}", f"dilation={_tuple(layer.dilation)}", f"groups={groups}",
            f"bias={bias is not None}"], 4))
        self.body.append(f"    load_weights(conv, {wname}, {bname})")
        if explicit_pad:
            self.add(i, f"nn.Sequential({self.pad_module(layer.pads, layer.padding_mode)}, conv)")
        else:
            self.add(i, "conv")

    def _pool(self, i: int, layer, kind: str) -> None:
        (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
        dil = layer.dilation if kind == "max" else (1, 1)
        t, b, l, r = layer.pads
        cm = bool(layer.ceil_mode)
        cip = bool(getattr(layer, "count_include_pad", True))
        comments = []
        note = _same_note(layer)
        if note:
            comments.append(note)
        k, s = _tuple((kh, kw)), _tuple((sh, sw))
        cls = "nn.MaxPool2d" if kind == "max" else "nn.AvgPool2d"

        def args(padding: str) -> list[str]:
            a = [f"kernel_size={k}", f"stride={s}", f"padding={padding}"]
            if kind == "max":
                return a + [f"dilation={_tuple(dil)}", f"ceil_mode={cm}"]
            return a + [f"ceil_mode={cm}", f"count_include_pad={cip}"]

        symmetric = t == b and l == r
        # PyTorch allows at most half the kernel (dilation not counted) as padding.
        within = t <= kh // 2 and l <= kw // 2
        if symmetric and within:
            self.add(i, (cls, args(_tuple((t, l)))), comments)
            return
        if not cm and (kind == "max" or cip):
            fill = 'float("-inf")' if kind == "max" else "0.0"
            comments.append(
                f"padding (top, bottom, left, right) = {(t, b, l, r)} that {cls} cannot take: "
                f"padded explicitly with {'-inf' if kind == 'max' else 'zeros'}, then pooled "
                "without padding (exact without ceil_mode)")
            self.body.extend(_comment_block(comments, "    "))
            self.body.extend(_call(f"pool = {cls}", args("0"), 4))
            pad = f"nn.ConstantPad2d({_tuple((l, r, t, b))}, {fill})"
            self.add(i, f"nn.Sequential({pad}, pool)")
            return
        why = []
        if not symmetric:
            why.append(f"asymmetric padding {(t, b, l, r)}")
        elif not within:
            why.append(f"padding {(t, l)} over half the kernel")
        if cm:
            why.append("ceil_mode")
        if kind == "avg" and not cip:
            why.append("count_include_pad=False")
        comments.append(f"{' with '.join(why)}: {cls} cannot express this exactly, so Pool2d "
                        "(defined above) computes it")
        self.notes.append(f"layer {i}: {' with '.join(why)} is computed by the Pool2d module "
                          f"defined here, not by {cls}")
        self.helpers.add("Pool2d")
        args = [repr(kind), k, s, _tuple((t, b, l, r))]
        if kind == "max":
            args.append(f"dilation={_tuple(dil)}")
        args.append(f"ceil_mode={cm}")
        if kind == "avg":
            args.append(f"count_include_pad={cip}")
        self.add(i, ("Pool2d", args), comments)

    def _maxpool2d(self, i: int, layer: MaxPool2d, c: int) -> None:
        self._pool(i, layer, "max")

    def _avgpool2d(self, i: int, layer: AvgPool2d, c: int) -> None:
        self._pool(i, layer, "avg")

    def _pad(self, i: int, layer: Pad, c: int) -> None:
        if layer.pads == (0, 0, 0, 0):
            self.add(i, "nn.Identity()", ["no padding at all"])
            return
        comments = []
        limit = _pad_limit_note(layer.pads, layer.mode)
        if limit:
            comments.append(limit)
            self.notes.append(f"layer {i}: {limit}")
        self.add(i, self.pad_module(layer.pads, layer.mode, layer.value), comments)

    def _stride(self, i: int, layer: Stride, c: int) -> None:
        self.helpers.add("Subsample")
        self.add(i, f"Subsample(stride={_tuple(layer.stride)}, offset={_tuple(layer.offset)})")

    def _relu(self, i: int, layer: Layer, c: int) -> None:
        self.add(i, "nn.ReLU()")

    def _leaky_relu(self, i: int, layer: LeakyReLU, c: int) -> None:
        self.add(i, f"nn.LeakyReLU(negative_slope={_num(layer.negative_slope)})")

    def _abs(self, i: int, layer: Layer, c: int) -> None:
        self.helpers.add("Abs")
        self.add(i, "Abs()")

    def _sigmoid(self, i: int, layer: Layer, c: int) -> None:
        self.add(i, "nn.Sigmoid()")

    def _tanh(self, i: int, layer: Layer, c: int) -> None:
        self.add(i, "nn.Tanh()")

    # -- the file
    def assemble(self) -> str:
        c = self.in_channels
        head = [
            f"Generated by ConvStudio from pipeline '{_pipeline_name(self.pipeline)}'.",
            f"A PyTorch model that reproduces the pipeline on (N, {c}, H, W) float32 tensors "
            f"({_channels_text(c)}).",
            "",
            "Usage:",
            "    model = build_model()",
            "    with torch.no_grad():",
            f"        y = model(x)  # x: torch.Tensor of shape (N, {c}, H, W), dtype float32",
            "",
            "model.layer<i> is layer i of the pipeline (1-based; disabled layers are left out), so "
            "running x through model.children() one after the other gives every layer's output.",
            "On a GPU set torch.backends.cudnn.allow_tf32 = False (and "
            "torch.backends.cuda.matmul.allow_tf32 = False) for float32-exact convolutions.",
        ]
        if self.notes:
            head += ["", "Notes:"] + [f"- {n}" for n in self.notes]
        lines = _comment_block(head)
        lines.append("")
        if self.helpers:  # every helper refers to torch itself; nn alone needs no more
            lines.append("import torch")
        if "Pool2d" in self.helpers:
            lines.append("import torch.nn.functional as F")
        lines += ["from torch import nn", ""]
        for name in ("load_weights", "Abs", "Subsample", "Pool2d"):
            if name in self.helpers:
                lines.append(_TORCH_HELPERS[name].rstrip("\n"))
                lines.append("")
        lines += [
            "",
            "def build_model() -> nn.Sequential:",
            f'    """The pipeline as an nn.Sequential taking (N, {c}, H, W) float32 input."""',
            "    model = nn.Sequential()",
            "",
        ]
        lines += self.body
        lines += ["    return model", ""]
        if self.weights:
            lines += ["", "# Weights: the effective float32 values (exact), used by build_model()."]
            for name, note, arr in self.weights:
                lines.extend(_comment_block([note]))
                lines.append(f"{name} = {_nested(arr, 0)}")
        return "\n".join(lines).rstrip("\n") + "\n"


def to_pytorch(pipeline: Pipeline, *, in_channels: int) -> str:
    """Python source defining ``build_model() -> torch.nn.Sequential`` that reproduces `pipeline`
    on ``(N, in_channels, H, W)`` float32 tensors, weights embedded.

    Raises ValueError (a PipelineError naming the layer) if the channel counts do not chain.
    """
    return _TorchEmitter(pipeline, in_channels).emit()


# --------------------------------------------------------------------------------------------
# NumPy + OpenCV


_NP_HELPERS = {
    "pad": '''
BORDERS = {
    "zeros": cv2.BORDER_CONSTANT,
    "constant": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT_101,  # mirror without repeating the edge
    "replicate": cv2.BORDER_REPLICATE,
    "circular": cv2.BORDER_WRAP,
}


NUMPY_PAD_MODES = {"zeros": "constant", "constant": "constant", "reflect": "reflect",
                   "replicate": "edge", "circular": "wrap"}


def pad(x, pads, mode="zeros", value=0.0):
    """Pad the two spatial axes of (C, H, W) x by (top, bottom, left, right)."""
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    fill = float(value) if mode == "constant" else 0.0
    try:
        return np.stack([cv2.copyMakeBorder(plane, top, bottom, left, right, BORDERS[mode],
                                            value=fill)
                         for plane in x])
    except cv2.error:
        # Some OpenCV builds before 5.0 refuse a reflect / wrap pad larger than the image;
        # numpy.pad does the same thing (mirroring / wrapping repeatedly).
        widths = ((0, 0), (top, bottom), (left, right))
        if NUMPY_PAD_MODES[mode] == "constant":
            return np.pad(x, widths, mode="constant", constant_values=np.float32(fill))
        return np.pad(x, widths, mode=NUMPY_PAD_MODES[mode])
''',
    "conv2d": '''
def conv2d(x, weight, bias, stride, pads, padding_mode, dilation, groups):
    """Cross-correlation: out[o] = bias[o] + sum over the input channels c of o's group of
    filter2D(padded x[c], weight[o, c]), kept where the window fits, every stride-th pixel."""
    xp = pad(x, pads, padding_mode)
    cout, cin_g, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    keh, kew = dh * (kh - 1) + 1, dw * (kw - 1) + 1  # the window with its dilation gaps
    ho = (xp.shape[1] - keh) // sh + 1
    wo = (xp.shape[2] - kew) // sw + 1
    rows = slice(0, (ho - 1) * sh + 1, sh)
    cols = slice(0, (wo - 1) * sw + 1, sw)
    cout_g = cout // groups
    out = np.zeros((cout, ho, wo), dtype=np.float32)
    for o in range(cout):
        g = o // cout_g
        for c in range(cin_g):
            k = np.zeros((keh, kew), dtype=np.float32)
            k[::dh, ::dw] = weight[o, c]
            # anchor (0, 0): full[i, j] = sum_ab k[a, b] * xp[i + a, j + b]
            full = cv2.filter2D(xp[g * cin_g + c], -1, k, anchor=(0, 0),
                                borderType=cv2.BORDER_CONSTANT)
            out[o] += full[rows, cols]
        if bias is not None:
            out[o] += bias[o]
    return out
''',
    "pool_output_size": '''
def pool_output_size(n, k, stride, before, after, dilation=1, ceil_mode=False):
    """Pooling output length (PyTorch's rule): with ceil_mode a last window that would start in
    the bottom/right padding is dropped."""
    span = n + before + after - dilation * (k - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= n + before:
        out -= 1
    return out


def pool_geometry(h, w, kernel_size, stride, pads, dilation, ceil_mode):
    """Output size, the padding including what a ceil_mode window hangs past it, the window
    size with its dilation gaps and the rows / columns to keep."""
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    top, bottom, left, right = pads
    ho = pool_output_size(h, kh, sh, top, bottom, dh, ceil_mode)
    wo = pool_output_size(w, kw, sw, left, right, dw, ceil_mode)
    keh, kew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    extra_b = max(0, (ho - 1) * sh + keh - (h + top + bottom))
    extra_r = max(0, (wo - 1) * sw + kew - (w + left + right))
    keep = (slice(0, (ho - 1) * sh + 1, sh), slice(0, (wo - 1) * sw + 1, sw))
    return (ho, wo), (top, bottom + extra_b, left, right + extra_r), (keh, kew), keep
''',
    "maxpool2d": '''
def maxpool2d(x, kernel_size, stride, pads, dilation=(1, 1), ceil_mode=False):
    """Max pooling: -inf padding (it never wins), then cv2.dilate with the window as the
    structuring element anchored at its top-left corner, every stride-th position kept."""
    c, h, w = x.shape
    (ho, wo), (t, b, l, r), (keh, kew), keep = pool_geometry(
        h, w, kernel_size, stride, pads, dilation, ceil_mode)
    element = np.zeros((keh, kew), dtype=np.uint8)
    element[::dilation[0], ::dilation[1]] = 1
    out = np.empty((c, ho, wo), dtype=np.float32)
    for ch in range(c):
        plane = cv2.copyMakeBorder(x[ch], t, b, l, r, cv2.BORDER_CONSTANT, value=float("-inf"))
        full = cv2.dilate(plane, element, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT,
                          borderValue=float("-inf"))
        out[ch] = full[keep]
    return out
''',
    "avgpool2d": '''
def avgpool2d(x, kernel_size, stride, pads, ceil_mode=False, count_include_pad=True):
    """Average pooling: box sums (cv2.boxFilter, unnormalised) of the zero-padded input divided
    by the box sums of a mask of the cells that count: the padded input (count_include_pad) or
    the real pixels only. A ceil_mode window's overhang never counts."""
    c, h, w = x.shape
    top, bottom, left, right = pads
    (ho, wo), (t, b, l, r), (keh, kew), keep = pool_geometry(
        h, w, kernel_size, stride, pads, (1, 1), ceil_mode)
    mask = np.zeros((h + t + b, w + l + r), dtype=np.float32)
    if count_include_pad:
        mask[: h + top + bottom, : w + left + right] = 1.0
    else:
        mask[top: top + h, left: left + w] = 1.0

    def box_sums(plane):
        full = cv2.boxFilter(plane, -1, (kew, keh), anchor=(0, 0), normalize=False,
                             borderType=cv2.BORDER_CONSTANT)
        return full[keep]

    divisor = box_sums(mask)
    out = np.empty((c, ho, wo), dtype=np.float32)
    for ch in range(c):
        plane = cv2.copyMakeBorder(x[ch], t, b, l, r, cv2.BORDER_CONSTANT, value=0.0)
        out[ch] = box_sums(plane) / divisor
    return out
''',
    "subsample": '''
def subsample(x, stride, offset):
    """Keep rows offset_h, offset_h + stride_h, ... and likewise columns."""
    return np.ascontiguousarray(x[:, offset[0]::stride[0], offset[1]::stride[1]])
''',
    "relu": '''
def relu(x):
    return np.maximum(x, np.float32(0))
''',
    "leaky_relu": '''
def leaky_relu(x, negative_slope):
    return np.where(x >= 0, x, x * np.float32(negative_slope)).astype(np.float32)
''',
    "absolute": '''
def absolute(x):
    return np.abs(x)
''',
    "sigmoid": '''
def sigmoid(x):
    # exp of a non-positive number only: no overflow for any input
    e = np.exp(-np.abs(x))
    pos = np.float32(1) / (np.float32(1) + e)
    return np.where(x >= 0, pos, e * pos).astype(np.float32)
''',
    "tanh": '''
def tanh(x):
    return np.tanh(x)
''',
}

_NP_ORDER = ("pad", "conv2d", "pool_output_size", "maxpool2d", "avgpool2d", "subsample", "relu",
             "leaky_relu", "absolute", "sigmoid", "tanh")

_NP_MAIN = '''

def load_image(path):
    """An image file as (C, H, W) float32 in [0, 1], RGB order (or a .npy array as it is)."""
    if path.lower().endswith(".npy"):
        a = np.load(path, allow_pickle=False).astype(np.float32)
        return a[None] if a.ndim == 2 else a
    if IN_CHANNELS == 1:
        flags = cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH
    elif IN_CHANNELS == 3:
        flags = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH
    else:
        flags = cv2.IMREAD_UNCHANGED
    img = cv2.imread(path, flags)
    if img is None:
        sys.exit(f"cannot read image {path!r}")
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(img.dtype, 1.0)
    img = img.astype(np.float32) / np.float32(scale)
    if img.ndim == 2:
        img = img[:, :, None]
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return np.ascontiguousarray(img.transpose(2, 0, 1))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} IMAGE")
    image = load_image(sys.argv[1])
    print(f"input: {image.shape}")
    for i, y in enumerate(run(image), start=1):
        print(f"layer {i}: {y.shape}")
'''


def to_numpy_opencv(pipeline: Pipeline, *, in_channels: int) -> str:
    """A standalone NumPy + OpenCV script defining ``run(x) -> list[np.ndarray]`` for
    ``(in_channels, H, W)`` float32 input, returning every layer's output like
    :meth:`Pipeline.run`, with a ``__main__`` block that runs an image file given on the command
    line and prints each layer's output shape.

    Raises ValueError (a PipelineError naming the layer) if the channel counts do not chain.
    """
    used: set[str] = set()
    body: list[str] = []
    weights: list[tuple[str, str, np.ndarray]] = []
    for i, layer, c in _layers(pipeline, in_channels):
        if not layer.enabled:
            body.append(f"    # {_title(i, layer)}: disabled, passes its input through")
            body.append("    outputs.append(x)")
            body.append("")
            continue
        body.append(f"    # {_title(i, layer)}")
        if isinstance(layer, Conv2d):
            used |= {"pad", "conv2d"}
            w = layer.effective_weight(c)
            bias = layer.effective_bias(c)
            wname, bname = f"LAYER{i}_WEIGHT", "None"
            weights.append((wname, f"(out, in/groups, kh, kw) = {tuple(w.shape)}", w))
            if bias is not None:
                bname = f"LAYER{i}_BIAS"
                weights.append((bname, f"({w.shape[0]},)", np.asarray(bias, dtype=np.float32)))
            fn, args = "conv2d", [
                "x", wname, bname, f"stride={_tuple(layer.stride)}", f"pads={_tuple(layer.pads)}",
                f"padding_mode={layer.padding_mode!r}", f"dilation={_tuple(layer.dilation)}",
                f"groups={layer.effective_groups(c)}"]
        elif isinstance(layer, MaxPool2d):
            used |= {"pool_output_size", "maxpool2d"}
            fn, args = "maxpool2d", [
                "x", _tuple(layer.kernel_size), _tuple(layer.strides), f"pads={_tuple(layer.pads)}",
                f"dilation={_tuple(layer.dilation)}", f"ceil_mode={bool(layer.ceil_mode)}"]
        elif isinstance(layer, AvgPool2d):
            used |= {"pool_output_size", "avgpool2d"}
            fn, args = "avgpool2d", [
                "x", _tuple(layer.kernel_size), _tuple(layer.strides), f"pads={_tuple(layer.pads)}",
                f"ceil_mode={bool(layer.ceil_mode)}",
                f"count_include_pad={bool(layer.count_include_pad)}"]
        elif isinstance(layer, Pad):
            used.add("pad")
            fn, args = "pad", ["x", _tuple(layer.pads), repr(layer.mode)]
            if layer.mode == "constant":
                args.append(f"value={_num(layer.value)}")
        elif isinstance(layer, Stride):
            used.add("subsample")
            fn, args = "subsample", ["x", _tuple(layer.stride), _tuple(layer.offset)]
        elif isinstance(layer, LeakyReLU):
            used.add("leaky_relu")
            fn, args = "leaky_relu", ["x", _num(layer.negative_slope)]
        elif layer.type in ("relu", "sigmoid", "tanh", "abs"):
            fn = "absolute" if layer.type == "abs" else layer.type
            used.add(fn)
            args = ["x"]
        else:
            raise PipelineError(f"layer type {layer.type!r} has no NumPy/OpenCV translation",
                                layer=i)
        body.extend(_call(f"x = {fn}", args, 4))
        body.append("    outputs.append(x)")
        body.append("")

    c = int(in_channels)
    head = [
        f"Generated by ConvStudio from pipeline '{_pipeline_name(pipeline)}'.",
        f"A standalone NumPy + OpenCV implementation of the pipeline for ({c}, H, W) float32 "
        f"input ({_channels_text(c)}).",
        "",
        "Usage:",
        "    python this_script.py IMAGE    # prints every layer's output shape",
        "    outputs = run(x)               # x: (C, H, W) float32; one array per layer",
    ]
    lines = _comment_block(head)
    lines += ["", "import sys", "", "import cv2", "import numpy as np", "",
              f"IN_CHANNELS = {c}", ""]
    for name in _NP_ORDER:
        if name in used:
            lines.append(_NP_HELPERS[name].rstrip("\n"))
            lines.append("")
    lines += [
        "",
        "def run(x: np.ndarray) -> list[np.ndarray]:",
        '    """Every layer\'s output, in order, for (C, H, W) (or (H, W)) float32 x."""',
        "    x = np.asarray(x, dtype=np.float32)",
        "    if x.ndim == 2:",
        "        x = x[None]",
        "    if x.ndim != 3 or x.shape[0] != IN_CHANNELS:",
        '        raise ValueError(f"expected ({IN_CHANNELS}, H, W) input, got shape {x.shape}")',
        "    x = np.ascontiguousarray(x)",
        "    outputs = []",
        "",
    ]
    lines += body
    lines += ["    return outputs", ""]
    if weights:
        lines += ["", "# Weights: the effective float32 values (scaled, flipped, the kernel form "
                      "repeated per channel)."]
        for name, note, arr in weights:
            lines.extend(_comment_block([note]))
            lines.append(f"{name} = np.array({_nested(arr, 0)}, dtype=np.float32)")
    lines.append(_NP_MAIN.rstrip("\n"))
    return "\n".join(lines) + "\n"
