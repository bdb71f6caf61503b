"""Test-wide set-up: Qt renders offscreen unless a test opens a real display on purpose, and
Hypothesis runs the same examples on every CI run (``CI`` set) while it explores locally."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

# derandomize: a failure in CI is a failure of the change, not of the draw
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _plain_memory_outside_the_app(request):
    """The core, the command line and the API allocate with plain NumPy; only the app's renderer
    installs a recycler of layer outputs (``core/buffers.py``, once per process). Tests outside
    tests/app run as the command line does, whatever an app test in the same process installed."""
    from convstudio.core import buffers

    if "app" in Path(str(request.node.path)).relative_to(Path(__file__).parent).parts[:1]:
        yield
        return
    previous = buffers.install(None)
    try:
        yield
    finally:
        buffers.install(previous)
