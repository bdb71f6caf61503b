"""Qt start-up, in one place: pyqtgraph on ConvStudio's binding, with ConvStudio's options.

Importing this module does that once. Every module that draws with pyqtgraph takes ``pg`` from
here (``from convstudio.app.qtsetup import pg``), so the options are set before any view exists,
whichever module is imported first; the launcher imports it before it makes the QApplication.
Nothing else in the app changes process-wide state on import.
"""

import os

# pyqtgraph picks the first Qt binding it finds; make it ours.
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import PySide6  # noqa: E402,F401,I001  (before pyqtgraph, which then finds this binding)
import pyqtgraph as pg  # noqa: E402

# Arrays are (rows, columns) as everywhere in ConvStudio; smooth lines for the overlays.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

__all__ = ["pg"]


class GuiThreadGarbageCollector:
    """Python's cyclic garbage collector, run on the GUI thread only.

    Automatic collection runs on whichever thread happens to allocate. When that is a worker
    (the renderer, a panel's job), a Qt object caught in a reference cycle is destroyed there:
    its destructor takes Qt's signal-slot lock and then waits for the GIL, while the GUI thread,
    holding the GIL, waits for that lock to destroy widgets of its own. Both wait for ever (seen
    as a frozen window). So automatic collection is switched off and a timer on the GUI thread
    collects, generation by generation, with the interpreter's own thresholds, as pyqtgraph's
    GarbageCollector does. Reference counting, which frees almost everything, is unaffected.

    Parameters
    ----------
    interval_ms : int
        How often the thresholds are looked at.
    """

    def __init__(self, interval_ms: int = 250) -> None:
        import gc

        from PySide6.QtCore import QTimer

        self._gc = gc
        self._threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer()
        self.timer.setObjectName("ConvStudio garbage collector")
        self.timer.timeout.connect(self.check)
        self.timer.start(int(interval_ms))

    def check(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds."""
        gc = self._gc
        counts = gc.get_count()
        for generation in range(3):
            if counts[generation] <= self._threshold[generation]:
                break
            gc.collect(generation)

    def stop(self) -> None:
        """Back to automatic collection (the timer stops)."""
        self.timer.stop()
        self._gc.enable()
