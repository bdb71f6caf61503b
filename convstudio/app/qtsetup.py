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

    A collection holds the GUI thread for as long as it scans: about 0.4 us an object. Once its
    window is built the app holds some 170,000 tracked objects (modules, classes, functions,
    widgets), and the first render's imports add 90,000, so a full collection took 30-55 ms.
    Two things keep that off the GUI thread's turns:

    - :meth:`freeze_startup`, called once the window exists and before any image is opened,
      exempts what exists then from every later collection (``gc.freeze``);
    - the oldest generation is collected only when it has grown by a quarter since its last
      collection, the interpreter's own rule for automatic collections (``gc.collect(2)``
      alone would run one every eleventh middle-generation collection, every 30 s or so of
      editing). Its size is read only when such a collection would otherwise be due.

    The timer runs every 100 ms, so that a young generation filled by a busy moment (an image
    opening makes tens of thousands of objects) is scanned in smaller pieces.

    Parameters
    ----------
    interval_ms : int
        How often the thresholds are looked at.
    """

    def __init__(self, interval_ms: int = 100) -> None:
        import gc

        from PySide6.QtCore import QTimer

        self._gc = gc
        self._threshold = gc.get_threshold()
        self._long_lived = 0  # objects in the oldest generation after its last collection
        self._full_requested = False
        gc.disable()
        self.timer = QTimer()
        self.timer.setObjectName("ConvStudio garbage collector")
        self.timer.timeout.connect(self.check)
        self.timer.start(int(interval_ms))

    def check(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds (the oldest
        only once it has grown by a quarter, see the class)."""
        gc = self._gc
        counts = gc.get_count()
        t0, t1, t2 = self._threshold
        if self._full_requested:
            self._full_requested = False
            self._collect_all()
        elif counts[0] <= t0:
            return
        elif counts[1] <= t1:
            gc.collect(0)
        elif counts[2] > t2 and len(gc.get_objects(generation=2)) - self._long_lived > self._long_lived // 4:
            self._collect_all()
        else:
            gc.collect(1)

    def _collect_all(self) -> None:
        self._gc.collect(2)
        self._long_lived = len(self._gc.get_objects(generation=2))

    def request_full_collection(self) -> None:
        """Collect every generation at the timer's next turn (callable from any thread): for a
        moment the user does not notice, right after a burst of long-lived objects (the start's
        background loading of the compiled core), which would otherwise be scanned young and
        then once more in full at some later turn."""
        self._full_requested = True

    def freeze_startup(self) -> None:
        """Collect once, then exempt every object alive now from later collections.

        For objects that live as long as the app (what exists once the main window is built);
        a cycle among them that became garbage later would never be collected, so call it before
        any image or document data exists. Costs one full collection (about 50 ms)."""
        self._gc.collect()
        self._gc.freeze()
        self._long_lived = 0

    def stop(self) -> None:
        """Back to automatic collection (the timer stops)."""
        self.timer.stop()
        self._gc.enable()
