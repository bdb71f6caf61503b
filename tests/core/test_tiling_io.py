"""Lazy inputs (core/lazyio.py, core/lazytiff.py), tiled outputs (core/tilesinks.py) and Dask
(core/tiledask.py, Pipeline.to_dask)."""

import numpy as np
import pytest
import tifffile

from convstudio.core import ImageIOError, Pipeline, load_image
from convstudio.core.lazyio import open_image
from convstudio.core.tilesinks import open_sink

da = pytest.importorskip("dask.array", reason="the scale extra is in the test extra")
distributed = pytest.importorskip("distributed")

PIPE = Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": [
    {"type": "conv2d", "weight": np.random.default_rng(0).normal(size=(4, 1, 5, 5)).round(2).tolist()},
    {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2, "ceil_mode": True},
    {"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "padding": 1, "padding_mode": "reflect"}]})


@pytest.fixture
def grey_tiff(tmp_path):
    a = np.random.default_rng(2).integers(0, 256, (90, 71), dtype=np.uint8)
    path = tmp_path / "grey.tif"
    tifffile.imwrite(path, a, tile=(32, 32), compression="zlib", bigtiff=True)
    return path


def test_tiff_regions_equal_load_image(grey_tiff, tmp_path):
    img = open_image(grey_tiff)
    whole = load_image(grey_tiff)
    assert img.lazy and img.shape == whole.shape
    np.testing.assert_array_equal(img[:, 10:77, 31:64], whole[:, 10:77, 31:64])
    rgb = np.random.default_rng(3).integers(0, 65536, (40, 33, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb", rowsperstrip=5, compression="zlib")
    img = open_image(tmp_path / "rgb.tif")
    np.testing.assert_array_equal(img[:, 3:29, 0:33], load_image(tmp_path / "rgb.tif")[:, 3:29])


def test_npy_is_memory_mapped_and_checked(tmp_path):
    a = np.random.default_rng(4).normal(size=(2, 20, 30))
    np.save(tmp_path / "a.npy", a)
    img = open_image(tmp_path / "a.npy")
    np.testing.assert_array_equal(img[:, 5:9, 7:30], a[:, 5:9, 7:30].astype(np.float32))
    np.save(tmp_path / "big.npy", np.zeros((1, 30, 40), np.uint8))
    with pytest.raises(ImageIOError, match="above the limit"):
        open_image(tmp_path / "big.npy", max_pixels=1000)  # from the header, before any read
    a[0, 1, 2] = np.nan
    np.save(tmp_path / "nan.npy", a)
    with pytest.raises(ImageIOError, match="NaN"):
        open_image(tmp_path / "nan.npy")[:, 0:5, 0:5]


def test_ome_zarr_level_zero(tmp_path):
    zarr = pytest.importorskip("zarr")
    a = np.random.default_rng(5).random((1, 2, 1, 25, 19), dtype=np.float32)
    g = zarr.open_group(tmp_path / "img.zarr", mode="w")
    g.create_array("0", shape=a.shape, dtype="float32", chunks=(1, 1, 1, 8, 8))[...] = a
    g.attrs["multiscales"] = [{"axes": [{"name": n} for n in "tczyx"], "datasets": [{"path": "0"}]}]
    img = open_image(tmp_path / "img.zarr")
    assert img.shape == (2, 25, 19)
    np.testing.assert_array_equal(img[:, 4:20, 2:11], a[0, :, 0, 4:20, 2:11])


@pytest.mark.parametrize("ext", [".npy", ".tif", ".zarr"])
def test_sinks_write_tiles_atomically(tmp_path, ext):
    y = np.random.default_rng(6).normal(size=(3, 40, 37)).astype(np.float32)
    target = tmp_path / f"out{ext}"
    sink = open_sink(target, y.shape, (16, 16))
    for r0 in range(0, 40, 16):
        for c0 in range(0, 37, 16):
            box = (r0, min(40, r0 + 16), c0, min(37, c0 + 16))
            sink.write(box, y[:, box[0]:box[1], box[2]:box[3]])
            assert not target.exists()  # nothing is visible before the commit
    sink.commit()
    if ext == ".npy":
        back = np.load(target)
    elif ext == ".tif":
        back = np.moveaxis(tifffile.imread(target), -1, 0)
        np.testing.assert_array_equal(load_image(target), y)  # OpenCV reads the tiled BigTIFF too
    else:
        back = np.asarray(pytest.importorskip("zarr").open(target, mode="r"))
    np.testing.assert_array_equal(back, y)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporaries left


def test_an_aborted_sink_leaves_nothing(tmp_path):
    sink = open_sink(tmp_path / "x.tif", (1, 32, 32), (16, 16))
    sink.write((0, 16, 0, 16), np.zeros((1, 16, 16), np.float32))
    sink.abort()
    assert list(tmp_path.iterdir()) == []


def test_to_dask_equals_the_whole_run(grey_tiff):
    x = load_image(grey_tiff)
    ref = PIPE.run(x)
    lazy = PIPE.to_dask(open_image(grey_tiff), tile=7)
    assert lazy.chunks[1][0] == 7 and lazy.shape == ref[-1].shape
    tol = 1e-5 * np.abs(ref[-1]).max()
    np.testing.assert_allclose(lazy.compute(scheduler="sync"), ref[-1], rtol=0, atol=tol)
    mid = PIPE.to_dask(da.from_array(x, chunks=(1, 30, 30)), layer=2, tile=9)
    np.testing.assert_allclose(mid.compute(), ref[1], rtol=0, atol=1e-5 * np.abs(ref[1]).max())


def test_to_dask_on_a_two_worker_cluster(grey_tiff):
    ref = PIPE.run(load_image(grey_tiff))[-1]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        got = client.compute(PIPE.to_dask(open_image(grey_tiff), tile=16)).result()
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
