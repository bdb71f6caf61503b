"""Memory the user asked for: ``Pipeline.peak_bytes`` against measured allocations, the budget
check of ``run_layers`` before anything is allocated, and weights beyond float32 (docs/security.md)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from convstudio.core import MemoryBudgetExceeded, Pipeline, PipelineError, run_layers
from convstudio.core.channels import save_output
from convstudio.core.memory import array_bytes, layer_peak_bytes

RNG = np.random.default_rng(11)


def _pipe(*layers: dict) -> Pipeline:
    return Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": list(layers)})


def _kernel(n: int) -> list:
    return RNG.random((n, n)).tolist()


# Stacks that exercise each working-space model: small and FFT-sized kernels, channel mixing,
# strides, pooling with padding, mirrored padding, the activations with temporaries.
STACKS = {
    "blur": [{"type": "conv2d", "kernel": _kernel(3), "padding": "same"}],
    "large kernel": [{"type": "conv2d", "kernel": _kernel(31), "padding": "same", "padding_mode": "reflect"}],
    "cnn": [{"type": "conv2d", "weight": RNG.random((8, 3, 3, 3)).tolist(), "padding": 1},
            {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1},
            {"type": "conv2d", "weight": RNG.random((4, 8, 5, 5)).tolist(), "stride": 2},
            {"type": "sigmoid"}],
    "pad and pool": [{"type": "pad", "padding": 40, "mode": "reflect"},
                     {"type": "avgpool2d", "kernel_size": 5, "stride": 1, "padding": 2},
                     {"type": "leaky_relu", "negative_slope": 0.1}, {"type": "stride", "stride": 2}],
}


def _measured_apply_peak(p: Pipeline, x: np.ndarray, tmp_path) -> int:
    """tracemalloc's peak of what `convstudio apply` does with a loaded input: the layers, keeping
    only the latest output, then writing it as PNG (counting the input itself)."""
    from convstudio.core import jit

    jit.warm_up()  # numba's import and compile, once per process, are not the layers' memory
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        y = np.array(x)  # the input as apply holds it; freed after the first layer
        steps = run_layers(p.layers, y, keep_outputs=False)
        del y
        out = None
        for step in steps:
            out = step.output
        del steps, step
        save_output(tmp_path / "out.png", out, split=False, normalize="minmax")
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", list(STACKS))
def test_peak_bytes_bounds_a_measured_run_within_a_factor_of_3(name, tmp_path):
    p = _pipe(*STACKS[name])
    # large enough that the kernels' fixed scratch (a few MiB, cached between calls or not) is
    # small beside the arrays: the factor below is stated for images from about 0.1 megapixel
    x = RNG.random((3, 400, 600), dtype=np.float32)
    measured = _measured_apply_peak(p, x, tmp_path)
    estimate = p.peak_bytes(x.shape)
    # An upper bound (a budget check on it never lets a run exceed the budget), and not a
    # wild one: within 3x of what the run really allocated.
    assert measured <= estimate <= 3 * measured, (measured, estimate)


def test_peak_bytes_is_per_layer_not_the_sum():
    # two pads of 4096 then 62 relus on one pixel: keeping every output would need ~64 GiB,
    # keeping only the latest about 4 GiB (the last output, 4x while it is written).
    p = _pipe({"type": "pad", "padding": 4096}, {"type": "pad", "padding": 4096}, *[{"type": "relu"}] * 62)
    last = array_bytes((1, 16385, 16385))
    assert p.peak_bytes((1, 1, 1)) == 4 * last
    assert p.info((1, 1, 1))["peak_bytes"] == 4 * last
    assert sum(array_bytes(s) for s in p.output_shapes((1, 1, 1))) > 60 * 2**30


def test_streaming_budget_names_the_layer_before_allocating(monkeypatch):
    p = _pipe({"type": "relu"}, {"type": "pad", "padding": 1000}, {"type": "relu"})
    x = np.ones((1, 10, 10), np.float32)
    budget = layer_peak_bytes(p.layers[1], (1, 10, 10)) - 1  # the pad does not fit
    forwarded = []
    for cls in {type(layer) for layer in p.layers}:
        monkeypatch.setattr(cls, "forward", _recording(cls.forward, forwarded))
    with pytest.raises(MemoryBudgetExceeded) as info:
        list(run_layers(p.layers, x, memory_budget=budget, keep_outputs=False))
    assert info.value.layer == 2 and info.value.running
    assert "layer 2" in str(info.value) and "memory budget" in str(info.value)
    assert forwarded == ["relu"]  # the pad was refused before it ran


def _recording(forward, calls):
    def wrapper(self, x):
        calls.append(self.type)
        return forward(self, x)
    return wrapper


def test_streaming_run_gives_the_same_bits():
    p = _pipe(*STACKS["cnn"])
    x = RNG.random((3, 40, 50), dtype=np.float32)
    streamed = [s.output for s in run_layers(p.layers, x.copy(), keep_outputs=False, memory_budget=1 << 30)]
    np.testing.assert_array_equal(streamed[-1], p.run(x)[-1])


# --------------------------------------------------------------------------------------------
# float32 range


def test_effective_weight_beyond_float32_is_refused_naming_the_layer():
    with pytest.raises(PipelineError) as info:
        _pipe({"type": "relu"}, {"type": "conv2d", "kernel": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], "scale": 3e38})
    assert info.value.layer == 2 and info.value.key == "scale"
    assert "float32" in str(info.value)


def test_effective_weight_at_the_float32_edge_is_accepted():
    # 1 x 3e38 fits in float32; 2 x 3e38 would not
    p = _pipe({"type": "conv2d", "kernel": [[1.0, 0.5]], "scale": 3e38})
    w = p.layers[0].effective_weight(1)
    assert np.isfinite(w).all()


def test_overflow_in_a_run_gives_inf_without_a_warning():
    # pytest turns warnings into errors (pyproject.toml): a RuntimeWarning here fails the test.
    # IEEE 754 in float32: a sum beyond 3.4e38 is +inf, inf - inf is NaN (docs/semantics.md).
    p = _pipe({"type": "conv2d", "kernel": np.full((3, 3), 1e38).tolist(), "padding": "same"},
              {"type": "conv2d", "weight": [[[[1.0]], [[-1.0]]]]})
    x = np.ones((2, 20, 30), np.float32)
    x[1] = 0.5
    first, second = p.run(x)
    assert np.isposinf(first[0]).all()  # at least 4 taps of 1e38: beyond float32 everywhere
    assert np.isposinf(first[1, 1:-1, 1:-1]).all()  # 9 x 0.5e38 inside
    np.testing.assert_allclose(first[1, 0, 0], 2e38, rtol=1e-5)  # 4 taps at a corner: finite
    assert np.isnan(second[0, 1:-1, 1:-1]).all()  # inf - inf
    assert np.isposinf(second[0, 0, 0])  # inf - 2e38
