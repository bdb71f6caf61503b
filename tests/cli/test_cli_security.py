"""The command line against hostile files and a hostile environment: exit codes 0/1/2, one line
on stderr, inputs never overwritten, no leftovers (docs/security.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from convstudio import cli
from convstudio.core import imagesave, save_image
from convstudio.core.safeio import check_not_input, read_bounded, same_file

REPO = Path(__file__).resolve().parents[2]
BLUR = REPO / "examples" / "gaussian-blur.json"


def run_cli(*args) -> int:
    return cli.main([str(a) for a in args])


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def subprocess_cli(*args, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("capture_output", True)
    return subprocess.run([sys.executable, "-m", "convstudio", *map(str, args)], env=_env(),
                          text=True, timeout=60, **kwargs)


@pytest.fixture
def image(tmp_path) -> Path:
    (p,) = save_image(tmp_path / "in.png", np.random.default_rng(2).random((3, 12, 16)))
    return p


# ------------------------------------------------------------------------------------- reading


def test_fifo_and_device_pipelines_are_refused_at_once(tmp_path, capsys):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # nobody writes: a blocking open would hang forever
    for path in (fifo, Path("/dev/urandom"), Path("/dev/zero")):
        assert run_cli("info", path, "--input-shape", "1,4,4") == 2
        line = one_line(capsys.readouterr().err)
        assert str(path) in line and "not a regular file" in line


def test_fifo_image_is_refused(tmp_path, capsys):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert run_cli("info", BLUR, "--image", fifo) == 1
    assert "not a regular file" in one_line(capsys.readouterr().err)


def test_read_bounded_reads_at_most_limit_plus_one(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"x" * 100)
    assert read_bounded(p, 100) == b"x" * 100
    with pytest.raises(Exception, match="above the limit of 99 bytes"):
        read_bounded(p, 99)
    with pytest.raises(Exception, match="is a folder"):
        read_bounded(tmp_path, 10)


# ------------------------------------------------------------------------------------- writing


def test_unusable_out_dir_is_one_line(tmp_path, image, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    cases = [blocker / "sub", tmp_path / ("d" * 300), Path("/proc/no-such-folder/out")]
    for out_dir in cases:
        assert run_cli("apply", BLUR, image, "--out-dir", out_dir) == 2
        line = one_line(capsys.readouterr().err)
        assert "cannot create the folder" in line and str(out_dir) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "in.png"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_stdout_on_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        r = subprocess_cli("info", BLUR, "--input-shape", "1,8,8", "--json", stdout=full,
                           capture_output=False, stderr=subprocess.PIPE)
    assert r.returncode == 1
    assert one_line(r.stderr) == "convstudio: cannot write to standard output: No space left on device"


def test_stdout_pipe_closed_early_is_one_line():
    proc = subprocess.Popen([sys.executable, "-m", "convstudio", "info", str(BLUR), "--input-shape",
                             "1,8,8"], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    proc.stdout.close()  # the reader is gone before anything is written
    with proc:
        err = proc.stderr.read()
    assert proc.returncode == 1
    assert one_line(err) == "convstudio: cannot write to standard output: the reader closed the pipe"


def test_erf_never_overwrites_an_input_whatever_the_link(tmp_path, capsys):
    x = tmp_path / "x.npy"
    np.save(x, np.ones((1, 6, 6), np.float32))
    before = x.read_bytes()
    (tmp_path / "sym.npy").symlink_to(x)
    os.link(x, tmp_path / "hard.npy")
    pipe = tmp_path / "p.json"
    pipe.write_bytes(BLUR.read_bytes())
    for target in (x, tmp_path / "sym.npy", tmp_path / "hard.npy"):
        assert run_cli("info", pipe, "--image", x, "--at", "1,0,2,2", "--erf", target) == 2
        assert "inputs are never overwritten" in one_line(capsys.readouterr().err)
    assert x.read_bytes() == before


def test_apply_never_overwrites_its_pipeline(tmp_path, image, capsys):
    pipe = tmp_path / "p.npy"  # a pipeline file with an output extension
    pipe.write_bytes(BLUR.read_bytes())
    before = pipe.read_bytes()
    assert run_cli("apply", pipe, image, "-o", pipe) == 1
    assert "inputs are never overwritten" in one_line(capsys.readouterr().err)
    assert pipe.read_bytes() == before


def test_same_file_sees_links_and_new_paths(tmp_path):
    a = tmp_path / "a"
    a.write_text("1")
    (tmp_path / "s").symlink_to(a)
    os.link(a, tmp_path / "h")
    assert same_file(a, tmp_path / "s") and same_file(tmp_path / "h", a)
    assert same_file(tmp_path / "sub" / ".." / "a", a)
    assert not same_file(tmp_path / "new", a)
    check_not_input(tmp_path / "new", [a])
    with pytest.raises(Exception, match="the same file as"):
        check_not_input(tmp_path / "h", [a])


# ------------------------------------------------------------------------------------- leftovers


def _slow_batch(tmp_path, count: int = 6) -> tuple[Path, list[Path]]:
    pipe = tmp_path / "slow.json"
    pipe.write_text(json.dumps({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "kernel": np.full((61, 61), 1 / 3721).tolist(), "padding": "same"}] * 6}))
    inputs = []
    for k in range(count):
        p = tmp_path / f"in{k}.npy"
        np.save(p, np.random.default_rng(k).random((1, 700, 700), dtype=np.float32))
        inputs.append(p)
    return pipe, inputs


def test_sigterm_mid_batch_is_clean(tmp_path):
    pipe, inputs = _slow_batch(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "convstudio", "apply", str(pipe), *map(str, inputs),
                             "--out-dir", str(out), "--jobs", "2"], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert one_line(err) == "convstudio: terminated"
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_leftovers_of_a_killed_writer_are_swept_by_the_next_run(tmp_path, image):
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that runs nothing now
    stale = out / f".in.png.cs{dead.pid}.abcd1234.tmp"
    stale.write_bytes(b"half")
    live = out / f".in.png.cs{os.getppid()}.abcd1234.tmp"  # a running writer's: kept
    live.write_bytes(b"busy")
    users = [out / ".notes.tmp", out / f".x.cs{dead.pid}.tmp", out / "in.png.tmp"]
    for p in users:
        p.write_text("mine")
    r = subprocess_cli("apply", BLUR, image, "--out-dir", out)
    assert r.returncode == 0, r.stderr
    assert not stale.exists() and live.exists() and all(p.exists() for p in users)
    assert (out / "in.png").exists()


def test_old_temporaries_are_swept_even_if_the_pid_runs(tmp_path):
    old = tmp_path / f".a.png.cs{os.getppid()}.zzzzzzzz.tmp"
    old.write_bytes(b"x")
    assert imagesave.sweep_stale_temporaries(tmp_path) == []
    later = time.time() + imagesave.STALE_SECONDS + 1
    assert imagesave.sweep_stale_temporaries(tmp_path, now=later) == [old]


def test_writer_temporaries_match_the_sweep_pattern(tmp_path):
    tmp = imagesave._write_temp(tmp_path / ("n" * 200 + ".png"), b"data")
    try:
        assert imagesave.TEMP_PATTERN.match(Path(tmp).name)
    finally:
        os.unlink(tmp)


# ------------------------------------------------------------------------------------- numbers


def test_scale_overflow_is_a_pipeline_error_for_every_command(tmp_path, image, capsys):
    pipe = tmp_path / "huge.json"
    pipe.write_text(json.dumps({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "kernel": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], "scale": 3e38}]}))
    for args in (("info", pipe, "--image", image), ("apply", pipe, image, "-o", tmp_path / "o.png"),
                 ("check", pipe, image)):
        assert run_cli(*args) == 2
        line = one_line(capsys.readouterr().err)
        assert "huge.json: layer 1 'scale'" in line and "float32" in line
    assert not (tmp_path / "o.png").exists()


def test_overflowing_run_writes_inf_and_stays_quiet(tmp_path, image):
    pipe = tmp_path / "big.json"
    pipe.write_text(json.dumps({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "kernel": np.full((3, 3), 1e38).tolist()}]}))
    out = tmp_path / "o.npy"
    r = subprocess_cli("apply", pipe, image, "-o", out)
    assert (r.returncode, r.stderr) == (0, "")
    y = np.load(out)
    from numpy.lib.stride_tricks import sliding_window_view

    from convstudio.core import load_image

    x = load_image(image).astype(np.float64)
    ref = 1e38 * sliding_window_view(x, (3, 3), axis=(1, 2)).sum(axis=(-1, -2))  # float64: no overflow
    big, small = ref > 3.41e38, ref < 3.39e38  # clear of float32's largest value, 3.403e38
    assert big.any() and small.any()
    assert np.isposinf(y[big]).all()  # beyond float32: +inf, as IEEE 754 rounds it
    np.testing.assert_allclose(y[small], ref[small], rtol=1e-5)


def test_info_reports_peak_memory(tmp_path, capsys):
    assert run_cli("info", BLUR, "--input-shape", "3,100,200", "--json") == 0
    info = json.loads(capsys.readouterr().out)
    from convstudio.core import Pipeline

    assert info["peak_bytes"] == Pipeline.load(BLUR).peak_bytes((3, 100, 200))
    assert info["peak_bytes"] >= 2 * 3 * 100 * 200 * 4  # at least the input and the output
    assert run_cli("info", BLUR, "--input-shape", "3,100,200") == 0
    assert "peak memory of a whole-image apply:" in capsys.readouterr().out


@pytest.mark.parametrize("value", [0, 2])
def test_corrupt_tiff_tag_type_is_one_line(tmp_path, value):
    # A SampleFormat entry whose field type byte is overwritten (found by the fuzz suite): the
    # TIFF reader must refuse it in one line, whichever reader (whole or tiled) opens the file.
    (p,) = save_image(tmp_path / "s.tif", np.random.default_rng(5).random((3, 9, 11), dtype=np.float32))
    data = bytearray(p.read_bytes())
    data[2666 % len(data)] = value
    p.write_bytes(bytes(data))
    r = subprocess_cli("apply", BLUR, p, "-o", tmp_path / "o.npy")
    assert r.returncode in (0, 1)
    assert len(r.stderr.splitlines()) <= 1 and "Traceback" not in r.stderr, r.stderr
    assert not [q for q in tmp_path.iterdir() if q.name.endswith(".tmp")]
