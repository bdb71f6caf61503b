"""Test-wide set-up: Qt renders offscreen unless a test opens a real display on purpose."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
