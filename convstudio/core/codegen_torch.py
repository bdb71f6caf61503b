"""Code export to PyTorch: :func:`to_pytorch` (re-exported by :mod:`convstudio.core.codegen`,
whose docstring says how the translation handles what PyTorch does differently).
"""

from __future__ import annotations

import numpy as np

from .codegen_common import (
    POOL_OUTPUT_SIZE,
    _call,
    _channels_text,
    _comment_block,
    _layers,
    _nested,
    _num,
    _pad_limit_note,
    _pipeline_name,
    _same_note,
    _title,
    _tuple,
)
from .errors import PipelineError
from .layers import AvgPool2d, Conv2d, ConvTranspose2d, Layer, LeakyReLU, MaxPool2d, Pad, Stride, Upsample
from .pipeline import Pipeline

__all__ = ["to_pytorch"]

_TORCH_HELPERS = {
    "load_weights": '''
def load_weights(conv: nn.Module, weight, bias=None) -> nn.Module:
    """Copy embedded float32 values (nested lists) into a (transposed) convolution."""
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
    "SymmetricPad2d": '''
class SymmetricPad2d(nn.Module):
    """Mirror padding that repeats the edge sample (numpy's 'symmetric', OpenCV's BORDER_REFLECT,
    ConvStudio's "symmetric"), which F.pad lacks; pads of any size mirror repeatedly."""

    def __init__(self, padding):
        super().__init__()
        self.padding = tuple(padding)  # left, right, top, bottom, as F.pad takes them

    @staticmethod
    def source(n, before, after, device):
        i = torch.arange(-before, n + after, device=device) % (2 * n)
        return torch.where(i < n, i, 2 * n - 1 - i)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right, top, bottom = self.padding
        h, w = x.shape[-2:]
        x = x.index_select(-2, self.source(h, top, bottom, x.device))
        return x.index_select(-1, self.source(w, left, right, x.device))

    def extra_repr(self) -> str:
        return f"padding={self.padding}"
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
    "Pool2d": POOL_OUTPUT_SIZE + '''


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
    "symmetric": "SymmetricPad2d",  # defined in the generated file
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
        if mode == "symmetric":
            self.helpers.add("SymmetricPad2d")
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

    def _conv_transpose2d(self, i: int, layer: ConvTranspose2d, c: int) -> None:
        w = np.asarray(layer.weight, dtype=np.float32)
        cin, cout_g, kh, kw = w.shape
        wname, bname = f"LAYER{i}_WEIGHT", "None"
        self.weights.append((wname, f"(in, out/groups, kh, kw) = {tuple(w.shape)}", w))
        if layer.bias is not None:
            bname = f"LAYER{i}_BIAS"
            self.weights.append((bname, f"({cout_g * layer.groups},)", layer.bias))
        self.helpers.add("load_weights")
        self.body.extend(_call("conv = nn.ConvTranspose2d", [
            str(cin), str(cout_g * layer.groups), f"kernel_size={_tuple((kh, kw))}",
            f"stride={_tuple(layer.stride)}", f"padding={_tuple(layer.padding)}",
            f"output_padding={_tuple(layer.output_padding)}", f"groups={layer.groups}",
            f"bias={layer.bias is not None}", f"dilation={_tuple(layer.dilation)}"], 4))
        self.body.append(f"    load_weights(conv, {wname}, {bname})")
        self.add(i, "conv")

    def _upsample(self, i: int, layer: Upsample, c: int) -> None:
        args = [f"scale_factor={_tuple(layer.scale_factor)}", f"mode={layer.mode!r}"]
        if layer.mode == "bilinear":
            args.append("align_corners=False")
        self.add(i, ("nn.Upsample", args))

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
        for name in ("load_weights", "Abs", "SymmetricPad2d", "Subsample", "Pool2d"):
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
