"""Fixtures shared by the app tests.

Every window here is the app's own: the real renderer thread and the real background tasks.
Tests wait for results with :func:`settle` (or ``qtbot.waitSignal`` / ``waitUntil``), never by
switching the app into another mode, so they see the order of events users see.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QRectF, QSettings

from convstudio.app.views.shrink import covers

#: The application font (points) of a large-font run started by :func:`rerun_at_font`, else None.
FONT_PT = os.environ.get("CONVSTUDIO_TEST_FONT_PT")


def use_test_font(app) -> None:
    """Give the application the large-font run's font (nothing in a normal run)."""
    if FONT_PT is not None and app.font().pointSizeF() != float(FONT_PT):
        font = app.font()
        font.setPointSizeF(float(FONT_PT))
        app.setFont(font)


def rerun_at_font(test_file: str, tests: tuple[str, ...] = (), *, points: int = 14,
                  **env: str) -> str:
    """Run `tests` of `test_file` (all of it when none are named) in a new process whose
    application font is `points` pt (the font is set once per process), with `env` added to
    the environment; assert they passed and return pytest's output."""
    names = [f"{test_file}::{t}" for t in tests] or [test_file]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x", *names],
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen", CONVSTUDIO_TEST_FONT_PT=str(points), **env),
        cwd=str(Path(__file__).resolve().parents[2]), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout, done.stdout[-2000:]
    return done.stdout


def settle(w, timeout_ms: int = 60_000) -> None:
    """Wait until window `w` has computed and shown everything it was asked for."""
    assert w.wait_idle(timeout_ms), "the window did not finish its work in time"


def shown_kernel_editor(qtbot, size: tuple[int, int] = (420, 600)):
    """A KernelEditor on its own, shown at `size` (the panel's own tests)."""
    from convstudio.app.editing.kernel_editor import KernelEditor

    widget = KernelEditor()
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def grid_drawn(grid) -> bool:
    """Whether FeatureMapGrid `grid` has laid out its small views for the size it has now: shown,
    its graphics root as large as its GraphicsView, its controls' rows settled, the grid layout
    applied, and every small view in the root, not empty, showing the grid's region at the
    subsampling its size asks for (and, zoomed in on a large map, a crop that holds what it
    shows). Qt and pyqtgraph
    apply sizes on later turns of the event loop: a widget test waits on this
    (``qtbot.waitUntil(lambda: grid_drawn(grid))``) before it reads positions or images."""
    gv = grid.grid_graphics_view()
    root = grid._grid_root
    layout = root.layout()
    if not (gv.isVisible() and root.size().toSize() == gv.size()):
        return False
    bar = grid._controls_bar  # its rows of controls settled (a new row would move the maps)
    if bar.isVisible() and bar.minimumHeight() != bar.layout().heightForWidth(max(1, bar.width())):
        return False
    if layout is None or not layout.isActivated():
        return False
    area = QRectF(0, 0, root.size().width(), root.size().height())
    region = grid.view_rect()
    return all(t.isVisible() and not t.size().isEmpty() and area.contains(t.geometry())
               and t._view == region and t.steps() == t._wanted_steps()
               and (t.source is None or covers(t.crop(), t._visible_pixels(), t.source.shape[-2:]))
               for t in grid._tiles)


@pytest.fixture(autouse=True)
def _delete_closed_widgets(monkeypatch):
    """Keep a test's widgets until Qt has deleted them, then let them go.

    pytest-qt closes the widgets given to ``qtbot.addWidget`` after the test and calls
    ``deleteLater()`` on them, but it holds them by weak references. A widget without a parent
    dies with its last Python reference, and the cyclic collector (the GUI thread's, as in the
    app) can reach a test's widget before pytest-qt closes it: Python then clears the object's
    attributes first, and Qt destroys a widget still on screen, whose event filters and overrides
    (leave, hide, layout) run on an object without them: AttributeErrors, once a segfault in
    the next test. So the widgets are held here until after pytest-qt has closed them.

    Outside a running event loop Qt keeps deferring those deletions: every window of the run would
    stay alive (thousands of hidden widgets after a few files), and Qt then delivers the events of
    later tests late (a worker's results by a second, measured); they are done here."""
    from pytestqt.qtbot import QtBot

    held = []
    add = QtBot.addWidget

    def add_and_hold(self, widget, *, before_close_func=None):
        held.append(widget)
        add(self, widget, before_close_func=before_close_func)

    monkeypatch.setattr(QtBot, "addWidget", add_and_hold)
    yield
    if QCoreApplication.instance() is not None:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    held.clear()


@pytest.fixture(scope="session", autouse=True)
def gui_thread_garbage_collection(qapp):
    """As in the app (convstudio.app.qtsetup): cycles are collected on the GUI thread only, so
    that no worker thread ever destroys a Qt object (a deadlock otherwise)."""
    from convstudio.app.qtsetup import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector()
    yield collector
    collector.stop()


