"""`convstudio fit`, end to end through cli.main: the learned pipeline is judged by `apply`'s
output, and every error is one line with the documented exit code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convstudio import cli
from convstudio.core import Pipeline

HDR = {"format": "convstudio-pipeline", "version": 1}


def write(tmp_path, name, obj):
    path = tmp_path / name
    if isinstance(obj, np.ndarray):
        np.save(path, obj)
    else:
        path.write_text(json.dumps(obj))
    return str(path)


def applied(tmp_path, pipeline_path, input_path, name):
    out = tmp_path / name
    assert cli.main(["apply", pipeline_path, input_path, "-o", str(out)]) == 0
    return np.load(out).astype(np.float64)


@pytest.fixture
def smooth_then_edges(tmp_path):
    """A fixed blur, the conv layer to learn (a 3 x 3 weight with a bias), tanh and an average
    pool; the target is what a Sobel kernel in its place gives."""
    rng = np.random.default_rng(0)
    x = rng.random((1, 16, 18)).astype(np.float32)
    blur = {"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "scale": 0.0625,
            "padding": "same", "padding_mode": "replicate"}
    tail = [{"type": "tanh"}, {"type": "avgpool2d", "kernel_size": 2}]
    sobel = [[[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]]]
    want = Pipeline.from_dict({**HDR, "layers": [
        blur, {"type": "conv2d", "weight": sobel, "bias": [0.05], "padding": 1}, *tail]})
    start = {**HDR, "layers": [
        blur, {"type": "conv2d", "weight": [[[[0.1, 0, 0], [0, 0.2, 0], [0, 0, -0.1]]]],
               "bias": [0.0], "padding": 1}, *tail]}
    return (write(tmp_path, "start.json", start), write(tmp_path, "x.npy", x),
            write(tmp_path, "target.npy", want.run(x)[-1]))


def test_fit_writes_a_pipeline_whose_output_is_closer_to_the_target(tmp_path, capsys, smooth_then_edges):
    pipeline, x, target = smooth_then_edges
    out = tmp_path / "learned.json"
    code = cli.main(["fit", pipeline, x, target, "--layer", "2", "-o", str(out), "--steps", "150"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert len(lines) == 1
    printed = float(lines[0])
    learned = Pipeline.load(out)
    before = Pipeline.load(pipeline)
    assert learned.layers[0] == before.layers[0] and learned.layers[2:] == before.layers[2:]
    assert learned.layers[1].weight is not None  # the weight form stays the weight form
    t = np.load(target).astype(np.float64)
    mse_before = np.mean((applied(tmp_path, pipeline, x, "before.npy") - t) ** 2)
    mse_after = np.mean((applied(tmp_path, str(out), x, "after.npy") - t) ** 2)
    assert mse_after < 0.3 * mse_before  # plain gradient descent, 150 steps
    # the printed loss is the written pipeline's, as `apply` computes it
    assert printed == pytest.approx(mse_after, rel=1e-6)
    # momentum gets much further in the same number of steps on this ill-conditioned loss
    fast = tmp_path / "fast.json"
    assert cli.main(["fit", pipeline, x, target, "--layer", "2", "-o", str(fast), "--steps", "150",
                     "--momentum", "0.9"]) == 0
    assert float(capsys.readouterr().out) < 0.1 * mse_after


def d2l_files(tmp_path):
    x = np.ones((1, 6, 8), np.float32)
    x[:, :, 2:6] = 0
    y = x[:, :, :-1] - x[:, :, 1:]  # corr2d(X, [[1, -1]])
    pipeline = write(tmp_path, "p.json", {**HDR, "layers": [{"type": "conv2d", "kernel": [[0.3, 0.7]]}]})
    return [pipeline, write(tmp_path, "x.npy", x), write(tmp_path, "y.npy", y)]


def test_fit_learns_the_d2l_edge_kernel_with_given_steps_and_rate(tmp_path, capsys):
    out = tmp_path / "o.json"
    args = ["fit", *d2l_files(tmp_path), "--layer", "1", "-o", str(out), "--steps", "300", "--lr", "0.5"]
    assert cli.main(args) == 0
    assert float(capsys.readouterr().out) < 1e-10
    kernel = json.loads(out.read_text())["layers"][0]["kernel"]
    np.testing.assert_allclose(kernel, [[1, -1]], atol=1e-5)


@pytest.mark.parametrize("change, message", [
    (lambda a, p: a.__setitem__(3, a[2]), "the target is 1 x 16 x 18 but the pipeline's last output is 1 x 8 x 9"),
    (lambda a, p: a.__setitem__(5, "3"), "layer 3: is a tanh layer"),
    (lambda a, p: a.__setitem__(5, "0"), "--layer must be between 1 and 4"),
    (lambda a, p: a.__setitem__(7, a[1]), "is an input; inputs are never overwritten"),
    (lambda a, p: a.__setitem__(7, str(p / "learned.png")), "-o writes a pipeline file (.json)"),
    (lambda a, p: a.extend(["--lr", "-1"]), "--lr must be a finite number > 0"),
    (lambda a, p: a.extend(["--steps", "-2"]), "--steps must be at least 0"),
    (lambda a, p: a.extend(["--momentum", "1"]), "--momentum must be at least 0 and below 1"),
])
def test_bad_usage_is_one_line_and_exit_2(tmp_path, capsys, smooth_then_edges, change, message):
    args = ["fit", *smooth_then_edges, "--layer", "2", "-o", str(tmp_path / "learned.json")]
    before = {p: Path(p).read_bytes() for p in smooth_then_edges}
    change(args, tmp_path)
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("convstudio") and message in err
    assert not (tmp_path / "learned.json").exists() and not (tmp_path / "learned.png").exists()
    assert before == {p: Path(p).read_bytes() for p in smooth_then_edges}


def test_divergence_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "o.json"
    code = cli.main(["fit", *d2l_files(tmp_path), "--layer", "1", "-o", str(out), "--lr", "1000"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "learning rate 1e+03 is too large" in err
    assert not out.exists()


def test_unreadable_input_is_exit_1(tmp_path, capsys, smooth_then_edges):
    pipeline, _, target = smooth_then_edges
    code = cli.main(["fit", pipeline, str(tmp_path / "missing.npy"), target, "--layer", "2",
                     "-o", str(tmp_path / "o.json")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "missing.npy" in err
