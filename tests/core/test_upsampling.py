"""Transposed convolution, upsampling and the symmetric border: validation, the numbers against
independent references (float64 loops of the definitions, conv2d's adjoint, numpy.pad, OpenCV,
scipy.ndimage), the receptive field as exact fractions, and `convstudio info`."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import numpy as np
import pytest
import reference_upsampling as ref
from scipy import ndimage

from convstudio import cli
from convstudio.core import ConvTranspose2d, Pipeline, PipelineError, Upsample, layer_from_dict
from convstudio.core.explain import FLOAT32_UNIT_ROUNDOFF
from convstudio.core.layers import Conv2d, Pad

HDR = {"format": "convstudio-pipeline", "version": 1}


def rand(rng, *shape) -> np.ndarray:
    return rng.uniform(-1, 1, shape).astype(np.float32)


def conv_transpose_case(seed: int) -> tuple[ConvTranspose2d, np.ndarray]:
    """A random transposed convolution (groups, stride, dilation, padding, output_padding,
    rectangular kernels, bias or none) and an input that fits it."""
    rng = np.random.default_rng(seed)
    while True:
        groups = int(rng.integers(1, 3))
        cin_g, cout_g = (int(v) for v in rng.integers(1, 3, 2))
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        s = tuple(int(v) for v in rng.integers(1, 4, 2))
        d = tuple(int(v) for v in rng.integers(1, 3, 2))
        p = tuple(int(v) for v in rng.integers(0, 4, 2))
        op = tuple(int(rng.integers(0, max(s[i], d[i]))) for i in range(2))
        h, w = (int(v) for v in rng.integers(1, 7, 2))
        sizes = [(n - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1 for i, n in enumerate((h, w))]
        if min(sizes) >= 1:
            break
    bias = rand(rng, cout_g * groups) if seed % 3 else None
    layer = ConvTranspose2d(weight=rand(rng, cin_g * groups, cout_g, *k), bias=bias, stride=s,
                            padding=p, output_padding=op, dilation=d, groups=groups)
    return layer, rand(rng, cin_g * groups, h, w)


# ================================================================================ conv_transpose2d


@pytest.mark.parametrize("seed", range(40))
def test_conv_transpose_is_the_scatter_of_its_definition(seed):
    layer, x = conv_transpose_case(seed)
    y = layer.forward(x)
    expected = ref.conv_transpose(x, layer.weight, layer.bias, stride=layer.stride, padding=layer.padding,
                                  output_padding=layer.output_padding, dilation=layer.dilation,
                                  groups=layer.groups)
    assert y.dtype == np.float32 and y.shape == expected.shape == layer.output_shape(x.shape)
    # float32 rounding of sums of at most Cin_g*kh*kw products of numbers in [-1, 1]
    terms = x.shape[0] // layer.groups * layer.weight.shape[2] * layer.weight.shape[3] + 1
    np.testing.assert_allclose(y, expected, rtol=0, atol=4 * terms * FLOAT32_UNIT_ROUNDOFF)


def conv_input_size(n_out: int, k: int, s: int, p: int, d: int, op: int) -> int:
    return (n_out - 1) * s - 2 * p + d * (k - 1) + op + 1


@pytest.mark.parametrize("seed", range(12))
def test_conv_transpose_is_the_adjoint_of_conv2d(seed):
    """<conv2d(x, W), y> == <x, conv_transpose2d(y, W)> (Dumoulin & Visin, "A guide to convolution
    arithmetic", section 4), the same array W read as [out][in/groups] by conv2d and as
    [in][out/groups] by the transposed convolution, and output_padding picking conv2d's input size."""
    rng = np.random.default_rng(100 + seed)
    groups = int(rng.integers(1, 3))
    a, b = (int(v) for v in rng.integers(1, 4, 2))  # conv2d: b*groups -> a*groups channels
    k = tuple(int(v) for v in rng.integers(1, 5, 2))
    s = tuple(int(v) for v in rng.integers(1, 4, 2))
    d = tuple(int(v) for v in rng.integers(1, 3, 2))
    p = tuple(int(rng.integers(0, d[i] * (k[i] - 1) + 1)) for i in range(2))
    h, w = (int(rng.integers(d[i] * (k[i] - 1) + 1, 12)) for i in range(2))
    weight = rand(rng, a * groups, b, *k)
    conv = Conv2d(weight=weight, stride=s, padding=p, dilation=d, groups=groups)
    out_shape = conv.output_shape((b * groups, h, w))
    op = tuple((n + 2 * p[i] - d[i] * (k[i] - 1) - 1) % s[i] for i, n in enumerate((h, w)))
    convt = ConvTranspose2d(weight=weight, stride=s, padding=p, output_padding=op, dilation=d,
                            groups=groups)
    # the size relationship: the transposed convolution restores conv2d's input size
    assert convt.output_shape(out_shape) == (b * groups, h, w)
    x = rand(rng, b * groups, h, w)
    y = rand(rng, *out_shape)
    cx, ty = conv.forward(x), convt.forward(y)
    lhs = float(np.dot(cx.ravel().astype(np.float64), y.ravel()))
    rhs = float(np.dot(x.ravel().astype(np.float64), ty.ravel()))
    # Each float32 output is within gamma(n) * (|W| applied to |input|) of its exact value; the
    # same abs-sums bound the difference of the two inner products (computed in float64).
    n = x.shape[0] // groups * k[0] * k[1] + 1
    gamma = n * FLOAT32_UNIT_ROUNDOFF / (1 - n * FLOAT32_UNIT_ROUNDOFF)
    abs_conv = Conv2d(weight=np.abs(weight), stride=s, padding=p, dilation=d, groups=groups)
    abs_convt = ConvTranspose2d(weight=np.abs(weight), stride=s, padding=p, output_padding=op,
                                dilation=d, groups=groups)
    bound = gamma * (float(np.abs(y).ravel() @ abs_conv.forward(np.abs(x)).ravel().astype(np.float64))
                     + float(np.abs(x).ravel() @ abs_convt.forward(np.abs(y)).ravel().astype(np.float64)))
    assert abs(lhs - rhs) <= 1.01 * bound, (lhs, rhs, bound)
    assert bound < 1e-4 * max(1.0, abs(lhs))  # the bound itself is tight enough to mean something


@pytest.mark.parametrize("n,k,s,p,d", [(n, k, s, p, d) for n in (1, 5, 8, 13) for k in (1, 3, 4)
                                       for s in (1, 2, 3) for p in (0, 1, 2) for d in (1, 2)
                                       if n + 2 * p >= d * (k - 1) + 1])
def test_output_size_restores_every_conv_input_size(n, k, s, p, d):
    conv = Conv2d(weight=np.ones((1, 1, k, k), np.float32), stride=s, padding=p, dilation=d)
    m = conv.output_shape((1, n, n))[1]
    op = (n + 2 * p - d * (k - 1) - 1) % s
    assert op < s  # always a valid output_padding
    convt = ConvTranspose2d(weight=np.ones((1, 1, k, k), np.float32), stride=s, padding=p,
                            output_padding=op, dilation=d)
    assert convt.output_shape((1, m, m)) == (1, n, n)


def test_conv_transpose_json_round_trip_and_defaults():
    d = {"type": "conv_transpose2d", "weight": [[[[1, 2], [3, 4]], [[0, 1], [1, 0]]]], "bias": [0.5, -1],
         "stride": [2, 1], "padding": 1, "output_padding": [1, 0], "dilation": [1, 2], "groups": 1,
         "name": "up"}
    layer = layer_from_dict(d)
    assert isinstance(layer, ConvTranspose2d)
    assert layer.to_dict() == d
    assert layer_from_dict(layer.to_dict()) == layer
    plain = layer_from_dict({"type": "conv_transpose2d", "weight": [[[[1.0]]]]})
    assert (plain.stride, plain.padding, plain.output_padding, plain.dilation, plain.groups) == \
        ((1, 1), (0, 0), (0, 0), (1, 1), 1)
    assert layer.channels(1) == (1, 2) and layer.params((1, 4, 4)) == 8 + 2
    assert layer.describe() == "convT 2x2 1->2 s2x1 d1x2 p1 op1x0"
    assert not layer.is_linear and plain.is_linear


@pytest.mark.parametrize("d,key,words", [
    ({}, "weight", "is required"),
    ({"weight": [[[1.0]]]}, "weight", "4-D"),
    ({"weight": [[[[1.0]]]], "groups": 2}, "groups", "cannot be split into 2 groups"),
    ({"weight": [[[[1.0]]]], "bias": [1, 2]}, "bias", "has 2 numbers but the layer has 1"),
    ({"weight": [[[[1.0]]]], "stride": 2, "output_padding": 2}, "output_padding",
     "smaller than the stride (2) or the dilation (1)"),
    ({"weight": [[[[1.0]]]], "output_padding": 1}, "output_padding", "smaller than the stride"),
    ({"weight": [[[[1.0]]]], "padding": "same"}, "padding", "must be an integer"),
    ({"weight": [[[[1.0]]]], "padding": [1, 1, 1, 1]}, "padding", "a pair [h, w]"),
    ({"weight": [[[[1.0]]]], "padding_mode": "zeros"}, "padding_mode", "unknown key"),
])
def test_conv_transpose_refuses_bad_values_naming_the_key(d, key, words):
    with pytest.raises(PipelineError) as e:
        Pipeline.from_dict({**HDR, "layers": [{"type": "conv_transpose2d", **d}]})
    assert e.value.key == key and e.value.layer == 1
    assert words in str(e.value)


def test_conv_transpose_shape_errors_name_the_key():
    layer = ConvTranspose2d(weight=np.ones((2, 1, 3, 3), np.float32), padding=3)
    with pytest.raises(PipelineError, match="expects 2 input channels") as e:
        layer.output_shape((3, 8, 8))
    assert e.value.key == "weight"
    with pytest.raises(PipelineError, match="output would be -3 x -3: the padding crops") as e:
        layer.output_shape((2, 1, 1))
    assert e.value.key == "padding"
    # PyTorch allows output_padding < dilation with stride 1
    assert ConvTranspose2d(weight=np.ones((1, 1, 2, 2), np.float32), dilation=3,
                           output_padding=2).output_shape((1, 4, 4)) == (1, 9, 9)


# ================================================================================ upsample


@pytest.mark.parametrize("scale", [(1, 1), (2, 2), (3, 3), (2, 3), (4, 1), (5, 2)])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_matches_its_definition_opencv_and_scipy(scale, mode):
    rng = np.random.default_rng(sum(scale))
    x = rand(rng, 2, 5, 7)
    y = Upsample(scale_factor=scale, mode=mode).forward(x)
    loops = (ref.upsample_nearest if mode == "nearest" else ref.upsample_bilinear)(x, scale)
    assert y.dtype == np.float32 and y.shape == loops.shape == (2, 5 * scale[0], 7 * scale[1])
    np.testing.assert_allclose(y, loops, rtol=0, atol=4e-7)
    # scipy.ndimage.zoom with grid_mode=True maps pixel edges onto pixel edges: source
    # (dst + 0.5)/s - 0.5, the half-pixel rule; mode="nearest" clamps at the border. order=1 is
    # bilinear; order=0 rounds that source, which for integer factors is floor(dst / s).
    zoomed = ndimage.zoom(x.astype(np.float64), (1, *scale), order=0 if mode == "nearest" else 1,
                          grid_mode=True, mode="nearest")
    np.testing.assert_allclose(y, zoomed, rtol=0, atol=4e-7)
    # OpenCV: INTER_NEAREST takes floor(dst * in / out) and INTER_NEAREST_EXACT
    # floor((dst + 0.5) * in / out); for integer factors both are floor(dst / s), PyTorch's rule.
    # INTER_LINEAR is the half-pixel rule with clamping, PyTorch's align_corners=False.
    flags = [cv2.INTER_NEAREST, cv2.INTER_NEAREST_EXACT] if mode == "nearest" else [cv2.INTER_LINEAR]
    for flag in flags:
        cvy = np.stack([cv2.resize(p.astype(np.float64), (7 * scale[1], 5 * scale[0]), interpolation=flag)
                        .reshape(5 * scale[0], 7 * scale[1]) for p in x])
        np.testing.assert_allclose(y, cvy, rtol=0, atol=4e-7)


def test_opencv_nearest_differs_from_pytorch_at_fractional_factors():
    """Why the layer takes integer factors only: at 5 -> 8 (a factor of 1.6) OpenCV's
    INTER_NEAREST_EXACT (the half-pixel rule) and PyTorch's floor(dst * in / out) pick different
    source pixels, while at integer factors every rule agrees (test above)."""
    pytorch = [ref.nearest_source(i, 5, 8) for i in range(8)]
    x = np.arange(5, dtype=np.float32)[None]
    exact = cv2.resize(x, (8, 1), interpolation=cv2.INTER_NEAREST_EXACT)[0].astype(int).tolist()
    assert pytorch == [0, 0, 1, 1, 2, 3, 3, 4] and exact != pytorch


def test_upsample_json_validation_and_defaults():
    up = layer_from_dict({"type": "upsample"})
    assert (up.scale_factor, up.mode) == ((2, 2), "nearest")
    d = {"type": "upsample", "scale_factor": [2, 3], "mode": "bilinear"}
    assert layer_from_dict(d).to_dict() == d
    assert up.is_linear and up.params((1, 2, 2)) == 0 and up.describe() == "upsample x2 nearest"
    for bad, key, words in (({"scale_factor": 1.5}, "scale_factor", "must be an integer"),
                            ({"scale_factor": 0}, "scale_factor", "between 1 and"),
                            ({"mode": "bicubic"}, "mode", "must be one of nearest, bilinear"),
                            ({"size": 4}, "size", "unknown key")):
        with pytest.raises(PipelineError) as e:
            layer_from_dict({"type": "upsample", **bad})
        assert e.value.key == key and words in str(e.value)
    with pytest.raises(PipelineError, match="over the limit") as e:
        Upsample(scale_factor=1024).output_shape((1, 1024, 1024))
    assert e.value.key == "scale_factor"


# ================================================================================ symmetric border


@pytest.mark.parametrize("pads", [(1, 2, 0, 3), (4, 0, 6, 1), (9, 7, 11, 2)])
def test_symmetric_pad_layer_is_numpy_symmetric_and_opencv_reflect(pads):
    rng = np.random.default_rng(7)
    x = rand(rng, 2, 4, 5)
    layer = layer_from_dict({"type": "pad", "padding": list(pads), "mode": "symmetric"})
    y = layer.forward(x)
    t, b, l, r = pads
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0), (t, b), (l, r)), mode="symmetric"))
    loops = np.array([[[x[c, ref.symmetric_source(i - t, 4), ref.symmetric_source(j - l, 5)]
                        for j in range(5 + l + r)] for i in range(4 + t + b)] for c in range(2)])
    np.testing.assert_array_equal(y, loops)
    if max(t, b) <= 4 and max(l, r) <= 5:  # OpenCV's BORDER_REFLECT mirrors once
        cvy = np.stack([cv2.copyMakeBorder(p, t, b, l, r, cv2.BORDER_REFLECT) for p in x])
        np.testing.assert_array_equal(y, cvy)