@pytest.fixture(scope="session", autouse=True)
def compiled_core_loaded():
    """As in the app (launch.py loads it while the window builds): the core's compiled loop is
    loaded before any window runs, not by a render while a test times the event loop (importing
    numba and loading its library hold the GIL for a moment)."""
    from convstudio.core import jit

    jit.warm_up()


@pytest.fixture
def english_after(qapp):
    """Whatever language the test switches to, the app is English again afterwards."""
    yield
    from convstudio.app import i18n

    i18n.set_language(i18n.ENGLISH)


@pytest.fixture
def settings(tmp_path) -> QSettings:
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield s
    s.sync()


@pytest.fixture
def make_window(qtbot, settings, tmp_path):
    """A factory of main windows as the app builds them, with dialogs replaced by recorders:
    ``w.errors`` collects the error texts, and discarding work is always confirmed. Every
    window's threads must stop at the end (``shutdown`` is idempotent: a test may close a window
    itself, e.g. before another window reads the settings it saved).

    ``make_window(first_launch=False, size=(1300, 850), debounce_ms=5, settings_=None,
    settings_file=None, show=False, document=None, renderer=None, **renderer_options)``:

    - ``first_launch``: open the sample image and pipeline, as the app's first start does.
    - ``size``: resize the window to it (``None``: the size the window chose from its settings and
      the screen).
    - ``settings_``: a QSettings of the test's own; by default the ``settings`` fixture.
    - ``settings_file``: instead, a new QSettings on this INI file in ``tmp_path``, as a new launch
      of the app reads it: windows that must not share settings (each its own file), or a second
      window reading what an earlier one saved (``"settings.ini"`` is the ``settings`` fixture's).
    - ``show``: show the window and wait until it is exposed.
    - ``document``, ``renderer``: the window's Document and Renderer (on that Document), made by
      the test, e.g. to connect a slot of its own before the window's; by default new ones.
    - other keywords go to the Renderer made here, e.g. ``preview_pixels``.
    """
    from convstudio.app.model.document import Document
    from convstudio.app.model.renderer import Renderer
    from convstudio.app.window.main_window import MainWindow

    made = []

    def make(*, first_launch: bool = False, size: tuple[int, int] | None = (1300, 850),
             debounce_ms: int = 5, settings_=None, settings_file: str | None = None,
             show: bool = False, document=None, renderer=None, **renderer_options):
        assert settings_ is None or settings_file is None, "one of settings_ and settings_file"
        assert renderer is None or (document is not None and not renderer_options), \
            "a Renderer given comes with its Document, and its own options"
        if settings_file is not None:
            settings_ = QSettings(str(tmp_path / settings_file), QSettings.Format.IniFormat)
        doc = Document() if document is None else document
        if renderer is None:
            renderer = Renderer(doc, debounce_ms=debounce_ms, **renderer_options)
        w = MainWindow(doc, renderer, settings=settings if settings_ is None else settings_,
                       first_launch=first_launch)
        qtbot.addWidget(w)
        w.confirm_discard = lambda: True  # type: ignore[method-assign]
        w.errors = []  # type: ignore[attr-defined]
        w.report_error = lambda title, text: w.errors.append(text)  # type: ignore[method-assign]
        if size is not None:
            w.resize(*size)
        made.append(w)
        if show:
            w.show()
            qtbot.waitExposed(w)
        return w

    yield make
    for w in made:
        w.shutdown()
        assert not w.renderer.worker.running, "the renderer thread did not stop"
        assert not any(task.running for task in w.insight.tasks()), \
            "a background task did not stop"


@pytest.fixture
def window(make_window):
    """A main window after a first launch (the sample image and pipeline), settled."""
    w = make_window(first_launch=True)
    settle(w)
    return w


@pytest.fixture
def plain_window(make_window):
    """A main window that opened nothing (no image, the empty pipeline)."""
    return make_window(first_launch=False, size=None)


@pytest.fixture
def autosaved_window(make_window):
    """A factory of windows (conftest's, each on the settings file ``name`` in tmp_path) with an
    AutoSaver of the state folder given: ``w, saver = autosaved_window(state)``. The savers finish
    before the windows shut down, as when the app quits, and their threads must stop."""
    from convstudio.app.model.autosave import AutoSaver

    savers: list = []

    def make(state: Path, *, delay_ms: int = 30, name: str = "settings.ini"):
        w = make_window(size=None, debounce_ms=1, settings_file=name)
        saver = AutoSaver(w, state, delay_ms=delay_ms)
        w.autosaver = saver  # as app/launch.py does
        saver.choose_session = lambda sessions, notes=(): pytest.fail("asked unexpectedly")  # type: ignore
        savers.append(saver)
        return w, saver

    yield make
    for s in savers:
        s.finish()
        assert not s.running, "the autosave thread did not stop"


@pytest.fixture
def renderers(qapp):
    """A factory of Renderers (``renderers(doc, **kw)``) whose worker threads are all shut down,
    and must stop, when the test ends."""
    from convstudio.app.model.renderer import Renderer

    made: list = []

    def make(doc, **kw):
        r = Renderer(doc, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        assert r.shutdown(), "a renderer thread did not stop"
