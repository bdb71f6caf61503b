"""Fuzzing the command line's promise (docs/security.md): the example pipelines and sample images
mutated byte-wise and structurally, each run through ``convstudio.cli.main``; for every case the
exit code is 0, 1 or 2, stderr holds at most one line and no traceback, no temporary file is left,
the inputs are unchanged, and memory stays under a cap.

The cases run in ONE worker process (fast: the imports are paid once), whose address space is
capped with ``resource.setrlimit``, and whose fd 2 is captured per case, so that a decoder writing
to the terminal counts as a second line. A few cases also run as real ``python -m convstudio``
processes under the same cap. Derandomised in CI (the ``ci`` Hypothesis profile)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convstudio.core import save_image

resource = pytest.importorskip("resource")  # POSIX only

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.json"))
PNGSUITE = REPO / "tests" / "data" / "pngsuite"
# Address space of the worker beyond what its imports take (numpy, OpenCV, BLAS threads).
MEMORY_CAP = 1536 << 20

WORKER = textwrap.dedent("""
    import json, os, resource, sys, tempfile, traceback
    from convstudio import cli
    size = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
    cap = size + int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    reply = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # what the commands print
    for line in sys.stdin:
        argv = json.loads(line)
        err = tempfile.TemporaryFile()
        saved = os.dup(2)
        os.dup2(err.fileno(), 2)
        crash = None
        try:
            rc = cli.main(argv)
        except BaseException:
            rc, crash = None, traceback.format_exc()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        err.seek(0)
        reply.write(json.dumps({"rc": rc, "err": err.read().decode("utf-8", "replace"),
                                "crash": crash}) + "\\n")
        reply.flush()
""")


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["CONVSTUDIO_NUM_THREADS"] = "1"
    return env


class Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, str(MEMORY_CAP)], env=_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, argv: list[str]) -> dict:
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the worker died on {argv}"
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, bytes]:
    """Valid files of every kind the command line reads."""
    d = tmp_path_factory.mktemp("seeds")
    rng = np.random.default_rng(5)
    x = rng.random((3, 9, 11), dtype=np.float32)
    out = {p.name: p.read_bytes() for p in EXAMPLES}
    for name in ("basn2c08.png", "basn0g16.png", "basi3p08.png", "ibasn6a08.png"):
        if (PNGSUITE / name).exists():
            out[name] = (PNGSUITE / name).read_bytes()
    for name in ("s.tif", "s.jpg", "s.npy", "s.bmp", "s.webp"):
        (p,) = save_image(d / name, x)
        out[name] = p.read_bytes()
    return out


def _mutate_bytes(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Each edit (kind, position, value): overwrite a byte, delete one, insert one, truncate, or
    make a 4-byte field huge (a length or size)."""
    b = bytearray(data)
    for kind, pos, value in edits:
        if not b:
            break
        i = pos % len(b)
        if kind == 0:
            b[i] = value
        elif kind == 1:
            del b[i]
        elif kind == 2:
            b.insert(i, value)
        elif kind == 3:
            del b[i:]
        else:
            b[i:i + 4] = (0x7FFFFFFF - value).to_bytes(4, "big")
    return bytes(b)


_HOSTILE_VALUES = [0, -1, 4096, 1e38, 3e38, -3e38, 1e-45, "same", [], {}, None, True, [4096, 4096],
                   [[1e38] * 3] * 3, 2**31]


def _mutate_json(data: bytes, choices: list[tuple[int, int, int]]) -> bytes:
    """Structural edits of a pipeline: a layer's value replaced by a hostile one, a layer
    duplicated, removed or given a new type."""
    doc = json.loads(data)
    layers = doc["layers"]
    for kind, pick, value in choices:
        if not layers:
            break
        layer = layers[pick % len(layers)]
        if kind == 0 and layer:
            key = sorted(layer)[value % len(layer)]
            layer[key] = _HOSTILE_VALUES[value % len(_HOSTILE_VALUES)]
        elif kind == 1:
            layers.insert(pick % len(layers), json.loads(json.dumps(layer)))
        elif kind == 2:
            layers.remove(layer)
        else:
            layer["type"] = ["pad", "relu", "maxpool2d", "stride", "conv2d", "upsample"][value % 6]
    return json.dumps(doc).encode()


