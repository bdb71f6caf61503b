"""The core and the session logic must import (and work) without Qt, and importing the app's
package changes nothing: checked in a fresh interpreter, where nothing else has imported Qt yet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

QT_PACKAGES = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "PySide2", "shiboken2", "sip")

# Every module of the core and of the session logic.
PACKAGE = Path(__file__).resolve().parents[2] / "convstudio"
QT_FREE = sorted(f"convstudio.{folder}.{p.stem}" for folder in ("core", "session")
                 for p in (PACKAGE / folder).glob("*.py") if p.stem != "__init__")

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


def test_importing_and_running_the_core_loads_no_qt():
    roots = loaded_roots(["convstudio.core", "convstudio.core.pipeline", "convstudio.core.layers",
                          "convstudio.core.ops", "convstudio.core.errors"], "run")
    assert "convstudio" in roots and "numpy" in roots
    assert not roots & set(QT_PACKAGES), sorted(roots & set(QT_PACKAGES))


@pytest.mark.parametrize("name", QT_FREE)
def test_core_and_session_modules_load_no_qt(name):
    roots = loaded_roots(["convstudio.core", name])
    assert not roots & set(QT_PACKAGES), sorted(roots & set(QT_PACKAGES))


def test_importing_the_app_package_has_no_side_effects():
    """Qt start-up lives in convstudio.app.qtsetup alone: the package itself loads no Qt and
    sets nothing (the launcher and the views import qtsetup)."""
    before = dict(os.environ)
    env = {k: v for k, v in before.items() if k != "PYQTGRAPH_QT_LIB"}
    probe = ("import json, os, sys; import convstudio.app; "
             "print(json.dumps([sorted({m.split('.')[0] for m in sys.modules}), "
             "os.environ.get('PYQTGRAPH_QT_LIB')]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, env=env, check=True)
    roots, binding = json.loads(out.stdout.strip().splitlines()[-1])
    assert not set(roots) & set(QT_PACKAGES) and binding is None


def test_the_probe_would_notice_qt(tmp_path):
    """Guard against a probe that can never fail: a (stand-in) Qt package imported is seen."""
    (tmp_path / "PyQt6").mkdir()
    (tmp_path / "PyQt6" / "__init__.py").write_text("")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    roots = loaded_roots(["convstudio.core", "PyQt6"], env=env)
    assert "PyQt6" in roots & set(QT_PACKAGES)
