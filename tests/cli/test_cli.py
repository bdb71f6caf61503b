"""The command line, run in-process through cli.main (and once as a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from convstudio import cli
from convstudio.core import Pipeline, load_image, save_image
from convstudio.core.tiling import plan_tiles

REPO = Path(__file__).resolve().parents[2]

EVERY_TYPE_EXAMPLE = {
    "format": "convstudio-pipeline",
    "version": 1,
    "name": "every layer type",
    "layers": [
        {"type": "conv2d", "weight": [[[[0, 1], [2, 3]]]], "bias": [0.5], "stride": 1,
         "padding": "same", "padding_mode": "zeros", "dilation": 1, "groups": 1, "flip": False},
        {"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "scale": 0.0625},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "avgpool2d", "kernel_size": [3, 3], "stride": 2, "padding": 1,
         "ceil_mode": False, "count_include_pad": True},
        {"type": "pad", "padding": [1, 0, 2, 2], "mode": "constant", "value": 0.5},
        {"type": "stride", "stride": [2, 2], "offset": [0, 0]},
        {"type": "relu"}, {"type": "leaky_relu", "negative_slope": 0.01},
        {"type": "abs"}, {"type": "sigmoid"}, {"type": "tanh"},
    ],
}

RGB_EDGES = {
    "format": "convstudio-pipeline",
    "version": 1,
    "layers": [
        {"type": "conv2d", "kernel": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], "padding": 1},
        {"type": "conv2d", "weight": np.full((8, 3, 1, 1), 0.25).tolist(), "bias": list(range(8))},
    ],
}


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def run_cli(*args) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture
def rgb_image(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    x = rng.random((3, 21, 34), dtype=np.float32)
    path = tmp_path / "in.png"
    save_image(path, x)
    return path


@pytest.fixture
def every_type_pipeline(tmp_path) -> Path:
    return write_json(tmp_path / "every_type.json", EVERY_TYPE_EXAMPLE)


# ------------------------------------------------------------------------------------------ info


def test_info_json_matches_documented_layout(every_type_pipeline, capsys):
    assert run_cli("info", every_type_pipeline, "--input-shape", "1,40,50", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"input_shape", "layers", "params", "fc_params", "peak_bytes", "tile", "tile_halo",
                        "tiled_peak_bytes"}
    assert out["input_shape"] == [1, 40, 50]
    assert [layer["index"] for layer in out["layers"]] == list(range(1, 12))
    for layer in out["layers"]:
        assert set(layer) == {"index", "type", "output_shape", "receptive_field", "jump", "start",
                              "params"}
    # hand-computed: 'same' 2x2 keeps 40x50; 3x3 valid -> 38x48; maxpool 2 -> 19x24;
    # avgpool 3 s2 p1 -> floor((19+2-3)/2)+1 = 10, floor((24+2-3)/2)+1 = 12; pad [1,0,2,2] -> 11x16;
    # stride 2 -> 6x8
    shapes = [layer["output_shape"] for layer in out["layers"]]
    assert shapes[:6] == [[1, 40, 50], [1, 38, 48], [1, 19, 24], [1, 10, 12], [1, 11, 16], [1, 6, 8]]
    assert shapes[6:] == [[1, 6, 8]] * 5
    assert out["layers"][0]["params"] == 5  # 4 weights + 1 bias
    assert out["layers"][1]["params"] == 9  # the shared kernel counts once
    assert out["params"] == 14
    assert out["fc_params"] == 40 * 50 * 48 + 48
    # receptive field after conv 2x2 'same' (top pad 1): size 2, start -1
    assert out["layers"][0]["receptive_field"] == [2, 2]
    assert out["layers"][0]["start"] == [-1, -1]
    tiled = {k: out.pop(k) for k in ("tile", "tile_halo", "tiled_peak_bytes")}
    assert out == Pipeline.from_dict(EVERY_TYPE_EXAMPLE).info((1, 40, 50))
    plan = plan_tiles(Pipeline.from_dict(EVERY_TYPE_EXAMPLE), (1, 40, 50), 512)
    (top, bottom), (left, right) = plan.halo()
    assert tiled == {"tile": 512, "tile_halo": [top, bottom, left, right],
                     "tiled_peak_bytes": plan.peak_tile_bytes()}


def test_info_from_image_and_text_table(every_type_pipeline, rgb_image, capsys):
    assert run_cli("info", every_type_pipeline, "--image", rgb_image) == 2  # 1-channel weight, RGB
    err = capsys.readouterr().err
    assert "layer 1" in err and err.count("\n") == 1
    edges = write_json(rgb_image.parent / "edges.json", RGB_EDGES)
    assert run_cli("info", edges, "--image", rgb_image) == 0
    text = capsys.readouterr().out
    assert "8 x 21 x 34" in text and "fully connected" in text


@pytest.mark.parametrize("shape", ["3,x,4", "0,4,4", "1,2,3,4"])
def test_info_bad_shape_is_usage_error(every_type_pipeline, shape, capsys):
    assert run_cli("info", every_type_pipeline, "--input-shape", shape) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_info_input_shape_needs_three_numbers(every_type_pipeline, capsys):
    # "3,300" is neither taken as 1x3x300 nor guessed: C,H,W is asked for, in one line
    assert run_cli("info", every_type_pipeline, "--input-shape", "3,300") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "C,H,W" in captured.err and "3,300" in captured.err


# ------------------------------------------------------------------------------------------ apply


def test_apply_npy_equals_pipeline_run(tmp_path, rgb_image):
    edges = write_json(tmp_path / "edges.json", RGB_EDGES)
    x = load_image(rgb_image)
    expected = Pipeline.load(edges).run(x)
    for layer in (None, 1, 2, 0):
        out = tmp_path / f"out{layer}.npy"
        args = ["apply", edges, rgb_image, "-o", out] + ([] if layer is None else ["--layer", layer])
        assert run_cli(*args) == 0
        got = np.load(out)
        want = x if layer == 0 else expected[(layer or 2) - 1]
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


def test_apply_png_equals_save_image(tmp_path, rgb_image):
    edges = write_json(tmp_path / "edges.json", RGB_EDGES)
    y = Pipeline.load(edges).run(load_image(rgb_image))[0]
    for mode in ("clip", "minmax", "abs", "signed"):
        for depth in (8, 16):
            out = tmp_path / f"cli-{mode}-{depth}.png"
            ref = tmp_path / f"ref-{mode}-{depth}.png"
            assert run_cli("apply", edges, rgb_image, "-o", out, "--layer", 1, "--normalize", mode,
                           "--depth", depth) == 0
            save_image(ref, y, normalize=mode, depth=depth)
            np.testing.assert_array_equal(load_image(out), load_image(ref))


@pytest.mark.parametrize("mode, depth, expected", [
    # signed: 0.5 + x / (2 max|x|), 0 -> mid-grey; samples rint(v * 255) or rint(v * 65535)
    ("signed", 8, [0, 128, 191, 255, 96]),
    ("signed", 16, [0, 32768, 49151, 65535, 24576]),
    ("clip", 8, [0, 0, 255, 255, 0]),
    ("minmax", 8, [0, 128, 191, 255, 96]),
    ("abs", 16, [65535, 0, 65535, 65535, 32768]),
])
def test_apply_normalize_known_samples(tmp_path, mode, depth, expected):
    cv2 = pytest.importorskip("cv2")
    src = tmp_path / "row.npy"
    np.save(src, np.array([[-2.0, 0.0, 1.0, 2.0, -0.5]], dtype=np.float32))
    identity = write_json(tmp_path / "id.json", {"format": "convstudio-pipeline", "version": 1,
                                                "layers": [{"type": "conv2d", "kernel": [[1]]}]})
    out = tmp_path / "row.png"
    assert run_cli("apply", identity, src, "-o", out, "--normalize", mode, "--depth", depth) == 0
    got = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert got.dtype == (np.uint8 if depth == 8 else np.uint16)
    assert got.tolist() == [expected]


def test_apply_writes_one_file_per_channel(tmp_path, rgb_image):
    edges = write_json(tmp_path / "edges.json", RGB_EDGES)
    assert run_cli("apply", edges, rgb_image, "-o", tmp_path / "maps.png") == 0
    files = sorted(p.name for p in tmp_path.glob("maps_c*.png"))
    assert files == [f"maps_c{c:02d}.png" for c in range(8)]
    assert not (tmp_path / "maps.png").exists()


def test_apply_out_dir_skips_bad_inputs(tmp_path, rgb_image, capsys):
    edges = write_json(tmp_path / "edges.json", RGB_EDGES)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    arr = tmp_path / "array.npy"
    np.save(arr, np.ones((3, 5, 6), np.float32))
    out_dir = tmp_path / "out"
    code = run_cli("apply", edges, rgb_image, bad, arr, "--out-dir", out_dir, "--layer", 1)
    assert code == 1
    err = capsys.readouterr().err
    assert "broken.png" in err and "Traceback" not in err
    assert err.strip().count("\n") == 0  # one line for the one failure
    assert (out_dir / "in.png").is_file()
    assert (out_dir / "array.npy").is_file()  # npy inputs default to npy outputs
    assert not (out_dir / "broken.png").exists()
    assert not list(out_dir.glob("*.tmp*")) and not list(out_dir.glob(".*"))


def test_apply_jobs_give_same_files(tmp_path, rgb_image):
    edges = write_json(tmp_path / "edges.json", RGB_EDGES)
    inputs = []
    for i in range(4):
        p = tmp_path / f"img{i}.npy"
        np.save(p, np.random.default_rng(i).random((3, 9, 11)).astype(np.float32))
        inputs.append(p)
    assert run_cli("apply", edges, *inputs, "--out-dir", tmp_path / "a", "--jobs", 1) == 0
    assert run_cli("apply", edges, *inputs, "--out-dir", tmp_path / "b", "--jobs", 3) == 0
    for p in inputs:
        np.testing.assert_array_equal(np.load(tmp_path / "a" / p.name), np.load(tmp_path / "b" / p.name))


def test_apply_never_overwrites_an_input(tmp_path, capsys):
    identity = write_json(tmp_path / "id.json", {"format": "convstudio-pipeline", "version": 1,
                                                 "layers": [{"type": "relu"}]})
    src = tmp_path / "keep.npy"
    np.save(src, -np.ones((1, 4, 4), np.float32))
    before = src.read_bytes()
    assert run_cli("apply", identity, src, "-o", src) == 1
    assert src.read_bytes() == before
    assert "never overwritten" in capsys.readouterr().err


@pytest.mark.parametrize("args, needle", [
    (["-o", "a.png", "--format", "png"], "--format"),
    (["--out-dir", "d", "--depth", "16", "--format", "jpg"], "16"),
    (["-o", "out.xyz"], "unknown format"),
    (["-o", "a.png", "--layer", "99"], "--layer"),
    (["-o", "a.png", "--jobs", "0"], "--jobs"),
])
def test_apply_usage_errors(tmp_path, rgb_image, args, needle, capsys):
    edges = write_json(tmp_path / "edges.json", RGB_EDGES)
    assert run_cli("apply", edges, rgb_image, *args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_apply_o_takes_one_input(tmp_path, rgb_image, capsys):
    edges = write_json(tmp_path / "edges.json", RGB_EDGES)
    assert run_cli("apply", edges, rgb_image, rgb_image, "-o", tmp_path / "x.png") == 2
    assert "one input" in capsys.readouterr().err


@pytest.mark.parametrize("text, needle", [
    ("{", "not valid JSON"),
    ('{"format": "convstudio-pipeline", "version": 1, "layers": [{"type": "conv2d", '
     '"kernel": [[1, 2], [3]]}]}', "layer 1 'kernel'"),
    ('{"format": "convstudio-pipeline", "version": 1, "layers": [{"type": "relu"}, '
     '{"type": "maxpool2d", "kernel_size": 0}]}', "layer 2 'kernel_size'"),
    ('{"format": "convstudio-pipeline", "version": 1, "layers": [{"type": "conv2d", '
     '"kernel": [[NaN]]}]}', "NaN"),
])
def test_malformed_pipeline_is_one_line_exit_2(tmp_path, rgb_image, text, needle, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    assert run_cli("apply", bad, rgb_image, "-o", tmp_path / "o.png") == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


# ------------------------------------------------------------------------------------------ check


def test_check_passes_and_reports_every_layer(tmp_path, rgb_image, capsys):
    edges = write_json(tmp_path / "edges.json", RGB_EDGES)
    assert run_cli("check", edges, rgb_image, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] is True
    assert [row["index"] for row in out["layers"]] == [1, 2]
    assert all(row["max_abs_diff"] <= out["tolerance"] for row in out["layers"])


def test_check_fails_when_core_is_wrong(tmp_path, rgb_image, monkeypatch, capsys):
    from convstudio.core import layers

    edges = write_json(tmp_path / "edges.json", RGB_EDGES)
    real = layers.Conv2d._forward
    monkeypatch.setattr(layers.Conv2d, "_forward", lambda self, x: real(self, x) + 0.01)
    assert run_cli("check", edges, rgb_image) == 1
    assert "FAIL" in capsys.readouterr().out


def test_check_unreadable_input_exit_1(tmp_path, capsys):
    edges = write_json(tmp_path / "edges.json", RGB_EDGES)
    assert run_cli("check", edges, tmp_path / "missing.png") == 1
    assert capsys.readouterr().err.count("\n") == 1


# ------------------------------------------------------------------------------------------ process


def test_console_entry_point_runs_as_a_process(tmp_path, every_type_pipeline):
    res = subprocess.run(
        [sys.executable, "-m", "convstudio.cli", "info", str(every_type_pipeline), "--input-shape",
         "1,8,8", "--json"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["input_shape"] == [1, 8, 8]
    res = subprocess.run([sys.executable, "-m", "convstudio.cli", "apply"], capture_output=True,
                         text=True, timeout=120, cwd=REPO)
    assert res.returncode == 2 and "Traceback" not in res.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 / Wayland display check")
def test_app_without_a_display_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    # Qt itself would abort the process with several lines of plugin messages
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert run_cli(tmp_path / "photo.png") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "display" in err and "Traceback" not in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 / Wayland display check")
def test_screenshot_without_a_display_renders_offscreen(tmp_path):
    """A picture of the window needs no screen: a fresh machine without X still gets one."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["HOME"] = str(tmp_path)  # the app's settings and autosave stay in the test's folder
    out = tmp_path / "shot.png"
    res = subprocess.run([sys.executable, "-m", "convstudio.cli", "--lesson", "cross-correlation",
                          "--screenshot", str(out)], capture_output=True, text=True, timeout=180,
                         cwd=REPO, env=env)
    assert res.returncode == 0, res.stderr
    picture = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape[0] > 400 and picture.shape[1] > 600
    assert picture.std() > 10  # a window with content, not a blank rectangle


