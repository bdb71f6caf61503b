"""Test-wide set-up: Qt renders offscreen unless a test opens a real display on purpose, and
Hypothesis runs the same examples on every CI run (``CI`` set) while it explores locally."""

import os

from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

# derandomize: a failure in CI is a failure of the change, not of the draw
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
