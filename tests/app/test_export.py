"""Export equals the core: `export_layer` writes what `save_image(path, pipeline.run(image)[N-1])`
writes and what `convstudio apply ... --layer N` writes; the threaded flow and the dialog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convstudio.app.dialogs.export import ExportDialog, ExportOptions, run_export
from convstudio.core import Conv2d, MaxPool2d, Pipeline, PipelineError, ReLU, save_image
from convstudio.session.layer_export import export_layer

SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


def pipeline() -> Pipeline:
    return Pipeline((
        Conv2d(kernel=SOBEL, padding="same", padding_mode="reflect"),
        Conv2d(weight=np.random.default_rng(3).standard_normal((5, 3, 3, 3)).astype(np.float32),
               bias=[0.1, -0.2, 0.0, 0.3, 0.05], padding=1),
        ReLU(),
        MaxPool2d(kernel_size=(2, 2)),
    ))


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(4).random((3, 37, 53), dtype=np.float32)


def same_files(a: list[Path], b: list[Path]) -> None:
    assert [p.name for p in a] == [p.name for p in b]
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.name


@pytest.mark.parametrize("layer", [0, 1, 2, 4])
@pytest.mark.parametrize("fmt,normalize,depth", [
    (".png", "clip", 8), (".png", "minmax", 16), (".png", "signed", 8), (".png", "abs", 16),
    (".tif", "clip", 8), (".npy", "clip", 8),
])
def test_export_equals_core_save_image(tmp_path, image, layer, fmt, normalize, depth):
    p = pipeline()
    (tmp_path / "app").mkdir()
    got = export_layer(p, image, layer, tmp_path / "app" / f"out{fmt}", normalize=normalize,
                       depth=depth)
    y = image if layer == 0 else p.run(image)[layer - 1]
    (tmp_path / "core").mkdir()
    want = save_image(tmp_path / "core" / f"out{fmt}", y, normalize=normalize, depth=depth)
    same_files(got, want)
    if layer in (2, 4) and fmt != ".npy":
        assert len(got) == 5  # five channels: one file each


def test_export_one_channel(tmp_path, image):
    p = pipeline()
    got = export_layer(p, image, 2, tmp_path / "c3.npy", channel=3)
    np.testing.assert_array_equal(np.load(got[0]), p.run(image)[1][3:4])
    with pytest.raises(PipelineError):
        export_layer(p, image, 2, tmp_path / "c9.npy", channel=9)
    with pytest.raises(PipelineError):
        export_layer(p, image, 5, tmp_path / "x.npy")


def test_export_ignores_a_misfit_after_the_exported_layer(tmp_path, image):
    p = Pipeline((ReLU(), Conv2d(kernel=np.ones((99, 99)))))
    got = export_layer(p, image, 1, tmp_path / "r.npy")
    np.testing.assert_array_equal(np.load(got[0]), np.maximum(image, 0))


def test_export_equals_convstudio_apply(tmp_path, image):
    from convstudio.cli import main

    p = pipeline()
    p.save(tmp_path / "p.json")
    save_image(tmp_path / "in.npy", image)
    for layer, normalize, depth in ((2, "signed", 16), (4, "minmax", 8), (1, "clip", 8)):
        out_cli = tmp_path / f"cli_{layer}.png"
        assert main(["apply", str(tmp_path / "p.json"), str(tmp_path / "in.npy"), "-o",
                     str(out_cli), "--layer", str(layer), "--normalize", normalize,
                     "--depth", str(depth)]) == 0
        (tmp_path / f"app{layer}").mkdir()
        got = export_layer(Pipeline.load(tmp_path / "p.json"), image, layer,
                           tmp_path / f"app{layer}" / out_cli.name, normalize=normalize,
                           depth=depth)
        cli_files = sorted(tmp_path.glob(f"cli_{layer}*.png"))
        same_files(got, cli_files)


def test_threaded_export_flow(qtbot, tmp_path, image):
    p = pipeline()
    opts = ExportOptions(layer=4, path=tmp_path / "t.npy")
    job = run_export(p, image, opts)
    assert not job.running and job.error is None and not job.was_cancelled
    np.testing.assert_array_equal(np.load(job.paths[0]), p.run(image)[3])
    bad = run_export(p, image, ExportOptions(layer=1, path=tmp_path / "x.unknown"))
    assert bad.error is not None and "unsupported extension" in str(bad.error)


def test_threaded_export_can_be_cancelled(qtbot, tmp_path):
    from convstudio.app.dialogs.export import ExportJob

    # Many layers: an export stops at the next layer boundary after Cancel.
    slow = Pipeline(tuple(Conv2d(kernel=np.ones((15, 15), np.float32) / 225, padding="same")
                          for _ in range(40)))
    x = np.ones((1, 1200, 1200), np.float32)
    job = ExportJob(slow, x, ExportOptions(layer=40, path=tmp_path / "big.npy"))
    steps = []
    job.progressed.connect(lambda d, t: steps.append(d))
    job.start()
    qtbot.waitUntil(lambda: len(steps) >= 1, timeout=20_000)
    job.cancel()
    assert job.wait(20_000)
    assert job.was_cancelled and job.error is None and not job.running
    assert steps[-1] < 40  # it stopped before the last layer
    assert not (tmp_path / "big.npy").exists()


def test_export_dialog_options(qtbot, tmp_path):
    p = pipeline()
    shapes = [(3, 37, 53)] + [i.output_shape for i in p.analyze((3, 37, 53))]
    dlg = ExportDialog(p, shapes, layer=2, folder=tmp_path, stem="img")
    qtbot.addWidget(dlg)
    assert dlg.channels.count() == 1 + 5
    assert dlg.path.text().endswith("img_layer2.png")
    assert "one gray file per channel" in dlg.files_note.text()
    dlg.format.setCurrentIndex(dlg.format.findData(".npy"))
    assert dlg.path.text().endswith("img_layer2.npy")
    assert not dlg.normalize.isEnabled()
    dlg.layer.setValue(0)
    dlg.channels.setCurrentIndex(2)
    o = dlg.options()
    assert (o.layer, o.channel, o.path.suffix) == (0, 1, ".npy")


# ------------------------------------------------------------------ images and feature maps


def _rgb_pipelines():
    blur = Conv2d(kernel=np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32), scale=1 / 16,
                  padding=1)
    mix = Conv2d(weight=np.random.default_rng(8).uniform(-1, 1, (4, 3, 3, 3)).astype(np.float32),
                 padding=1)
    return blur, mix


def test_export_feature_maps_follow_the_command_line(tmp_path, image):
    """A 3 -> 4 weight conv: four gray files, signed by default in the app (values are signed),
    as `convstudio apply --normalize signed` writes them; a kernel-form blur stays one RGB file,
    clipped, as `apply` writes it by default."""
    import cv2

    from convstudio.cli import main

    blur, mix = _rgb_pipelines()
    p = Pipeline((blur, mix))
    p.save(tmp_path / "p.json")
    save_image(tmp_path / "in.npy", image)
    y = p.run(image)
    assert y[1].min() < 0
    for layer, expected in ((2, [f"out_c{c:02d}.png" for c in range(4)]), (1, ["out.png"])):
        (tmp_path / f"app{layer}").mkdir()
        (tmp_path / f"cli{layer}").mkdir()
        got = export_layer(p, image, layer, tmp_path / f"app{layer}" / "out.png")
        assert [f.name for f in got] == expected
        normalize = ["--normalize", "signed"] if layer == 2 else []
        assert main(["apply", str(tmp_path / "p.json"), str(tmp_path / "in.npy"), "-o",
                     str(tmp_path / f"cli{layer}" / "out.png"), "--layer", str(layer)]
                    + normalize) == 0
        same_files(got, sorted((tmp_path / f"cli{layer}").iterdir()))
    maps = y[1].astype(np.float64)
    want = (0.5 + maps / (2 * np.abs(maps).max())) * 255  # signed: one scale for all four maps
    for c in range(4):
        got = cv2.imread(str(tmp_path / "app2" / f"out_c{c:02d}.png"), cv2.IMREAD_UNCHANGED)
        assert got.ndim == 2
        assert np.abs(got - want[c]).max() <= 0.5 + 1e-3
    rgb = cv2.imread(str(tmp_path / "app1" / "out.png"), cv2.IMREAD_UNCHANGED)
    assert rgb.shape == image.shape[1:] + (3,)


def test_export_split_and_explicit_normalize(tmp_path, image):
    from convstudio.core import load_image

    blur, mix = _rgb_pipelines()
    p = Pipeline((blur, mix))
    got = export_layer(p, image, 1, tmp_path / "s.png", channels="split", normalize="clip")
    assert [f.name for f in got] == ["s_c00.png", "s_c01.png", "s_c02.png"]
    (tmp_path / "ref").mkdir()
    ref = save_image(tmp_path / "ref" / "s.png", p.run(image)[0])  # one RGB file
    rgb = load_image(ref[0])
    for c in range(3):
        np.testing.assert_array_equal(load_image(got[c]), rgb[c:c + 1])
    # an explicit normalisation wins over the automatic one
    (tmp_path / "mm").mkdir()
    got = export_layer(p, image, 2, tmp_path / "mm" / "m.png", normalize="minmax")
    (tmp_path / "mm_ref").mkdir()
    want = save_image(tmp_path / "mm_ref" / "m.png", np.concatenate(
        [p.run(image)[1], p.run(image)[1][:1]]), normalize="minmax")  # 5 maps: split by the core
    for a, b in zip(got, want[:4]):
        assert a.read_bytes() == b.read_bytes()
    with pytest.raises(ValueError):
        export_layer(p, image, 1, tmp_path / "x.png", channels="rgb")


def test_export_dialog_follows_the_rule(qtbot, tmp_path):
    blur, mix = _rgb_pipelines()
    p = Pipeline((blur, mix))
    shapes = [(3, 37, 53)] + [i.output_shape for i in p.analyze((3, 37, 53))]
    dlg = ExportDialog(p, shapes, layer=1, folder=tmp_path, stem="img")
    qtbot.addWidget(dlg)
    assert "an image" in dlg.files_note.text() and "one RGB image" in dlg.files_note.text()
    dlg.files.setCurrentIndex(dlg.files.findData("split"))
    assert "one gray file per channel" in dlg.files_note.text()
    assert dlg.options().channels == "split"
    dlg.files.setCurrentIndex(dlg.files.findData("auto"))
    dlg.layer.setValue(2)
    assert "feature maps" in dlg.files_note.text()
    assert "one gray file per channel" in dlg.files_note.text()
    o = dlg.options()
    assert (o.channels, o.normalize) == ("auto", None)  # normalise "auto" is the default