# ------------------------------------------------------------------------------------------ channels


def _pipeline(tmp_path: Path, *layers, name: str = "p.json") -> Path:
    return write_json(tmp_path / name, {"format": "convstudio-pipeline", "version": 1,
                                        "layers": list(layers)})


BLUR = {"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "scale": 0.0625,
        "padding": 1}
MIX_3_TO_4 = {"type": "conv2d", "weight": np.random.default_rng(7).uniform(
    -1, 1, (4, 3, 3, 3)).tolist(), "padding": 1}


def _gray_samples(path: Path) -> np.ndarray:
    got = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert got is not None and got.ndim == 2, path  # a gray file
    return got.astype(np.float64)


def test_apply_kernel_form_one_bias_on_rgb(tmp_path, rgb_image):
    p = _pipeline(tmp_path, {"type": "conv2d", "kernel": [[1]], "bias": [0.1]})
    assert run_cli("apply", p, rgb_image, "-o", tmp_path / "out.npy") == 0
    x = load_image(rgb_image)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), x + np.float32(0.1))


def test_apply_feature_maps_are_grey_files_signed(tmp_path, rgb_image):
    p = _pipeline(tmp_path, BLUR, MIX_3_TO_4)
    y = Pipeline.load(p).run(load_image(rgb_image))[-1].astype(np.float64)
    assert y.shape[0] == 4 and y.min() < 0 < y.max()
    for depth, maxval in ((8, 255), (16, 65535)):
        out = tmp_path / f"maps{depth}.png"
        assert run_cli("apply", p, rgb_image, "-o", out, "--depth", depth,
                       "--normalize", "signed") == 0
        names = sorted(f.name for f in tmp_path.glob(f"maps{depth}*.png"))
        assert names == [f"maps{depth}_c{c:02d}.png" for c in range(4)]  # no RGBA file
        # signed: 0 is mid-grey, one scale max|y| for all four maps; rounding error <= 1/2
        want = (0.5 + y / (2 * np.abs(y).max())) * maxval
        for c in range(4):
            got = _gray_samples(tmp_path / f"maps{depth}_c{c:02d}.png")
            assert np.abs(got - want[c]).max() <= 0.5 + 1e-3 * maxval / 255


