"""Exact tiled runs (core/tiling.py, core/regions.py) against the whole-image run."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convstudio.core import Pipeline
from convstudio.core.regions import Region
from convstudio.core.tiling import TilingUnsupported, plan_tiles, read_region, run_tiled

MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]


def pipe(*layers):
    return Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": list(layers)})


def assert_matches_whole(p, x, tile, layer=None):
    n = len(p) if layer is None else layer
    ref = p.run(x, upto=n)[n - 1] if n else x
    got = run_tiled(p, x, tile=tile, layer=n)
    assert got.shape == ref.shape
    # docs/scale.md: within float32 rounding of the map's largest value where a fast path differs
    tol = 1e-5 * max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol)


@st.composite
def layer_dicts(draw, rng_seed):
    kind = draw(st.sampled_from(["conv", "kconv", "max", "avg", "pad", "stride", "act"]))
    k = draw(st.integers(1, 4))
    if kind in ("conv", "kconv"):
        d = {"type": "conv2d", "stride": draw(st.integers(1, 3)), "dilation": draw(st.integers(1, 2)),
             "padding": draw(st.sampled_from([0, 1, 2, "same", [2, 0, 1, 3]])),
             "padding_mode": draw(st.sampled_from(MODES))}
        w = np.random.default_rng(rng_seed).normal(size=(k, k)).round(3)
        d["kernel"] = w.tolist()
        return d
    if kind in ("max", "avg"):
        kk = draw(st.integers(1, 3))
        d = {"type": f"{kind}pool2d", "kernel_size": kk, "stride": draw(st.integers(1, 4)),
             "padding": draw(st.integers(0, kk // 2)), "ceil_mode": draw(st.booleans())}
        if kind == "avg":
            d["count_include_pad"] = draw(st.booleans())
        elif draw(st.booleans()):
            d["dilation"] = 2
        return d
    if kind == "pad":
        return {"type": "pad", "padding": draw(st.lists(st.integers(0, 5), min_size=4, max_size=4)),
                "mode": draw(st.sampled_from(MODES + ["constant"])), "value": 0.25}
    if kind == "stride":
        s = draw(st.integers(1, 3))
        return {"type": "stride", "stride": s, "offset": draw(st.integers(0, s - 1))}
    return {"type": draw(st.sampled_from(["relu", "abs", "sigmoid", "tanh", "leaky_relu"]))}


@settings(max_examples=30)
@given(data=st.data(), h=st.integers(4, 23), w=st.integers(4, 23), seed=st.integers(0, 2**16))
def test_random_stacks_match_the_whole_run(data, h, w, seed):
    layers = [data.draw(layer_dicts(seed + i)) for i in range(data.draw(st.integers(1, 4)))]
    p = pipe(*layers)
    x = np.random.default_rng(seed).normal(size=(2, h, w)).astype(np.float32)
    try:
        p.output_shapes(x.shape)
    except ValueError:
        return  # the stack does not fit this input: nothing to tile
    tile = data.draw(st.sampled_from([1, 2, 3, 5, 8, 64]))
    assert_matches_whole(p, x, tile)


def vgg_like(rng, widths=(3, 8, 8, 16)):
    layers = []
    for cin, cout in zip(widths, widths[1:]):
        w = (rng.normal(size=(cout, cin, 3, 3)) / (3 * np.sqrt(cin))).tolist()
        layers += [{"type": "conv2d", "weight": w, "bias": rng.normal(size=cout).tolist(), "padding": 1},
                   {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2}]
    return pipe(*layers)


def alexnet_like(rng):
    w1 = (rng.normal(size=(6, 3, 11, 11)) / 30).tolist()
    w2 = (rng.normal(size=(8, 6, 5, 5)) / 12).tolist()
    return pipe({"type": "conv2d", "weight": w1, "stride": 4, "padding": 2}, {"type": "relu"},
                {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "ceil_mode": True},
                {"type": "conv2d", "weight": w2, "padding": 2, "padding_mode": "reflect"}, {"type": "relu"},
                {"type": "maxpool2d", "kernel_size": 3, "stride": 2})


@pytest.mark.parametrize("make", [vgg_like, alexnet_like])
def test_cnn_stacks_match_the_whole_run_for_random_tiles(make):
    rng = np.random.default_rng(7)
    p = make(rng)
    x = rng.random((3, 97, 83), dtype=np.float32)
    for tile in rng.integers(1, 9, size=3).tolist() + [16]:
        assert_matches_whole(p, x, int(tile))
    assert_matches_whole(p, x, 5, layer=2)  # an intermediate layer


def test_elementwise_and_pooling_tiles_are_bit_identical():
    p = pipe({"type": "pad", "padding": [2, 1, 0, 3], "mode": "circular"},
             {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
              "count_include_pad": False},
             {"type": "maxpool2d", "kernel_size": 2, "stride": 1, "dilation": 2}, {"type": "sigmoid"})
    x = np.random.default_rng(3).normal(size=(2, 31, 26)).astype(np.float32)
    ref = p.run(x)[-1]
    for tile in (1, 2, 7):
        np.testing.assert_array_equal(run_tiled(p, x, tile=tile), ref)


class CountingReader:
    """An input that records every rectangle read from it."""

    def __init__(self, x):
        self.x, self.shape, self.reads = x, x.shape, []

    def __getitem__(self, key):
        _, rs, cs = key
        self.reads.append((rs.start, rs.stop, cs.start, cs.stop))
        return self.x[key]


@pytest.mark.parametrize("mode", ["circular", "reflect", "zeros"])
def test_tiles_read_only_their_planned_region(mode):
    p = pipe({"type": "conv2d", "kernel": np.ones((5, 5)).tolist(), "padding": 2, "padding_mode": mode},
             {"type": "maxpool2d", "kernel_size": 2},
             {"type": "conv2d", "kernel": [[1, -1, 2]], "padding": [0, 0, 1, 1]})
    x = np.random.default_rng(1).random((1, 40, 36), dtype=np.float32)
    plan = plan_tiles(p, x.shape, 6)
    h, w = x.shape[1:]
    for t in plan:
        reader = CountingReader(x)
        plan.run_tile(t, reader)
        planned = t.regions[0]
        cells = 0
        for r0, r1, c0, c1 in reader.reads:
            assert planned.contains(Region.box(r0, r1, c0, c1))
            cells += (r1 - r0) * (c1 - c0)
        assert cells == planned.size  # each planned cell read once, nothing else
        # a tile away from the borders reads its footprint and halo only, never the whole axis
        if mode == "circular" and t.index == (1, 1):
            assert planned.shape[0] < h and planned.shape[1] < w
    # circular padding at the top reads the bottom rows, not the rows in between
    first = plan.tile(0, 0).regions[0]
    assert mode != "circular" or (first.rows.max() == h - 1 and len(first.rows) < h)


def test_read_region_assembles_wrapped_rows():
    x = np.arange(2 * 6 * 5, dtype=np.float32).reshape(2, 6, 5)
    region = Region(np.array([0, 1, 5]), np.array([3, 4]))
    np.testing.assert_array_equal(read_region(x, region), x[:, [0, 1, 5]][:, :, [3, 4]])


def test_a_layer_without_a_tiled_form_is_named():
    from convstudio.core.layers import Layer

    class Opaque(Layer):
        type = "opaque"

        def _forward(self, x):
            return x

    with pytest.raises(TilingUnsupported, match="layer 2 \\(opaque\\)"):
        plan_tiles(Pipeline((pipe({"type": "relu"}).layers[0], Opaque())), (1, 8, 8), 4)


def test_halo_and_peak_bytes():
    p = pipe({"type": "conv2d", "kernel": np.ones((5, 5)).tolist(), "padding": 2},
             {"type": "maxpool2d", "kernel_size": 2}, {"type": "conv2d", "kernel": np.ones((3, 3)).tolist()})
    plan = plan_tiles(p, (1, 2400, 2400), 16)
    rf = p.receptive_fields()[-1]
    (above, below), (left, right) = plan.halo()
    # a middle tile reads r - j cells beyond its own tile * jump
    assert above + below == rf.size[0] - rf.jump[0] and left + right == rf.size[1] - rf.jump[1]
    # a 16 x 16 tile of a 2400 x 2400 image needs a small fraction of the whole run
    assert plan.peak_tile_bytes() < p.peak_bytes((1, 2400, 2400)) / 10


# Stacks whose receptive field is worked out by hand in the comments: (layers, size, jump, start)
# per axis, the numbers of docs/semantics.md ("Receptive field").
HALO_STACKS = [
    # conv 5 pad 2: size 5, start -2; max pool 2: size 6, jump 2; conv 3 valid: size 6 + 2 * 2
    ([{"type": "conv2d", "kernel": np.ones((5, 5)).tolist(), "padding": 2},
      {"type": "maxpool2d", "kernel_size": 2}, {"type": "conv2d", "kernel": np.ones((3, 3)).tolist()}],
     (10, 2, -2)),
    # conv 3 stride 2 (valid): size 3, jump 2, start 0: nothing above, one row below
    ([{"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "stride": 2}], (3, 2, 0)),
    # dilation 2 'same' circular: size 5, start -2 (the wrap does not change an inner tile's halo)
    ([{"type": "conv2d", "kernel": np.ones((3, 3)).tolist(), "dilation": 2, "padding": "same",
       "padding_mode": "circular"}], (5, 1, -2)),
    # avg pool 3 s2 p1 after a reflect pad of 2: size 3, jump 2, start -1 - 2
    ([{"type": "pad", "padding": 2, "mode": "reflect"},
      {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1}], (3, 2, -3)),
]


@pytest.mark.parametrize(("layers", "rf"), HALO_STACKS)
@pytest.mark.parametrize("in_hw", [(300, 260), (20, 24)])  # many tiles; one tile (measured on a longer image)
def test_halo_is_the_receptive_field_arithmetic(layers, rf, in_hw):
    p = pipe(*layers)
    size, jump, start = rf
    assert p.receptive_fields()[-1].size == (size, size)  # the hand arithmetic above holds
    assert p.receptive_fields()[-1].start == (start, start)
    plan = plan_tiles(p, (1, *in_hw), 8)
    expected = (max(0, -start), max(0, size - jump + start))
    assert plan.halo() == (expected, expected)


def test_halo_matches_what_an_inner_tile_reads():
    # independent of the arithmetic: the rows a tile's output really depends on, by perturbing them
    p = pipe(*HALO_STACKS[0][0])
    x = np.random.default_rng(3).random((1, 60, 60), dtype=np.float32)
    plan = plan_tiles(p, x.shape, 6)
    (above, below), _ = plan.halo()
    t = plan.tile(plan.grid[0] // 2, plan.grid[1] // 2)
    r0, r1, c0, c1 = t.box
    base = p.run(x)[-1][:, r0:r1, c0:c1]
    jump = 2
    for row, inside in [(r0 * jump - above, True), (r0 * jump - above - 1, False),
                        (r1 * jump + below - 1, True), (r1 * jump + below, False)]:
        y = x.copy()
        y[:, row, c0 * jump:c1 * jump] += 1.0
        changed = not np.array_equal(p.run(y)[-1][:, r0:r1, c0:c1], base)
        assert changed == inside, (row, inside)


TRACED_STACKS = [
    [{"type": "conv2d", "weight": np.random.default_rng(0).normal(size=(8, 3, 5, 5)).tolist(),
      "padding": "same", "padding_mode": "reflect"},
     {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
     {"type": "conv2d", "weight": np.random.default_rng(1).normal(size=(8, 8, 3, 3)).tolist(), "padding": 1}],
    [{"type": "conv2d", "kernel": np.ones((7, 7)).tolist(), "padding": "same", "padding_mode": "circular"}],
    [{"type": "conv2d", "weight": np.random.default_rng(2).normal(size=(4, 3, 15, 15)).tolist(), "padding": 7},
     {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1}],
]


def traced_peak(plan, tiles, x) -> int:
    """The most bytes any of `tiles` allocated while it ran (tracemalloc)."""
    import tracemalloc

    from convstudio.core import jit

    jit.warm_up()  # numba's import and compile, once per process, are not a tile's memory
    worst = 0
    tracemalloc.start()
    try:
        for t in tiles:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            y = plan.run_tile(t, x)
            del y
            worst = max(worst, tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()
    return worst


@pytest.mark.parametrize("layers", TRACED_STACKS)
def test_tiled_peak_bounds_a_real_tiled_run_within_3x(layers):
    # docs/scale.md: every tile of a real run allocates at most peak_tile_bytes, and at least a
    # third of it (tiles of 256 x 256; smaller tiles are dominated by the fixed 1 MiB allowance)

    p = pipe(*layers)
    x = np.random.default_rng(4).random((3, 600, 700), dtype=np.float32)
    plan = plan_tiles(p, x.shape, 256)
    estimate = plan.peak_tile_bytes()
    worst = traced_peak(plan, list(plan), x)
    assert worst <= estimate <= 3 * worst, (worst, estimate)


def test_a_tile_of_mostly_padding_is_estimated_by_its_own_outputs():
    """A small image padded far beyond its size (9 x 11 with 3000 replicated cells a side):
    every tile reads the whole input, but computes and holds only its own outputs. Its
    estimate once counted the padded output of the whole image for every tile, so no side fit
    the budget and `apply` crawled through 16 x 16 tiles for minutes."""

    from convstudio.core.tiling import choose_tile

    p = pipe({"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "scale": 0.0625,
              "padding": 3000, "padding_mode": "replicate"})
    x = np.random.default_rng(5).random((3, 9, 11), dtype=np.float32)
    whole = 4 * int(np.prod(p.output_shapes(x.shape)[-1]))  # 433 MB
    plan = plan_tiles(p, x.shape, 512)
    estimate = plan.peak_tile_bytes()
    assert estimate < whole / 4
    assert choose_tile(p, x.shape, whole) >= 512  # (it was 16: 141,000 tiles)
    rows, cols = plan.grid
    corners = [plan.tile(i, j) for i, j in ((0, 0), (rows // 2, cols // 2), (rows - 1, cols - 1))]
    assert traced_peak(plan, corners, x) <= estimate
    small = pipe({"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "scale": 0.0625,
                  "padding": 40, "padding_mode": "replicate"})
    assert_matches_whole(small, x, 16)


def test_a_tile_that_reads_nothing_of_a_layer_is_padding_only():
    # the last column of the pad's output reads no output of the conv before it
    p = pipe({"type": "conv2d", "kernel": [[0.126]]},
             {"type": "pad", "padding": [0, 0, 0, 1], "mode": "zeros", "value": 0.25})
    x = np.random.default_rng(0).normal(size=(2, 4, 4)).astype(np.float32)
    assert_matches_whole(p, x, 1)


def test_choose_tile_is_the_largest_side_that_fits_and_stops_when_cancelled():
    from convstudio.core import RunCancelled
    from convstudio.core.tiling import _TILE_CHOICES, choose_tile

    p = pipe(*TRACED_STACKS[0])
    shape = (3, 3000, 2600)
    for budget in (1 << 33, 1 << 28, 1 << 25, 1 << 22):
        # the rule, without the cheap first look at one tile
        fits = [s for s in _TILE_CHOICES if plan_tiles(p, shape, s).peak_tile_bytes() <= budget // 4]
        assert choose_tile(p, shape, budget) == (fits[0] if fits else _TILE_CHOICES[-1])
    polls = []

    def cancelled():
        polls.append(1)
        return len(polls) > 3

    with pytest.raises(RunCancelled):
        choose_tile(p, shape, 1 << 22, cancelled=cancelled)
    assert len(polls) == 4  # asked between tiles and layers, it stops at the first yes


def test_a_layer_too_large_to_hold_whole_still_runs_on_tiles(monkeypatch):
    """The size limit of one layer held in memory refuses the whole run, not the tiled one: a
    tiled run holds tiles (a gigapixel input through conv 1->4 is 16 GB as one layer)."""
    from convstudio.core import PipelineError, layerspec

    p = Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "weight": np.arange(36, dtype=float).reshape(4, 1, 3, 3).tolist(), "padding": 1},
        {"type": "maxpool2d", "kernel_size": 2}]})
    x = np.random.default_rng(0).random((1, 40, 40), dtype=np.float32)
    ref = p.run(x)[-1]
    monkeypatch.setattr(layerspec, "MAX_OUTPUT_ELEMENTS", 4 * 40 * 40 - 1)  # layer 1 is over it
    with pytest.raises(PipelineError, match="over the limit"):
        p.output_shapes(x.shape)
    assert p.output_shapes(x.shape, limit=False)[1] == (4, 40, 40)
    np.testing.assert_allclose(run_tiled(p, x, tile=7), ref, rtol=0, atol=1e-5 * float(np.abs(ref).max()))
