"""The Learn menu's examples hold the tutorial's own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from convstudio.lessons import LESSONS, get_lesson
from convstudio.session.connectivity import parameter_steps
from convstudio.session.shift import compare_shift, shift_image


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: l.id)
def test_lesson_matches_the_tutorial(lesson):
    p = lesson.build_pipeline()
    x = lesson.make_image()
    assert x.dtype == np.float32 and x.ndim == 3
    assert lesson.explanation and lesson.title
    assert 0 <= lesson.select_layer <= len(p)
    outs = p.run(x)
    exp = lesson.expected
    assert exp, "every lesson states what the tutorial says"
    for layer, want in exp.get("outputs", {}).items():
        np.testing.assert_array_equal(outs[layer - 1], np.array(want, np.float32))
    shapes = p.output_shapes(x.shape)
    for layer, want in exp.get("shapes", {}).items():
        assert shapes[layer] == want
    rfs = p.receptive_fields()
    for layer, want in exp.get("receptive_field", {}).items():
        assert rfs[layer].size == want
    if "fc_params" in exp:
        assert p.fc_params(x.shape) == exp["fc_params"]
    if "params" in exp:
        assert p.params(x.shape) == exp["params"]
    if "local_params" in exp:
        steps = parameter_steps(p, x.shape, lesson.select_layer)
        assert steps.total(steps.fully_connected) == exp["fc_params"]
        assert steps.total(steps.locally_connected) == exp["local_params"]
        assert steps.total(steps.convolution) == exp["params"]
    for layer, (dy, dx) in exp.get("shift_equivariant", {}).items():
        _check_equivariant(p, x, layer, dy, dx)
    if "shift_less_sensitive" in exp:
        less = exp["shift_less_sensitive"]
        dy, dx = less["by"]
        pooled = compare_shift(p, x, less["layer"], dy, dx)
        edges = compare_shift(p, x, less["than"], dy, dx)
        assert pooled.change < 0.5 * edges.change


def _check_equivariant(p, x, layer, dy, dx):
    """The map of the shifted input, moved back by the shift over the jump, equals the map,
    bit for bit, wherever its receptive field sees no border (an independent loop over it)."""
    rf = p.receptive_fields()[layer]
    (jy, jx), (sy, sx), (ky, kx) = rf.jump, rf.start, rf.size
    y = p.run(x, upto=layer)[-1]
    ys = p.run(shift_image(x, dy, dx, "zeros"), upto=layer)[-1]
    _, h, w = x.shape
    checked = 0
    for i in range(y.shape[1]):
        for j in range(y.shape[2]):
            r0, c0 = sy + i * jy, sx + j * jx
            inside = (r0 >= max(0, -dy) and r0 + ky <= h - max(0, dy)
                      and c0 >= max(0, -dx) and c0 + kx <= w - max(0, dx))
            if inside:
                assert ys[:, i + dy // jy, j + dx // jx].tolist() == y[:, i, j].tolist()
                checked += 1
    assert checked > 0.4 * y.shape[1] * y.shape[2]
    comparison = compare_shift(p, x, layer, dy, dx, "zeros")
    assert comparison.max_interior_difference == 0 and int(comparison.interior.sum()) == checked


def test_one_by_one_is_per_pixel_mixing():
    lesson = get_lesson("one-by-one")
    x = lesson.make_image()
    y = lesson.build_pipeline().run(x)[0]
    w = np.array([[0.299, 0.587, 0.114], [1, 0, -1]], np.float32)
    bias = np.array([0.0, 0.1], np.float32)[:, None, None]
    np.testing.assert_allclose(y, np.einsum("oc,chw->ohw", w, x) + bias, rtol=1e-5, atol=1e-6)


def test_lessons_follow_the_tutorial():
    """The tutorial's order: fully connected, invariance, locality, then its section 2 in turn;
    titles numbered in that order."""
    ids = [l.id for l in LESSONS]
    order = ["parameters", "translation-invariance", "locality", "cross-correlation", "true-convolution",
             "receptive-field", "padding-figure", "padding", "padding-even", "stride-figure", "stride",
             "multi-input", "multi-output", "one-by-one", "pooling", "why-pool"]
    assert [i for i in ids if i in order] == order
    numbers = [int(l.title.split(".")[0].rstrip("abc")) for l in LESSONS if l.title[0].isdigit()]
    assert numbers == sorted(numbers)


def test_unknown_lesson():
    with pytest.raises(KeyError, match="cross-correlation"):
        get_lesson("nope")
