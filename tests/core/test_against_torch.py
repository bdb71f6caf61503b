"""The core against PyTorch, where torch happens to be installed (it is not a dependency, and CI
does not have it: every rule checked here also has a torch-free test elsewhere).

* Pipeline.run on random pipelines, layer by layer (each torch layer gets the core's input of that
  layer, so a difference is pinned to one layer): conv2d in both forms with groups, multipliers,
  stride, dilation, every padding form and mode ("same" through an explicit F.pad with the extra
  row on top/left, as docs/semantics.md splits it), pooling with padding, ceil_mode and
  count_include_pad (asymmetric padding through an explicit pad and the drop rule of docs/semantics.md),
  pad and stride layers, activations, disabled layers.
* The effective receptive field against torch.autograd on the same values, ties and zeros included.
* Which padded max-pooling layers are accepted, and the pad layer's `value` without a `mode`.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from convstudio.core import Pipeline, PipelineError
from convstudio.core.explain import effective_receptive_field

torch = pytest.importorskip("torch")
F = torch.nn.functional

HDR = {"format": "convstudio-pipeline", "version": 1}
MODES = ["zeros", "reflect", "replicate", "circular"]


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def resolve(padding, k, d):
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":  # docs/semantics.md: ceil(total / 2) on top / left
        th, tw = d[0] * (k[0] - 1), d[1] * (k[1] - 1)
        return (th - th // 2, th // 2, tw - tw // 2, tw // 2)
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    return tuple(padding)


def f32(v):
    return torch.tensor(np.asarray(v, dtype=np.float32).astype(np.float64))


def torch_layer(ld: dict, x):
    """One layer in torch (float64) on a (C, H, W) tensor."""
    if ld.get("enabled", True) is False:
        return x
    t = ld["type"]
    xb = x[None]
    if t == "conv2d":
        c = x.shape[0]
        if "weight" in ld:
            w, groups = f32(ld["weight"]), ld.get("groups", 1)
            bias = None if ld.get("bias") is None else f32(ld["bias"])
        else:
            w, groups = f32(ld["kernel"])[None, None].repeat(c, 1, 1, 1), c
            b = ld.get("bias")
            bias = None if b is None else (f32([b] * c) if isinstance(b, (int, float)) else f32(b))
        if ld.get("flip", False):
            w = torch.flip(w, [-2, -1])
        if ld.get("scale", 1) != 1:
            w = (w.float() * np.float32(ld["scale"])).double()
        d = pair(ld.get("dilation", 1))
        top, bottom, left, right = resolve(ld.get("padding", 0), tuple(w.shape[-2:]), d)
        mode = ld.get("padding_mode", "zeros")
        xp = F.pad(xb, (left, right, top, bottom), mode="constant" if mode == "zeros" else mode)
        return F.conv2d(xp, w, bias, stride=pair(ld.get("stride", 1)), dilation=d, groups=groups)[0]
    if t in ("maxpool2d", "avgpool2d"):
        k = pair(ld["kernel_size"])
        s = pair(ld.get("stride") or ld["kernel_size"])
        d = pair(ld.get("dilation", 1))
        top, bottom, left, right = resolve(ld.get("padding", 0), k, d)
        ceil = ld.get("ceil_mode", False)
        cip = ld.get("count_include_pad", True)
        if top == bottom and left == right:
            if t == "maxpool2d":
                return F.max_pool2d(xb, k, s, (top, left), d, ceil_mode=ceil)[0]
            return F.avg_pool2d(xb, k, s, (top, left), ceil_mode=ceil, count_include_pad=cip)[0]
        # asymmetric: pad explicitly, pool without padding, keep the output size of docs/semantics.md
        h, w = x.shape[1:]

        def n_out(n, kk, ss, pb, pa, dd):
            span = n + pb + pa - dd * (kk - 1) - 1
            o = (-(-span // ss) if ceil else span // ss) + 1
            return o - 1 if ceil and (o - 1) * ss >= n + pb else o

        ho, wo = n_out(h, k[0], s[0], top, bottom, d[0]), n_out(w, k[1], s[1], left, right, d[1])
        pads = (left, right, top, bottom)
        if t == "maxpool2d":
            y = F.max_pool2d(F.pad(xb, pads, value=-math.inf), k, s, 0, d, ceil_mode=ceil)[0]
        else:
            y = F.avg_pool2d(F.pad(xb, pads), k, s, 0, ceil_mode=ceil)[0]
            if not cip:
                ones = F.pad(torch.ones_like(xb[:, :1]), pads)
                y = y / F.avg_pool2d(ones, k, s, 0, ceil_mode=ceil)[0]
        return y[:, :ho, :wo]
    if t == "pad":
        top, bottom, left, right = resolve(ld["padding"], (1, 1), (1, 1))
        mode = ld.get("mode", "zeros")
        if mode in ("zeros", "constant"):
            value = ld.get("value", 0.0) if mode == "constant" else 0.0
            return F.pad(xb, (left, right, top, bottom), value=value)[0]
        return F.pad(xb, (left, right, top, bottom), mode=mode)[0]
    if t == "stride":
        s, o = pair(ld.get("stride", 2)), pair(ld.get("offset", 0))
        return x[:, o[0]::s[0], o[1]::s[1]]
    return {"relu": F.relu, "abs": torch.abs, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "leaky_relu": lambda v: F.leaky_relu(v, ld.get("negative_slope", 0.01))}[t](x)


def values(rng: random.Random, nrng, shape):
    """Small integers half of the time: ties in max pooling and exact zeros at the kinks."""
    if rng.random() < 0.4:
        return nrng.integers(-2, 3, size=shape).astype(np.float32)
    return nrng.standard_normal(shape).astype(np.float32)


def random_layer(rng: random.Random, nrng, c: int, h: int, w: int) -> dict:
    side = max(1, min(h, w))
    kind = rng.choice(["conv_w", "conv_k", "conv_w", "conv_k", "maxpool2d", "maxpool2d",
                       "avgpool2d", "avgpool2d", "pad", "stride", "relu", "leaky_relu", "abs",
                       "sigmoid", "tanh"])
    if kind.startswith("conv"):
        kh, kw = rng.randint(1, min(5, side)), rng.randint(1, min(5, side))
        ld: dict = {"type": "conv2d"}
        if kind == "conv_w":
            g = rng.choice([d for d in range(1, c + 1) if c % d == 0])
            cout = g * rng.randint(1, 3)
            ld.update(weight=values(rng, nrng, (cout, c // g, kh, kw)).tolist(), groups=g)
            if rng.random() < 0.5:
                ld["bias"] = values(rng, nrng, (cout,)).tolist()
        else:
            ld["kernel"] = values(rng, nrng, (kh, kw)).tolist()
            r = rng.random()
            if r < 0.3:
                ld["bias"] = float(np.float32(rng.uniform(-1, 1)))
            elif r < 0.6:
                ld["bias"] = values(rng, nrng, (c,)).tolist()
        if rng.random() < 0.3:
            ld["scale"] = rng.choice([0.0625, 1 / 9, -2.0])
        ld["flip"] = rng.random() < 0.3
        ld["stride"] = [rng.randint(1, 3), rng.randint(1, 3)]
        ld["dilation"] = [rng.randint(1, 2), rng.randint(1, 3)]
        ld["padding"] = rng.choice(["same", "valid", rng.randint(0, 3),
                                    [rng.randint(0, 3), rng.randint(0, 3)],
                                    [rng.randint(0, 3) for _ in range(4)]])
        ld["padding_mode"] = rng.choice(MODES)
        return ld
    if kind.endswith("pool2d"):
        k = [rng.randint(1, min(4, side)), rng.randint(1, min(4, side))]
        ld = {"type": kind, "kernel_size": k, "ceil_mode": rng.random() < 0.5}
        if rng.random() < 0.6:
            ld["stride"] = [rng.randint(1, 3), rng.randint(1, 3)]
        if kind == "maxpool2d" and rng.random() < 0.3:
            ld["dilation"] = [rng.randint(1, 2), rng.randint(1, 2)]
        else:
            ld["count_include_pad"] = rng.random() < 0.5
            if kind == "maxpool2d":
                del ld["count_include_pad"]
        hh, hw = k[0] // 2, k[1] // 2
        ld["padding"] = rng.choice([[rng.randint(0, hh), rng.randint(0, hw)],
                                    [rng.randint(0, hh), rng.randint(0, hh), rng.randint(0, hw),
                                     rng.randint(0, hw)], 0])
        return ld
    if kind == "pad":
        mode = rng.choice(MODES + ["constant"])
        ld = {"type": "pad", "mode": mode,
              "padding": [rng.randint(0, min(2, h - 1)), rng.randint(0, min(2, h - 1)),
                          rng.randint(0, min(2, w - 1)), rng.randint(0, min(2, w - 1))]}
        if mode == "constant":
            ld["value"] = rng.choice([0.5, -1.25])
        return ld
    if kind == "stride":
        s = [rng.randint(1, 3), rng.randint(1, 3)]
        return {"type": "stride", "stride": s, "offset": [rng.randrange(s[0]), rng.randrange(s[1])]}
    ld = {"type": kind, "enabled": rng.random() > 0.1}
    if kind == "leaky_relu":
        ld["negative_slope"] = rng.choice([0.01, 0.2, -0.5])
    return ld


def random_case(seed: int):
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    c, h, w = rng.choice([1, 2, 3]), rng.randint(2, 12), rng.randint(2, 12)
    x = values(rng, nrng, (c, h, w))
    layers: list[dict] = []
    shape = (c, h, w)
    for _ in range(rng.randint(1, 4)):
        ld = random_layer(rng, nrng, *shape)
        try:
            shape = Pipeline.from_dict({**HDR, "layers": layers + [ld]}).output_shapes(x.shape)[-1]
        except PipelineError:
            break
        layers.append(ld)
    return x, layers


@pytest.mark.parametrize("block", range(4))
def test_run_matches_torch_layer_by_layer(block):
    checked = 0
    for seed in range(block * 60, block * 60 + 60):
        x, layers = random_case(seed)
        if not layers:
            continue
        outs = Pipeline.from_dict({**HDR, "layers": layers}).run(x[0] if x.shape[0] == 1 else x)
        prev = x
        for i, (ld, out) in enumerate(zip(layers, outs)):
            try:
                ref = torch_layer(ld, torch.tensor(prev.astype(np.float64))).numpy()
            except RuntimeError:  # torch refuses reflect padding >= the side: numpy mirrors on
                prev = out
                continue
            assert out.dtype == np.float32
            assert out.shape == ref.shape, (seed, i, ld)
            bound = float(np.abs(prev).max()) + 1.0
            if ld["type"] == "conv2d":
                w = np.abs(np.asarray(ld.get("weight", ld.get("kernel")), np.float64))
                bound *= w.sum() * abs(ld.get("scale", 1)) + 1.0
            np.testing.assert_allclose(out, ref, rtol=0, atol=2e-6 * bound, err_msg=str((seed, i, ld)))
            checked += 1
            prev = out
    assert checked > 60


@pytest.mark.parametrize("block", range(3))
def test_erf_matches_torch_autograd(block):
    """Each layer's vector-Jacobian product is taken by torch on the core's own input of that
    layer, so ties in max pooling and zeros at ReLU / abs are exactly the same values."""
    checked = 0
    for seed in range(1000 + block * 50, 1000 + block * 50 + 50):
        x, layers = random_case(seed)
        if not layers:
            continue
        p = Pipeline.from_dict({**HDR, "layers": layers})
        outs = p.run(x)
        rng = random.Random(seed)
        layer = rng.randint(1, len(layers))
        c, h, w = outs[layer - 1].shape
        pos = (rng.randrange(c), rng.randrange(h), rng.randrange(w))
        erf = effective_receptive_field(p, x, layer, *pos)
        acts = [x] + outs
        g = torch.zeros(outs[layer - 1].shape, dtype=torch.float64)
        g[pos] = 1.0
        try:
            for k in range(layer, 0, -1):
                xin = torch.tensor(acts[k - 1].astype(np.float64), requires_grad=True)
                y = torch_layer(layers[k - 1], xin)
                (gx,) = torch.autograd.grad(y, xin, g, allow_unused=True)
                g = torch.zeros_like(xin) if gx is None else gx
        except RuntimeError:  # reflect padding torch refuses
            continue
        ref = g.numpy()
        assert erf.shape == ref.shape and erf.dtype == np.float32
        np.testing.assert_allclose(erf, ref, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(ref).max()),
                                   err_msg=str((seed, layers)))
        checked += 1
    assert checked > 30


def test_maxpool_padding_accepted_exactly_where_torch_accepts_it():
    x = torch.zeros(1, 1, 16, 16)
    for k in range(1, 5):
        for d in range(1, 4):
            for p in range(0, 5):
                try:
                    F.max_pool2d(x, k, 1, p, d)
                    torch_ok = True
                except RuntimeError:
                    torch_ok = False
                try:
                    Pipeline.from_dict({**HDR, "layers": [
                        {"type": "maxpool2d", "kernel_size": k, "stride": 1, "padding": p,
                         "dilation": d}]}).output_shapes((1, 16, 16))
                    core_ok = True
                except PipelineError:
                    core_ok = False
                assert core_ok == torch_ok, (k, d, p)


def test_pad_value_without_mode_is_torch_default_constant_pad():
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    p = Pipeline.from_dict({**HDR, "layers": [{"type": "pad", "padding": [1, 2, 0, 3],
                                               "value": 0.5}]})
    ref = F.pad(torch.tensor(x), (0, 3, 1, 2), value=0.5).numpy()
    np.testing.assert_array_equal(p.run(x)[0], ref)
