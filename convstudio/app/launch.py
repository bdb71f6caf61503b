"""Starting the desktop app: ``run_app`` (called by ``convstudio [IMAGE] [--pipeline FILE] ...``).

Also runnable as ``python -m convstudio.app.launch [IMAGE] [--pipeline FILE] [--select-layer N]
[--lesson ID] [--screenshot OUT.png] [--settings FILE.ini]``.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from convstudio.resources import resource_path

__all__ = ["run_app", "main", "freeze_startup_objects", "SCREENSHOT_TIMEOUT_S"]

SCREENSHOT_TIMEOUT_S = 60.0

#: Seconds a thread may hold the GIL while another waits for it (Python's default is 0.005).
#: The renderer's threads run Python between their NumPy calls, and every Python callback of
#: the GUI thread (a repaint of the kernel grid makes a few hundred: the delegate, the model's
#: data) may wait that long for the GIL. The default doubled the time a kernel edit took to
#: reach the screen; measured beside a busy Python thread, the grid's repaint took 9.7 ms at
#: 1 ms and 5.9 ms at 0.2 ms (2.5 ms alone), while the core's 4-layer run at 6 MP took 2-3 %
#: longer (docs/performance.md, "Round 5").
GIL_SWITCH_INTERVAL_S = 0.0002


_collector = None  # the GuiThreadGarbageCollector, once the QApplication exists


def _make_app():
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from .qtsetup import GuiThreadGarbageCollector

    global _collector
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    if _collector is None:  # cycles are collected on this (the GUI) thread only
        _collector = GuiThreadGarbageCollector()
    app.setApplicationName("ConvStudio")
    app.setOrganizationName("ConvStudio")
    app.setApplicationDisplayName("ConvStudio")
    icon = resource_path("icons", "convstudio.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def run_app(*, image: str | None = None, pipeline: str | None = None,
            select_layer: int | None = None, screenshot: str | None = None,
            settings_path: str | None = None, lesson: str | None = None) -> int:
    """Open the main window with an optional image and pipeline; return the exit code.

    Parameters
    ----------
    image, pipeline : str, optional
        Files to open. A load error is shown in the window and the app goes on (with
        `screenshot`, it is printed to stderr and the exit code is 2).
    select_layer : int, optional
        Layer to select (0 = the input).
    screenshot : str, optional
        Once every layer is computed, save a picture of the window to this PNG and exit (0).
    settings_path : str, optional
        An INI file for the settings instead of the user's (tests, screenshots).
    lesson : str, optional
        Open this lesson of the Learn menu (an id of ``convstudio.lessons.LESSONS``).

    Without `screenshot` the session is autosaved (``convstudio.app.model.autosave``), and a start
    without files or a lesson offers to restore a session that crashed or was killed.
    """
    import tempfile

    _warm_up_the_core()
    app = _make_app()
    from PySide6.QtCore import QSettings

    with contextlib.ExitStack() as cleanup:
        cleanup.enter_context(_quiet_platform_notes())
        if settings_path is not None:
            settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
        elif screenshot is not None:
            # A screenshot must look the same on every machine: never the user's saved layout.
            scratch = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="convstudio-shot-"))
            settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat)
        else:
            settings = QSettings("ConvStudio", "ConvStudio")
        return _run(app, settings, image=image, pipeline=pipeline, select_layer=select_layer,
                    screenshot=screenshot, lesson=lesson)


@contextlib.contextmanager
def _quiet_platform_notes():
    """Drop the offscreen/xcb plugins' notes that are not about this app ("This plugin does
    not support propagateSizeHints()"); every other message goes where it went before."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = None

    def handler(mode, context, message) -> None:
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


def _run(app, settings, *, image, pipeline, select_layer, screenshot, lesson=None) -> int:
    from PySide6.QtCore import QTimer

    from convstudio.app import i18n
    from convstudio.app.model.document import Document
    from convstudio.app.model.renderer import Renderer
    from convstudio.app.window.main_window import MainWindow, default_pipeline

    # The saved language, else the system's; a screenshot is English unless its settings say.
    i18n.set_language(i18n.language_from_settings(settings, i18n.ENGLISH if screenshot else None))
    doc = Document()
    renderer = Renderer(doc)
    window = MainWindow(doc, renderer, settings=settings,
                        first_launch=image is None and pipeline is None and lesson is None)
    if screenshot is None:
        freeze_startup_objects()
    errors: list[str] = []
    if screenshot is not None:
        window.resize(1600, 1000)
        window.report_error = lambda _title, text: errors.append(text)  # type: ignore[method-assign]
        window.confirm_discard = lambda: True  # type: ignore[method-assign]

    if image is not None and not window.open_image(image):
        window.load_default()  # never an empty window; the message says what went wrong
    elif image is None and pipeline is not None:
        window.load_default()
    if pipeline is not None:
        window.open_pipeline(pipeline, ask=False)
    elif image is not None:
        doc.new_pipeline(default_pipeline())
    if lesson is not None:
        _open_lesson(window, doc, lesson)
    if select_layer is not None:
        if 0 <= select_layer <= len(doc.pipeline):
            doc.select(select_layer)
        else:
            window.report_error(i18n.tr("No such layer"), i18n.tr(
                "--select-layer {n}: the pipeline has {count} layers (0 is the input)").format(
                n=select_layer, count=len(doc.pipeline)))

    if screenshot is not None:
        try:
            if errors:
                for e in errors:
                    print(f"convstudio: {e}", file=sys.stderr)
                return 2
            return _screenshot(app, window, renderer, screenshot)
        finally:
            window.shutdown()
            window.close()
            window.deleteLater()
            settings.sync()

    from convstudio.app.model.autosave import AutoSaver

    saver = AutoSaver(window, settings=settings)
    saver.start()
    if image is None and pipeline is None and lesson is None:
        QTimer.singleShot(0, saver.offer_restore)  # once the window shows
    window.autosaver = saver  # type: ignore[attr-defined]
    window.show()
    QTimer.singleShot(0, window.raise_)
    terminated = _quit_on_sigterm(app)
    try:
        code = app.exec()
        window.shutdown()
    finally:
        # A clean exit leaves nothing to restore next time. Ended from outside (a logout, `kill`)
        # nobody was asked about the unsaved work: it is written now and offered at the next
        # start, as after a crash.
        saver.finish(keep=terminated() and doc.dirty)
    return int(code)


