"""Transposed convolution, upsampling and the symmetric border in everything built on the layers:
the effective receptive field (finite differences), the inspector, the cross-check, the delta
updates, channels, and one dispatch entry per layer type in every such module."""

from __future__ import annotations

import numpy as np
import pytest
import reference_upsampling as ref

from convstudio.core import LAYER_TYPES, ConvTranspose2d, Pipeline, Upsample, ops
from convstudio.core.channels import output_is_image
from convstudio.core.codegen_numpy import _CALLS
from convstudio.core.codegen_torch import _TorchEmitter
from convstudio.core.crosscheck import crosscheck, reference_forward
from convstudio.core.explain import INSPECTORS, combined_kernel, effective_receptive_field, explain_pixel
from convstudio.core.gradients import BACKWARD
from convstudio.core.references import REFERENCES
from convstudio.session.delta import propagate_delta

HDR = {"format": "convstudio-pipeline", "version": 1}


def stack(rng) -> Pipeline:
    return Pipeline.from_dict({**HDR, "layers": [
        {"type": "conv_transpose2d", "weight": rng.standard_normal((2, 2, 3, 2)).tolist(),
         "bias": [0.1, -0.2, 0.3, 0], "stride": [2, 3], "padding": [1, 0], "output_padding": [1, 2],
         "dilation": [1, 2], "groups": 2},
        {"type": "tanh"},
        {"type": "upsample", "scale_factor": [2, 1], "mode": "bilinear"},
        {"type": "conv2d", "weight": rng.standard_normal((2, 4, 3, 3)).tolist(), "padding": [2, 0, 1, 1],
         "padding_mode": "symmetric", "stride": [3, 2]},
        {"type": "upsample", "scale_factor": [1, 3]},
        {"type": "pad", "padding": [1, 2, 3, 0], "mode": "symmetric"},
        {"type": "conv_transpose2d", "weight": rng.standard_normal((2, 1, 2, 2)).tolist(), "stride": 1,
         "padding": 1},
    ]})


def numeric_gradient(p: Pipeline, x: np.ndarray, layer: int, pos, eps=1e-3) -> np.ndarray:
    g = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        xp, xm = x.astype(np.float64), x.astype(np.float64)
        xp[idx] += eps
        xm[idx] -= eps
        g[idx] = (p.run(xp, upto=layer)[-1][pos] - p.run(xm, upto=layer)[-1][pos]) / (2 * eps)
    return g


