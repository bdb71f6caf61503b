"""The app as a user starts it: a separate process running `run_app(screenshot=...)`, once under
a real X server (Xvfb, platform xcb) and once offscreen; the picture must be the window, not blank.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "samples" / "cat.png"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _launch(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convstudio.app.launch", *args], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


def _check_picture(path: Path, size: tuple[int, int]) -> np.ndarray:
    import cv2

    assert path.is_file(), "no screenshot written"
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None, "the screenshot is not a readable PNG"
    assert (img.shape[1], img.shape[0]) == size
    # Not blank: many distinct colours and real contrast (the photo, the colour maps, text).
    flat = img.reshape(-1, 3)
    assert float(flat.std()) > 20
    assert len(np.unique(flat[:: 7], axis=0)) > 500
    return img


@pytest.fixture
def xvfb():
    """A private X server on a display number it picks itself (-displayfd), killed afterwards."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb xauth); the real-window test "
                    "needs an X server")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1920x1200x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        if not number.isdigit():
            pytest.fail(f"Xvfb did not start (exit code {proc.poll()})")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_real_window_under_xvfb(xvfb, tmp_path):
    out = tmp_path / "window.png"
    r = _launch([str(SAMPLE), "--select-layer", "1", "--screenshot", str(out),
                 "--settings", str(tmp_path / "s.ini")],
                _env(QT_QPA_PLATFORM="xcb", DISPLAY=xvfb))
    assert r.returncode == 0, r.stderr
    _check_picture(out, (1600, 1000))


def test_screenshot_offscreen_in_process(qapp, tmp_path, capsys):
    from convstudio.app.launch import run_app

    out = tmp_path / "shot.png"
    assert run_app(screenshot=str(out)) == 0
    _check_picture(out, (1600, 1000))
    assert list(tmp_path.iterdir()) == [out]  # nothing else left behind (settings, temp files)

    assert run_app(image=str(tmp_path / "missing.png"), screenshot=str(tmp_path / "no.png")) == 2
    err = capsys.readouterr().err
    assert "missing.png" in err and "Traceback" not in err
    assert not (tmp_path / "no.png").exists()

    assert run_app(select_layer=9, screenshot=str(tmp_path / "no.png")) == 2
    assert "--select-layer 9" in capsys.readouterr().err