def test_symmetric_conv_padding_is_scipy_reflect():
    """scipy.ndimage's 'reflect' is the edge-repeating mirror; with an odd kernel and 'same'
    padding the conv layer is scipy.ndimage.correlate."""
    rng = np.random.default_rng(8)
    x = rand(rng, 1, 9, 11)
    k = rand(rng, 5, 3)
    y = Conv2d(kernel=k, padding="same", padding_mode="symmetric").forward(x)
    expected = ndimage.correlate(x[0].astype(np.float64), k.astype(np.float64), mode="reflect")
    np.testing.assert_allclose(y[0], expected, rtol=0, atol=1e-5)
    # every padding mode is accepted by both layer kinds, and the error lists symmetric
    assert Pad(padding=1, mode="symmetric").describe() == "pad [1, 1, 1, 1] symmetric"
    with pytest.raises(PipelineError, match="circular, symmetric"):
        layer_from_dict({"type": "conv2d", "kernel": [[1]], "padding_mode": "mirror"})


# ================================================================================ receptive field


def dependencies(layer, n: int, axis: int) -> list[set[int]]:
    """For every output index along `axis`, the input indices whose value changes it, found by
    running the layer on one-hot inputs (positive weights, so no cancellation)."""
    shape = [1, 1, 1]
    shape[1 + axis] = n
    out_n = layer.output_shape(tuple(shape))[1 + axis]
    deps: list[set[int]] = [set() for _ in range(out_n)]
    for i in range(n):
        x = np.zeros(shape, np.float32)
        x[(0,) + ((i, 0) if axis == 0 else (0, i))] = 1.0
        y = layer.forward(x)
        for o in np.flatnonzero(y.reshape(-1) != 0):
            deps[o].add(i)
    return deps


