"""Delta updates after a weight edit (convstudio.session.delta) and the runner's two stages: the quick
result equals the core to float32 rounding, the exact recompute that follows equals
``Pipeline.run`` bit for bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convstudio.app.views.colormaps import finite_range
from convstudio.core import (
    Abs,
    AvgPool2d,
    Conv2d,
    LeakyReLU,
    MaxPool2d,
    Pad,
    Pipeline,
    ReLU,
    Sigmoid,
    Stride,
    Tanh,
)
from convstudio.session.compute import CachedRunner, changed_channels, channel_ranges, combined_range
from convstudio.session.delta import DELTA_SHARE, conv_weight_delta, propagate_delta

RNG = np.random.default_rng(11)


def close(got: np.ndarray, want: np.ndarray) -> None:
    """Equal to float32 rounding of sums of a few dozen terms."""
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6 * scale)


def edit_cell(layer: Conv2d, index: tuple, delta: float = 0.375) -> Conv2d:
    """`layer` with one weight (or kernel) cell changed, as the kernel editor does."""
    if layer.kernel is not None:
        k = layer.kernel.copy()
        k[index] += delta
        return dataclasses.replace(layer, kernel=k)
    w = layer.weight.copy()
    w[index] += delta
    return dataclasses.replace(layer, weight=w)


def rand(*shape) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


CONVS = [
    Conv2d(weight=rand(8, 3, 5, 5), padding="same"),
    Conv2d(weight=rand(8, 3, 5, 5), bias=rand(8), padding="same", padding_mode="reflect"),
    Conv2d(weight=rand(4, 3, 3, 4), stride=(2, 3), dilation=(2, 1), padding=(1, 2, 0, 3),
           padding_mode="circular"),
    Conv2d(weight=rand(6, 1, 3, 3), groups=3, padding="same", padding_mode="replicate"),
    Conv2d(weight=rand(6, 3, 3, 3), flip=True, scale=0.5, padding=1),
    Conv2d(kernel=rand(5, 5), padding="same"),  # one kernel for every channel
    Conv2d(kernel=rand(3, 3), bias=rand(3), stride=2, flip=True),
    Conv2d(weight=rand(5, 3, 1, 1)),
]
X = RNG.random((3, 37, 41), dtype=np.float32) - 0.5


@pytest.mark.parametrize("layer", CONVS, ids=lambda l: l.describe())
def test_a_single_cell_edit_equals_a_full_recompute(layer):
    old_out = layer.forward(X)
    idx = (1, 1) if layer.kernel is not None else (min(3, layer.weight.shape[0] - 1), 0, 0,
                                                   layer.weight.shape[3] - 1)
    new = edit_cell(layer, idx)
    out, changed = conv_weight_delta(layer, new, X, old_out)
    want = new.forward(X)
    close(out, want)
    # exactly the channels that changed are reported; the others are the old ones, bit for bit
    really = {k for k in range(want.shape[0]) if not np.array_equal(want[k], old_out[k])}
    assert really <= set(changed)
    for k in set(range(want.shape[0])) - set(changed):
        np.testing.assert_array_equal(out[k], old_out[k])
    if layer.kernel is None:
        assert changed == (idx[0],)
    else:
        assert changed == tuple(range(X.shape[0]))  # the one kernel serves every channel
    assert out is not old_out and not np.shares_memory(out, old_out)


def test_a_bias_edit_and_a_several_cell_edit():
    layer = CONVS[1]
    old_out = layer.forward(X)
    b = layer.bias.copy()
    b[5] -= 2.0
    new = dataclasses.replace(layer, bias=b)
    out, changed = conv_weight_delta(layer, new, X, old_out)
    assert changed == (5,)
    close(out, new.forward(X))
    new2 = edit_cell(edit_cell(layer, (2, 1, 0, 0)), (6, 2, 4, 4), -1.0)
    out, changed = conv_weight_delta(layer, new2, X, old_out)
    assert changed == (2, 6)
    close(out, new2.forward(X))


def test_what_is_not_a_small_weight_edit_is_refused():
    layer = CONVS[0]
    old_out = layer.forward(X)
    refused = [
        dataclasses.replace(layer, stride=(2, 2)),
        dataclasses.replace(layer, padding_mode="reflect"),
        dataclasses.replace(layer, scale=2.0),  # every effective weight changes
        dataclasses.replace(layer, weight=layer.weight * 1.5),  # a preset / scaled kernel
        dataclasses.replace(layer, weight=rand(8, 3, 3, 3)),  # another kernel size
        dataclasses.replace(edit_cell(layer, (0, 0, 0, 0)), enabled=False),
        Conv2d(kernel=rand(5, 5), padding="same"),  # another form
        ReLU(),
    ]
    for new in refused:
        assert conv_weight_delta(layer, new, X, old_out) is None, new
    # a cheap edit passes the cost rule
    assert len(CONVS[0].weight.reshape(-1)) * DELTA_SHARE > 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.tuples(st.integers(1, 5), st.integers(1, 5)), s=st.integers(1, 3),
       d=st.integers(1, 2), cout=st.integers(1, 4), groups=st.sampled_from([1, 2]),
       mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
       h=st.integers(9, 24), w=st.integers(9, 24), cell=st.integers(0, 10_000),
       delta=st.floats(-3, 3, allow_nan=False).filter(lambda v: abs(v) > 1e-3))
def test_delta_property(k, s, d, cout, groups, mode, h, w, cell, delta):
    x = np.random.default_rng(h * w + cout).random((2, h, w), dtype=np.float32) - 0.5
    weight = np.random.default_rng(cell).standard_normal((cout * groups, 2 // groups) + k)
    layer = Conv2d(weight=weight.astype(np.float32), stride=(s, s), dilation=(d, d),
                   padding="same", padding_mode=mode, groups=groups)
    idx = np.unravel_index(cell % layer.weight.size, layer.weight.shape)
    new = edit_cell(layer, idx, delta)
    res = conv_weight_delta(layer, new, x, layer.forward(x))
    if res is None:  # a 1x1 kernel: one cell is the whole channel's work
        assert k[0] * k[1] * layer.weight.shape[1] < 1 / DELTA_SHARE
        return
    close(res[0], new.forward(x))


CHANNELWISE = [ReLU(), LeakyReLU(negative_slope=0.1), Abs(), Sigmoid(), Tanh(),
               MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=1, ceil_mode=True),
               AvgPool2d(kernel_size=(2, 3), padding=1, count_include_pad=False),
               Pad(padding=(1, 0, 2, 2), mode="constant", value=0.5), Stride(stride=(2, 3)),
               dataclasses.replace(ReLU(), enabled=False)]
LATER_CONVS = [Conv2d(weight=rand(4, 6, 3, 3), padding="same", padding_mode="reflect"),
               Conv2d(weight=rand(6, 2, 3, 3), groups=3, stride=2, padding=1),
               Conv2d(kernel=rand(3, 3), padding="same", padding_mode="circular")]


@pytest.mark.parametrize("layer", CHANNELWISE + LATER_CONVS, ids=lambda l: l.describe())
def test_propagation_through_a_later_layer(layer):
    x_old = RNG.standard_normal((6, 23, 29)).astype(np.float32)
    x_new = x_old.copy()
    x_new[4] += RNG.standard_normal((23, 29)).astype(np.float32)
    old_out = layer.forward(x_old)
    out, changed = propagate_delta(layer, x_old, x_new, (4,), old_out)
    want = layer.forward(x_new)
    close(out, want)
    for k in set(range(want.shape[0])) - set(changed):
        np.testing.assert_array_equal(out[k], old_out[k])
    if not isinstance(layer, Conv2d):
        assert changed == (4,)
        if layer.enabled:  # element-wise and pooling layers recompute that channel exactly
            np.testing.assert_array_equal(out, want)


def test_propagation_refuses_a_conv_whose_input_changed_everywhere():
    layer = LATER_CONVS[0]
    x_old = rand(6, 20, 20)
    x_new = x_old + 1
    assert propagate_delta(layer, x_old, x_new, tuple(range(6)), layer.forward(x_old)) is None
    assert propagate_delta(layer, x_old, x_new, (), layer.forward(x_old))[1] == ()


# ------------------------------------------------------------------ CachedRunner: update, then run


def four_layers(seed: int = 3) -> Pipeline:
    r = np.random.default_rng(seed)
    return Pipeline((
        Conv2d(weight=(r.standard_normal((8, 3, 5, 5)) / 8).astype(np.float32), padding="same"),
        ReLU(), MaxPool2d(kernel_size=2),
        Conv2d(weight=(r.standard_normal((8, 8, 3, 3)) / 8).astype(np.float32), padding="same")))


def with_cell(p: Pipeline, i: int, idx: tuple, delta: float = 0.3) -> Pipeline:
    return p.replace_layer(i, edit_cell(p.layers[i], idx, delta))


@pytest.mark.parametrize("edited", [0, 3])
def test_runner_update_then_run(edited):
    x = np.random.default_rng(1).random((3, 60, 70), dtype=np.float32)
    p = four_layers()
    runner = CachedRunner()
    runner.run(x, p)
    p2 = with_cell(p, edited, (5, 1, 2, 2))
    seen = []
    n = runner.update(x, p2, on_layer=lambda i, o, ch, old: seen.append((i, ch, old)))
    assert n == 4 - edited and [i for i, _c, _o in seen] == list(range(edited + 1, 5))
    assert seen[0][1] == (5,)
    exact = p2.run(x)
    approx = [runner._outputs[i] for i in range(4)]
    for got, want in zip(approx, exact):
        close(got, want)
    assert [runner.is_exact(i) for i in range(1, 5)] == [i <= edited for i in range(1, 5)]
    assert runner.reusable(x, p2) == edited  # inexact outputs are never reused
    for i in range(1, 5):
        np.testing.assert_array_equal(runner.ranges(i), channel_ranges(runner._outputs[i - 1]))
    # the exact stage: bit for bit the core, recomputed from the edited layer on
    res = runner.run(x, p2)
    assert res.reused == edited and res.error is None
    for got, want in zip(res.outputs, exact, strict=True):
        np.testing.assert_array_equal(got, want)
    for i, r in enumerate(res.ranges):
        assert combined_range(r) == finite_range(res.outputs[i])
    assert all(runner.is_exact(i) for i in range(1, 5))


def test_runner_update_stops_at_upto_and_chains_edits():
    x = np.random.default_rng(2).random((3, 40, 44), dtype=np.float32)
    p = four_layers(4)
    runner = CachedRunner()
    runner.run(x, p)
    p2 = with_cell(p, 0, (1, 0, 0, 0))
    assert runner.update(x, p2, upto=1) == 1
    assert len(runner._outputs) == 1  # the later layers wait for the exact stage
    close(runner._outputs[0], p2.run(x)[0])
    p3 = with_cell(p2, 0, (6, 2, 4, 1), -0.7)
    assert runner.update(x, p3, upto=1) == 0  # the cache no longer holds every layer
    runner.run(x, p2)
    assert runner.update(x, p3) == 4
    # a second edit before the exact stage: the delta of a delta, still right to rounding
    p4 = with_cell(p3, 0, (6, 2, 4, 1), 0.2)
    assert runner.update(x, p4) == 4
    for got, want in zip(runner._outputs, p4.run(x), strict=True):
        close(got, want)
    res = runner.run(x, p4)
    for got, want in zip(res.outputs, p4.run(x), strict=True):
        np.testing.assert_array_equal(got, want)


def test_runner_update_is_not_applicable_otherwise():
    x = np.random.default_rng(3).random((3, 30, 30), dtype=np.float32)
    p = four_layers(5)
    runner = CachedRunner()
    assert runner.update(x, p) == 0  # nothing cached
    runner.run(x, p)
    assert runner.update(x.copy(), with_cell(p, 0, (0, 0, 0, 0))) == 0  # another input array
    assert runner.update(x, p.replace_layer(2, AvgPool2d(kernel_size=2))) == 0  # not a weight edit
    two = with_cell(with_cell(p, 0, (0, 0, 0, 0)), 3, (0, 0, 0, 0))
    assert runner.update(x, two) == 0  # two layers changed
    assert runner.update(x, p) == 0  # nothing changed
    bad = Pipeline(p.layers + (Conv2d(kernel=np.ones((99, 99), np.float32)),))
    runner.run(x, bad)  # fails at layer 5
    assert runner.update(x, Pipeline(with_cell(p, 0, (0, 0, 0, 0)).layers + bad.layers[4:])) == 0


@pytest.mark.parametrize("block", [7, 30, 1 << 22])
def test_channel_ranges_and_changed_channels_scanned_in_blocks(monkeypatch, block):
    """Large layers are scanned in row blocks on the core's threads; the answers are those of a
    whole-channel scan, whichever block holds the extremes, the inf or the NaN."""
    from convstudio.session import compute

    monkeypatch.setattr(compute, "_SCAN_BLOCK", block)  # values per block (whole rows)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 13, 6)).astype(np.float32)
    x[1, 12, 5] = -np.inf
    x[1, 0, 0] = 9.0
    x[2, 7] = np.nan
    x[3] = np.nan
    r = channel_ranges(x)
    for k in range(5):
        finite = x[k][np.isfinite(x[k])]
        want = (finite.min(), finite.max()) if finite.size else (np.inf, -np.inf)
        assert tuple(r[k]) == tuple(float(v) for v in want)
    y = x.copy()
    assert changed_channels(x, y) == ()  # NaN equals NaN, bit for bit
    y[0, 12, 5] += 1
    y[4, 0, 0] = -y[4, 0, 0]
    assert changed_channels(x, y) == (0, 4)
    z = x.copy()
    z[2, 3, 3] = 0.0
    z2 = z.copy()
    z2[2, 3, 3] = -0.0  # equal values, other bits: a redraw at most
    assert changed_channels(z, z2) == (2,)
    # only the channels asked for are rescanned
    out = r.copy()
    out[0] = (123.0, 456.0)
    channel_ranges(y, (4,), out=out)
    assert tuple(out[0]) == (123.0, 456.0)
    assert out[4, 0] == float(y[4].min()) and out[4, 1] == float(y[4].max())


def test_channel_ranges_and_changed_channels():
    x = rand(4, 5, 6)
    x[1, 0, 0] = np.inf
    x[2] = np.nan
    r = channel_ranges(x)
    assert r[1, 1] == float(np.max(x[1][np.isfinite(x[1])]))
    assert r[2, 0] == np.inf and r[2, 1] == -np.inf
    assert combined_range(r) == finite_range(x)
    assert combined_range(channel_ranges(np.full((2, 3, 3), np.nan, np.float32))) == (0.0, 0.0)
    y = x.copy()
    y[3, 4, 5] += 1
    assert changed_channels(x, y) == (3,)  # NaN equals NaN here
    assert changed_channels(x, y[:3]) is None
