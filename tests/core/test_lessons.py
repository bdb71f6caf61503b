"""The Learn menu's examples hold the tutorial's own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from convstudio.lessons import LESSONS, get_lesson


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


def test_one_by_one_is_per_pixel_mixing():
    lesson = get_lesson("one-by-one")
    x = lesson.make_image()
    y = lesson.build_pipeline().run(x)[0]
    w = np.array([[0.299, 0.587, 0.114], [1, 0, -1]], np.float32)
    np.testing.assert_allclose(y, np.einsum("oc,chw->ohw", w, x), rtol=1e-5, atol=1e-6)


def test_unknown_lesson():
    with pytest.raises(KeyError, match="cross-correlation"):
        get_lesson("nope")
