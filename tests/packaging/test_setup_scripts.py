"""scripts/setup.sh installs once: a second start runs no pip while pyproject.toml and the script
are unchanged, the app's start installs no test tools, and the test run asks for them. Run against
a stand-in venv and stand-in system tools, so nothing is installed for real."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("sha256sum") is None,
                                reason="the setup scripts are bash with coreutils")


def _stub(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def fake(tmp_path):
    """A venv whose python logs what it is asked to do (and imports anything), and system tools
    that report every package installed; apt-get and sudo only log."""
    log = tmp_path / "log.txt"
    log.touch()
    venv, tools = tmp_path / "venv", tmp_path / "tools"
    (venv / "bin").mkdir(parents=True)
    tools.mkdir()
    _stub(venv / "bin" / "python", f'echo "python $*" >> "{log}"\nexit 0\n')
    _stub(venv / "bin" / "convstudio", f'echo "convstudio $*" >> "{log}"\nexit 0\n')
    _stub(tools / "dpkg-query", 'for a in "$@"; do case "$a" in -*) ;; *) '
          'echo "$a install ok installed";; esac; done\n')
    _stub(tools / "apt-get", f'echo "apt-get $*" >> "{log}"\nexit 0\n')
    _stub(tools / "sudo", f'echo "sudo $*" >> "{log}"\nexit 0\n')
    env = {k: v for k, v in os.environ.items() if k not in ("SETUP_WITH_TESTS",
                                                            "EXTRA_SYSTEM_PACKAGES")}
    env.update(VENV=str(venv), PATH=f"{tools}{os.pathsep}{env.get('PATH', '')}")

    def run(script: str, *args: str) -> list[str]:
        start = len(log.read_text().splitlines())
        res = subprocess.run(["bash", str(REPO / "scripts" / script), *args], env=env,
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        return log.read_text().splitlines()[start:]

    run.stamp = venv / ".convstudio-setup"  # type: ignore[attr-defined]
    return run


def _key() -> str:
    data = b"".join((REPO / name).read_bytes()
                    for name in ("pyproject.toml", "constraints.txt", "scripts/setup.sh"))
    return hashlib.sha256(data).hexdigest()


def _pip(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("python -m pip install")]


def test_app_start_installs_once_and_without_test_tools(fake):
    first = fake("run-app.sh", "--help")
    assert _pip(first)[-1] == "python -m pip install --quiet -c constraints.txt -e .[fast]"
    assert first[-1] == "convstudio --help"
    assert fake.stamp.read_text().split() == [_key(), "app"]
    second = fake("run-app.sh", "--help")
    assert _pip(second) == [] and second[-1] == "convstudio --help"
    assert not any(line.startswith(("apt-get", "sudo")) for line in first + second)


def test_an_install_compiles_the_depthwise_loop_once(fake):
    lines = fake("setup.sh")
    warm = 'python -c from convstudio.core import jit; jit.warm_up()'
    assert lines.index(warm) > lines.index(_pip(lines)[-1])  # after the install
    assert warm not in fake("setup.sh")  # installed and unchanged: nothing to do


def test_tests_ask_for_the_test_tools_once(fake):
    fake("setup.sh")
    lines = fake("run-tests.sh", "-q")
    assert _pip(lines)[-1] == "python -m pip install --quiet -c constraints.txt -e .[test,fast]"
    assert lines[-1] == "python -m pytest -p no:cacheprovider -q"
    assert fake.stamp.read_text().split() == [_key(), "test"]
    assert _pip(fake("run-tests.sh")) == []
    assert _pip(fake("run-app.sh")) == []  # the test install holds what the app needs


def test_a_changed_stamp_installs_again(fake):
    fake("setup.sh")
    fake.stamp.write_text("0123 app\n")  # e.g. pyproject.toml changed since
    assert _pip(fake("setup.sh"))[-1] == "python -m pip install --quiet -c constraints.txt -e .[fast]"
    assert _pip(fake("setup.sh", "--test"))[-1] == "python -m pip install --quiet -c constraints.txt -e .[test,fast]"
