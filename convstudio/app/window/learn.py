"""The Learn menu and the Lesson dock: the convolution tutorial, one ready example per section.

Choosing a lesson (Learn menu, the dock's contents page, Previous / Next, or ``convstudio --lesson
ID``) asks first if the pipeline has unsaved changes (the window's ``confirm_discard``), then
loads the lesson's image, its pipeline (untitled, not dirty) and its selected layer, and shows its
explanation in the "Lesson" dock. Tiny images get their numbers written on every pixel
(:class:`~convstudio.app.views.value_labels.ValueLabels`), so the 3 x 3 example reads like the
tutorial's figure.

A lesson opens the same way however it is reached (the menu, Next, ``--lesson``): the clicked
pixel and the pins go with the old image, and once the renderer has computed the lesson, every
view is fitted to show the whole input and the whole selected layer. The Lesson dock is given the
height its text needs, until the user drags its edge. A new image or a new pipeline (New, Open)
ends the lesson: the dock goes back to the list of lessons.

The lessons themselves live in :mod:`convstudio.lessons` (no Qt); this module is only the UI.
"""

from __future__ import annotations

import html
import math

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QStyle,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.i18n import notifier, tr
from convstudio.app.model.throttle import Debouncer
from convstudio.app.views.value_labels import ValueLabels
from convstudio.core.formatting import format_shape, format_short
from convstudio.lessons import LESSONS, Lesson, get_lesson

__all__ = ["LearnController", "LessonPanel", "lesson_html", "contents_html"]

_LINK_SCHEME = "lesson"


def _shape(s) -> str:
    return format_shape(s)


def _numbers(a) -> str:
    """A small array as the tutorial writes it: [[19, 25], [37, 43]]."""
    a = np.asarray(a, dtype=np.float64)

    def fmt(v):
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return format_short(v, whole_below=math.inf)

    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    return fmt(a.tolist())


def _what_to_look_for(lesson: Lesson) -> list[str]:
    exp = lesson.expected
    items = []
    for layer, shape in sorted(exp.get("shapes", {}).items()):
        items.append(tr("Layer {n} output: {shape} (channels x height x width)").format(n=layer, shape=_shape(shape)))
    for layer, values in sorted(exp.get("outputs", {}).items()):
        a = np.asarray(values)
        m = a[0] if a.ndim == 3 and a.shape[0] == 1 else None
        if m is not None and m.shape[0] > 2 and (m == m[:1]).all():
            items.append(tr("Layer {n} values: every row is {values}").format(n=layer, values=_numbers(m[0])))
        elif a.size <= 36:
            items.append(tr("Layer {n} values: {values}").format(n=layer, values=_numbers(values)))
    for layer, rf in sorted(exp.get("receptive_field", {}).items()):
        items.append(tr("Receptive field of layer {n}: {rf} input pixels").format(n=layer, rf=_shape(rf)))
    if "fc_params" in exp:
        items.append(tr("A fully connected layer: {n} parameters").format(n=f"{exp['fc_params']:,}"))
    if "params" in exp:
        items.append(tr("This pipeline: {n} parameters").format(n=f"{exp['params']:,}"))
    return items


def lesson_html(lesson: Lesson, index: int, total: int) -> str:
    """The dock's page for one lesson: title, explanation, what to look for."""
    look = _what_to_look_for(lesson)
    # (the title and the explanation are translated whole: one catalogue entry each)
    parts = ["<p style='color:gray'>" + tr("Lesson {n} of {total}").format(n=index + 1, total=total) + "</p>",
             f"<h3>{html.escape(tr(lesson.title))}</h3>",
             f"<p>{tr(lesson.explanation)}</p>"]  # the explanation is trusted simple HTML
    if look:
        parts.append("<p><b>" + tr("What to look for") + "</b></p><ul>"
                     + "".join(f"<li>{html.escape(t)}</li>" for t in look) + "</ul>")
    parts.append("<p style='color:gray'>" + tr("Click a pixel to see how it is computed. Edit freely: the Learn "
                                               "menu brings the lesson back.") + "</p>")
    return "".join(parts)