def test_apply_feature_maps_default_clip_and_explicit_normalize(tmp_path, rgb_image):
    p = _pipeline(tmp_path, MIX_3_TO_4, {"type": "relu"})
    y = Pipeline.load(p).run(load_image(rgb_image))[-1].astype(np.float64)
    assert y.min() == 0 and y.max() > 1
    # the default is clip, as for images; each map still its own gray file
    assert run_cli("apply", p, rgb_image, "-o", tmp_path / "r.png") == 0
    for c in range(4):
        got = _gray_samples(tmp_path / f"r_c{c:02d}.png")
        assert np.abs(got - np.clip(y[c], 0, 1) * 255).max() <= 0.5 + 1e-3
    # layer 1 holds negative values: still clip by default, and --normalize chooses
    assert run_cli("apply", p, rgb_image, "-o", tmp_path / "d.png", "--layer", 1) == 0
    y1 = Pipeline.load(p).run(load_image(rgb_image))[0].astype(np.float64)
    assert y1.min() < 0
    for c in range(4):
        got = _gray_samples(tmp_path / f"d_c{c:02d}.png")
        assert np.abs(got - np.clip(y1[c], 0, 1) * 255).max() <= 0.5 + 1e-3
    assert run_cli("apply", p, rgb_image, "-o", tmp_path / "m.png", "--layer", 1,
                   "--normalize", "minmax") == 0
    y1 = Pipeline.load(p).run(load_image(rgb_image))[0].astype(np.float64)
    want = (y1 - y1.min()) / (y1.max() - y1.min()) * 255
    for c in range(4):
        got = _gray_samples(tmp_path / f"m_c{c:02d}.png")
        assert np.abs(got - want[c]).max() <= 0.5 + 1e-3


