"""The core and the session logic must import (and work) without Qt, and importing the app's
package changes nothing: checked in fresh interpreters, where nothing else has imported Qt yet."""

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

# One interpreter imports each module as if alone: before each, every convstudio module is dropped
# from sys.modules, so the module and the convstudio modules it needs run afresh (an import cycle
# that only shows when a module is imported first fails here). What each import adds to
# sys.modules is recorded. Third-party packages stay loaded between modules; that hides nothing:
# a package that loaded Qt would have put Qt into sys.modules at the first module that imported it,
# and that module's entry would show it.
EACH_ALONE = r"""
import importlib, importlib.machinery, json, sys, traceback
# Each source file is compiled once, not once per re-import (the bytecode is the same; the module's
# code still runs afresh every time).
compiled = {}
get_code = importlib.machinery.SourceFileLoader.get_code
def get_code_once(loader, fullname):
    if loader.path not in compiled:
        compiled[loader.path] = get_code(loader, fullname)
    return compiled[loader.path]
importlib.machinery.SourceFileLoader.get_code = get_code_once
report = {}
for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m == "convstudio" or m.startswith("convstudio.")]:
        del sys.modules[loaded]
    before = set(sys.modules)
    try:
        importlib.import_module("convstudio.core")
        importlib.import_module(name)
        error = None
    except Exception:
        error = traceback.format_exc()
    report[name] = {"added": sorted({m.split(".")[0] for m in set(sys.modules) - before}), "error": error}
print(json.dumps({"modules": report, "roots": sorted({m.split(".")[0] for m in sys.modules})}))
"""

ROOT = Path(__file__).resolve().parents[2]


def _probe(script: str, *args: str, env: dict | None = None):
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def loaded_roots(modules: list[str], *extra: str, env: dict | None = None) -> set[str]:
    return set(_probe(PROBE, json.dumps(modules), *extra, env=env))


@pytest.fixture(scope="module")
def each_alone() -> dict:
    """What importing each of QT_FREE alone loads, from one fresh interpreter (EACH_ALONE)."""
    return _probe(EACH_ALONE, json.dumps(QT_FREE))


def test_importing_and_running_the_core_loads_no_qt():
    roots = loaded_roots(["convstudio.core", "convstudio.core.pipeline", "convstudio.core.layers",
                          "convstudio.core.ops", "convstudio.core.errors"], "run")
    assert "convstudio" in roots and "numpy" in roots
    assert not roots & set(QT_PACKAGES), sorted(roots & set(QT_PACKAGES))


@pytest.mark.parametrize("name", QT_FREE)
def test_core_and_session_modules_load_no_qt(each_alone, name):
    """The module imports on its own (with convstudio.core, in an interpreter where no convstudio
    module is loaded) and loads no Qt package; see EACH_ALONE for why one interpreter shows both."""
    entry = each_alone["modules"][name]
    assert entry["error"] is None, entry["error"]
    added = set(entry["added"])
    assert "convstudio" in added  # the probe really imported it afresh
    assert not added & set(QT_PACKAGES), sorted(added & set(QT_PACKAGES))


def test_importing_every_core_and_session_module_loads_no_qt(each_alone):
    """All of them together leave no Qt package in the interpreter either."""
    roots = set(each_alone["roots"])
    assert "convstudio" in roots and "numpy" in roots
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


def test_the_probes_would_notice_qt(tmp_path):
    """Guard against probes that can never fail: a (stand-in) Qt package imported is seen by both
    probes, the one-interpreter probe puts it on the module that imported it, and a module that
    fails to import is reported as such."""
    (tmp_path / "PyQt6").mkdir()
    (tmp_path / "PyQt6" / "__init__.py").write_text("")
    (tmp_path / "broken_module.py").write_text("raise ImportError('broken on purpose')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    roots = loaded_roots(["convstudio.core", "PyQt6"], env=env)
    assert "PyQt6" in roots & set(QT_PACKAGES)
    report = _probe(EACH_ALONE, json.dumps(["convstudio.core.errors", "PyQt6", "broken_module"]), env=env)
    modules = report["modules"]
    assert modules["convstudio.core.errors"]["error"] is None
    assert "PyQt6" not in modules["convstudio.core.errors"]["added"]
    assert modules["PyQt6"]["error"] is None and "PyQt6" in modules["PyQt6"]["added"]
    assert "broken on purpose" in modules["broken_module"]["error"]
    assert "PyQt6" in report["roots"]