def assert_bounding_window(layer, axis: int, n: int = 24, tight: bool = True) -> None:
    rf = Pipeline((layer,)).receptive_fields()[1]
    size, jump, start = rf.size[axis], rf.jump[axis], rf.start[axis]
    deps = dependencies(layer, n, axis)
    lows, highs = [], []
    for o, dep in enumerate(deps):
        if not dep:
            continue
        first, last = start + o * jump, start + o * jump + size - 1
        assert first <= min(dep) and max(dep) <= last, (o, dep, first, last)
        # interior outputs (no border clamping) show the window's exact ends
        if min(dep) > 0 and max(dep) < n - 1:
            lows.append(min(dep) - o * jump)
            highs.append(max(dep) - o * jump)
    if tight:
        assert min(lows) == start and max(highs) == start + size - 1


@pytest.mark.parametrize("k,s,p,d", [(4, 2, 1, 1), (3, 2, 0, 1), (3, 3, 2, 2), (1, 2, 0, 1),
                                     (5, 1, 2, 1), (2, 3, 1, 2)])
def test_conv_transpose_receptive_field_is_the_exact_bounding_window(k, s, p, d):
    layer = ConvTranspose2d(weight=np.ones((1, 1, k, 1), np.float32), stride=(s, 1), padding=(p, 0),
                            dilation=(d, 1))
    rf = Pipeline((layer,)).receptive_fields()[1]
    assert rf.jump[0] == Fraction(1, s) and rf.start[0] == Fraction(p - d * (k - 1), s)
    assert rf.size[0] == Fraction(d * (k - 1), s) + 1
    assert_bounding_window(layer, 0)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("s", [1, 2, 3, 4])
