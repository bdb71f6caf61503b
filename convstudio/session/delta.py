"""Delta updates: a layer's new output from its old one after a small weight edit.

No Qt here: the renderer's worker calls these between a kernel-cell edit and the exact recompute.

Convolution is linear in its weights: changing ``w[o, c, a, b]`` by ``d`` changes only output
channel ``o``, by ``d`` times a strided slice of the padded input channel that ``o`` reads
(``xpad[g*Cin_g + c, a*dh + i*sh, b*dw + j*sw]``), an ``O(Ho*Wo)`` update instead of the whole
layer. A changed bias adds a constant to its channel. After such an edit only a few channels of a
layer differ from the cached output; the layers after it then need only:

* channel-wise layers (``convstudio.core.channels.PER_CHANNEL_LAYER_TYPES``: activations, pooling,
  pad, stride, ...): recompute the changed channels;
* a later convolution whose input changed in channels ``S`` only: add
  ``correlate(pad(x_new[S] - x_old[S]), W[:, S])`` (padding is a linear selection of input values
  in every conv padding mode, and the bias cancels); a later transposed convolution likewise adds
  ``conv_transpose(x_new[S] - x_old[S], W[S])``;
* any other type (one that mixes channels and has no entry in :data:`CHANNEL_PROPAGATORS`): a
  full recompute.

The sums are taken in another order than a full recompute takes them, so a delta result equals
``layer.forward`` only to float32 rounding (and an inf or NaN in the input can spread differently).
The renderer therefore shows it at once and replaces it with an exact recompute afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from convstudio.core import Conv2d, Layer, PipelineError, buffers, ops
from convstudio.core.channels import PER_CHANNEL_LAYER_TYPES

__all__ = ["CHANNEL_PROPAGATORS", "DELTA_SHARE", "conv_weight_delta", "propagate_delta"]

#: A delta update is taken while its multiply-adds are at most this share of the layer's; a
#: larger edit (a preset, a scaled kernel) is recomputed exactly straight away.
DELTA_SHARE = 0.25

# Conv2d fields a weight edit changes; any other difference needs the full recompute.
_WEIGHT_FIELDS = frozenset({"weight", "kernel", "bias", "bias_shared", "name"})


def _same_but_weights(old: Conv2d, new: Conv2d) -> bool:
    if (old.weight is None) != (new.weight is None):
        return False
    for f in dataclasses.fields(new):
        if f.name not in _WEIGHT_FIELDS and getattr(old, f.name) != getattr(new, f.name):
            return False
    return True


def _conv_work(layer: Conv2d, cin_g: int, out_shape: tuple[int, ...]) -> int:
    kh, kw = layer.kernel_size
    return out_shape[0] * out_shape[1] * out_shape[2] * cin_g * kh * kw


def _tap(start: int, count: int, step: int) -> slice:
    return slice(start, start + (count - 1) * step + 1, step)


def conv_weight_delta(old: Conv2d, new: Conv2d, x: np.ndarray, old_out: np.ndarray
                      ) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """``new.forward(x)`` from ``old_out = old.forward(x)`` when only weights or bias changed.

    Parameters
    ----------
    old, new : Conv2d
        Equal but for ``weight`` / ``kernel`` / ``bias`` (and the name); both enabled.
    x : (C, H, W) float32
        The layer's input (unchanged).
    old_out : (Cout, Ho, Wo) float32
        ``old.forward(x)`` (or an earlier delta result standing for it); not modified.

    Returns
    -------
    (out, changed) or None
        The new output (a new array, equal to ``new.forward(x)`` to float32 rounding) and the
        output channels that differ from `old_out`; None when the edit is not a weight edit of a
        fitting layer, or when updating would cost more than :data:`DELTA_SHARE` of recomputing.
    """
    if not (isinstance(old, Conv2d) and isinstance(new, Conv2d) and old.enabled and new.enabled
            and _same_but_weights(old, new)):
        return None
    c = x.shape[0]
    try:
        out_shape = new.output_shape(x.shape)
        w_old, w_new = old.effective_weight(c), new.effective_weight(c)
    except PipelineError:
        return None
    if w_old.shape != w_new.shape or tuple(old_out.shape) != tuple(out_shape) \
            or old.effective_groups(c) != new.effective_groups(c):
        return None
    cout, cin_g = w_new.shape[:2]
    groups = new.effective_groups(c)
    cout_g = cout // groups
    dw = w_new - w_old
    cells = np.argwhere(dw != 0)
    b_old, b_new = old.effective_bias(c), new.effective_bias(c)
    db = np.zeros(cout, np.float32)
    if b_new is not None:
        db += b_new
    if b_old is not None:
        db -= b_old
    _, ho, wo = out_shape
    if len(cells) * ho * wo > DELTA_SHARE * _conv_work(new, cin_g, out_shape):
        return None
    out = buffers.copy(old_out)
    (sh, sw), (dh, dwi) = new.stride, new.dilation
    padded: dict[int, np.ndarray] = {}
    tmp = np.empty((ho, wo), np.float32)
    for o, cl, a, b in cells.tolist():
        ch = (o // cout_g) * cin_g + cl
        xp = padded.get(ch)
        if xp is None:
            xp = padded[ch] = ops.pad(x[ch:ch + 1], new.pads, mode=new.padding_mode)[0]
        np.multiply(xp[_tap(a * dh, ho, sh), _tap(b * dwi, wo, sw)], dw[o, cl, a, b], out=tmp)
        out[o] += tmp
    for o in np.flatnonzero(db).tolist():
        out[o] += db[o]
    changed = tuple(sorted({int(o) for o in cells[:, 0]} | set(np.flatnonzero(db).tolist())))
    return out, changed


def propagate_delta(layer: Layer, x_old: np.ndarray, x_new: np.ndarray,
                    changed: tuple[int, ...], old_out: np.ndarray
                    ) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """`layer`'s new output when its input went from `x_old` to `x_new` in channels `changed` only.

    `old_out` is `layer`'s output for `x_old`. Returns (out, changed output channels), or None
    when a full recompute is cheaper (a convolution whose input changed in many channels) or the
    shapes do not fit. Nothing is modified in place.
    """
    if not layer.enabled:
        return x_new, changed
    if not changed:
        return old_out, ()
    if x_old.shape != x_new.shape:
        return None
    try:
        out_shape = layer.output_shape(x_new.shape)
    except PipelineError:
        return None
    if tuple(out_shape) != tuple(old_out.shape):
        return None
    if layer.type in PER_CHANNEL_LAYER_TYPES:
        # Channel k of the output depends on input channel k only.
        idx = list(changed)
        out = buffers.copy(old_out)
        out[idx] = layer.forward(x_new[idx])
        return out, changed
    propagate = CHANNEL_PROPAGATORS.get(layer.type)
    return None if propagate is None else propagate(layer, x_old, x_new, changed, old_out, out_shape)


def _propagate_conv(layer: Conv2d, x_old: np.ndarray, x_new: np.ndarray, changed: tuple[int, ...],
                    old_out: np.ndarray, out_shape: tuple[int, ...]
                    ) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """A convolution whose input changed in channels `changed`: add the correlation of the change."""
    c = x_new.shape[0]
    w = layer.effective_weight(c)
    groups = layer.effective_groups(c)
    cout, cin_g = w.shape[:2]
    cout_g = cout // groups
    by_group: dict[int, list[int]] = {}
    for ch in changed:
        by_group.setdefault(ch // cin_g, []).append(ch % cin_g)
    work = sum(cout_g * len(local) for local in by_group.values())
    kh, kw = layer.kernel_size
    if work * kh * kw * out_shape[1] * out_shape[2] > DELTA_SHARE * _conv_work(layer, cin_g,
                                                                                  out_shape):
        return None
    out = buffers.copy(old_out)
    outs: list[int] = []
    for g, local in sorted(by_group.items()):
        chans = [g * cin_g + k for k in local]
        dx = x_new[chans] - x_old[chans]
        dxp = ops.pad(dx, layer.pads, mode=layer.padding_mode)
        block = slice(g * cout_g, (g + 1) * cout_g)
        out[block] += ops.correlate(dxp, np.ascontiguousarray(w[block][:, local]),
                                    stride=layer.stride, dilation=layer.dilation)
        outs.extend(range(block.start, block.stop))
    return out, tuple(outs)


def _propagate_conv_transpose(layer, x_old: np.ndarray, x_new: np.ndarray, changed: tuple[int, ...],
                              old_out: np.ndarray, out_shape: tuple[int, ...]
                              ) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """A transposed convolution is linear in its input too: add the scatter of the change of each
    changed input channel (no bias) into the output channels of its group."""
    cin = x_new.shape[0]
    if len(changed) > DELTA_SHARE * cin:
        return None
    cout_g = layer.weight.shape[1]
    cin_g = cin // layer.groups
    out = buffers.copy(old_out)
    outs: set[int] = set()
    for ch in changed:
        block = slice(ch // cin_g * cout_g, (ch // cin_g + 1) * cout_g)
        out[block] += ops.conv_transpose(
            x_new[ch:ch + 1] - x_old[ch:ch + 1], np.ascontiguousarray(layer.weight[ch:ch + 1]),
            stride=layer.stride, padding=layer.padding, output_padding=layer.output_padding,
            dilation=layer.dilation)
        outs.update(range(block.start, block.stop))
    return out, tuple(sorted(outs))


#: How a change in some input channels reaches the output of a layer type that mixes channels,
#: ``f(layer, x_old, x_new, changed, old_out, out_shape)`` as :func:`propagate_delta` (None: a full
#: recompute is cheaper). Per-channel types need no entry; a mixing type without one is recomputed.
CHANNEL_PROPAGATORS: dict[str, Callable[..., tuple[np.ndarray, tuple[int, ...]] | None]] = {
    "conv2d": _propagate_conv,
    "conv_transpose2d": _propagate_conv_transpose,
}
