"""Parameter steps and weight footprints against independent counts and index arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from convstudio.core import Pipeline
from convstudio.core.layers import layer_from_dict
from convstudio.session.connectivity import parameter_steps, weight_footprint
from convstudio.session.sliding import region_around

_NP_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap",
             "symmetric": "symmetric"}


@pytest.mark.parametrize("mode", list(_NP_MODES))
@pytest.mark.parametrize("stride, dilation, flip", [(1, 1, False), (2, 1, True), ((2, 3), (2, 1), False)])
def test_footprint_is_the_set_of_pixels_the_tap_reads(mode, stride, dilation, flip):
    c, h, w = 2, 9, 11
    layer = layer_from_dict({"type": "conv2d", "weight": np.ones((3, 2, 3, 3)).tolist(), "padding": 2,
                             "padding_mode": mode, "stride": stride, "dilation": dilation, "flip": flip})
    idx = np.arange(h * w).reshape(h, w)
    padded = np.pad(idx, 2, mode=_NP_MODES[mode], **({"constant_values": -1} if mode == "zeros" else {}))
    sh, sw = layer.stride
    dh, dw = layer.dilation
    _, ho, wo = layer.output_shape((c, h, w))
    for a, b in [(0, 0), (1, 2), (2, 1)]:
        ta, tb = (2 - a, 2 - b) if flip else (a, b)
        seen = padded[np.arange(ho)[:, None] * sh + ta * dh, np.arange(wo)[None, :] * sw + tb * dw]
        want = np.zeros((c, h, w), bool)
        want[1].flat[seen[seen >= 0]] = True
        np.testing.assert_array_equal(weight_footprint(layer, (c, h, w), 2, 1, a, b), want)


def test_parameter_steps_count_the_three_readings():
    p = Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "weight": np.zeros((4, 3, 5, 5)).tolist(), "bias": [0] * 4, "padding": 2}]})
    s = parameter_steps(p, (3, 20, 30), 1)
    n_in, n_out = 3 * 20 * 30, 4 * 20 * 30
    assert s.fully_connected == (n_in * n_out, n_out)
    assert s.locally_connected == (n_out * 3 * 25, n_out)
    assert s.convolution == (4 * 3 * 25, 4) and s.delta == 2
    assert sum(s.convolution) == p.params((3, 20, 30))


def test_region_is_the_whole_small_map_or_a_block_around_the_pixel():
    assert region_around((3, 4), None) == (0, 3, 0, 4)
    assert region_around((2000, 2000), None) == (0, 12, 0, 12)
    assert region_around((2000, 2000), (1000, 5)) == (994, 1006, 0, 12)
    assert region_around((2000, 2000), (1999, 1999)) == (1988, 2000, 1988, 2000)
