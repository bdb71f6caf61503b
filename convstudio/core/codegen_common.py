"""Helpers shared by the code generators (:mod:`convstudio.core.codegen_torch` and
:mod:`convstudio.core.codegen_numpy`): exact number literals, safe comments, line wrapping and the
channel-checked walk over a pipeline's layers. See :mod:`convstudio.core.codegen`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import numpy as np

from .errors import PipelineError
from .layers import Conv2d, ConvTranspose2d, Layer
from .pipeline import Pipeline

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
        if layer.enabled and isinstance(layer, ConvTranspose2d):
            cin, cout = layer.channels(c)
            if cin != c:
                raise PipelineError(f"expects {cin} input channels (the first axis of the weight) "
                                    f"but its input has {c}", layer=i, key="weight")
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


#: The pooling output length as the exported scripts compute it (both the PyTorch and the NumPy
#: export write this same function into the file they generate).
POOL_OUTPUT_SIZE = '''
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
'''
