"""Code export to a standalone NumPy + OpenCV script: :func:`to_numpy_opencv` (re-exported by
:mod:`convstudio.core.codegen`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .codegen_common import (
    POOL_OUTPUT_SIZE,
    _call,
    _channels_text,
    _comment_block,
    _layers,
    _nested,
    _num,
    _pipeline_name,
    _title,
    _tuple,
)
from .errors import PipelineError
from .layers import AvgPool2d, Conv2d, ConvTranspose2d, Layer, MaxPool2d, Pad
from .pipeline import Pipeline

__all__ = ["to_numpy_opencv"]

_NP_HELPERS = {
    "pad": '''
BORDERS = {
    "zeros": cv2.BORDER_CONSTANT,
    "constant": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT_101,  # mirror without repeating the edge
    "replicate": cv2.BORDER_REPLICATE,
    "circular": cv2.BORDER_WRAP,
    "symmetric": cv2.BORDER_REFLECT,  # mirror repeating the edge
}


NUMPY_PAD_MODES = {"zeros": "constant", "constant": "constant", "reflect": "reflect",
                   "replicate": "edge", "circular": "wrap", "symmetric": "symmetric"}


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
    "conv_transpose2d": '''
def conv_transpose2d(x, weight, bias, stride, padding, output_padding, dilation, groups):
    """PyTorch's ConvTranspose2d: input value x[c, i, j] adds x * weight[c, o, a, b] to output
    (o in c's group, i*sh + a*dh - ph, j*sw + b*dw - pw). Scattered tap by tap into the full
    output, which the padding then crops (output_padding adds rows / columns at the end)."""
    cin, h, w = x.shape
    _, cout_g, kh, kw = weight.shape
    cin_g = cin // groups
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    full = np.zeros((cout_g * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (w - 1) * sw + dw * (kw - 1) + 1 + opw), dtype=np.float32)
    for g in range(groups):
        xg = x[g * cin_g:(g + 1) * cin_g].reshape(cin_g, h * w)
        dst = full[g * cout_g:(g + 1) * cout_g]
        for a in range(kh):
            for b in range(kw):
                tap = weight[g * cin_g:(g + 1) * cin_g, :, a, b].T @ xg  # (cout_g, h*w)
                dst[:, a * dh:a * dh + (h - 1) * sh + 1:sh,
                    b * dw:b * dw + (w - 1) * sw + 1:sw] += tap.reshape(cout_g, h, w)
    out = full[:, ph:full.shape[1] - ph, pw:full.shape[2] - pw]
    if bias is not None:
        out = out + bias[:, None, None]
    return np.ascontiguousarray(out, dtype=np.float32)
''',
    "upsample": '''
def upsample(x, scale_factor, mode):
    """PyTorch's F.interpolate(scale_factor=..., align_corners=False) for integer factors:
    cv2.INTER_NEAREST takes x[floor(i / s)] (PyTorch's nearest), cv2.INTER_LINEAR interpolates at
    (i + 0.5) / s - 0.5 clamped to the border (PyTorch's bilinear)."""
    c, h, w = x.shape
    sh, sw = scale_factor
    interp = cv2.INTER_NEAREST if mode == "nearest" else cv2.INTER_LINEAR
    return np.stack([cv2.resize(plane, (w * sw, h * sh), interpolation=interp).reshape(h * sh, w * sw)
                     for plane in x])
''',
    "pool_output_size": POOL_OUTPUT_SIZE + '''


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

_NP_ORDER = ("pad", "conv2d", "conv_transpose2d", "upsample", "pool_output_size", "maxpool2d",
             "avgpool2d", "subsample", "relu", "leaky_relu", "absolute", "sigmoid", "tanh")

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


def _weights(i: int, w: np.ndarray, bias: np.ndarray | None, shape_note: str,
             weights: list[tuple[str, str, np.ndarray]]) -> tuple[str, str]:
    """Names of layer i's weight and bias constants (bias "None" if it has none)."""
    wname, bname = f"LAYER{i}_WEIGHT", "None"
    weights.append((wname, f"{shape_note} = {tuple(w.shape)}", w))
    if bias is not None:
        bname = f"LAYER{i}_BIAS"
        weights.append((bname, f"({len(bias)},)", np.asarray(bias, dtype=np.float32)))
    return wname, bname


def _conv2d(i: int, layer: Conv2d, c: int, weights) -> tuple[str, list[str]]:
    wname, bname = _weights(i, layer.effective_weight(c), layer.effective_bias(c),
                            "(out, in/groups, kh, kw)", weights)
    return "conv2d", [
        "x", wname, bname, f"stride={_tuple(layer.stride)}", f"pads={_tuple(layer.pads)}",
        f"padding_mode={layer.padding_mode!r}", f"dilation={_tuple(layer.dilation)}",
        f"groups={layer.effective_groups(c)}"]


def _conv_transpose2d(i: int, layer: ConvTranspose2d, c: int, weights) -> tuple[str, list[str]]:
    wname, bname = _weights(i, np.asarray(layer.weight, dtype=np.float32), layer.bias,
                            "(in, out/groups, kh, kw)", weights)
    return "conv_transpose2d", [
        "x", wname, bname, f"stride={_tuple(layer.stride)}", f"padding={_tuple(layer.padding)}",
        f"output_padding={_tuple(layer.output_padding)}", f"dilation={_tuple(layer.dilation)}",
        f"groups={layer.groups}"]


def _maxpool2d(i: int, layer: MaxPool2d, c: int, weights) -> tuple[str, list[str]]:
    return "maxpool2d", [
        "x", _tuple(layer.kernel_size), _tuple(layer.strides), f"pads={_tuple(layer.pads)}",
        f"dilation={_tuple(layer.dilation)}", f"ceil_mode={bool(layer.ceil_mode)}"]


def _avgpool2d(i: int, layer: AvgPool2d, c: int, weights) -> tuple[str, list[str]]:
    return "avgpool2d", [
        "x", _tuple(layer.kernel_size), _tuple(layer.strides), f"pads={_tuple(layer.pads)}",
        f"ceil_mode={bool(layer.ceil_mode)}", f"count_include_pad={bool(layer.count_include_pad)}"]


def _pad(i: int, layer: Pad, c: int, weights) -> tuple[str, list[str]]:
    args = ["x", _tuple(layer.pads), repr(layer.mode)]
    if layer.mode == "constant":
        args.append(f"value={_num(layer.value)}")
    return "pad", args


def _literal(v) -> str:
    """A pair, a string or a number as Python source."""
    if isinstance(v, tuple):
        return _tuple(v)
    return repr(v) if isinstance(v, str) else _num(v)


def _plain(fn: str, *params: str):
    """A layer computed by helper `fn` from x and the named layer attributes, in order."""
    def call(i: int, layer: Layer, c: int, weights) -> tuple[str, list[str]]:
        return fn, ["x"] + [_literal(getattr(layer, p)) for p in params]
    return call


#: Layer type -> (the helpers its code needs, call(i, layer, in_channels, weights) -> (helper
#: function, its arguments)); a call adds the layer's weight arrays to `weights`.
_CALLS: dict[str, tuple[tuple[str, ...], Callable]] = {
    "conv2d": (("pad", "conv2d"), _conv2d),
    "conv_transpose2d": (("conv_transpose2d",), _conv_transpose2d),
    "maxpool2d": (("pool_output_size", "maxpool2d"), _maxpool2d),
    "avgpool2d": (("pool_output_size", "avgpool2d"), _avgpool2d),
    "pad": (("pad",), _pad),
    "stride": (("subsample",), _plain("subsample", "stride", "offset")),
    "upsample": (("upsample",), _plain("upsample", "scale_factor", "mode")),
    "relu": (("relu",), _plain("relu")),
    "leaky_relu": (("leaky_relu",), _plain("leaky_relu", "negative_slope")),
    "abs": (("absolute",), _plain("absolute")),
    "sigmoid": (("sigmoid",), _plain("sigmoid")),
    "tanh": (("tanh",), _plain("tanh")),
}


def _layer_call(i: int, layer: Layer, c: int, used: set[str],
                weights: list[tuple[str, str, np.ndarray]]) -> tuple[str, list[str]]:
    """(helper function name, its arguments) computing enabled layer `i` (input channels `c`);
    adds the helpers it needs to `used` and its weight arrays to `weights`."""
    entry = _CALLS.get(layer.type)
    if entry is None:
        raise PipelineError(f"layer type {layer.type!r} has no NumPy/OpenCV translation", layer=i)
    helpers, call = entry
    used.update(helpers)
    return call(i, layer, c, weights)


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
        fn, args = _layer_call(i, layer, c, used, weights)
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
