"""Locality and weight sharing, counted; and which input pixels one weight multiplies.

The tutorial reaches convolution in three steps (docs/user-guide.md, "Locality and weight
sharing"): a fully connected layer (every output value sees every input value: for a
1-megapixel image to a 1-megapixel hidden map, 10^12 weights), a locally connected layer
(locality: each output value sees one window of (2Δ + 1)^2 values, |a|, |b| <= Δ, with weights
of its own) and a convolution (translation invariance: one window of weights shared by every
position). :func:`parameter_steps` counts the three for one layer of the user's pipeline.

:func:`weight_footprint` answers the kernel editor's hover: the input values one weight
multiplies, at every output position, as a boolean mask. No Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convstudio.core import Conv2d, Pipeline, PipelineError
from convstudio.core.explain import pad_source_index

__all__ = ["ParameterSteps", "parameter_steps", "weight_footprint"]


@dataclass(frozen=True)
class ParameterSteps:
    """The parameters of one conv layer's three readings, for its actual input and output.

    ``window`` is the number of input values one output value sees (``Cin/groups x kh x kw``);
    ``delta`` the tutorial's Δ, half the window's side (None for an even or non-square window).
    Each count is ``(weights, biases)``; biases are counted only if the layer has one.
    """

    in_values: int
    out_values: int
    out_positions: int
    window: int
    delta: int | None
    fully_connected: tuple[int, int]
    locally_connected: tuple[int, int]
    convolution: tuple[int, int]

    @staticmethod
    def total(count: tuple[int, int]) -> int:
        return count[0] + count[1]


def parameter_steps(pipeline: Pipeline, in_shape, layer: int) -> ParameterSteps:
    """Count layer `layer` (1-based, a conv2d) of `pipeline` as fully connected, locally
    connected and convolutional, for the layer's input shape that `in_shape` gives it."""
    shapes = pipeline.output_shapes(in_shape)
    if not 1 <= layer <= len(pipeline):
        raise PipelineError(f"layer must be between 1 and {len(pipeline)}, got {layer}")
    lyr = pipeline.layers[layer - 1]
    if not isinstance(lyr, Conv2d):
        raise PipelineError(f"a {lyr.type} layer has no weights to count: choose a conv layer")
    (c_in, h, w), (c_out, ho, wo) = shapes[layer - 1], shapes[layer]
    wt = lyr.effective_weight(c_in)
    _, cin_g, kh, kw = wt.shape
    has_bias = lyr.bias is not None
    n_in, n_out = c_in * h * w, c_out * ho * wo
    window = cin_g * kh * kw
    delta = (kh - 1) // 2 if kh == kw and kh % 2 == 1 else None
    bias_fc = n_out if has_bias else 0
    conv_bias = 0 if lyr.bias is None else (1 if lyr.bias_shared else int(lyr.bias.shape[0]))
    conv_params = lyr.params(shapes[layer - 1])
    return ParameterSteps(n_in, n_out, ho * wo, window, delta, (n_in * n_out, bias_fc),
                          (n_out * window, bias_fc), (conv_params - conv_bias, conv_bias))


def weight_footprint(layer: Conv2d, in_shape, out_channel: int, in_channel: int, a: int, b: int
                     ) -> np.ndarray:
    """``(C, H, W) bool``: the input values that weight ``[out_channel, in_channel, a, b]`` (as the
    kernel editor shows it: `in_channel` within the group; a 2-D kernel has ``out_channel ==
    in_channel`` per channel, pass ``out_channel`` = the channel and ``in_channel`` = 0) multiplies
    at some output position. Padding cells that copy an input value (reflect, replicate, circular)
    count for the value they copy; zero padding multiplies no input value."""
    c, h, w = (int(v) for v in in_shape)
    out_shape = layer.output_shape((c, h, w))
    groups = layer.effective_groups(c)
    cout = out_shape[0]
    cin_g = c // groups
    kh, kw = layer.effective_weight(c).shape[2:]
    if not (0 <= out_channel < cout and 0 <= in_channel < cin_g and 0 <= a < kh and 0 <= b < kw):
        raise PipelineError(f"no weight [{out_channel}, {in_channel}, {a}, {b}] in a "
                            f"{cout} x {cin_g} x {kh} x {kw} weight")
    if layer.flip:  # the weight shown at (a, b) is applied at the rotated tap
        a, b = kh - 1 - a, kw - 1 - b
    ci = (out_channel // (cout // groups)) * cin_g + in_channel
    top, bottom, left, right = layer.pads
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    rows = pad_source_index(h, top, bottom, layer.padding_mode)[np.arange(out_shape[1]) * sh + a * dh]
    cols = pad_source_index(w, left, right, layer.padding_mode)[np.arange(out_shape[2]) * sw + b * dw]
    mask = np.zeros((c, h, w), dtype=bool)
    mask[ci][np.ix_(rows[rows >= 0], cols[cols >= 0])] = True
    return mask


def _same(text: str) -> str:
    return text


def parameter_steps_html(pipeline: Pipeline, in_shape, layer: int, *, tr=_same) -> str:
    """The Shapes panel's paragraph on layer `layer`: the three steps counted (empty for a layer
    that is not a convolution), and which of the layer's numbers are hyperparameters.

    `tr` translates each sentence before its numbers go in (the app passes its translator; the
    default keeps the English)."""
    try:
        s = parameter_steps(pipeline, in_shape, layer)
    except PipelineError:
        return ""
    lyr = pipeline.layers[layer - 1]
    t = ParameterSteps.total
    delta = tr(", Δ = {d}: |a|, |b| ≤ {d}").format(d=s.delta) if s.delta is not None else ""
    steps = tr(
        "<p><b>Locality and weight sharing, layer {layer}</b> ({n_in} input values, {n_out} output "
        "values): fully connected, every output value sees every input value: <b>{fc}</b> parameters. "
        "Locally connected (locality{delta}), each output value sees one window of {window} values with "
        "weights of its own: <b>{local}</b>. Convolution (translation invariance), one window of weights "
        "shared by all {positions} positions: <b>{conv}</b>.</p>").format(
        layer=layer, n_in=f"{s.in_values:,}", n_out=f"{s.out_values:,}", fc=f"{t(s.fully_connected):,}",
        delta=delta, window=f"{s.window:,}", local=f"{t(s.locally_connected):,}",
        positions=f"{s.out_positions:,}", conv=f"{t(s.convolution):,}")
    hyper = tr(
        "<p><b>Hyperparameters</b> (chosen, not learned): kernel size {kh} × {kw}, padding, stride "
        "{sh} × {sw}, dilation, output channels. <b>Learnable parameters</b>: the weights ({weights}) and "
        "the biases ({biases}).</p>").format(
        kh=lyr.kernel_size[0], kw=lyr.kernel_size[1], sh=lyr.stride[0], sw=lyr.stride[1],
        weights=f"{s.convolution[0]:,}", biases=f"{s.convolution[1]:,}")
    return steps + hyper
