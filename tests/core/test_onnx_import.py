"""Importing ONNX models: every mapped operator and attribute against ONNX's own reference
interpreter in float64 (within a computed float32 bound), where the walk stops and why, the
options, and hostile files. The models are built with onnx.helper (tests/core/onnx_models.py)."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx_models import Net, batch_norm_reference, conv_transpose_reference, float32_bound  # noqa: E402

from convstudio.core import Pipeline  # noqa: E402
from convstudio.core.onnx_import import ModelImportError, import_onnx, import_onnx_bytes  # noqa: E402
from convstudio.core.onnx_model import MAX_MODEL_BYTES  # noqa: E402


def check(net: Net, *, x=None, seed: int = 1, opset: int = 17, **kw):
    """Import `net`, run the pipeline on a random input and compare with the reference."""
    result = import_onnx_bytes(net.bytes(opset=opset), **kw)
    c, h, w = net.in_shape
    if x is None:
        x = np.random.default_rng(seed).uniform(-1, 1, (c, h or 13, w or 10)).astype(np.float32)
    outs = result.pipeline.run(x)
    ref = net.reference(x, output=f"{result.last_node}_out", opset=opset)
    assert outs[-1].shape == ref.shape
    err = float(np.max(np.abs(outs[-1] - ref)))
    bound = float32_bound(result.pipeline, [x, *outs])
    assert err <= bound, (err, bound)
    assert bound < 1e-3  # a bound that could not tell a wrong pixel from a right one is no test
    return result


# ------------------------------------------------------------------------------------------ Conv

CONV_CASES = {
    "symmetric pads": dict(cout=5, k=(3, 3), pads=[1, 1, 1, 1]),
    "per-axis pads": dict(cout=4, k=(3, 5), pads=[1, 2, 1, 2]),
    "asymmetric pads": dict(cout=4, k=(3, 3), pads=[0, 2, 1, 1]),
    "strides and dilations": dict(cout=6, k=(3, 2), strides=[2, 3], dilations=[2, 1], pads=[2, 0, 1, 1]),
    "no bias": dict(cout=3, k=(2, 2), bias=False),
    "kernel_shape given": dict(cout=3, k=(3, 1), kernel_shape=[3, 1]),
    "groups": dict(cout=6, k=(3, 3), group=3, pads=[1, 1, 1, 1]),
    "depthwise": dict(cout=3, k=(5, 5), group=3, pads=[2, 2, 2, 2], strides=[2, 2]),
    "VALID": dict(cout=4, k=(3, 3), auto_pad="VALID"),
    "SAME_UPPER even kernel": dict(cout=4, k=(4, 2), auto_pad="SAME_UPPER"),
    "SAME_LOWER even kernel": dict(cout=4, k=(4, 2), auto_pad="SAME_LOWER"),
    "SAME_UPPER stride 2": dict(cout=4, k=(3, 4), auto_pad="SAME_UPPER", strides=[2, 2]),
    "SAME_LOWER stride 3 dilated": dict(cout=2, k=(3, 3), auto_pad="SAME_LOWER", strides=[3, 2],
                                        dilations=[2, 1]),
}


@pytest.mark.parametrize("case", list(CONV_CASES), ids=list(CONV_CASES))
def test_conv_matches_reference(case):
    spec = dict(CONV_CASES[case])
    net = Net(3, 13, 11)
    net.conv(spec.pop("cout"), spec.pop("k"), **spec)
    result = check(net)
    assert [layer.type for layer in result.pipeline.layers] == ["conv2d"]
    assert result.stopped is None


def test_asymmetric_pads_become_the_four_list():
    net = Net(3, 9, 9)
    net.conv(2, (3, 3), pads=[0, 1, 2, 3])  # ONNX order: top, left, bottom, right
    layer = import_onnx_bytes(net.bytes()).pipeline.layers[0]
    assert layer.pads == (0, 2, 1, 3)


def test_same_with_stride_needs_the_input_size():
    net = Net(3, None, None)
    net.conv(4, (3, 3), auto_pad="SAME_UPPER", strides=[2, 2])
    with pytest.raises(ModelImportError, match="SAME_UPPER with stride 2 .*leaves open"):
        import_onnx_bytes(net.bytes())


# ------------------------------------------------------------------------------------------ pooling

POOL_CASES = {
    "max": ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2])),
    "max default stride 1": ("MaxPool", dict(kernel_shape=[3, 2])),
    "max pads": ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 1])),
    "max dilated": ("MaxPool", dict(kernel_shape=[3, 3], dilations=[2, 1], strides=[1, 2])),
    "max ceil": ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    "max ceil pads": ("MaxPool", dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 1, 1, 1],
                                      ceil_mode=1)),
    "max SAME_UPPER": ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
    "avg": ("AveragePool", dict(kernel_shape=[2, 3], strides=[2, 1])),
    "avg pads excluded": ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "avg pads included": ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 1],
                                              count_include_pad=1)),
    "avg ceil": ("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)),
    "avg ceil pads included": ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2],
                                                   pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)),
    "avg SAME_LOWER": ("AveragePool", dict(kernel_shape=[2, 2], strides=[1, 1], auto_pad="SAME_LOWER")),
}


@pytest.mark.parametrize("case", list(POOL_CASES), ids=list(POOL_CASES))
def test_pooling_matches_reference(case):
    op, attrs = POOL_CASES[case]
    net = Net(2, 12, 11)
    net.conv(3, (1, 1))  # negative and positive values, so that max pooling's padding matters
    net.op(op, **attrs)
    result = check(net)
    assert result.pipeline.layers[-1].type == ("maxpool2d" if op == "MaxPool" else "avgpool2d")


def test_pool_padding_over_half_the_window_stops():
    net = Net(2, 8, 8)
    net.op("Relu")
    net.op("MaxPool", kernel_shape=[2, 2], pads=[2, 2, 2, 2], name="pool")
    result = import_onnx_bytes(net.bytes())
    assert len(result.pipeline) == 1
    assert (result.stopped.node, result.stopped.op) == ("pool", "MaxPool")
    assert "more than half the window" in result.stopped.reason


# ------------------------------------------------------------------------------------------ others


@pytest.mark.parametrize("op, attrs, kind", [
    ("Relu", {}, "relu"), ("LeakyRelu", {}, "leaky_relu"), ("LeakyRelu", {"alpha": 0.3}, "leaky_relu"),
    ("Sigmoid", {}, "sigmoid"), ("Tanh", {}, "tanh"), ("Abs", {}, "abs"),
])
def test_activations(op, attrs, kind):
    net = Net(3, 6, 7)
    net.conv(4, (3, 3), pads=[1, 1, 1, 1])
    net.op(op, **attrs)
    result = check(net)
    assert result.pipeline.layers[-1].type == kind
    if kind == "leaky_relu":
        assert result.pipeline.layers[-1].negative_slope == pytest.approx(attrs.get("alpha", 0.01))


@pytest.mark.parametrize("op", ["Elu", "PRelu", "HardSigmoid"])
def test_an_activation_convstudio_lacks_stops_naming_those_it_has(op):
    net = Net(3, 6, 7)
    net.conv(2, (3, 3))
    extra = [net.const("slope", np.full((2, 1, 1), 0.2, np.float32))] if op == "PRelu" else []
    net.op(op, *extra, name="act")
    result = import_onnx_bytes(net.bytes())
    assert str(result.stopped).startswith(f"node 'act' ({op}): ConvStudio has no {op} activation")
    assert "relu" in result.stopped.reason and "tanh" in result.stopped.reason


PAD_CASES = {
    "zeros": ("constant", [0, 0, 1, 2, 0, 0, 3, 0], None),
    "constant value": ("constant", [0, 0, 2, 1, 0, 0, 0, 1], 0.75),
    "reflect": ("reflect", [0, 0, 2, 1, 0, 0, 1, 3], None),
    "edge": ("edge", [0, 0, 3, 0, 0, 0, 1, 2], None),
    "wrap": ("wrap", [0, 0, 1, 2, 0, 0, 2, 1], None),
}


@pytest.mark.parametrize("case", list(PAD_CASES), ids=list(PAD_CASES))
def test_pad_matches_reference(case):
    mode, pads, value = PAD_CASES[case]
    net = Net(2, 7, 6)
    ins = [net.const("pads", np.array(pads, np.int64))]
    if value is not None:
        ins.append(net.const("value", np.array(value, np.float32)))
    net.op("Pad", *ins, mode=mode)
    net.conv(3, (3, 3))
    result = check(net, x=None)
    pad = result.pipeline.layers[0]
    assert pad.type == "pad" and pad.pads == (pads[2], pads[6], pads[3], pads[7])


def test_pad_of_opset_10_takes_its_pads_from_attributes():
    net = Net(2, 7, 6)
    net.op("Pad", mode="constant", pads=[0, 0, 1, 0, 0, 0, 2, 1], value=-0.5)
    net.conv(3, (2, 2))
    result = check(net, opset=10)
    assert result.pipeline.layers[0].mode == "constant" and result.pipeline.layers[0].value == -0.5


def test_pad_with_axes_input():
    net = Net(2, 7, 6)
    net.op("Pad", net.const("pads", np.array([1, 2, 0, 3], np.int64)), "",
           net.const("axes", np.array([2, -1], np.int64)), mode="reflect")
    net.conv(2, (3, 3))
    result = check(net, opset=18)
    assert result.pipeline.layers[0].pads == (1, 0, 2, 3)


def test_pad_of_the_channel_axis_stops():
    net = Net(2, 7, 6)
    net.op("Pad", net.const("pads", np.array([0, 1, 0, 0, 0, 0, 0, 0], np.int64)), name="padc")
    with pytest.raises(ModelImportError, match="nothing to import.*padc.*channel axis"):
        import_onnx_bytes(net.bytes())


def test_batch_norm_folds_into_the_conv_exactly():
    net = Net(3, 10, 9)
    net.conv(5, (3, 3), pads=[1, 1, 1, 1], name="c")
    net.batch_norm(name="bn", epsilon=1e-3)
    net.op("Relu")
    result = check(net)
    assert [layer.type for layer in result.pipeline.layers] == ["conv2d", "relu"]
    i = net.inits
    s = i["bn.scale"].astype(np.float64) / np.sqrt(i["bn.var"].astype(np.float64) + 1e-3)
    w = (i["c.w"].astype(np.float64) * s[:, None, None, None]).astype(np.float32)
    b = ((i["c.b"].astype(np.float64) - i["bn.mean"]) * s + i["bn.B"]).astype(np.float32)
    conv = result.pipeline.layers[0]
    np.testing.assert_array_equal(conv.weight, w)  # the float64 fold, rounded once
    np.testing.assert_array_equal(conv.bias, b)


def test_batch_norm_without_a_conv_before_is_a_per_channel_conv():
    net = Net(3, 8, 8)
    net.conv(4, (3, 3), bias=False)
    net.op("Relu")
    net.batch_norm()
    net.op("Dropout")
    net.op("Identity")
    net.conv(2, (1, 1))
    net.batch_norm()  # folds into the conv without a bias of its own
    result = check(net)
    assert [layer.type for layer in result.pipeline.layers] == ["conv2d", "relu", "conv2d", "conv2d"]
    assert result.pipeline.layers[2].groups == 4
    assert any("skipped Dropout" in n or "skipped Identity" in n for n in result.notes)


# (k, strides, attributes, (begin, end) per axis as the ONNX definition gives them, output_padding)
CONV_T_CASES = {
    "stride 2": ((3, 3), (2, 2), {}, ((0, 0), (0, 0)), (0, 0)),
    "pads and output_padding": ((4, 3), (2, 3), dict(pads=[1, 1, 1, 1], output_padding=[1, 2]),
                                ((1, 1), (1, 1)), (1, 2)),
    "asymmetric pads": ((3, 3), (2, 2), dict(pads=[1, 0, 0, 0]), ((1, 0), (0, 0)), (0, 0)),
    "groups and dilation": ((3, 3), (1, 1), dict(group=2, dilations=[2, 1]), ((0, 0), (0, 0)), (0, 0)),
    # total padding = output_padding + d (k - 1) + 1 - s: SAME_UPPER puts the odd one at the end
    "SAME_UPPER": ((4, 4), (2, 2), dict(auto_pad="SAME_UPPER"), ((1, 1), (1, 1)), (0, 0)),
    "SAME_LOWER": ((3, 3), (2, 2), dict(auto_pad="SAME_LOWER"), ((1, 0), (1, 0)), (0, 0)),
    # total = s (n - 1) + output_padding + d (k - 1) + 1 - output_shape: (12 + 3 - 14, 10 + 3 - 12)
    "output_shape": ((3, 3), (2, 2), dict(output_shape=[14, 12]), ((1, 0), (1, 0)), (0, 0)),
}


@pytest.mark.parametrize("case", list(CONV_T_CASES), ids=list(CONV_T_CASES))
def test_conv_transpose_matches_its_definition(case):
    k, strides, attrs, pads, op = CONV_T_CASES[case]
    net = Net(4, 7, 6)
    group = attrs.get("group", 1)
    net.conv_transpose(4, k, strides=list(strides), name="up", **attrs)
    net.batch_norm(name="bn")  # folded into the transposed convolution
    result = import_onnx_bytes(net.bytes())
    assert [layer.type for layer in result.pipeline.layers] == ["conv_transpose2d"], result.stopped
    x = np.random.default_rng(5).uniform(-1, 1, (4, 7, 6)).astype(np.float32)
    outs = result.pipeline.run(x)
    (bh, eh), (bw, ew) = pads
    ref = conv_transpose_reference(x, net.inits["up.w"], net.inits["up.b"], strides=strides,
                                   dilations=attrs.get("dilations", (1, 1)), group=group,
                                   begin=(bh, bw), end=(eh, ew), output_padding=op)
    ref = batch_norm_reference(ref, net, "bn")
    assert outs[-1].shape == ref.shape
    assert np.max(np.abs(outs[-1] - ref)) <= float32_bound(result.pipeline, [x, *outs])


def test_conv_transpose_cropping_only_the_end_stops():
    net = Net(2, 7, 6)
    net.op("Relu")
    net.conv_transpose(2, (3, 3), strides=[2, 2], auto_pad="SAME_UPPER", name="up")
    result = import_onnx_bytes(net.bytes())
    assert (result.stopped.node, result.stopped.op) == ("up", "ConvTranspose")
    assert "has no conv_transpose2d equivalent" in result.stopped.reason


# ------------------------------------------------------------------------------------------ walk


def resnet_stem() -> Net:
    net = Net(3, 32, 32)
    net.conv(8, (7, 7), strides=[2, 2], pads=[3, 3, 3, 3], bias=False, name="conv1")
    net.batch_norm(name="bn1")
    net.op("Relu", name="relu")
    net.op("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], name="maxpool")
    skip = net.cur
    net.conv(8, (3, 3), pads=[1, 1, 1, 1], name="layer1.0.conv1")
    net.op("Relu", name="layer1.0.relu")
    net.nodes.append(helper.make_node("Add", [net.cur, skip], ["sum"], name="layer1.0.add"))
    net.cur = "sum"
    return net


def test_a_branch_stops_where_the_path_forks():
    result = check(resnet_stem())
    assert [layer.type for layer in result.pipeline.layers] == ["conv2d", "relu", "maxpool2d"]
    assert result.last_node == "maxpool"
    assert result.stopped.node == "layer1.0.conv1"
    assert "also feeds 1 other node(s): the path branches" in result.stopped.reason


def test_a_join_of_two_paths_stops():
    net = Net(3, 8, 8)
    net.conv(3, (1, 1), name="a")
    net.nodes.append(helper.make_node("Add", [net.cur, "other"], ["s"], name="add"))
    model = net.model()
    model.graph.input.append(helper.make_tensor_value_info("other", TensorProto.FLOAT, [1, 3, 8, 8]))
    result = import_onnx_bytes(model.SerializeToString(), input_name="x")
    assert (result.stopped.node, result.stopped.op) == ("add", "Add")
    assert "joins the path with another tensor, 'other'" in result.stopped.reason


def test_flatten_and_gemm_end_the_trunk():
    net = Net(3, 8, 8)
    net.conv(4, (3, 3), name="features")
    net.op("Flatten", name="flatten")
    net.op("Gemm", net.const("fc.w", np.ones((4, 144), np.float32)), transB=1)
    result = import_onnx_bytes(net.bytes())
    assert str(result.stopped) == ("node 'flatten' (Flatten): the convolutional trunk ends here "
                                   "(ConvStudio has no Flatten layer)")


def test_until_stops_after_the_node_inclusive():
    net = resnet_stem()
    result = check(net, until="relu")
    assert [layer.type for layer in result.pipeline.layers] == ["conv2d", "relu"]
    assert result.stopped is None and result.last_node == "relu"
    assert import_onnx_bytes(net.bytes(), until="relu_out").last_node == "relu"  # by output name
    with pytest.raises(ModelImportError, match="no node named 'nope'"):
        import_onnx_bytes(net.bytes(), until="nope")
    with pytest.raises(ModelImportError, match="does not reach node 'layer1.0.add'.*branches"):
        import_onnx_bytes(net.bytes(), until="layer1.0.add")


def test_input_picks_the_start():
    net = Net(3, 8, 8)
    net.conv(4, (3, 3), name="c1")
    net.op("Relu")
    model = net.model()
    model.graph.input.append(helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 8]))
    data = model.SerializeToString()
    assert import_onnx_bytes(data).input_name == "x"  # the one 4-D input
    model.graph.input[1].type.tensor_type.shape.dim.add().dim_value = 8  # now 4-D
    two = model.SerializeToString()
    with pytest.raises(ModelImportError, match=r"2 inputs \(x, mask\): choose one with --input"):
        import_onnx_bytes(two)
    assert import_onnx_bytes(two, input_name="x").input_name == "x"
    started = import_onnx_bytes(two, input_name="c1_out")  # an inner tensor
    assert [layer.type for layer in started.pipeline.layers] == ["relu"]
    with pytest.raises(ModelImportError, match="no tensor named 'y'"):
        import_onnx_bytes(two, input_name="y")
    with pytest.raises(ModelImportError, match="a weight of the model"):
        import_onnx_bytes(two, input_name="c1.w")


def test_normalization_from_metadata_and_options():
    net = Net(3, 6, 6)
    net.conv(2, (3, 3), name="c")
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    data = net.bytes(metadata={"mean": "0.485, 0.456, 0.406", "std": "[0.229, 0.224, 0.225]"})
    result = import_onnx_bytes(data)
    assert result.pipeline.layers[0].name == "input normalisation"
    x = np.random.default_rng(3).random((3, 6, 6)).astype(np.float32)
    outs = result.pipeline.run(x)
    ref = net.reference((x - mean[:, None, None]) / std[:, None, None])
    assert np.max(np.abs(outs[-1] - ref)) <= float32_bound(result.pipeline, [x, *outs]) + 1e-6
    assert any("metadata" in n for n in result.notes)
    given = import_onnx_bytes(data, mean=[0.5], std=[0.25])  # options win; one value, any channels
    np.testing.assert_allclose(given.pipeline.run(x)[0], (x - 0.5) / 0.25, rtol=1e-6, atol=1e-6)
    assert len(import_onnx_bytes(net.bytes()).pipeline) == 1  # no metadata: no normalisation
    with pytest.raises(ModelImportError, match="2 values but input 'x' has 3 channels"):
        import_onnx_bytes(data, mean=[0.5, 0.5], std=[1, 1])
    with pytest.raises(ModelImportError, match="std must not be 0"):
        import_onnx_bytes(data, mean=[0.5], std=[0])


# ------------------------------------------------------------------------------------------ hostile


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n" + bytes(64), b"\x0a\xff\xff\xff\xff\x0f"])
def test_malformed_bytes_are_refused_in_one_line(data):
    with pytest.raises(ModelImportError, match="not an ONNX model") as info:
        import_onnx_bytes(data)
    assert "\n" not in str(info.value)


def test_huge_declared_tensors_are_refused_before_reading():
    net = Net(3, 8, 8)
    net.conv(4, (3, 3), name="c")
    model = net.model()
    w = next(t for t in model.graph.initializer if t.name == "c.w")
    del w.dims[:]
    w.dims.extend([1 << 20, 1 << 20, 3, 3])  # 9 Ti numbers declared, a few bytes stored
    with pytest.raises(ModelImportError, match=r"weight 'c.w' declares shape .* over the limit"):
        import_onnx_bytes(model.SerializeToString())
    del w.dims[:]
    w.dims.extend([4, 3, 3, 4])  # the stored bytes do not fill the shape
    with pytest.raises(ModelImportError, match="holds 432 bytes where shape"):
        import_onnx_bytes(model.SerializeToString())


def test_a_weight_computed_by_a_node_is_an_error():
    net = Net(3, 8, 8)
    w = net.const("w0", net.weights((4, 3, 3, 3)))
    net.nodes.append(helper.make_node("Neg", [w], ["w"], name="neg"))
    net.nodes.append(helper.make_node("Conv", ["x", "w"], ["y"], name="conv"))
    net.cur = "y"
    with pytest.raises(ModelImportError, match=r"node 'conv' \(Conv\): weight 'w' is computed by node "
                                               r"'neg' \(Neg\); only constant weights"):
        import_onnx_bytes(net.bytes())


def test_constant_nodes_and_identity_count_as_constants():
    net = Net(3, 8, 8)
    w = net.weights((4, 3, 3, 3))
    net.nodes.append(helper.make_node("Constant", [], ["w0"], value=numpy_helper.from_array(w, "w0")))
    net.nodes.append(helper.make_node("Identity", ["w0"], ["w"]))
    net.nodes.append(helper.make_node("Conv", ["x", "w"], ["y"], name="conv"))
    net.cur = "y"
    layer = import_onnx_bytes(net.bytes()).pipeline.layers[0]
    np.testing.assert_array_equal(layer.weight, w)


def _external_model(tmp_path, location: str) -> Net:
    net = Net(3, 8, 8)
    net.conv(4, (3, 3), name="c", bias=False)
    model = net.model()
    t = model.graph.initializer[0]
    (tmp_path / "weights.bin").write_bytes(b"\0" * 16 + t.raw_data)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "16"), ("length", str(4 * 3 * 3 * 3 * 4))):
        t.external_data.add(key=k, value=v)
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    return net


def test_external_data_inside_the_model_folder_is_read(tmp_path):
    net = _external_model(tmp_path, "weights.bin")
    result = import_onnx(tmp_path / "m.onnx")
    np.testing.assert_array_equal(result.pipeline.layers[0].weight, net.inits["c.w"])


@pytest.mark.parametrize("location", ["../weights.bin", "/etc/passwd", "sub/../../weights.bin"])
def test_external_data_outside_the_model_folder_is_refused(tmp_path, location):
    (tmp_path / "sub").mkdir()
    _external_model(tmp_path / "sub", location)
    with pytest.raises(ModelImportError, match="not a file inside the model's folder"):
        import_onnx(tmp_path / "sub" / "m.onnx")


def test_model_file_limits(tmp_path, monkeypatch):
    with pytest.raises(ModelImportError, match="cannot read"):
        import_onnx(tmp_path / "missing.onnx")
    with pytest.raises(ModelImportError, match="folder"):
        import_onnx(tmp_path)
    assert MAX_MODEL_BYTES >= 600 * 2**20  # a VGG-16 with its classifier fits


def test_missing_onnx_package_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now fails
    with pytest.raises(ModelImportError, match=r'pip install "convstudio\[onnx\]"'):
        import_onnx_bytes(b"whatever")


def test_an_imported_pipeline_round_trips_through_its_file():
    result = check(resnet_stem())
    again = Pipeline.from_json(result.pipeline.to_json())
    assert again == result.pipeline


# ------------------------------------------------------------------------------------------ PyTorch


def _torch_export(module, shape):
    """A torch.nn module with random weights as ONNX bytes (the legacy exporter, which needs no
    extra package), and its float64 output on a random input."""
    torch = pytest.importorskip("torch")
    import inspect
    import io
    import warnings

    torch.manual_seed(0)
    module.eval()
    with torch.no_grad():
        for m in module.modules():  # batch norms with statistics of their own, not 0 and 1
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    x = torch.rand(1, *shape)
    buf = io.BytesIO()
    kw = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with warnings.catch_warnings():
        # PyTorch 2.9+ warns that the TorchScript exporter is legacy; the new one needs onnxscript,
        # and the graph a user's model gives is what matters here, not the exporter's future.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, (x,), buf, input_names=["x"], output_names=["y"], opset_version=17, **kw)
    with torch.no_grad():
        ref = module.double()(x.double())[0].numpy()
    return buf.getvalue(), x[0].numpy(), ref


def test_a_vgg_like_torch_model():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    trunk = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2, ceil_mode=True), nn.Conv2d(16, 16, 3, padding=1, bias=False),
                          nn.BatchNorm2d(16), nn.LeakyReLU(0.1), nn.AvgPool2d(3, 2, padding=1))
    data, x, ref = _torch_export(nn.Sequential(trunk, nn.Flatten(), nn.Linear(16 * 3 * 3, 4)), (3, 22, 20))
    result = import_onnx_bytes(data)
    assert [layer.type for layer in result.pipeline.layers] == [
        "conv2d", "relu", "conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d", "conv2d",
        "leaky_relu", "avgpool2d"]
    assert result.stopped.op == "Flatten"
    outs = result.pipeline.run(x)
    torch_trunk = trunk.double()(torch.from_numpy(x).double()[None])[0].detach().numpy()
    assert np.max(np.abs(outs[-1] - torch_trunk)) <= float32_bound(result.pipeline, [x, *outs])
    assert ref.shape == (4,)


def test_a_resnet_stem_torch_model_stops_at_the_first_block():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x):
            return torch.relu(x + self.conv(x))

    stem = nn.Sequential(nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(8),
                         nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1))
    data, x, _ = _torch_export(nn.Sequential(stem, Block()), (3, 33, 30))
    result = import_onnx_bytes(data)
    assert [layer.type for layer in result.pipeline.layers] == ["conv2d", "relu", "maxpool2d"]
    assert "the path branches" in result.stopped.reason
    outs = result.pipeline.run(x)
    ref = stem.double()(torch.from_numpy(x).double()[None])[0].detach().numpy()
    assert np.max(np.abs(outs[-1] - ref)) <= float32_bound(result.pipeline, [x, *outs])


@pytest.mark.perf
def test_a_vgg16_sized_trunk_imports_writes_and_loads_in_seconds():
    """14.7 M weights (VGG-16's 13 convolutions at full width) on a small input: the import, the
    compact file (75 MiB, within the 128 MiB a pipeline file may have) and reading it back each
    take seconds (docs/pipeline-format.md, "Compact arrays")."""
    import time

    import convstudio.core.pipeline as pipeline_module
    from convstudio.core.arraycodec import compact_pipeline_json

    assert pipeline_module.MAX_FILE_BYTES >= 128 * 2**20

    net = Net(3, 32, 32)
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if v == "M":
            net.op("MaxPool", kernel_shape=[2, 2], strides=[2, 2])
        else:
            net.conv(v, (3, 3), pads=[1, 1, 1, 1])
            net.op("Relu")
    data = net.bytes()
    t0 = time.perf_counter()
    result = import_onnx_bytes(data)
    t1 = time.perf_counter()
    text = compact_pipeline_json(result.pipeline)
    t2 = time.perf_counter()
    again = Pipeline.from_json(text.encode())
    t3 = time.perf_counter()
    assert sum(layer.weight.size for layer in again.layers if layer.type == "conv2d") == 14_710_464
    assert again == result.pipeline
    print(f"import {t1 - t0:.2f} s, compact JSON {t2 - t1:.2f} s ({len(text) / 2**20:.0f} MiB), "
          f"read {t3 - t2:.2f} s")
    assert max(t1 - t0, t2 - t1, t3 - t2) < 10.0
