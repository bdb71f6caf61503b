"""Transposed convolution and upsampling against PyTorch, where torch happens to be installed (it is
not a dependency; every rule checked here also has a torch-free test in test_upsampling.py and
test_upsampling_insight.py): the forward pass against F.conv_transpose2d / F.interpolate, and the
effective receptive field against torch.autograd."""

from __future__ import annotations

import numpy as np
import pytest
from test_upsampling import conv_transpose_case

from convstudio.core import Pipeline, Upsample
from convstudio.core.explain import effective_receptive_field

torch = pytest.importorskip("torch")
F = torch.nn.functional

HDR = {"format": "convstudio-pipeline", "version": 1}


def t64(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64))


@pytest.mark.parametrize("seed", range(40))
def test_conv_transpose_matches_torch(seed):
    layer, x = conv_transpose_case(seed)
    bias = None if layer.bias is None else t64(layer.bias)
    expected = F.conv_transpose2d(t64(x)[None], t64(layer.weight), bias, stride=layer.stride,
                                  padding=layer.padding, output_padding=layer.output_padding,
                                  groups=layer.groups, dilation=layer.dilation)[0].numpy()
    y = layer.forward(x)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("scale", [(1, 1), (2, 2), (3, 3), (2, 5), (7, 1)])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_matches_torch_interpolate(scale, mode):
    x = np.random.default_rng(sum(scale)).standard_normal((3, 6, 5)).astype(np.float32)
    kw = {"align_corners": False} if mode == "bilinear" else {}
    expected = F.interpolate(torch.from_numpy(x)[None], scale_factor=scale, mode=mode, **kw)[0].numpy()
    y = Upsample(scale_factor=scale, mode=mode).forward(x)
    np.testing.assert_allclose(y, expected, rtol=0, atol=2e-6)


def test_output_padding_rule_is_torchs():
    """output_padding must be smaller than the stride or the dilation, exactly where PyTorch says."""
    for stride in (1, 2, 3):
        for dilation in (1, 2, 3):
            for op in range(4):
                ok = True
                try:
                    F.conv_transpose2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3),
                                       stride=stride, output_padding=op, dilation=dilation)
                except RuntimeError:
                    ok = False
                d = {"type": "conv_transpose2d", "weight": [[[[0.0] * 3] * 3]], "stride": stride,
                     "output_padding": op, "dilation": dilation}
                try:
                    Pipeline.from_dict({**HDR, "layers": [d]}).output_shapes((1, 4, 4))
                    ours = True
                except ValueError:
                    ours = False
                assert ours == ok, (stride, dilation, op)


@pytest.mark.parametrize("seed", range(6))
def test_erf_matches_torch_autograd(seed):
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((2, 2, 3, 4)).astype(np.float32)
    w2 = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    p = Pipeline.from_dict({**HDR, "layers": [
        {"type": "conv_transpose2d", "weight": w1.tolist(), "stride": [2, 3], "padding": [1, 2],
         "output_padding": [1, 0], "groups": 2},
        {"type": "leaky_relu", "negative_slope": 0.1},
        {"type": "upsample", "scale_factor": [2, 1], "mode": "bilinear"},
        {"type": "conv2d", "weight": w2.tolist(), "padding": 1},
        {"type": "upsample", "scale_factor": [1, 2]},
    ]})
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    c, h, w = p.output_shapes(x.shape)[-1]
    pos = (int(rng.integers(c)), int(rng.integers(h)), int(rng.integers(w)))
    erf = effective_receptive_field(p, x, len(p), *pos)
    xt = t64(x).requires_grad_(True)
    y = F.conv_transpose2d(xt[None], t64(w1), stride=(2, 3), padding=(1, 2), output_padding=(1, 0), groups=2)
    y = F.leaky_relu(y, 0.1)
    y = F.interpolate(y, scale_factor=(2, 1), mode="bilinear", align_corners=False)
    y = F.conv2d(y, t64(w2), padding=1)
    y = F.interpolate(y, scale_factor=(1, 2), mode="nearest")
    (g,) = torch.autograd.grad(y[(0,) + pos], xt)
    np.testing.assert_allclose(erf, g.numpy(), rtol=1e-5, atol=1e-6 * max(1.0, float(g.abs().max())))
