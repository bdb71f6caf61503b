"""Building the "seeing why" controls: the actions, the two bottom docks, their menus and the
layer list's context menu, the docks' default layout, and Edit ▸ Copy as PyTorch / NumPy/OpenCV.

A mixin of :class:`~convstudio.app.window.insight.InsightController` (see that module); it uses the
controller's ``window``, ``doc`` and slots.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QTabWidget

from convstudio.app.i18n import tr
from convstudio.app.panels.combined_panel import CombinedKernelPanel
from convstudio.app.panels.crosscheck_panel import CrossCheckPanel
from convstudio.app.panels.inspector import InspectorPanel
from convstudio.app.panels.receptive_panel import ReceptivePanel
from convstudio.app.panels.shapes_panel import ShapesPanel
from convstudio.app.window import code_export
from convstudio.app.window.code_export import KINDS, default_in_channels
from convstudio.app.window.pipeline_files import head_start

__all__ = ["InsightActionsMixin"]


class InsightActionsMixin:
    """Actions, docks, menus, layout and code export of :class:`InsightController`."""

    # ================================================================== building
    def _action(self, text: str, slot, *, tip: str, shortcut=None, checkable: bool = False) -> QAction:
        act = QAction(text, self.window)
        act.setToolTip(tip)
        act.setStatusTip(tip)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setCheckable(checkable)
        if checkable:
            act.toggled.connect(slot)
        else:
            act.triggered.connect(lambda _c=False: slot())
        return act

    def _build_actions(self) -> None:
        w = self.window
        a = self.actions = {}
        a["erf"] = self._action("ERF heat map", self._on_erf_toggled, checkable=True,
                                tip="Show the effective receptive field of the clicked pixel "
                                    "(the exact gradient of its value with respect to every "
                                    "input pixel) as a heat map over the input")
        a["clear_pins"] = self._action("Clear receptive-field pins", self.clear_pins,
                                       shortcut="Esc", tip="Remove every pinned receptive-field "
                                                           "box")
        a["clear_pins"].setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        w.centralWidget().addAction(a["clear_pins"])
        a["compare_borders"] = self._action("Compare border modes…", self.compare_border_modes,
                                            tip="Show the selected conv layer with zeros / "
                                                "reflect / replicate / circular padding side by "
                                                "side")
        a["combined"] = self._action("Show combined kernel", self.show_combined,
                                     tip="The single kernel equivalent to the linear layers up "
                                         "to the selected one")
        a["copy_pytorch"] = self._action("Copy as PyTorch", lambda: self.copy_code("pytorch", wait=False),
                                         tip="Copy the pipeline as an nn.Sequential with its "
                                             "weights")
        a["copy_numpy"] = self._action("Copy as NumPy/OpenCV", lambda: self.copy_code("numpy", wait=False),
                                       tip="Copy the pipeline as a standalone NumPy + OpenCV "
                                           "script")
        by_name = getattr(w, "actions_by_name", None)
        if isinstance(by_name, dict):
            by_name["clear_pins"] = a["clear_pins"]  # listed in Help ▸ Keyboard shortcuts

    def _dock(self, title: str, name: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.window.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        w = self.window
        self.inspector = InspectorPanel()
        self.shapes = ShapesPanel()
        self.receptive = ReceptivePanel(self.actions["erf"])
        self.receptive.addAction(self.actions["clear_pins"])
        self.crosscheck = CrossCheckPanel(w.linker)
        self.combined = CombinedKernelPanel()
        # The four bottom panels are pages of one dock rather than four tabified docks: PySide6
        # 6.11's QMainWindow leaves a stray, painted tab bar behind when a second group of
        # tabified docks is formed (the Inspector / Layer parameters group is the only one).
        self.tabs = QTabWidget()
        self.tabs.setObjectName("insightTabs")
        self.tabs.setDocumentMode(True)
        self.pages = {"shapes": self.shapes, "receptive": self.receptive,
                      "crosscheck": self.crosscheck, "combined": self.combined}
        for key, title in (("shapes", "Shapes && formula"), ("receptive", "Receptive fields"),
                           ("crosscheck", "Cross-check"), ("combined", "Combined kernel")):
            self.tabs.addTab(self.pages[key], title)
        self.tabs.setCurrentWidget(self.receptive)
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.insight_dock = self._dock("Seeing why", "insightDock", self.tabs, bottom)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector, bottom)
        self.docks = [self.insight_dock, self.inspector_dock]
        self._arrange_docks()

    def _arrange_docks(self) -> None:
        # Side by side at the bottom, under the views: the inspector is wide (window × kernel =
        # products per channel) and wants to be seen together with the maps it explains.
        self.window.splitDockWidget(self.insight_dock, self.inspector_dock,
                                    Qt.Orientation.Horizontal)

    def show_page(self, key: str) -> None:
        """Show one of the bottom pages ("shapes", "receptive", "crosscheck", "combined")."""
        self.insight_dock.show()
        self.insight_dock.raise_()
        self.tabs.setCurrentWidget(self.pages[key])

    def _build_menus(self) -> None:
        w = self.window
        bar = w.menuBar()
        menus = {a.text().replace("&", "").lower(): a.menu() for a in bar.actions()
                 if isinstance(a.menu(), QMenu)}
        edit, view, layer = menus.get("edit"), menus.get("view"), menus.get("layer")
        if edit is not None:
            edit.addSeparator()
            edit.addAction(self.actions["copy_pytorch"])
            edit.addAction(self.actions["copy_numpy"])
        if view is not None:
            view.addSeparator()
            view.addAction(self.actions["erf"])
            view.addAction(self.actions["clear_pins"])
        if layer is not None:
            layer.addSeparator()
            layer.addAction(self.actions["compare_borders"])
            layer.addAction(self.actions["combined"])
        panels = getattr(w, "_panels_menu", None)
        if isinstance(panels, QMenu):
            for dock in self.docks:
                panels.addAction(dock.toggleViewAction())
            pages = panels.addMenu("Seeing why &pages")
            for key, title in (("shapes", "Shapes && formula"), ("receptive", "Receptive fields"),
                               ("crosscheck", "Cross-check"), ("combined", "Combined kernel")):
                pages.addAction(title).triggered.connect(lambda _c=False, k=key: self.show_page(k))
        # The layer list's right-click menu: its own actions and the two about one layer.
        view_widget = w.layer_panel.view
        view_widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view_widget.customContextMenuRequested.connect(self._on_layer_context_menu)

    def _on_layer_context_menu(self, pos) -> QMenu:
        lp = self.window.layer_panel
        menu = QMenu(lp.view)
        for key in ("duplicate", "move_up", "move_down", "toggle", "remove"):
            if key in lp.actions:
                menu.addAction(lp.actions[key])
        menu.addSeparator()
        menu.addAction(self.actions["compare_borders"])
        menu.addAction(self.actions["combined"])
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(lp.view.viewport().mapToGlobal(pos))
        return menu

    def _apply_default_sizes(self) -> None:
        if self._closed:
            return
        w = self.window
        w.resizeDocks([self.insight_dock], [280], Qt.Orientation.Vertical)
        width = max(400, w.width())
        w.resizeDocks([self.insight_dock, self.inspector_dock], [int(width * 0.58),
                                                                 int(width * 0.42)],
                      Qt.Orientation.Horizontal)

    def reset_layout(self) -> None:
        """Put the docks back where they start (View ▸ Reset layout)."""
        w = self.window
        for dock in self.docks:
            dock.setFloating(False)
            w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            dock.show()
        self._arrange_docks()

    # ================================================================== code export
    def copy_code(self, kind: str, *, wait: bool = True) -> str | None:
        """Edit ▸ Copy as PyTorch / NumPy/OpenCV: the pipeline as `kind` code on the clipboard.

        The text is made on the code worker (a model trunk with a million weights takes over a
        second) from the pipeline as it is now, and put on the clipboard when it arrives, with a
        message; the newest copy asked for wins. With ``wait=False`` (the menu) the call returns
        None at once; with ``wait`` it processes events until the text arrived and returns it
        (None if the code could not be written: the status bar says why).
        """
        name = KINDS[kind][0]
        pipeline = self.doc.pipeline
        c = default_in_channels(pipeline, self.doc.image_shape)
        token = self.code_task.submit(lambda _ctx, p=pipeline: (c, code_export.generate(kind, p, c)),
                                      head_start_s=head_start(pipeline))
        self._code_asked = (token, name)
        if not wait:
            return None
        self.code_task.wait_idle()
        copied = self._code_copied
        return copied[1] if copied is not None and copied[0] == token else None

    def _on_code_done(self, token: int, result: tuple[int, str]) -> None:
        c, text = result
        name = self._code_asked[1]  # (the worker delivers the newest copy asked for only)
        QGuiApplication.clipboard().setText(text)
        self._code_copied = (token, text)
        lines = text.count("\n")
        self.window.show_message((tr("Copied {lines} lines of {name} code to the clipboard (1 input channel).")
                                  if c == 1 else tr("Copied {lines} lines of {name} code to the clipboard "
                                                    "({c} input channels).")).format(lines=lines, name=name, c=c))

    def _on_code_failed(self, _token: int, message: str) -> None:
        name = self._code_asked[1]
        self.window.show_message(tr("Cannot write {name} code: {why}").format(name=name, why=message), error=True)