def contents_html() -> str:
    """The dock's first page: every lesson as a link."""
    rows = "".join(f"<li><a href='{_LINK_SCHEME}:{html.escape(l.id)}'>{html.escape(tr(l.title))}</a></li>"
                   for l in LESSONS)
    return ("<h3>" + tr("Learn convolution") + "</h3><p>" + tr(
        "The tutorial, one example per section: each opens an image, a pipeline and a short explanation. Walk "
        "through them with Previous and Next.") + "</p><ul>" + rows + "</ul>")


class LessonPanel(QWidget):
    """The Lesson dock's content: the explanation and Previous / Next buttons."""

    previousRequested = Signal()
    nextRequested = Signal()
    lessonRequested = Signal(str)
    resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.browser = QTextBrowser()
        self.browser.setObjectName("lessonText")
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._on_anchor_clicked)
        style = self.style()
        self.previous_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_ArrowLeft),
                                           "Previous")
        self.next_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_ArrowRight),
                                       "Next")
        self.previous_button.setToolTip("The previous lesson")
        self.next_button.setToolTip("The next lesson")
        self.position_label = QLabel()
        self.position_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.previous_button.clicked.connect(self.previousRequested)
        self.next_button.clicked.connect(self.nextRequested)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.previous_button)
        buttons.addWidget(self.position_label, 1)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.browser, 1)
        layout.addLayout(buttons)
        self._shown = -1  # the lesson shown (-1: the contents)
        notifier().languageChanged.connect(self._on_language_changed)
        self.show_contents()

    def _on_language_changed(self, _language: str) -> None:
        """The page, again in the new language (docs/developing.md, "Translations")."""
        if self._shown >= 0:
            self.show_lesson(self._shown)
        else:
            self.show_contents()

    def show_contents(self) -> None:
        self._shown = -1
        self.browser.setHtml(contents_html())
        self.position_label.setText(tr("{n} lessons").format(n=len(LESSONS)))
        self.previous_button.setEnabled(False)
        self.next_button.setEnabled(bool(LESSONS))

    def show_lesson(self, index: int) -> None:
        self._shown = index
        self.browser.setHtml(lesson_html(LESSONS[index], index, len(LESSONS)))
        self.position_label.setText(f"{index + 1} / {len(LESSONS)}")
        self.previous_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(LESSONS) - 1)

    def text(self) -> str:
        return self.browser.toPlainText()

    def text_height(self) -> int:
        """Height the text needs at the browser's width (without a vertical scroll bar)."""
        b = self.browser
        doc = b.document().clone(self)
        try:
            doc.setTextWidth(max(1, b.width() - 2 * b.frameWidth()))
            return math.ceil(doc.size().height())
        finally:
            doc.deleteLater()

    def missing_height(self) -> int:
        """How much taller the browser must be to show the whole text (negative: spare room)."""
        b = self.browser
        return self.text_height() - (b.height() - 2 * b.frameWidth())

    def drop_needless_scroll_bar(self) -> None:
        """Hide a scroll bar left from a smaller size although the text now fits without it
        (the text, wrapped narrower beside the bar, would keep needing it)."""
        b = self.browser
        if b.verticalScrollBar().isVisible() and self.missing_height() <= 0:
            b.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            b.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self.resized.emit()

    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() == _LINK_SCHEME:
            self.lessonRequested.emit(url.path())


