"""The core must import (and work) without Qt: checked in a fresh interpreter, where nothing else
has imported Qt yet."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

QT_PACKAGES = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "PySide2", "shiboken2", "sip")

# Every module of the core, whoever wrote it, plus those the brief names even if not written yet.
CORE_DIR = Path(__file__).resolve().parents[2] / "convstudio" / "core"
OPTIONAL = sorted({f"convstudio.core.{p.stem}" for p in CORE_DIR.glob("*.py") if p.stem != "__init__"}
                  | {"convstudio.core.imageio", "convstudio.core.kernels", "convstudio.core.crosscheck"})

PROBE = r"""
import importlib, json, sys
names = json.loads(sys.argv[1])
for name in names:
    importlib.import_module(name)
if "run" in sys.argv[2:]:
    import numpy as np
    from convstudio.core import Pipeline
    p = Pipeline.from_dict({"format": "convstudio-pipeline", "version": 1, "layers": [
        {"type": "conv2d", "kernel": [[1, 2], [3, 4]], "padding": "same"},
        {"type": "maxpool2d", "kernel_size": 2}, {"type": "sigmoid"}]})
    p.run(np.ones((6, 6), dtype=np.float32))
    p.info((1, 6, 6))
    p.to_json()
roots = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps(roots))
"""

ROOT = Path(__file__).resolve().parents[2]


def loaded_roots(modules: list[str], *extra: str, env: dict | None = None) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(modules), *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def present(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def test_importing_and_running_the_core_loads_no_qt():
    roots = loaded_roots(["convstudio.core", "convstudio.core.pipeline", "convstudio.core.layers",
                          "convstudio.core.ops", "convstudio.core.errors"], "run")
    assert "convstudio" in roots and "numpy" in roots
    assert not roots & set(QT_PACKAGES), sorted(roots & set(QT_PACKAGES))


@pytest.mark.parametrize("name", OPTIONAL)
def test_optional_core_modules_load_no_qt(name):
    if not present(name):
        pytest.skip(f"{name} does not exist (yet)")
    roots = loaded_roots(["convstudio.core", name])
    assert not roots & set(QT_PACKAGES), sorted(roots & set(QT_PACKAGES))


def test_the_probe_would_notice_qt(tmp_path):
    """Guard against a probe that can never fail: a (stand-in) Qt package imported is seen."""
    (tmp_path / "PyQt6").mkdir()
    (tmp_path / "PyQt6" / "__init__.py").write_text("")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    roots = loaded_roots(["convstudio.core", "PyQt6"], env=env)
    assert "PyQt6" in roots & set(QT_PACKAGES)
