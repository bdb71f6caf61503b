"""Transposed convolution, upsampling and the symmetric border in the window: the parameter forms
both ways, the maps drawn where their pixels come from (fractional jumps), the output-size
formulas and the inspector's page."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from conftest import settle

from convstudio.app.panels.inspector import explanation_html
from convstudio.app.panels.shapes_panel import axis_formula
from convstudio.app.views.placement import Placement, scene_rect_of_pixel
from convstudio.app.views.receptive_overlay import window_on_layer
from convstudio.core import Conv2d, ConvTranspose2d, Pipeline, Upsample
from convstudio.core.explain import explain_pixel


def enlarging_pipeline(channels: int) -> Pipeline:
    return Pipeline((Conv2d(kernel=np.ones((3, 3), np.float32) / 9, padding="same", padding_mode="symmetric"),
                     ConvTranspose2d(weight=np.full((channels, 2, 4, 4), 0.1, np.float32), stride=(2, 2),
                                     padding=(1, 1)),
                     Upsample(scale_factor=(2, 3), mode="bilinear")))


def test_conv_transpose_form_round_trip_and_refusal(window):
    w = window
    w.doc.set_pipeline(enlarging_pipeline(w.doc.image_shape[0]))
    w.doc.select(2)
    p = w.params_editor
    assert p.widgets["stride"].value() == (2, 2) and p.widgets["padding"].value() == (1, 1)
    p.widgets["output_padding"].h.setValue(1)
    layer = w.doc.pipeline.layers[1]
    assert isinstance(layer, ConvTranspose2d) and layer.output_padding == (1, 1)
    c, h, wd = w.doc.image_shape
    settle(w)
    assert w.doc.analysis()[1].output_shape == (2, 2 * h + 1, 2 * wd + 1)  # output_padding 1
    # an output padding as large as the stride is refused, with the reason next to the field
    p.widgets["stride"].link.setChecked(False)
    p.widgets["stride"].w.setValue(1)
    assert w.doc.pipeline.layers[1].stride == (2, 2)
    assert "smaller than the stride" in p.error_text("stride")
    p.widgets["dilation"].h.setValue(3)
    assert w.doc.pipeline.layers[1].dilation == (3, 3)  # linked rows and columns
    settle(w)
    assert not w.renderer.errors
    np.testing.assert_allclose(w.layer_view.maps(), w.doc.pipeline.run(w.doc.image)[1], rtol=0, atol=0)


def test_upsample_form_and_maps_at_half_pixels(window):
    w = window
    w.doc.set_pipeline(enlarging_pipeline(w.doc.image_shape[0]))
    w.doc.select(3)
    p = w.params_editor
    assert p.widgets["scale_factor"].value() == (2, 3)
    assert p.widgets["mode"].currentData() == "bilinear"
    p.widgets["mode"].setCurrentIndex(p.widgets["mode"].findData("nearest"))
    p.widgets["scale_factor"].h.setValue(3)
    up = w.doc.pipeline.layers[2]
    assert (up.mode, up.scale_factor) == ("nearest", (3, 3))
    settle(w)
    assert not w.renderer.errors
    np.testing.assert_array_equal(w.layer_view.maps(), w.doc.pipeline.run(w.doc.image)[2])
    # the form's summary writes the exact receptive field
    rf = w.doc.pipeline.receptive_fields()[3]
    assert rf.jump == (Fraction(1, 6), Fraction(1, 6))
    assert "1/6" in p._fit.text()


def test_symmetric_is_offered_for_conv_and_pad_layers(window):
    w = window
    w.doc.select(1)
    p = w.params_editor
    combo = p.widgets["padding_mode"]
    combo.setCurrentIndex(combo.findData("symmetric"))
    assert w.doc.pipeline.layers[0].padding_mode == "symmetric"
    settle(w)
    np.testing.assert_array_equal(w.layer_view.maps(), w.doc.pipeline.run(w.doc.image)[0])


def test_fractional_placement_and_receptive_windows():
    p = Pipeline((Upsample(scale_factor=2),))
    # nearest by 2: output pixel 3 reads input pixel 1; its window (1, 2) holds exactly that cell
    assert window_on_layer(p, 1, 3, 3) == (1, 2, 1, 2)
    rf = p.receptive_fields()[1]
    placement = Placement(jump=rf.jump, start=rf.start, size=rf.size)
    # pixel 3 is drawn as the right half of input pixel 1: [1.5, 2)
    assert scene_rect_of_pixel(placement, 3, 3) == (1.5, 1.5, 0.5, 0.5)
    ct = Pipeline((ConvTranspose2d(weight=np.ones((1, 1, 4, 4), np.float32), stride=2, padding=1),))
    assert window_on_layer(ct, 1, 2, 3) == (0, 2, 1, 3)  # rows 0-1 and cols 1-2, as the scatter says


def test_shapes_formulas_and_inspector_page():
    ct = ConvTranspose2d(weight=np.ones((1, 1, 4, 3), np.float32), stride=(2, 3), padding=(1, 0),
                         output_padding=(1, 2), dilation=(1, 2))
    f = axis_formula(ct, 5, 0)
    # (5 - 1)·2 - 2·1 + 1·(4 - 1) + 1 + 1
    assert f.out == ct.output_shape((1, 5, 7))[1] == 11 and f.text.endswith("= 11")
    assert axis_formula(ct, 7, 1).out == ct.output_shape((1, 5, 7))[2]
    assert axis_formula(Upsample(scale_factor=(2, 3)), 7, 1).text == "7 × 3 = 21"
    x = np.arange(35, dtype=np.float32).reshape(1, 5, 7)
    info = explain_pixel(Pipeline((ct,)), x, 1, 0, 4, 3)
    page = explanation_html(info)
    assert "transposed convolution" in page and "input channel 0" in page.lower()
    up = explain_pixel(Pipeline((Upsample(mode="bilinear"),)), x, 1, 0, 3, 4)
    page = explanation_html(up)
    assert "bilinear" in page and "row 1, col 1" in page and "row 2, col 2" in page


def test_code_export_takes_the_channels_of_a_transposed_conv():
    from convstudio.app.window.code_export import default_in_channels

    p = Pipeline((Upsample(), ConvTranspose2d(weight=np.ones((5, 1, 2, 2), np.float32))))
    assert default_in_channels(p) == 5