def test_upsample_receptive_field_is_the_exact_bounding_window(mode, s):
    assert_bounding_window(Upsample(scale_factor=(1, s), mode=mode), 1)


def test_receptive_field_values_stay_exact_and_ints_when_whole():
    p = Pipeline((Upsample(scale_factor=2), Conv2d(kernel=np.ones((3, 3), np.float32)),
                  Conv2d(weight=np.ones((1, 1, 2, 2), np.float32), stride=2)))
    rfs = p.receptive_fields()
    nearest_2 = rfs[1]
    assert nearest_2.jump == (Fraction(1, 2),) * 2 and nearest_2.start == (Fraction(-1, 2),) * 2
    assert nearest_2.size == (Fraction(3, 2),) * 2 and not nearest_2.is_integral
    # the stride-2 conv brings the jump back to one input pixel: a plain int again
    last = rfs[3]
    assert last.jump == (1, 1) and type(last.jump[0]) is int
    assert last.size == (Fraction(3, 2) + 2 * Fraction(1, 2) + Fraction(1, 2),) * 2
    # composed: the window of the stack bounds every input the last output depends on
    x = np.zeros((1, 10, 10), np.float32)
    for i in range(10):
        x[:] = 0
        x[0, i, 4] = 1
        y = p.run(x)[-1][0, :, 2]
        for o in np.flatnonzero(y):
            lo = last.start[0] + o * last.jump[0]
            assert lo <= i <= lo + last.size[0] - 1


