"""Fixtures shared by the app tests.

Every window here is the app's own: the real renderer thread and the real background tasks.
Tests wait for results with :func:`settle` (or ``qtbot.waitSignal`` / ``waitUntil``), never by
switching the app into another mode, so they see the order of events users see.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


def settle(w, timeout_ms: int = 60_000) -> None:
    """Wait until window `w` has computed and shown everything it was asked for."""
    assert w.wait_idle(timeout_ms), "the window did not finish its work in time"


@pytest.fixture
def settings(tmp_path) -> QSettings:
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield s
    s.sync()


@pytest.fixture
def make_window(qtbot, settings):
    """A factory of main windows (``make_window(first_launch=False, size=(1300, 850))``; other
    keywords go to the Renderer, e.g. ``preview_pixels``) as the
    app builds them, with dialogs replaced by recorders: ``w.errors`` collects the error texts,
    and discarding work is always confirmed. Every window's threads must stop at the end."""
    from convstudio.app.document import Document
    from convstudio.app.main_window import MainWindow
    from convstudio.app.renderer import Renderer

    made = []

    def make(*, first_launch: bool = False, size: tuple[int, int] | None = (1300, 850),
             debounce_ms: int = 5, settings_=None, **renderer_options):
        doc = Document()
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
        return w

    yield make
    for w in made:
        w.shutdown()
        assert w.renderer._thread is None, "the renderer thread did not stop"
        assert all(task._thread is None for task in w.insight.tasks()), \
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
def renderers(qapp):
    """A factory of Renderers (``renderers(doc, **kw)``) whose worker threads are all shut down,
    and must stop, when the test ends."""
    from convstudio.app.renderer import Renderer

    made: list = []

    def make(doc, **kw):
        r = Renderer(doc, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        assert r.shutdown(), "a renderer thread did not stop"