def test_apply_image_stays_one_rgb_file(tmp_path, rgb_image):
    disabled_mix = dict(MIX_3_TO_4, enabled=False)
    p = _pipeline(tmp_path, BLUR, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
                  disabled_mix)
    y = Pipeline.load(p).run(load_image(rgb_image))[-1].astype(np.float64)
    assert run_cli("apply", p, rgb_image, "-o", tmp_path / "blur.png") == 0
    assert sorted(f.name for f in tmp_path.glob("blur*")) == ["blur.png"]
    got = cv2.imread(str(tmp_path / "blur.png"), cv2.IMREAD_UNCHANGED)
    assert got.shape == y.shape[1:] + (3,)
    rgb = got[:, :, ::-1].transpose(2, 0, 1).astype(np.float64)
    assert np.abs(rgb - np.clip(y, 0, 1) * 255).max() <= 0.5 + 1e-3
    # --channels split: the same values, one gray file per channel
    assert run_cli("apply", p, rgb_image, "-o", tmp_path / "s.png", "--channels", "split") == 0
    assert sorted(f.name for f in tmp_path.glob("s*.png")) == [f"s_c{c:02d}.png" for c in range(3)]
    for c in range(3):
        np.testing.assert_array_equal(_gray_samples(tmp_path / f"s_c{c:02d}.png"), rgb[c])
    # .npy holds the whole array whatever --channels says
    assert run_cli("apply", p, rgb_image, "-o", tmp_path / "s.npy", "--channels", "split") == 0
    assert np.load(tmp_path / "s.npy").shape == y.shape


