"""Test-wide set-up: Qt renders offscreen unless a test opens a real display on purpose."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

# shared/ (public conformance test data) sits beside the repository checkout.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    path = SHARED / "testdata"
    if not path.is_dir():
        pytest.skip(f"public test data not found at {path}")
    return path