class LearnController(QObject):
    """Adds the Learn menu, the Lesson dock and value labels to a main window.

    The window must offer ``doc``, ``renderer``, ``input_view``, ``layer_view``, ``menuBar()``,
    ``confirm_discard()``, ``show_message()``, ``zoom_fit()`` and ``actions_by_name``. Use
    :meth:`open_lesson` from code (``ask=False`` to skip the unsaved-changes question).
    """

    #: A lesson was opened (its index in LESSONS).
    lessonOpened = Signal(int)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._index = -1
        self._opening = False  # open_lesson is replacing the image and the pipeline
        self._fit_generation: int | None = None  # fit the views once this run has finished
        self._keep_fitted = False  # size the dock to its text (until the user resizes it)
        self._panel_fit = Debouncer(0, parent=self)  # once per event-loop turn, at most
        self._panel_fit.triggered.connect(self.fit_panel)

        self.panel = LessonPanel()
        self.panel.previousRequested.connect(self.previous)
        self.panel.nextRequested.connect(self.next)
        self.panel.lessonRequested.connect(lambda lesson_id: self.open_lesson(lesson_id))
        dock = QDockWidget("Lesson", window)
        dock.setObjectName("lessonDock")
        dock.setWidget(self.panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        dock.hide()  # until a lesson opens (a saved layout may show it again)
        self.dock = dock
        self.panel.resized.connect(self._on_panel_resized)
        window.installEventFilter(self)  # a drag of a dock's edge ends the automatic height

        self.actions: dict[str, QAction] = {}
        self.lesson_actions: list[QAction] = []
        self.menu = self._build_menu()
        notifier().languageChanged.connect(self._on_language_changed)

        # Numbers on the pixels of tiny maps, in both views.
        self.value_labels = [ValueLabels(window.input_view), ValueLabels(window.layer_view)]
        doc, renderer = window.doc, window.renderer
        for labels in self.value_labels:
            for signal in (doc.imageChanged, doc.pipelineChanged, doc.selectionChanged,
                           renderer.finished, renderer.layerComputed):
                signal.connect(labels.schedule)
        doc.imageChanged.connect(self._on_document_replaced)
        doc.pipelineReset.connect(self._on_document_replaced)
        renderer.finished.connect(self._on_render_finished)

    # ------------------------------------------------------------------ building
    def _on_language_changed(self, _language: str) -> None:
        for acts in (self.lesson_actions, self._submenu_lesson_actions):
            for act, lesson in zip(acts, LESSONS):  # (the titles are the walker's)
                act.setToolTip(tr("Open the lesson '{id}': image, pipeline and explanation").format(id=lesson.id))

    def _fit_menu(self) -> None:
        """Just before the Learn menu opens: the lessons in it, or in a submenu where the menu
        would not fit the screen's height (1024 x 600, large fonts)."""
        for act in self.lesson_actions:
            act.setVisible(True)
        self.lessons_menu_action.setVisible(False)
        if self._one_column_height() > self._screen_height():
            for act in self.lesson_actions:
                act.setVisible(False)
            self.lessons_menu_action.setVisible(True)

    def _one_column_height(self) -> int:
        """The menu's height with its items in one column (its size hint is that of the columns
        Qt lays a too-tall menu out in)."""
        menu = self.menu
        menu.sizeHint()  # (lays the items out)
        style = menu.style()
        rows = sum(menu.actionGeometry(a).height() for a in menu.actions() if a.isVisible())
        frame = style.pixelMetric(QStyle.PixelMetric.PM_MenuPanelWidth, None, menu)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_MenuVMargin, None, menu)
        return rows + 2 * (frame + margin)

    def _screen_height(self) -> int:
        """The available height of the window's screen (logical pixels)."""
        screen = self.window.screen()
        return screen.availableGeometry().height() if screen is not None else 1 << 30

    def _build_menu(self) -> QMenu:
        w = self.window
        menu = QMenu("Lea&rn", w)
        menu.setObjectName("learnMenu")
        menu.setToolTipsVisible(True)
        # The lessons, and the same lessons in a submenu, shown instead where the menu would be
        # taller than the screen (Qt would lay it out in columns over the menu bar): _fit_menu.
        self.lessons_menu = QMenu("Less&ons", menu)
        self.lessons_menu.setObjectName("lessonsMenu")
        self.lessons_menu.setToolTipsVisible(True)
        self._submenu_lesson_actions: list[QAction] = []
        for i, lesson in enumerate(LESSONS):
            for target, acts in ((menu, self.lesson_actions),
                                 (self.lessons_menu, self._submenu_lesson_actions)):
                act = target.addAction(lesson.title)
                act.setData(lesson.id)
                act.setToolTip(tr("Open the lesson '{id}': image, pipeline and explanation").format(id=lesson.id))
                act.triggered.connect(lambda _c=False, k=i: self.open_lesson(k))
                acts.append(act)
        self.lessons_menu_action = menu.addMenu(self.lessons_menu)
        self.lessons_menu_action.setVisible(False)
        menu.aboutToShow.connect(self._fit_menu)
        menu.addSeparator()

        def action(key: str, text: str, slot, shortcut: str | None, tip: str) -> QAction:
            act = QAction(text, w)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.setToolTip(tip)
            act.setStatusTip(tip)
            act.triggered.connect(lambda _c=False: slot())
            w.addAction(act)  # the shortcut works with the menu closed
            menu.addAction(act)
            self.actions[key] = act
            return act

        action("previous_lesson", "&Previous lesson", self.previous, "Alt+Left",
               "Open the previous lesson")
        action("next_lesson", "&Next lesson", self.next, "Alt+Right", "Open the next lesson")
        action("lesson_panel", "Show the &Lesson panel", self.show_panel, None,
               "Show the explanation panel (and the list of lessons)")
        # The Help ▸ Keyboard shortcuts table lists what is in actions_by_name.
        by_name = getattr(w, "actions_by_name", None)
        if isinstance(by_name, dict):
            by_name["previous_lesson"] = self.actions["previous_lesson"]
            by_name["next_lesson"] = self.actions["next_lesson"]

        bar = w.menuBar()
        help_action = next((a for a in bar.actions()
                            if a.text().replace("&", "").lower() == "help"), None)
        if help_action is not None:
            bar.insertMenu(help_action, menu)
        else:
            bar.addMenu(menu)
        panels = getattr(w, "_panels_menu", None)
        if isinstance(panels, QMenu):
            panels.addAction(self.dock.toggleViewAction())
        return menu

    # ------------------------------------------------------------------ lessons
    @property
    def index(self) -> int:
        """Index (in ``LESSONS``) of the lesson opened last, -1 before the first."""
        return self._index

    @property
    def lesson(self) -> Lesson | None:
        return LESSONS[self._index] if self._index >= 0 else None

    @property
    def fit_pending(self) -> bool:
        """Whether the views wait for the lesson's results to be fitted to them."""
        return self._fit_generation is not None

    @property
    def panel_fit_pending(self) -> bool:
        """Whether the Lesson dock is about to be given the height of its text."""
        return self._panel_fit.pending

    def open_lesson(self, which: int | str | Lesson, *, ask: bool = True) -> bool:
        """Open a lesson (index, id or Lesson): image, pipeline, selected layer, explanation.

        Returns False if the user kept the unsaved pipeline, or the lesson is unknown.
        """
        w = self.window
        try:
            index = self._resolve(which)
        except (KeyError, IndexError) as exc:
            w.show_message(str(exc).strip("'\""), error=True)
            return False
        lesson = LESSONS[index]
        if ask and w.doc.dirty and not w.confirm_discard():
            return False
        doc = w.doc
        cancel_load = getattr(w, "cancel_image_load", None)
        if cancel_load is not None:
            cancel_load()  # an image still loading in the background must not replace this
        # (the new image drops the clicked pixel and the pins: see the window's "seeing why")
        self._opening = True
        try:
            doc.set_image_array(lesson.make_image(), name=lesson.title)
            doc.new_pipeline(lesson.build_pipeline())
        finally:
            self._opening = False
        doc.select(max(0, min(lesson.select_layer, len(doc.pipeline))))
        self._index = index
        self.panel.show_lesson(index)
        self.show_panel()
        self._keep_fitted = True
        self._panel_fit.trigger()
        # Fit the views to what this lesson shows once it is computed, not to what is on
        # screen now (the previous lesson's maps, whose extent may differ).
        renderer = w.renderer
        self._fit_generation = renderer.generation
        if not renderer.busy:
            self._on_render_finished(renderer.generation, None, None)
        w.show_message(tr("Lesson {n} of {total}: {title}").format(n=index + 1, total=len(LESSONS),
                                                                  title=tr(lesson.title)))
        self.lessonOpened.emit(index)
        return True

    def next(self) -> bool:
        if self._index >= len(LESSONS) - 1:
            return False
        return self.open_lesson(self._index + 1)

    def previous(self) -> bool:
        if self._index <= 0:
            return False
        return self.open_lesson(self._index - 1)

    def show_panel(self) -> None:
        self.dock.show()
        self.dock.raise_()

    def fit_panel(self) -> None:
        """Give the docked Lesson dock the height its text needs (as far as the window's other
        docks allow), so that the whole lesson reads without scrolling."""
        self._panel_fit.cancel()
        dock = self.dock
        if dock.isHidden() or dock.isFloating() or not self.window.isVisible():
            return
        missing = self.panel.missing_height()
        if missing > 0 or missing < -8:  # (a little spare room is left as it is)
            w = self.window
            # The docks above and below in the same column give or take the difference (with
            # the Lesson dock alone, Qt moves its edge only half way).
            column = [d for d in w.findChildren(QDockWidget)
                      if d is not dock and d.parent() is w and d.isVisible() and not d.isFloating()
                      and w.dockWidgetArea(d) == w.dockWidgetArea(dock)
                      and d.x() == dock.x() and d.width() == dock.width()]
            want = dock.height() + missing + 2
            if column:
                spare = sum(d.height() for d in column) - (want - dock.height())
                sizes = [max(1, round(d.height() * spare / max(1, sum(c.height() for c in column))))
                         for d in column]
                w.resizeDocks([*column, dock], [*sizes, want], Qt.Orientation.Vertical)
            else:
                w.resizeDocks([dock], [want], Qt.Orientation.Vertical)
        else:
            self.panel.drop_needless_scroll_bar()

    def close_lesson(self) -> None:
        """Forget the lesson (the image or the pipeline is no longer the lesson's): the dock
        shows the list of lessons again."""
        if self._index < 0 and self._fit_generation is None:
            return
        self._index = -1
        self._fit_generation = None
        self._keep_fitted = False
        self._panel_fit.cancel()
        self.panel.show_contents()

    # ------------------------------------------------------------------ events
    def _on_document_replaced(self) -> None:
        if not self._opening:
            self.close_lesson()

    def _on_render_finished(self, generation: int, _outputs, _errors) -> None:
        g = self._fit_generation
        if g is None or generation < g:
            return
        self._fit_generation = None
        self.window.zoom_fit()

    def _on_panel_resized(self) -> None:
        if self._keep_fitted:
            self._panel_fit.trigger()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if (obj is self.window and event.type() == QEvent.Type.MouseButtonPress
                and self.window.childAt(event.position().toPoint()) is None):
            self._keep_fitted = False  # a dock separator: the user sizes the docks now
        elif obj is self.window and event.type() == QEvent.Type.Show and self._keep_fitted:
            self._panel_fit.trigger()
        return False

    def _resolve(self, which: int | str | Lesson) -> int:
        if isinstance(which, Lesson):
            which = which.id
        if isinstance(which, str):
            lesson = get_lesson(which)
            return next(i for i, l in enumerate(LESSONS) if l is lesson)
        i = int(which)
        if not 0 <= i < len(LESSONS):
            raise IndexError(f"no lesson {i}: there are {len(LESSONS)}")
        return i