def test_apply_channels_out_dir_names(tmp_path, rgb_image):
    p = _pipeline(tmp_path, MIX_3_TO_4)
    assert run_cli("apply", p, rgb_image, "--out-dir", tmp_path / "out") == 0
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == \
        [f"in_c{c:02d}.png" for c in range(4)]
    assert run_cli("apply", p, rgb_image, "--out-dir", tmp_path / "tif", "--format", "tif") == 0
    y = Pipeline.load(p).run(load_image(rgb_image))[-1]
    for c in range(4):
        np.testing.assert_array_equal(load_image(tmp_path / "tif" / f"in_c{c:02d}.tif"), y[c:c + 1])
    assert run_cli("apply", p, rgb_image, "-o", tmp_path / "x.png", "--channels", "rgb") == 2


# ------------------------------------------------------------------------ info: tiled runs, help


def test_info_prints_the_halo_and_tiled_memory(tmp_path, capsys):
    # conv 5 pad 2, max pool 2, conv 3 valid: receptive field 10, jump 2, start -2 (docs/semantics.md),
    # so a tile reads 2 input rows above its own and 10 - 2 - 2 = 6 below
    pipe = write_json(tmp_path / "p.json", {"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "kernel": np.ones((5, 5)).tolist(), "padding": 2},
        {"type": "maxpool2d", "kernel_size": 2}, {"type": "conv2d", "kernel": np.ones((3, 3)).tolist()}]})
    assert run_cli("info", pipe, "--input-shape", "1,900,1000", "--tile", "64", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tile"] == 64 and out["tile_halo"] == [2, 6, 2, 6]
    plan = plan_tiles(Pipeline.load(pipe), (1, 900, 1000), 64)
    assert out["tiled_peak_bytes"] == plan.peak_tile_bytes() < out["peak_bytes"]
    assert run_cli("info", pipe, "--input-shape", "1,900,1000", "--tile", "64") == 0
    text = capsys.readouterr().out
    assert "--tile 64, 7 x 8 tiles): each tile reads 2 rows above, 6 below, 2 columns left and 6 right" in text
    assert "peak memory of one running tile: " in text


def test_info_names_a_layer_that_cannot_be_tiled(tmp_path, capsys):
    pipe = write_json(tmp_path / "p.json", {"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "relu"}, {"type": "conv_transpose2d", "weight": [[[[1.0, 1.0], [1.0, 1.0]]]], "stride": 2}]})
    assert run_cli("info", pipe, "--input-shape", "1,30,40", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tile_halo"] is None and out["tiled_peak_bytes"] is None and out["peak_bytes"] > 0
    assert run_cli("info", pipe, "--input-shape", "1,30,40") == 0
    assert "tiled apply: layer 2 (conv_transpose2d) cannot run on tiles" in capsys.readouterr().out
    assert run_cli("info", pipe, "--input-shape", "1,30,40", "--tile", "0") == 2
    assert "--tile must be at least 1" in capsys.readouterr().err


def _synopsis_commands() -> list[str]:
    """The subcommands docs/cli.md's synopsis block lists, in order."""
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    return [line.split()[1] for line in block.splitlines()
            if line.startswith("convstudio ") and not line.split()[1].startswith(("[", "-"))]


def test_help_lists_every_subcommand_as_the_docs_do(capsys):
    assert run_cli("--help") == 0
    out = capsys.readouterr().out
    listed = out.split("subcommands", 1)[1].splitlines()[1:]
    names = [line.split()[0] for line in listed if line.strip()]
    dispatched = list(cli._commands())
    assert names == dispatched == _synopsis_commands() == ["apply", "info", "check", "fit", "import"]
    for name in dispatched:  # each one's own --help works
        assert run_cli(name, "--help") == 0
        assert capsys.readouterr().out.startswith(f"usage: convstudio {name}")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--help"], ["apply", "--help"], ["--version"]])
def test_help_on_a_full_disk_is_one_line(args):
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "convstudio", *args], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr.startswith("convstudio: cannot write to standard output: ")
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