def test_info_gives_numbers_in_json_and_fractions_in_text(tmp_path, capsys):
    path = tmp_path / "up.json"
    path.write_text(json.dumps({**HDR, "layers": [
        {"type": "conv_transpose2d", "weight": np.ones((1, 2, 4, 4)).tolist(), "stride": 2, "padding": 1},
        {"type": "upsample", "scale_factor": [3, 1], "mode": "bilinear"}]}))
    assert cli.main(["info", str(path), "--input-shape", "1,5,6", "--json"]) == 0
    layers = json.loads(capsys.readouterr().out)["layers"]
    assert layers[0]["output_shape"] == [2, 10, 12]
    assert layers[0]["receptive_field"] == [2.5, 2.5] and layers[0]["jump"] == [0.5, 0.5]
    assert layers[0]["start"] == [-1, -1] and layers[0]["params"] == 32
    rf = Pipeline.load(path).receptive_fields()[2]
    assert layers[1]["jump"] == [float(v) for v in rf.jump] == [1 / 6, 0.5]
    assert layers[1]["start"] == [float(v) for v in rf.start]
    assert cli.main(["info", str(path), "--input-shape", "1,5,6"]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("2 "))
    assert f"{rf.size[0]} x {rf.size[1]}" in row and "1/6 x 1/2" in row
    assert f"{rf.start[0]}, {rf.start[1]}" in row and "/" in str(rf.start[0])


