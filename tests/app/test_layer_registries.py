"""The app's per-layer-type tables (docs/developing.md, "Adding a layer type"): every key is a real
layer type, and each table's lookup does what the isinstance checks it replaced did."""

from __future__ import annotations

import numpy as np
import pytest

from convstudio.app.dialogs.border_compare import BORDER_MODE_TYPES, compares_borders
from convstudio.app.panels.layer_forms import LAYER_FORMS
from convstudio.app.panels.shapes_panel import AXIS_FORMULAS, axis_formula
from convstudio.app.window.code_export import INPUT_CHANNELS, default_in_channels
from convstudio.core import LAYER_TYPES, Conv2d, MaxPool2d, Pipeline, PipelineError, ReLU
from convstudio.session import delta
from convstudio.session.kernel_edit import EDITABLE_WEIGHTS, editable_weights, with_weights

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("table", [LAYER_FORMS, AXIS_FORMULAS, EDITABLE_WEIGHTS, INPUT_CHANNELS,
                                   BORDER_MODE_TYPES, delta.CHANNEL_PROPAGATORS])
def test_every_key_is_a_layer_type(table):
    assert set(table) <= set(LAYER_TYPES)


def test_a_type_without_a_formula_keeps_the_size():
    layer = ReLU()
    assert layer.type not in AXIS_FORMULAS
    f = axis_formula(layer, 13, 1)
    assert f.out == layer.output_shape((2, 9, 13))[2] == 13


def test_the_kernel_editor_edits_the_form_the_layer_has():
    k = RNG.standard_normal((3, 3)).astype(np.float32)
    w = RNG.standard_normal((2, 3, 3, 3)).astype(np.float32)
    per_channel, full = Conv2d(kernel=k, padding=1), Conv2d(weight=w, padding=1)
    assert editable_weights(per_channel) is per_channel.kernel
    assert editable_weights(full) is full.weight
    assert editable_weights(ReLU()) is None and editable_weights(None) is None

    x = RNG.standard_normal((3, 8, 9)).astype(np.float32)
    new_k = k + 1
    edited = with_weights(per_channel, new_k)
    np.testing.assert_array_equal(edited.forward(x), Conv2d(kernel=new_k, padding=1).forward(x))
    with pytest.raises(PipelineError, match="2-D kernel"):
        with_weights(per_channel, w)
    with pytest.raises(PipelineError, match="4-D weight"):
        with_weights(full, k)
    with pytest.raises(PipelineError, match="no weights"):
        with_weights(ReLU(), k)


def test_border_modes_are_compared_for_conv_layers_only():
    assert compares_borders(Conv2d(kernel=np.ones((3, 3), np.float32)))
    assert not compares_borders(MaxPool2d(kernel_size=2)) and not compares_borders(None)


def test_code_export_takes_the_channels_from_the_first_layer_that_fixes_them():
    w = np.zeros((4, 5, 1, 1), np.float32)
    p = Pipeline([ReLU(), Conv2d(kernel=np.ones((3, 3), np.float32)), Conv2d(weight=w)])
    assert default_in_channels(p) == 5
    assert default_in_channels(p, image_shape=(2, 10, 10)) == 2
    assert default_in_channels(Pipeline([ReLU()])) == 3


def test_a_channel_mixing_type_without_a_propagator_is_recomputed(monkeypatch):
    # Conv2d mixes channels; without its entry the delta stage must not treat it as per-channel.
    # (one changed input channel of 8 is cheap enough for the delta stage: DELTA_SHARE)
    layer = Conv2d(weight=RNG.standard_normal((2, 8, 3, 3)).astype(np.float32), padding=1)
    x_old = RNG.standard_normal((8, 6, 7)).astype(np.float32)
    x_new = x_old.copy()
    x_new[1] += 1
    old_out = layer.forward(x_old)
    out, changed = delta.propagate_delta(layer, x_old, x_new, (1,), old_out)
    np.testing.assert_allclose(out, layer.forward(x_new), rtol=1e-5, atol=1e-5)
    assert changed == (0, 1)
    monkeypatch.delitem(delta.CHANNEL_PROPAGATORS, "conv2d")
    assert delta.propagate_delta(layer, x_old, x_new, (1,), old_out) is None


def test_a_per_channel_type_recomputes_the_changed_channels_only():
    layer = MaxPool2d(kernel_size=2)
    x_old = RNG.standard_normal((3, 6, 8)).astype(np.float32)
    x_new = x_old.copy()
    x_new[2] *= -1
    out, changed = delta.propagate_delta(layer, x_old, x_new, (2,), layer.forward(x_old))
    np.testing.assert_array_equal(out, layer.forward(x_new))
    assert changed == (2,)
