"""The sliding window, step by step: what the player (``app/panels/player.py``) animates.

One step per output value of a conv or pooling layer, in the order the tutorial's figures slide
the window (left to right, top to bottom): where the window sits on the (padded) layer input,
one window per input channel, each term (value × weight for a convolution, the value for
pooling), the running sum (a convolution's products added one by one over the channels, then the
bias; average pooling's sum, then the division; max pooling's running maximum), and the value
the output map holds there. The terms come from :func:`convstudio.core.explain.explain_pixel`,
the computation inspector's arithmetic, so the player writes out exactly what the inspector
explains (docs/user-guide.md, "The sliding window, played").

A large map is animated over a region (at most :data:`MAX_REGION` output values per side)
around a chosen pixel, so preparing the steps stays cheap: :func:`plan_steps` runs in a
background job and the player only reads the finished :class:`SlidingPlan`. No Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convstudio.core import Layer, Pipeline, PipelineError
from convstudio.core.cancel import check
from convstudio.core.explain import explain_pixel, pad_source_index
from convstudio.core.formatting import format_short
from convstudio.core.pipeline import as_chw

__all__ = ["MAX_REGION", "SLIDING_TYPES", "SlidingStep", "SlidingPlan", "plan_steps", "region_around"]

#: The most output rows (and columns) the player animates.
MAX_REGION = 12
#: Layer types the player slides a window over.
SLIDING_TYPES = ("conv2d", "maxpool2d", "avgpool2d")


@dataclass(frozen=True)
class SlidingStep:
    """One output value: the window, its terms and the running result.

    ``terms`` are ``(input_channel, row, col, value, weight, term)`` in layer-input coordinates
    (rows / cols outside ``0 .. n - 1`` are padding; `weight` is None for pooling, `value` None
    for a max-pooling padding cell). ``running[k]`` is the result after the first k + 1 terms
    (the last entry of a convolution with a bias adds the bias, of average pooling divides).
    ``result`` is the float64 arithmetic, ``output`` the map's float32 value.
    """

    index: int
    row: int
    col: int
    kind: str
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    terms: tuple[tuple[int, int, int, float | None, float | None, float | None], ...]
    running: tuple[float, ...]
    bias: float
    divisor: float
    result: float
    output: float

    def text(self) -> str:
        """The step written out as the tutorial writes it: '0×0 + 1×1 + 3×2 + 4×3 = 19'."""
        f = _num
        if self.kind == "conv":
            body = " + ".join(f"{f(v)}×{f(w)}" for _, _, _, v, w, _ in self.terms).replace("+ -", "- ")
            if self.bias:
                body += f" + {f(self.bias)}"
        elif self.kind == "max":
            body = "max(" + ", ".join(f(v) for _, _, _, v, _, _ in self.terms if v is not None) + ")"
        else:
            body = "(" + " + ".join(f(v) for _, _, _, v, _, t in self.terms if t is not None) + ")"
            body += f" / {f(self.divisor)}"
        return f"{body} = {f(self.result)}"

    def running_text(self) -> str:
        """The running sum (or maximum), one value per term: '0, 1, 7, 19'."""
        return ", ".join(_num(v) for v in self.running)


def _num(v: float | None) -> str:
    return "pad" if v is None else format_short(float(v))


@dataclass(frozen=True)
class SlidingPlan:
    """Every step of one output channel over a region, and what the player draws around it.

    ``region`` is ``(r0, r1, c0, c1)`` (end-exclusive) in output coordinates; ``crop`` the layer
    input as the windows see it, ``(C_shown, rows, cols)`` with NaN where the padding holds no
    value, starting at layer-input position ``crop_origin`` (negative: padding); ``kernel`` the
    weights applied for the chosen output channel, ``(C_in_group, kh, kw)`` (None for pooling).
    """

    layer_type: str
    channel: int
    region: tuple[int, int, int, int]
    output_shape: tuple[int, int, int]
    steps: tuple[SlidingStep, ...]
    crop: np.ndarray
    crop_origin: tuple[int, int]
    input_channels: tuple[int, ...]
    kernel: np.ndarray | None
    outputs: np.ndarray  # (rows, cols) of the region: the map's values

    def __len__(self) -> int:
        return len(self.steps)


def region_around(shape: tuple[int, int], centre: tuple[int, int] | None, size: int = MAX_REGION
                  ) -> tuple[int, int, int, int]:
    """At most `size` x `size` output positions of a map of `shape` (rows, cols): the whole map
    when it fits, else a block around `centre` (the top-left block without one)."""
    def axis(n: int, c: int | None) -> tuple[int, int]:
        if n <= size:
            return 0, n
        start = 0 if c is None else min(max(0, int(c) - size // 2), n - size)
        return start, start + size

    (r0, r1), (c0, c1) = axis(shape[0], None if centre is None else centre[0]), \
        axis(shape[1], None if centre is None else centre[1])
    return r0, r1, c0, c1


def _step(index: int, info: dict) -> SlidingStep:
    kind = info["kind"]
    terms: list = []
    if kind == "conv":
        for ch in info["inputs"]:
            for a, r in enumerate(ch["rows"]):
                for b, c in enumerate(ch["cols"]):
                    terms.append((ch["input_channel"], r, c, ch["window"][a][b], ch["kernel"][a][b],
                                  ch["products"][a][b]))
        running = list(np.cumsum([t[5] for t in terms], dtype=np.float64))
        if info["bias"]:
            running.append(running[-1] + info["bias"])
        bias, divisor, rows, cols = info["bias"], 1.0, info["inputs"][0]["rows"], info["inputs"][0]["cols"]
    else:
        rows, cols, bias, divisor = info["rows"], info["cols"], 0.0, float(info.get("divisor", 1.0))
        best, total, running = -np.inf, 0.0, []
        for a, r in enumerate(rows):
            for b, c in enumerate(cols):
                v = info["window"][a][b]
                inside = not info["padding"][a][b]
                if kind == "max":
                    terms.append((info["channel"], r, c, v if inside else None, None, v if inside else None))
                    best = max(best, v) if inside else best
                    running.append(best)
                else:
                    counted = inside or not info["beyond"][a][b]  # a padding zero is a value here
                    val = v if inside else 0.0
                    terms.append((info["channel"], r, c, val if counted else None, None,
                                  val if inside else None))
                    total += val if inside else 0.0
                    running.append(total)
        if kind == "avg":
            running.append(total / divisor)
    return SlidingStep(index, info["row"], info["col"], kind, tuple(rows), tuple(cols), tuple(terms),
                       tuple(float(v) for v in running), float(bias), divisor, float(info["total"]),
                       float(info["output"]))


def _crop(layer: Layer, x: np.ndarray, rows: range, cols: range, channels: tuple[int, ...]) -> np.ndarray:
    """The layer input at layer-input positions `rows` x `cols`, padding filled as the layer
    fills it (NaN where a pooling layer's padding holds no value)."""
    _, h, w = x.shape
    top, bottom, left, right = layer.pads
    mode = getattr(layer, "padding_mode", "zeros")
    src_r = pad_source_index(h, top, bottom, mode)
    src_c = pad_source_index(w, left, right, mode)

    def index(src: np.ndarray, positions: range, before: int) -> np.ndarray:
        p = np.asarray(positions) + before
        ok = (p >= 0) & (p < src.size)
        out = np.full(p.size, -1)
        out[ok] = src[p[ok]]
        return out

    ri, ci = index(src_r, rows, top), index(src_c, cols, left)
    fill = 0.0 if layer.type != "maxpool2d" else np.nan
    out = np.full((len(channels), len(ri), len(ci)), fill, dtype=np.float64)
    keep = (ri >= 0)[:, None] & (ci >= 0)[None, :]
    for k, ch in enumerate(channels):
        plane = x[ch][np.ix_(np.clip(ri, 0, None), np.clip(ci, 0, None))]
        out[k][keep] = plane[keep]
    r, c = np.asarray(rows), np.asarray(cols)
    in_extent = ((r >= -top) & (r < h + bottom))[:, None] & ((c >= -left) & (c < w + right))[None, :]
    out[:, ~in_extent] = np.nan  # beyond the padding (a ceil-mode pooling window): no value
    return out


def plan_steps(layer: Layer, layer_input, layer_output: np.ndarray, channel: int = 0, *,
               centre: tuple[int, int] | None = None, size: int = MAX_REGION,
               ) -> SlidingPlan:
    """Every step of output channel `channel` of `layer` over the region around `centre` (see
    :func:`region_around`), from the layer's input and its computed output (``(C, H, W)``).
    Stops with :class:`~convstudio.core.RunCancelled` when the job that runs it is cancelled
    (:func:`convstudio.core.cancel.check`)."""
    if layer.type not in SLIDING_TYPES:
        raise PipelineError(f"a {layer.type} layer slides no window: choose a conv or pooling layer")
    x = as_chw(layer_input)
    out = np.asarray(layer_output)
    if not 0 <= channel < out.shape[0]:
        raise PipelineError(f"no output channel {channel}: the layer has {out.shape[0]}")
    one = Pipeline((layer,))
    r0, r1, c0, c1 = region_around(out.shape[1:], centre, size)
    steps = []
    for i in range(r0, r1):
        check()
        for j in range(c0, c1):
            info = explain_pixel(one, x, 1, channel, i, j, outputs=[out])
            steps.append(_step(len(steps), info))
    first, last = steps[0], steps[-1]
    rows = range(min(first.rows), max(last.rows) + 1)
    cols = range(min(min(s.cols) for s in steps), max(max(s.cols) for s in steps) + 1)
    channels = tuple(sorted({t[0] for t in first.terms}))
    kernel = None
    if layer.type == "conv2d":
        wt = layer.effective_weight(x.shape[0])
        kernel = np.asarray(wt[channel], dtype=np.float64)
    return SlidingPlan(layer.type, channel, (r0, r1, c0, c1), tuple(out.shape), tuple(steps),
                       _crop(layer, x, rows, cols, channels), (rows.start, cols.start), channels, kernel,
                       np.asarray(out[channel, r0:r1, c0:c1], dtype=np.float64))