@pytest.mark.parametrize("layer", [1, 3, 4, 7])
def test_erf_matches_finite_differences(layer):
    rng = np.random.default_rng(5)
    p = stack(rng)
    x = rng.random((2, 3, 4)).astype(np.float32)
    c, h, w = p.output_shapes(x.shape)[layer]
    seen = 0
    for col in range(w // 2, w // 2 + 3):  # with stride 3 some columns receive the bias only
        pos = (c - 1, h // 2, col)
        erf = effective_receptive_field(p, x, layer, *pos)
        num = numeric_gradient(p, x, layer, pos)
        np.testing.assert_allclose(erf, num, atol=5e-5 + 1e-3 * np.abs(num).max())
        seen += np.abs(num).max() > 0.01
    assert seen  # at least one of them depends on the input


def test_erf_of_a_transposed_conv_is_its_kernel_scattered_back():
    """One output pixel of a transposed convolution depends on x[i] with weight w[a] for
    o = i*s + a*d - p: the gradient is exactly those weights, at those inputs."""
    rng = np.random.default_rng(6)
    w = rng.standard_normal((1, 1, 4, 3)).astype(np.float32)
    layer = ConvTranspose2d(weight=w, stride=(2, 3), padding=(1, 2), dilation=(1, 2))
    p = Pipeline((layer,))
    x = np.zeros((1, 6, 7), np.float32)
    erf = effective_receptive_field(p, x, 1, 0, 5, 8)[0]
    expected = np.zeros((6, 7))
    for a in range(4):
        for b in range(3):
            i, j = 5 + 1 - a, 8 + 2 - 2 * b
            if i % 2 == 0 and j % 3 == 0 and 0 <= i // 2 < 6 and 0 <= j // 3 < 7:
                expected[i // 2, j // 3] += w[0, 0, a, b]
    np.testing.assert_array_equal(erf, expected.astype(np.float32))


def test_inspector_totals_are_the_maps_values_within_their_bounds():
    rng = np.random.default_rng(7)
    p = stack(rng)
    x = rng.random((2, 3, 4)).astype(np.float32)
    outs = p.run(x)
    for layer in (1, 3, 5, 6, 7):
        c, h, w = outs[layer - 1].shape
        for pos in ((0, 0, 0), (c - 1, h - 1, w - 1), (c // 2, h // 2, w // 3)):
            info = explain_pixel(p, x, layer, *pos, outputs=outs)
            assert info["type"] == p.layers[layer - 1].type
            assert abs(info["total"] - float(outs[layer - 1][pos])) <= info.get("bound", 0.0) + 1e-7
            if "within_bound" in info:
                assert info["within_bound"]


def test_inspector_of_a_transposed_conv_lists_the_scattered_terms():
    w = np.arange(1, 13, dtype=np.float32).reshape(1, 1, 4, 3)
    layer = ConvTranspose2d(weight=w, bias=np.array([0.5], np.float32), stride=2, padding=1)
    p = Pipeline((layer,))
    x = np.arange(1, 21, dtype=np.float32).reshape(1, 4, 5)
    info = explain_pixel(p, x, 1, 0, 3, 2)
    part = info["inputs"][0]
    # output row 3 = 2*i + a - 1: (i, a) in {(2, 0), (1, 2)}; col 2 = 2*j + b - 1: (j, b) = (1, 1)
    assert info["kind"] == "conv_transpose"
    assert part["rows"] == [2, 1] and part["kernel_rows"] == [0, 2]
    assert part["cols"] == [1] and part["kernel_cols"] == [1]
    expected = x[0, 2, 1] * w[0, 0, 0, 1] + x[0, 1, 1] * w[0, 0, 2, 1] + 0.5
    assert info["total"] == expected == info["output"]


def test_inspector_of_upsampling_names_its_sources_and_weights():
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    near = explain_pixel(Pipeline((Upsample(scale_factor=3),)), x, 1, 0, 5, 7)
    assert near["sources"] == [{"row": 1, "col": 2, "weight": 1.0, "value": 6.0}]
    bil = explain_pixel(Pipeline((Upsample(scale_factor=2, mode="bilinear"),)), x, 1, 0, 3, 0)
    # row 3: src 1.25 -> rows 1, 2 with 3/4, 1/4; col 0: src -0.25 clamped to 0 -> col 0 alone
    i0, i1, lam = ref.linear_source(3, 3, 2)
    assert [(s["row"], s["col"], s["weight"]) for s in bil["sources"]] == [(i0, 0, 1 - lam), (i1, 0, lam)]
    assert bil["total"] == pytest.approx(float(bil["output"]), abs=bil["bound"])


def test_no_combined_kernel_across_a_layer_that_enlarges():
    from convstudio.core import PipelineError
    with pytest.raises(PipelineError, match="several output pixels per input pixel"):
        combined_kernel([Upsample()], 1)


def test_crosscheck_passes_on_the_new_types_and_catches_a_broken_core(monkeypatch):
    rng = np.random.default_rng(8)
    p = stack(rng)
    x = rng.random((2, 6, 5)).astype(np.float32)
    checks = crosscheck(p, x)
    assert all(c.passed for c in checks), [(c.type, c.max_abs_diff) for c in checks]
    # a bilinear upsampling that forgot the half-pixel shift, a scatter that ignores output_padding
    monkeypatch.setattr(ops, "upsample_bilinear", lambda v, s: ops.upsample_nearest(v, s))
    real = ops.conv_transpose
    monkeypatch.setattr(ops, "conv_transpose", lambda *a, **k: np.roll(real(*a, **k), 1, axis=1))
    failed = {c.type for c in crosscheck(p, x) if not c.passed}
    assert failed == {"conv_transpose2d", "upsample"}


@pytest.mark.parametrize("seed", range(6))
def test_references_are_the_loop_definitions(seed):
    rng = np.random.default_rng(seed)
    layer = ConvTranspose2d(weight=rng.standard_normal((2, 3, 3, 2)).astype(np.float32),
                            bias=rng.standard_normal(3).astype(np.float32), stride=(seed % 3 + 1, 2),
                            padding=(seed % 2, 1), output_padding=(0, 1), dilation=(1, seed % 2 + 1))
    x = rng.standard_normal((2, 4, 5)).astype(np.float32)
    expected = ref.conv_transpose(x, layer.weight, layer.bias, stride=layer.stride, padding=layer.padding,
                                  output_padding=layer.output_padding, dilation=layer.dilation)
    np.testing.assert_allclose(reference_forward(layer, x), expected, rtol=0, atol=1e-5)
    for mode, loops in (("nearest", ref.upsample_nearest), ("bilinear", ref.upsample_bilinear)):
        up = Upsample(scale_factor=(seed % 3 + 1, 2), mode=mode)
        np.testing.assert_allclose(reference_forward(up, x), loops(x, up.scale_factor), rtol=0, atol=1e-6)


def test_delta_through_a_transposed_conv_equals_a_recompute():
    rng = np.random.default_rng(9)
    layer = ConvTranspose2d(weight=rng.standard_normal((4, 3, 3, 3)).astype(np.float32), groups=2,
                            bias=np.ones(6, np.float32), stride=2, padding=1, output_padding=1)
    x_old = rng.standard_normal((4, 5, 6)).astype(np.float32)
    x_new = x_old.copy()
    x_new[3] += rng.standard_normal((5, 6)).astype(np.float32)
    out, changed = propagate_delta(layer, x_old, x_new, (3,), layer.forward(x_old))
    assert changed == (3, 4, 5)  # the output channels of input channel 3's group
    np.testing.assert_allclose(out, layer.forward(x_new), rtol=0, atol=1e-5)


def test_channels_a_transposed_conv_makes_feature_maps_upsampling_keeps_an_image():
    p = Pipeline((Upsample(), ConvTranspose2d(weight=np.ones((1, 1, 2, 2), np.float32))))
    assert output_is_image(p, 1) and not output_is_image(p, 2)


def test_every_layer_type_has_one_entry_per_concern():
    types = set(LAYER_TYPES)
    assert set(BACKWARD) == types and set(INSPECTORS) == types and set(REFERENCES) == types
    assert set(_CALLS) == types
    assert all(callable(getattr(_TorchEmitter, "_" + t, None)) for t in types)