# ================================================================================ tiles


def test_upsampling_tiles_are_bit_identical_to_the_whole_run():
    from convstudio.core.tiling import run_tiled

    p = Pipeline.from_dict({**HDR, "layers": [
        {"type": "pad", "padding": [2, 1, 0, 3], "mode": "symmetric"},
        {"type": "upsample", "scale_factor": [2, 3], "mode": "bilinear"},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "upsample", "scale_factor": [3, 1]},
        {"type": "upsample", "scale_factor": 4, "mode": "bilinear"}]})
    x = np.random.default_rng(11).normal(size=(2, 9, 7)).astype(np.float32)
    ref = p.run(x)
    for layer, tiles in ((2, (1, 5)), (4, (2, 7)), (5, (9, 32))):
        for tile in tiles:
            np.testing.assert_array_equal(run_tiled(p, x, tile=tile, layer=layer), ref[layer - 1])


def test_a_transposed_conv_runs_whole_images_only():
    from convstudio.core.tiling import TilingUnsupported, plan_tiles

    p = Pipeline((Upsample(), ConvTranspose2d(weight=np.ones((1, 1, 2, 2), np.float32), stride=2)))
    assert plan_tiles(p, (1, 8, 8), 4, layer=1).out_shape == (1, 16, 16)
    with pytest.raises(TilingUnsupported, match="layer 2 \\(conv_transpose2d\\)"):
        plan_tiles(p, (1, 8, 8), 4)


@pytest.mark.parametrize("f", range(1, 8))
def test_upsample_receptive_fields_are_docs_closed_forms(f):
    """docs/semantics.md, "Layers that enlarge their input", written out per factor."""
    near = Pipeline((Upsample(scale_factor=f),)).receptive_fields()[1]
    assert (near.size[0], near.jump[0], near.start[0]) == (Fraction(2 * f - 1, f), Fraction(1, f),
                                                           Fraction(1 - f, f))
    bil = Pipeline((Upsample(scale_factor=f, mode="bilinear"),)).receptive_fields()[1]
    if f % 2 == 0:
        expected = (Fraction(2 * f - 1, f) + 1, Fraction(1, f), Fraction(2 - 3 * f, 2 * f))
    else:
        expected = (Fraction(2 * (f - 1), f) + 1, Fraction(1, f), Fraction(-3 * (f - 1), 2 * f))
    assert (bil.size[0], bil.jump[0], bil.start[0]) == expected
