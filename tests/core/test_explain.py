"""Effective receptive field, the per-pixel explanation and the combined kernel."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import convolve2d

from convstudio import cli
from convstudio.core import PipelineError
from convstudio.core.explain import combined_kernel, effective_receptive_field, explain_pixel
from convstudio.core.layers import AvgPool2d, Conv2d, MaxPool2d
from convstudio.core.pipeline import Pipeline

HDR = {"format": "convstudio-pipeline", "version": 1}


def mixed_pipeline(rng) -> Pipeline:
    return Pipeline.from_dict({**HDR, "layers": [
        {"type": "conv2d", "weight": rng.standard_normal((4, 2, 3, 2)).tolist(),
         "bias": [0.1, 0, 0, 0.2], "padding": [1, 0, 2, 1], "padding_mode": "reflect",
         "stride": [1, 2], "dilation": [2, 1]},
        {"type": "leaky_relu", "negative_slope": 0.1},
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"type": "pad", "padding": [1, 2, 0, 1], "mode": "circular"},
        {"type": "conv2d", "weight": rng.standard_normal((2, 2, 3, 3)).tolist(), "groups": 2,
         "padding": "same", "padding_mode": "replicate"},
        {"type": "avgpool2d", "kernel_size": 2, "stride": 1, "padding": 1, "ceil_mode": True,
         "count_include_pad": False},
        {"type": "stride", "stride": 2, "offset": [1, 0]},
        {"type": "sigmoid"}, {"type": "tanh"}, {"type": "abs"},
    ]})


def numeric_gradients(p: Pipeline, x: np.ndarray, targets: list[tuple[int, int, int, int]],
                      eps=1e-3) -> list[np.ndarray]:
    """Central differences of each output pixel ``(layer, c, i, j)`` in `targets` with respect to
    every input value; one pair of runs per input value serves every target (a run returns every
    layer's output)."""
    gs = [np.zeros(x.shape) for _ in targets]
    for idx in np.ndindex(x.shape):
        xp, xm = x.astype(np.float64), x.astype(np.float64)
        xp[idx] += eps
        xm[idx] -= eps
        up, down = p.run(xp), p.run(xm)
        for g, (layer, c, i, j) in zip(gs, targets):
            g[idx] = (up[layer - 1][c, i, j] - down[layer - 1][c, i, j]) / (2 * eps)
    return gs


@pytest.mark.parametrize("seed", [0, 1])
def test_erf_matches_finite_differences(seed):
    rng = np.random.default_rng(seed)
    p = mixed_pipeline(rng)
    x = rng.random((2, 13, 17)).astype(np.float32)
    shapes = p.output_shapes(x.shape)
    targets = []
    for layer in (1, 3, 6, len(p)):
        c, h, w = shapes[layer]
        targets.append((layer, c - 1, h // 2, w // 2))
    for target, num in zip(targets, numeric_gradients(p, x, targets)):
        erf = effective_receptive_field(p, x, *target)
        assert erf.shape == x.shape and erf.dtype == np.float32
        # float32 forward passes limit the finite differences to about 1e-5
        np.testing.assert_allclose(erf, num, atol=5e-5 + 1e-3 * np.abs(num).max())


def test_erf_of_linear_stack_is_the_composed_kernel():
    rng = np.random.default_rng(3)
    k1 = rng.standard_normal((3, 4)).astype(np.float32)
    k2 = rng.standard_normal((5, 2)).astype(np.float32)
    p = Pipeline((Conv2d(kernel=k1), Conv2d(kernel=k2)))
    x = rng.random((1, 20, 20)).astype(np.float32)
    erf = effective_receptive_field(p, x, 2, 0, 4, 6)
    composed = convolve2d(k1, k2, mode="full")  # correlating twice = correlating with k1 * k2
    expected = np.zeros_like(erf[0])
    expected[4:4 + composed.shape[0], 6:6 + composed.shape[1]] = composed
    np.testing.assert_allclose(erf[0], expected, rtol=1e-5, atol=1e-5)
    ck = combined_kernel(p.layers, 1)
    np.testing.assert_allclose(ck.weight[0, 0], composed, rtol=1e-5, atol=1e-5)
    assert ck.stride == (1, 1) and ck.start == (0, 0)


def test_combined_kernel_reproduces_the_run_in_the_interior():
    rng = np.random.default_rng(4)
    layers = (Conv2d(weight=rng.standard_normal((3, 2, 3, 3)).astype(np.float32),
                     bias=np.array([0.5, -1, 0], np.float32), padding=1),
              AvgPool2d(kernel_size=(2, 2)),
              Conv2d(weight=rng.standard_normal((2, 3, 1, 2)).astype(np.float32), stride=(1, 2)))
    ck = combined_kernel(layers, 2)
    x = rng.random((2, 30, 40)).astype(np.float32)
    y = Pipeline(layers).run(x)[-1]
    single = Pipeline((Conv2d(weight=ck.weight, bias=ck.bias, stride=ck.stride),)).run(
        x[:, ck.start[0] + ck.stride[0]:, ck.start[1] + ck.stride[1] * 1:])[0]
    # output pixel (i, j) of the run (window inside the image) = pixel (i-1, j-1) of `single`
    np.testing.assert_allclose(y[:, 1:1 + 8, 1:1 + 5], single[:, :8, :5], rtol=1e-4, atol=1e-4)


def test_combined_kernel_refuses_nonlinear_layers():
    from convstudio.core.layers import ReLU

    with pytest.raises(PipelineError, match="not linear"):
        combined_kernel((Conv2d(kernel=np.ones((3, 3), np.float32)), ReLU()), 1)


def test_explain_tutorial_example():
    p = Pipeline((Conv2d(weight=np.array([[[[0, 1], [2, 3]]]], np.float32)),))
    x = np.arange(9, dtype=np.float32).reshape(3, 3)
    sums = []
    for i in range(2):
        for j in range(2):
            e = explain_pixel(p, x, 1, 0, i, j)
            sums.append(e["total"])
            assert e["total"] == pytest.approx(e["output"])
    assert sums == [19, 25, 37, 43]
    assert explain_pixel(p, x, 1, 0, 0, 0)["inputs"][0]["expression"] == "0×0 + 1×1 + 3×2 + 4×3 = 19"


def test_explain_numbers_add_up_everywhere():
    rng = np.random.default_rng(5)
    p = mixed_pipeline(rng)
    x = rng.random((2, 13, 17)).astype(np.float32)
    outs = p.run(x)
    for layer in range(1, len(p) + 1):
        c, h, w = outs[layer - 1].shape
        for pos in ((0, 0, 0), (c - 1, h - 1, w - 1), (c // 2, h // 2, w // 3)):
            e = explain_pixel(p, x, layer, *pos, outputs=outs)
            if e["kind"] == "conv":
                for part in e["inputs"]:
                    assert np.sum(part["products"]) == pytest.approx(part["sum"], abs=1e-9)
                    np.testing.assert_allclose(
                        np.array(part["window"]) * np.array(part["kernel"]), part["products"])
            if "total" in e:
                assert e["total"] == pytest.approx(e["output"], rel=1e-5, abs=1e-5)


def test_explain_marks_padding_and_the_max_winner():
    p = Pipeline.from_dict({**HDR, "layers": [{"type": "maxpool2d", "kernel_size": 3, "stride": 2,
                                                "padding": 1}]})
    x = np.array([[1, 9, 2], [3, 4, 9], [0, 0, 0]], np.float32)
    e = explain_pixel(p, x, 1, 0, 0, 0)
    assert e["kind"] == "max"
    assert e["padding"][0] == [True, True, True] and e["padding"][1] == [True, False, False]
    assert e["window"][0] == [None, None, None]
    assert e["winner"] == [0, 1] and e["total"] == 9  # first maximum in scan order


def test_cli_at_json_and_erf(tmp_path, capsys):
    rng = np.random.default_rng(6)
    p = mixed_pipeline(rng)
    pfile = tmp_path / "p.json"
    p.save(pfile)
    x = rng.random((2, 13, 17)).astype(np.float32)
    img = tmp_path / "x.npy"
    np.save(img, x)
    erf_path = tmp_path / "erf.npy"
    assert cli.main(["info", str(pfile), "--image", str(img), "--at", "5,1,2,3", "--json",
                     "--erf", str(erf_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["at"]["layer"] == 5 and out["at"]["kind"] == "conv"
    assert out["at"]["output"] == pytest.approx(float(p.run(x)[4][1, 2, 3]))
    np.testing.assert_allclose(np.load(erf_path), effective_receptive_field(p, x, 5, 1, 2, 3))
    assert cli.main(["info", str(pfile), "--image", str(img), "--at", "5,9,0,0"]) == 2
    assert "outside" in capsys.readouterr().err


# --- the one-sided derivatives at the kinks and ties: PyTorch's autograd choices, by hand


@pytest.mark.parametrize("act, expected", [
    ({"type": "relu"}, [0.0, 0.0, 1.0]),                               # relu'(0) = 0
    ({"type": "leaky_relu", "negative_slope": 0.25}, [0.25, 0.25, 1.0]),  # leaky'(0) = slope
    ({"type": "abs"}, [-1.0, 0.0, 1.0]),                               # abs'(0) = sign(0) = 0
])
def test_erf_derivative_at_zero_is_torchs(act, expected):
    x = np.array([[[-1.0, 0.0, 2.0]]], dtype=np.float32)
    p = Pipeline.from_dict({**HDR, "layers": [act, {"type": "conv2d", "kernel": [[1, 1, 1]]}]})
    np.testing.assert_array_equal(effective_receptive_field(p, x, 2, 0, 0, 0)[0, 0], expected)


def test_erf_maxpool_tie_goes_to_the_first_maximum_in_scan_order():
    x = np.array([[[1.0, 3.0, 3.0], [3.0, 3.0, 0.0]]], dtype=np.float32)
    # 3x3 window with padding 1 at (0, 1): rows -1..1, cols 0..2; first 3 in row-major order is (0, 1)
    p = Pipeline.from_dict({**HDR, "layers": [
        {"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1}]})
    erf = effective_receptive_field(p, x, 1, 0, 0, 1)
    expected = np.zeros_like(x)
    expected[0, 0, 1] = 1.0
    np.testing.assert_array_equal(erf, expected)
    erf = effective_receptive_field(p, x, 1, 0, 1, 0)  # rows 0..2, cols -1..1: first 3 is (0, 1)
    np.testing.assert_array_equal(erf, expected)


def test_erf_padding_modes_fold_the_gradient_back():
    # 1 x 3 box on a 1 x 3 row padded by one column each side; output col 0 reads padded cols
    # -1, 0, 1 = reflect: x1, x0, x1; replicate: x0, x0, x1; circular: x2, x0, x1; zeros: -, x0, x1
    x = np.array([[[1.0, 2.0, 4.0]]], dtype=np.float32)
    for mode, expected in [("reflect", [1, 2, 0]), ("replicate", [2, 1, 0]),
                           ("circular", [1, 1, 1]), ("zeros", [1, 1, 0])]:
        p = Pipeline.from_dict({**HDR, "layers": [
            {"type": "conv2d", "kernel": [[1, 1, 1]], "padding": [0, 0, 1, 1],
             "padding_mode": mode}]})
        np.testing.assert_array_equal(effective_receptive_field(p, x, 1, 0, 0, 0)[0, 0], expected,
                                      err_msg=mode)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_erf_is_computed_on_the_part_of_the_image_the_pixel_sees(monkeypatch, seed):
    """The ERF is computed on the part of the image the pixel sees (explain._erf_window: its
    receptive field, or a whole axis where the field reaches into padding) instead of whole
    maps: the same gradient as the whole-image backward pass, up to float32 rounding. The
    forward pass on the part may take another of the core's paths for a layer (they agree to
    float32 rounding, docs/semantics.md), and the derivatives of sigmoid, tanh and abs read
    those activations: measured up to 5e-7 of the field's largest value with OpenBLAS's
    Haswell kernels; the bound allows 32 float32 units."""
    from convstudio.core import explain

    rng = np.random.default_rng(seed)
    p = mixed_pipeline(rng)
    x = rng.random((2, 61, 73)).astype(np.float32)
    shapes = p.output_shapes(x.shape)
    window = explain._erf_window
    cropped = 0
    for layer in range(1, len(p) + 1):
        c, h, w = shapes[layer]
        for i, j in [(0, 0), (h // 2, w // 2), (h - 1, w - 1), (h // 3, 2 * w // 3), (1, w // 2)]:
            inside = window(p, layer, i, j, x.shape)
            cropped += inside is not None
            fast = effective_receptive_field(p, x, layer, c - 1, i, j)
            with monkeypatch.context() as m:
                m.setattr(explain, "_erf_window", lambda *_a: None)
                full = effective_receptive_field(p, x, layer, c - 1, i, j)
            bound = 32 * np.finfo(np.float32).eps * np.abs(full).max()
            assert np.all(np.abs(fast - full) <= bound), (layer, i, j)
            if inside is not None:  # nothing outside the window
                r0, r1, c0, c1, _, _ = inside
                outside = fast.copy()
                outside[:, r0:r1, c0:c1] = 0
                assert not outside.any() and not np.array_equal(fast, 0 * fast)
    assert cropped >= 12  # windows and strips, at several layers (corners take the whole image)


def test_the_erf_part_is_the_whole_gradient_on_a_box_with_zeros_around_it():
    """effective_receptive_field_part returns the gradient on the box it was computed from and
    where the box starts; placed in zeros it is effective_receptive_field, bit for bit, and a
    pixel in the middle of a large image gets a box of its field's size, not the image."""
    from convstudio.core.explain import effective_receptive_field_part

    rng = np.random.default_rng(3)
    p = mixed_pipeline(rng)
    x = rng.random((2, 61, 73)).astype(np.float32)
    shapes = p.output_shapes(x.shape)
    smaller = 0
    for layer in range(1, len(p) + 1):
        c, h, w = shapes[layer]
        for i, j in [(0, 0), (h // 2, w // 2), (h - 1, w - 1), (1, w // 2)]:
            part, (r0, c0) = effective_receptive_field_part(p, x, layer, c - 1, i, j)
            whole = effective_receptive_field(p, x, layer, c - 1, i, j)
            assert part.dtype == np.float32 and part.shape[0] == x.shape[0]
            assert 0 <= r0 and r0 + part.shape[1] <= x.shape[1]
            assert 0 <= c0 and c0 + part.shape[2] <= x.shape[2]
            placed = np.zeros_like(whole)
            placed[:, r0:r0 + part.shape[1], c0:c0 + part.shape[2]] = part
            assert np.array_equal(placed, whole), (layer, i, j)
            smaller += part.shape != x.shape
    assert smaller >= 8
    big = rng.random((1, 400, 500)).astype(np.float32)
    stack = Pipeline((Conv2d(kernel=rng.standard_normal((5, 5)).astype(np.float32), padding=2),
                      MaxPool2d(kernel_size=2), Conv2d(kernel=np.ones((3, 3), np.float32))))
    part, (r0, c0) = effective_receptive_field_part(stack, big, 3, 0, 100, 120)
    rf = stack.receptive_fields()[3]
    assert part.shape[1:] == tuple(int(v) for v in rf.size)
    assert (r0, c0) == (200 - 2, 240 - 2)  # the field of output (100, 120): 2 x the pixel, less the padding


def test_the_erf_window_starts_on_the_layers_jump_and_holds_the_receptive_field():
    p = Pipeline((Conv2d(kernel=np.ones((5, 3)), stride=(2, 3), padding="same"),
                  Conv2d(kernel=np.ones((3, 3)), stride=2, dilation=2)))
    from convstudio.core import explain

    rf = p.receptive_fields()[2]
    r0, r1, c0, c1, i, j = explain._erf_window(p, 2, 10, 7, (1, 200, 200))
    assert r0 % rf.jump[0] == 0 and c0 % rf.jump[1] == 0
    assert (r0 <= rf.start[0] + 10 * rf.jump[0] and r1 == rf.start[0] + 10 * rf.jump[0] + rf.size[0])
    assert (i, j) == (10 - r0 // rf.jump[0], 7 - c0 // rf.jump[1])
    # into the zero padding above: the part starts at the image's first row and ends where
    # the field does; in both corners' padding likewise
    r0, r1, c0, c1, i, j = explain._erf_window(p, 2, 0, 7, (1, 200, 200))
    assert (r0, r1, i) == (0, rf.start[0] + rf.size[0], 0) and c0 % rf.jump[1] == 0 and c1 < 200
    assert explain._erf_window(p, 2, 0, 0, (1, 200, 200)) == (
        0, rf.start[0] + rf.size[0], 0, rf.start[1] + rf.size[1], 0, 0)
    last = p.output_shapes((1, 200, 200))[2]
    r0, r1, c0, c1, i, j = explain._erf_window(p, 2, last[1] - 1, last[2] - 1, (1, 200, 200))
    assert r1 <= 200 and c1 <= 200 and r0 > 0 and c0 > 0 and r0 % rf.jump[0] == 0
    assert (i, j) == (last[1] - 1 - r0 // rf.jump[0], last[2] - 1 - c0 // rf.jump[1])


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_the_erf_part_of_an_edge_pixel_follows_its_padding_mode(mode):
    """A corner pixel's field reaches into the padding on two sides. Zero padding reads
    nothing there; replicated and reflected padding copy cells next to the edge, which the
    part holds (reflect: as far in as the padding reaches); circular padding copies the
    opposite edge, so the part is the whole axis (here: the whole image)."""
    from convstudio.core import explain

    k = np.ones((5, 5), np.float32)
    p = Pipeline((Conv2d(kernel=k, padding=4, padding_mode=mode),
                  Conv2d(kernel=k, padding=2, padding_mode=mode)))
    window = explain._erf_window(p, 2, 0, 0, (1, 300, 400))
    if mode == "circular":
        assert window is None
        return
    r0, r1, c0, c1, i, j = window
    assert (r0, c0, i, j) == (0, 0, 0, 0)
    # the corner output reads rows -2 .. 2 of the first layer's output: rows 0 .. 2 once the
    # padding is mapped to what it copies (zeros: nothing, replicate: row 0, reflect: rows 2
    # and 1); those read input rows -4 .. 2: rows 0 .. 2, or 0 .. 4 reflected
    reach = {"zeros": 3, "replicate": 3, "reflect": 5}[mode]
    assert (r1, c1) == (reach, reach)


@pytest.mark.parametrize("seed", range(16))
def test_erf_parts_equal_the_whole_image_gradient_on_random_stacks(monkeypatch, seed):
    """Random stacks of windowed layers (every padding mode, strides, dilations, ceil-mode
    pools, offsets): at every pixel of the last layer, the ERF computed on its part equals the
    whole-image gradient, bit for bit, and is zero outside the part; corners and edges included.

    The core's fast paths are switched off here, so that the forward pass sums every output in
    one order whatever the map's size (its fast paths may pick another algorithm on a smaller
    map, which moves tanh's derivative by more than a few float32 units where it saturates:
    7.7e-6 of the field's largest value measured with the NumPy paths alone)."""
    from convstudio.core import explain, fastpaths

    monkeypatch.setattr(fastpaths, "enabled", False)

    rng = np.random.default_rng(100 + seed)
    modes = ["zeros", "reflect", "replicate", "circular"]
    layers = []
    for _ in range(rng.integers(2, 5)):
        kind = rng.choice(["conv", "conv", "max", "avg", "pad", "stride"])
        if kind == "conv":
            kh, kw = (int(v) for v in rng.integers(1, 5, 2))
            d = int(rng.integers(1, 3))
            layers.append({"type": "conv2d", "kernel": rng.standard_normal((kh, kw)).tolist(),
                           "padding": [int(v) for v in rng.integers(0, 3, 4)],
                           "padding_mode": str(rng.choice(modes)),
                           "stride": [int(v) for v in rng.integers(1, 3, 2)], "dilation": d})
        elif kind in ("max", "avg"):
            layers.append({"type": "maxpool2d" if kind == "max" else "avgpool2d",
                           "kernel_size": 3, "stride": int(rng.integers(1, 3)), "padding": 1,
                           "ceil_mode": bool(rng.integers(2)),
                           **({"count_include_pad": bool(rng.integers(2))} if kind == "avg" else {})})
        elif kind == "pad":
            layers.append({"type": "pad", "padding": [int(v) for v in rng.integers(0, 3, 4)],
                           "mode": str(rng.choice(["constant", "reflect", "replicate", "circular"]))})
        else:
            layers.append({"type": "stride", "stride": 2, "offset": [int(v) for v in rng.integers(0, 2, 2)]})
        layers.append({"type": "tanh"})
    p = Pipeline.from_dict({**HDR, "layers": layers})
    x = rng.random((1, 23, 29)).astype(np.float32)
    c, h, w = p.output_shapes(x.shape)[len(p)]
    parts = 0
    for i in range(h):
        for j in range(w):
            window = explain._erf_window(p, len(p), i, j, x.shape)
            fast = effective_receptive_field(p, x, len(p), c - 1, i, j)
            with monkeypatch.context() as m:
                m.setattr(explain, "_erf_window", lambda *_a: None)
                full = effective_receptive_field(p, x, len(p), c - 1, i, j)
            np.testing.assert_array_equal(fast, full, err_msg=str((i, j, window)))
            if window is not None:
                parts += 1
                r0, r1, c0, c1, _, _ = window
                outside = full.copy()
                outside[:, r0:r1, c0:c1] = 0
                assert not outside.any(), (i, j, window)
    assert parts > 0
