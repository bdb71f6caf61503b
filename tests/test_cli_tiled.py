"""`convstudio apply --tile / --dask` equals the whole-image run (cli_tiled.py, docs/scale.md)."""

import json

import numpy as np
import pytest
import tifffile

from convstudio.cli import main

PIPE = {"format": "convstudio-pipeline", "version": 1, "layers": [
    {"type": "conv2d", "weight": np.random.default_rng(0).normal(size=(4, 1, 5, 5)).round(2).tolist(),
     "padding": "same", "padding_mode": "circular"},
    {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "padding": 1, "padding_mode": "reflect"}]}


@pytest.fixture
def files(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps(PIPE))
    a = np.random.default_rng(1).integers(0, 256, (83, 70), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "in.tif", a, tile=(32, 32), compression="zlib")
    return tmp_path


def test_tiled_npy_and_tiff_equal_the_whole_run(files, capsys):
    d = files
    assert main(["apply", str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "whole.npy")]) == 0
    assert main(["apply", str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "t.npy"), "--tile", "7"]) == 0
    assert main(["apply", str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "t.tif"), "--tile", "5"]) == 0
    whole = np.load(d / "whole.npy")
    tol = 1e-5 * np.abs(whole).max()
    np.testing.assert_allclose(np.load(d / "t.npy"), whole, rtol=0, atol=tol)
    for c in range(4):  # feature maps: one TIFF per channel, as a whole run writes them
        np.testing.assert_allclose(tifffile.imread(d / f"t_c{c:02d}.tif"), whole[c], rtol=0, atol=tol)
    assert capsys.readouterr().err == ""  # no progress line without a terminal


def test_bad_tile_is_a_usage_error(files, capsys):
    d = files
    assert main(["apply", str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "t.npy"), "--tile", "0"]) == 2
    assert "--tile must be at least 1" in capsys.readouterr().err


def test_dask_local_cluster_equals_the_whole_run(files, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from convstudio import cli_tiled

    d = files
    assert main(["apply", str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "whole.npy")]) == 0

    def two_threads(address):  # processes=False keeps the test fast; 'local' starts processes
        assert address == "local"
        return distributed.Client(distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                                           dashboard_address=":0"))

    monkeypatch.setattr(cli_tiled, "connect", two_threads)
    assert main(["apply", str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "dask.npy"), "--tile", "9",
                 "--dask", "local"]) == 0
    whole = np.load(d / "whole.npy")
    np.testing.assert_allclose(np.load(d / "dask.npy"), whole, rtol=0, atol=1e-5 * np.abs(whole).max())


def test_dask_local_worker_processes_equal_the_whole_run(files, monkeypatch):
    # 'local' as users get it: worker processes (the image travels as its path, the plan pickled),
    # two of them to keep the test short (about 5 s here, most of it starting the processes)
    pytest.importorskip("distributed")
    from convstudio import cli_tiled

    d = files
    assert main(["apply", str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "whole.npy")]) == 0
    real_connect = cli_tiled.connect
    monkeypatch.setattr(cli_tiled, "connect",
                        lambda address: real_connect(address, n_workers=2, threads_per_worker=1))
    assert main(["apply", str(d / "p.json"), str(d / "in.tif"), "-o", str(d / "procs.tif"), "--tile", "16",
                 "--dask", "local"]) == 0
    whole = np.load(d / "whole.npy")
    tol = 1e-5 * np.abs(whole).max()
    for c in range(whole.shape[0]):
        np.testing.assert_allclose(tifffile.imread(d / f"procs_c{c:02d}.tif"), whole[c], rtol=0, atol=tol)