EDITS = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 1 << 20), st.integers(0, 255)),
                 min_size=1, max_size=4)


def _check_case(worker, tmp: Path, pipeline: bytes, image: bytes, image_name: str, command: str):
    for old in tmp.iterdir():
        old.unlink()
    pipe, img = tmp / "p.json", tmp / image_name
    pipe.write_bytes(pipeline)
    img.write_bytes(image)
    if command == "apply":
        argv = ["apply", str(pipe), str(img), "-o", str(tmp / "out.npy")]
    elif command == "check":
        argv = ["check", str(pipe), str(img)]
    else:
        argv = ["info", str(pipe), "--image", str(img), "--json"]
    result = worker.run(argv)
    assert result["crash"] is None, result["crash"]
    assert result["rc"] in (0, 1, 2), result
    err = result["err"]
    assert len(err.splitlines()) <= 1 and "Traceback" not in err, err
    assert pipe.read_bytes() == pipeline and img.read_bytes() == image
    left = {p.name for p in tmp.iterdir()} - {"p.json", image_name, "out.npy"}
    assert not left, left
    if result["rc"] == 0 and command == "apply":
        assert np.load(tmp / "out.npy").dtype == np.float32


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), command=st.sampled_from(["info", "apply", "check"]))
def test_mutated_images(worker, seeds, tmp_path, data, command):
    names = sorted(n for n in seeds if not n.endswith(".json"))
    name = data.draw(st.sampled_from(names))
    image = _mutate_bytes(seeds[name], data.draw(EDITS))
    pipeline = seeds[data.draw(st.sampled_from([p.name for p in EXAMPLES]))]
    _check_case(worker, tmp_path, pipeline, image, "in" + Path(name).suffix, command)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), command=st.sampled_from(["info", "apply", "check"]), structural=st.booleans())
def test_mutated_pipelines(worker, seeds, tmp_path, data, command, structural):
    pipeline = seeds[data.draw(st.sampled_from([p.name for p in EXAMPLES]))]
    edits = data.draw(EDITS)
    pipeline = _mutate_json(pipeline, edits) if structural else _mutate_bytes(pipeline, edits)
    _check_case(worker, tmp_path, pipeline, seeds["s.npy"], "in.npy", command)


def _capped():
    cap = 1 << 31  # 2 GiB in all: the imports take about 0.5 GiB of it
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


@pytest.mark.parametrize("case", ["bomb", "surplus png", "huge scale"])
def test_real_processes_keep_the_promise(tmp_path, seeds, case):
    img = tmp_path / "in.npy"
    img.write_bytes(seeds["s.npy"])
    pipe = tmp_path / "p.json"
    if case == "bomb":  # ~64 GiB if every output were kept
        layers = [{"type": "pad", "padding": 4096}] * 2 + [{"type": "relu"}] * 62
        pipe.write_text(json.dumps({"format": "convstudio-pipeline", "version": 1, "layers": layers}))
    elif case == "huge scale":
        pipe.write_text(json.dumps({"format": "convstudio-pipeline", "version": 1, "layers": [
            {"type": "conv2d", "kernel": [[2.0]], "scale": 3e38}]}))
    else:
        import zlib
        c = zlib.compressobj(9)
        stream = c.compress(b"\0" * 17 * 16) + c.compress(bytes(32 << 20)) + c.flush()

        def chunk(t, body):
            return len(body).to_bytes(4, "big") + t + body + zlib.crc32(t + body).to_bytes(4, "big")
        img.unlink()
        img = tmp_path / "in.png"
        img.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", bytes([0, 0, 0, 16, 0, 0, 0, 16, 8, 0, 0, 0, 0]))
                        + chunk(b"IDAT", stream) + chunk(b"IEND", b""))
        pipe.write_bytes(seeds["gaussian-blur.json"])
    before = img.read_bytes()
    r = subprocess.run([sys.executable, "-m", "convstudio", "apply", str(pipe), str(img), "-o",
                        str(tmp_path / "out.npy")], env=_env(), capture_output=True, text=True,
                       timeout=120, preexec_fn=_capped)
    assert r.returncode in (1, 2), r.stderr
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert img.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["p.json", img.name])