def _open_lesson(window, doc, lesson: str) -> None:
    """--lesson ID: open it, or say which lessons there are (over the default image)."""
    from convstudio.app import i18n
    from convstudio.lessons import LESSONS

    if any(lesson == known.id for known in LESSONS):
        window.learn.open_lesson(lesson, ask=False)
    else:
        window.report_error(i18n.tr("No such lesson"), i18n.tr("--lesson {id}: the lessons are {ids}").format(
            id=lesson, ids=", ".join(known.id for known in LESSONS)))
        if doc.image is None:
            window.load_default()


def freeze_startup_objects() -> None:
    """Once the main window is built and before any image opens: the objects alive now live as
    long as the app, and the GUI thread's garbage collector stops rescanning them
    (``GuiThreadGarbageCollector.freeze_startup``; a full collection scanned 170,000 of them,
    55 ms, before)."""
    if _collector is not None:
        _collector.freeze_startup()


def _warm_up_the_core() -> None:
    """Load (or, the first time on a machine, compile) the core's compiled depthwise loop on a
    low-priority thread while the window builds, so that the first render does not wait for it
    (0.3-0.5 s from numba's disk cache, a few seconds to compile; core/jit.py)."""
    import threading

    from convstudio.app.model.worker import BACKGROUND_NICE
    from convstudio.core import fastpaths, jit

    if not jit.available():
        return

    def run() -> None:
        nice = fastpaths.thread_nice()
        if nice is not None:
            fastpaths.set_thread_nice(min(19, nice + BACKGROUND_NICE))
        jit.warm_up()  # a failure turns the path off (with a warning); nothing to report here
        if _collector is not None:  # numba made some 90,000 objects that live as long as the app
            _collector.request_full_collection()

    threading.Thread(target=run, name="convstudio-jit-warm-up", daemon=True).start()


def _quit_on_sigterm(app):
    """SIGTERM ends the event loop (exit status 143, as a shell reports it) instead of killing the
    process mid-paint; returns a callable saying whether it came. Python runs the handler between
    bytecodes, which the GUI-thread collector's timer guarantees a few times a second."""
    import signal

    from convstudio.cliguard import EXIT_TERMINATED

    came = []

    def on_sigterm(_signum, _frame) -> None:
        came.append(True)
        app.exit(EXIT_TERMINATED)

    try:
        signal.signal(signal.SIGTERM, on_sigterm)
    except (ValueError, OSError):  # not the main thread, or an embedding that forbids it
        pass
    return lambda: bool(came)


def _screenshot(app, window, renderer, path: str) -> int:
    from PySide6.QtCore import QDeadlineTimer, QEventLoop, QThread

    window.show()
    deadline = QDeadlineTimer(int(SCREENSHOT_TIMEOUT_S * 1000))
    # Let the layout settle and the renderer's debounce fire, then wait for the latest run.
    settle = QDeadlineTimer(300)
    while not settle.hasExpired():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        QThread.msleep(5)
    renderer.flush()
    if not window.wait_idle(max(1, deadline.remainingTime())):
        print(f"convstudio: the layers were not computed within {SCREENSHOT_TIMEOUT_S:.0f} s; "
              "no screenshot written", file=sys.stderr)
        return 1
    # Paint what arrived (views repaint on the next event loop turns).
    settle = QDeadlineTimer(300)
    while not settle.hasExpired():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        QThread.msleep(5)
    pixmap = window.grab()
    target = Path(path)
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    from convstudio.core.imageio import atomic_write_bytes

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = pixmap.save(buf, "PNG")
    buf.close()
    if not ok:
        print("convstudio: cannot encode the screenshot", file=sys.stderr)
        return 1
    try:
        atomic_write_bytes(target, bytes(data.data()))
    except OSError as exc:
        print(f"convstudio: cannot write '{target}': {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m convstudio.app.launch")
    p.add_argument("image", nargs="?")
    p.add_argument("--pipeline")
    p.add_argument("--select-layer", type=int)
    p.add_argument("--lesson")
    p.add_argument("--screenshot")
    p.add_argument("--settings")
    a = p.parse_args(argv)
    return run_app(image=a.image, pipeline=a.pipeline, select_layer=a.select_layer,
                   screenshot=a.screenshot, settings_path=a.settings, lesson=a.lesson)


if __name__ == "__main__":
    sys.exit(main())
