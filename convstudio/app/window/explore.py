"""The tutorial's ideas in motion: the shift control, the sliding-window player and the weight hover.

:class:`ExploreController` adds to the main window (and to its Learn menu):

* Learn ▸ Shift the input... : the "Shift the input" dock (:mod:`~convstudio.app.panels.shift_panel`):
  the selected layer's map for the input and for the input shifted by (dy, dx), and their
  difference (:func:`convstudio.session.shift.compare_shift`);
* Learn ▸ Sliding window player: the "Sliding window" dock (:mod:`~convstudio.app.panels.player`)
  over the selected conv or pooling layer, around the clicked pixel
  (:func:`convstudio.session.sliding.plan_steps`, from the renderer's maps);
* hovering a kernel weight highlights the input pixels it multiplies
  (:mod:`~convstudio.app.views.weight_hover_overlay`).

Each computation is a job on a :class:`~convstudio.app.model.worker.Worker` of its own (newest
job wins), never on the GUI thread; a dock computes only while it is shown. :meth:`shutdown`
stops the workers (the window calls it when it closes). docs/user-guide.md describes all three.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow

from convstudio.app.i18n import tr_noop
from convstudio.app.model.worker import Worker, process_events_until
from convstudio.app.panels.player import PlayerPanel
from convstudio.app.panels.shift_panel import ShiftPanel, shift_display
from convstudio.app.views.weight_hover_overlay import WeightHover
from convstudio.session.shift import compare_shift
from convstudio.session.sliding import SLIDING_TYPES, plan_steps

__all__ = ["ExploreController", "install_explore"]



def _shift_job(pipeline, image, layer: int, dy: int, dx: int, mode: str):
    """The shift worker's job: the comparison, its numbers and the planes the dock paints, all
    computed here (whole-map work that took seconds on the GUI thread at 24 MP)."""
    c = compare_shift(pipeline, image, layer, dy, dx, mode)  # (the worker makes it cancellable)
    _ = c.change, c.max_interior_difference  # cached on `c` for the summary
    return c, shift_display(c, 0)

class ExploreController(QObject):
    """See the module docstring. The window must offer ``doc``, ``renderer``, ``view_state``,
    ``input_view``, ``kernel_editor``, ``learn`` (its ``menu``), ``show_message()``."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.doc, self.renderer = window.doc, window.renderer
        self.shift_task = Worker("ConvStudio shift", self)
        self.sliding_task = Worker("ConvStudio sliding window", self)
        self.hover_task = Worker("ConvStudio weight hover", self)
        self._closed = False

        self.shift_panel = ShiftPanel()
        self.player = PlayerPanel()
        self.shift_dock = self._dock("Shift the input", "shiftDock", self.shift_panel)
        self.player_dock = self._dock("Sliding window", "slidingDock", self.player)
        self.weight_hover = WeightHover(window, self.hover_task)
        self.actions: dict[str, QAction] = {}
        self._build_actions()

        d = self.doc
        for signal in (d.imageChanged, d.pipelineChanged, d.selectionChanged):
            signal.connect(self.update_shift)
        self.shift_panel.shiftChanged.connect(self.update_shift)
        self.shift_dock.visibilityChanged.connect(lambda _v: self.update_shift())
        self.shift_task.done.connect(lambda _t, r: self.shift_panel.show_comparison(r[0], display=r[1]))
        self.shift_task.failed.connect(lambda _t, m: self.shift_panel.show_message(m))
        self.renderer.finished.connect(lambda *_a: self.update_player())
        d.selectionChanged.connect(self.update_player)
        window.view_state.pixelChanged.connect(lambda _m: self.update_player())
        self.player_dock.visibilityChanged.connect(lambda _v: self.update_player())
        self.sliding_task.done.connect(lambda _t, plan: self.player.set_plan(plan))
        self.sliding_task.failed.connect(lambda _t, m: self.player.set_plan(None, m))

    def _dock(self, title: str, name: str, widget) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.hide()  # until asked for (a saved layout may show it again)
        return dock

    def _build_actions(self) -> None:
        menu = self.window.learn.menu
        first = self.window.learn.actions.get("previous_lesson")  # (past the lessons and their separator)
        for key, text, dock, tip in (
                ("shift_input", "&Shift the input...", self.shift_dock,
                 "Compare the selected layer's map for the input and the input shifted by (dy, dx)"),
                ("sliding_player", "Sliding &window player", self.player_dock,
                 "Play the selected conv or pooling layer's window, step by step")):
            act = QAction(text, self.window)
            act.setToolTip(tip)
            act.setStatusTip(tip)
            act.triggered.connect(lambda _c=False, d=dock: self.open_dock(d))
            menu.insertAction(first, act)
            self.actions[key] = act
        menu.insertSeparator(first)
        panels = getattr(self.window, "_panels_menu", None)
        if panels is not None:
            panels.addAction(self.shift_dock.toggleViewAction())
            panels.addAction(self.player_dock.toggleViewAction())

    def open_dock(self, dock: QDockWidget) -> None:
        """Show `dock` and give it room: the player's grids and the shift panel's three maps are
        unreadable in the sliver a bottom dock gets beside the others. Where the bottom row has
        no room for it beside the docks already there (each keeping a readable width), it opens
        as a tab over the widest of them: side by side, the window would grow past its size,
        on a small screen past the screen's edge."""
        was_visible = dock.isVisible()
        w = self.window
        want_w = max(560, w.width() * 2 // 5)
        host = None
        if not was_visible and not dock.isFloating() and not w.tabifiedDockWidgets(dock) \
                and w.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea:
            host = self._tab_host(dock, want_w)
        if host is not None:
            w.tabifyDockWidget(host, dock)  # (before it shows: side by side, it would widen the window)
        dock.show()
        dock.raise_()
        if dock.isFloating():
            return
        if host is None and dock.width() < want_w:
            w.resizeDocks([dock], [want_w], Qt.Orientation.Horizontal)
        want_h = max(w.height() * 3 // 10, min(300, w.height() * 2 // 5))  # (the maps keep the rest)
        if dock.height() < want_h:
            w.resizeDocks([dock], [want_h], Qt.Orientation.Vertical)

    #: The width a dock beside the new one keeps at least (or its own preferred width, if less):
    #: the Inspector's numbers wrap in the middle below it.
    READABLE_DOCK_WIDTH = 264

    def _tab_host(self, dock: QDockWidget, want_w: int) -> QDockWidget | None:
        """The bottom dock to put `dock` on as a tab, or None when the bottom row has room for
        `dock` at `want_w` beside the docks shown there."""
        w = self.window
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        others = [d for d in w.findChildren(QDockWidget)
                  if d is not dock and d.isVisible() and not d.isFloating() and w.dockWidgetArea(d) == bottom]
        if not others:
            return None
        row = w.width()
        for corner, area in ((Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea),
                             (Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)):
            if w.corner(corner) == area:  # that side's column runs down beside the bottom row
                row -= max((d.width() for d in w.findChildren(QDockWidget)
                            if d.isVisible() and not d.isFloating() and w.dockWidgetArea(d) == area), default=0)
        separator = w.style().pixelMetric(w.style().PixelMetric.PM_DockWidgetSeparatorExtent, None, w)
        need = sum(max(d.minimumSizeHint().width(), min(d.sizeHint().width(), self.READABLE_DOCK_WIDTH))
                   + separator for d in others)
        need += max(want_w, dock.minimumSizeHint().width())
        return None if need <= row else max(others, key=lambda d: d.width())

    # ------------------------------------------------------------------ shift
    def update_shift(self, *_args) -> None:
        """Compare the maps again (only while the dock is shown)."""
        if self._closed or not self.shift_dock.isVisible():
            return
        doc = self.doc
        k = doc.selected
        if doc.image is None or not 1 <= k <= len(doc.pipeline):
            self.shift_task.cancel()
            self.shift_panel.show_message(tr_noop("Select a layer (not the input) to compare its maps."))
            return
        dy, dx, mode = self.shift_panel.shift()
        pipeline, image = doc.pipeline, doc.image
        self.shift_panel.say(tr_noop("Computing..."))
        self.shift_task.submit(lambda ctx: _shift_job(pipeline, image, k, dy, dx, mode))

    # ------------------------------------------------------------------ player
    def update_player(self, *_args) -> None:
        """Plan the selected layer's steps from the renderer's maps (only while the dock is shown)."""
        if self._closed or not self.player_dock.isVisible():
            return
        doc, r = self.doc, self.renderer
        k, layer = doc.selected, doc.selected_layer
        if layer is None or layer.type not in SLIDING_TYPES:
            self.sliding_task.cancel()
            self.player.set_plan(None, tr_noop("Select a conv or pooling layer to play its window."))
            return
        if r.busy or r.pipeline != doc.pipeline or len(r.outputs) < k or r.input is None:
            return  # the renderer's `finished` brings us back
        x = r.input if k == 1 else r.outputs[k - 2]
        out = r.outputs[k - 1]
        mark = self.window.view_state.pixel
        centre = (mark.row, mark.col) if mark is not None and mark.layer == k else None
        channel = mark.channel if mark is not None and mark.layer == k else 0
        self.player.set_plan(None, tr_noop("Preparing the steps..."))
        self.sliding_task.submit(lambda ctx: plan_steps(layer, x, out, channel, centre=centre))

    # ------------------------------------------------------------------ teardown
    def tasks(self) -> list[Worker]:
        return [self.shift_task, self.sliding_task, self.hover_task]

    @property
    def busy(self) -> bool:
        return any(t.busy for t in self.tasks())

    def wait_idle(self, timeout_ms: int = 30_000) -> bool:
        return process_events_until(lambda: not self.busy, timeout_ms)

    def shutdown(self) -> None:
        """Stop the animation and every worker thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.player.pause()
        self.weight_hover.overlay.stop()
        for task in self.tasks():
            task.shutdown()


def install_explore(window) -> ExploreController:
    """Add the shift control, the sliding-window player and the weight hover to `window`."""
    return ExploreController(window)
