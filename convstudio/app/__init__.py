"""The ConvStudio desktop application (PySide6 + pyqtgraph). Everything Qt lives under here."""

import os

# pyqtgraph picks the first Qt binding it finds; make sure it is ours.
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import PySide6  # noqa: E402,F401,I001  (imported before pyqtgraph on purpose)
import pyqtgraph as pg  # noqa: E402

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
