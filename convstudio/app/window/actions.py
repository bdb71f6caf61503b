"""The main window's actions, menus and toolbar, and what the View and Help actions do.

:class:`WindowActions` is mixed into :class:`~convstudio.app.window.main_window.MainWindow`; it
fills ``actions_by_name``, ``mode_actions`` and the menus that the other parts of the window
(and the Learn and Insight controllers) add to.
"""

from __future__ import annotations

import html

import shiboken6
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QMessageBox, QStyle, QToolBar

from convstudio.app.i18n import add_language_menu, made_at_run_time, notifier, tr
from convstudio.app.views.colormaps import AUTO, DISPLAY_MODES
from convstudio.app.views.display import mode_menu_text
from convstudio.session import samples

__all__ = ["WindowActions", "DEFAULT_LAYER_MODE"]

#: How the layer's maps are coloured until the user picks another way (View > Colours). Scaled to
#: max|x|, edge maps (a few strong responses) look almost white; "contrast" ends the scale where
#: 0.35 % of the values saturate, and equals max|x| on the small arrays of the lessons.
DEFAULT_LAYER_MODE = "contrast"


class WindowActions:
    """The window's actions and menus (a mixin of ``MainWindow``)."""

    # ================================================================== building
    def _action(self, text: str, slot, *, shortcut=None, tip: str = "", icon=None,
                checkable: bool = False) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                act.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        if icon is not None:
            act.setIcon(self.style().standardIcon(icon) if isinstance(icon, QStyle.StandardPixmap)
                        else icon)
        act.setCheckable(checkable)
        if checkable:
            act.toggled.connect(slot)
        else:
            act.triggered.connect(lambda _checked=False: slot())
        self.addAction(act)  # shortcuts work even with the toolbar and menus hidden
        return act

    def _build_actions(self) -> None:
        SP = QStyle.StandardPixmap
        a = self.actions_by_name = {}
        a["open_image"] = self._action("&Open image…", self.open_image_dialog,
                                       shortcut=QKeySequence.StandardKey.Open,
                                       tip="Open an image (PNG, JPEG, TIFF, BMP, WebP, .npy)",
                                       icon=SP.SP_DialogOpenButton)
        a["open_pipeline"] = self._action("Open &pipeline…", self.open_pipeline_dialog,
                                          shortcut="Ctrl+Shift+O", tip="Open a pipeline (.json)",
                                          icon=SP.SP_DirOpenIcon)
        a["import_model"] = self._action("Import mo&del…", self.import_model_dialog,
                                         tip="Import the convolutional trunk of an ONNX model")
        a["save_pipeline"] = self._action("&Save pipeline", lambda: self.save_pipeline(wait=False),
                                          shortcut=QKeySequence.StandardKey.Save,
                                          tip="Save the pipeline to its file",
                                          icon=SP.SP_DialogSaveButton)
        a["save_pipeline_as"] = self._action("Save pipeline &as…",
                                             lambda: self.save_pipeline_as(wait=False),
                                             shortcut="Ctrl+Shift+S",
                                             tip="Save the pipeline to a new file")
        a["new_pipeline"] = self._action("&New pipeline", self.new_pipeline, shortcut="Ctrl+N",
                                         tip="Start with an empty pipeline")
        a["paste_image"] = self._action("Paste image from clipboard", lambda: self.paste_image(wait=False),
                                        shortcut="Ctrl+Shift+V",
                                        tip="Use the image on the clipboard as the input")
        a["export"] = self._action("&Export feature maps…", self.export_dialog, shortcut="Ctrl+E",
                                   tip="Save the selected layer's maps (full resolution)",
                                   icon=SP.SP_DialogSaveButton)
        a["quit"] = self._action("&Quit", self.close, shortcut=QKeySequence.StandardKey.Quit)
        a["quit"].setMenuRole(QAction.MenuRole.QuitRole)

        undo, redo = self._build_undo_actions()
        undo.setShortcuts([QKeySequence(QKeySequence.StandardKey.Undo)])
        undo.setIcon(self.style().standardIcon(SP.SP_ArrowBack))
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        redo.setIcon(self.style().standardIcon(SP.SP_ArrowForward))
        self.addAction(undo)
        self.addAction(redo)
        a["undo"], a["redo"] = undo, redo
        # (a focused parameter field would keep these keys for its own text otherwise)
        from convstudio.app.window.undo_keys import UndoKeys

        self.undo_keys = UndoKeys(self, undo, redo)

        a["zoom_in"] = self._action("Zoom &in", lambda: self.zoom(1.25),
                                    shortcut=["Ctrl++", "Ctrl+="], tip="Zoom in (all views)")
        a["zoom_out"] = self._action("Zoom &out", lambda: self.zoom(0.8), shortcut="Ctrl+-",
                                     tip="Zoom out (all views)")
        a["zoom_fit"] = self._action("&Fit to window", self.zoom_fit, shortcut="Ctrl+0",
                                     tip="Show the whole image")
        a["lock_levels"] = self._action("&Lock levels across layers", self._on_lock_levels_toggled,
                                        checkable=True,
                                        tip="Keep one colour scale while switching layers")
        a["preview"] = self._action("&Preview large images (faster)", self._on_preview_toggled,
                                    checkable=True,
                                    tip="Compute on a downscaled copy of images over 4 megapixels; "
                                        "export is always full resolution")
        a["preview"].setChecked(self.renderer.preview_enabled())
        a["prev_layer"] = self._action("Select previous layer", lambda: self._step_layer(-1),
                                       shortcut="Alt+Up")
        a["next_layer"] = self._action("Select next layer", lambda: self._step_layer(1),
                                       shortcut="Alt+Down")

        a["shortcuts"] = self._action("&Keyboard shortcuts", self.show_shortcuts, shortcut="F1")
        a["about"] = self._action("&About ConvStudio", self.show_about)
        a["about"].setMenuRole(QAction.MenuRole.AboutRole)
        self._build_mode_actions()

    def _build_mode_actions(self) -> None:
        """View > Display mode: one checkable action for each way of colouring the maps."""
        self.mode_group = QActionGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_actions: dict[str, QAction] = {}
        for mode in (AUTO, *DISPLAY_MODES):
            act = QAction(mode_menu_text(mode), self.mode_group)
            act.setCheckable(True)
            act.setData(mode)
            act.triggered.connect(lambda _c=False, m=mode: self.set_display_mode(m))
            self.mode_actions[mode] = act
        self.mode_actions[DEFAULT_LAYER_MODE].setChecked(True)

    def _build_menus(self) -> None:
        a = self.actions_by_name
        mb = self.menuBar()
        file = mb.addMenu("&File")
        file.addAction(a["open_image"])
        self.recent_images_menu = file.addMenu("Recent &images")
        self.samples_menu = file.addMenu("Sa&mples")
        file.addAction(a["paste_image"])
        file.addSeparator()
        file.addAction(a["new_pipeline"])
        file.addAction(a["open_pipeline"])
        self.recent_pipelines_menu = file.addMenu("Recent pipe&lines")
        file.addAction(a["import_model"])
        file.addAction(a["save_pipeline"])
        file.addAction(a["save_pipeline_as"])
        file.addSeparator()
        file.addAction(a["export"])
        file.addSeparator()
        file.addAction(a["quit"])
        self._build_samples_menu()
        self._update_recent_menus()

        edit = mb.addMenu("&Edit")
        edit.addAction(a["undo"])
        edit.addAction(a["redo"])

        view = mb.addMenu("&View")
        view.addAction(a["zoom_in"])
        view.addAction(a["zoom_out"])
        view.addAction(a["zoom_fit"])
        view.addSeparator()
        modes = view.addMenu("&Display mode")
        for act in self.mode_actions.values():
            modes.addAction(act)
        view.addAction(a["lock_levels"])
        view.addAction(a["preview"])
        view.addSeparator()
        panels = view.addMenu("&Panels")
        for dock in (self.layers_dock, self.kernel_dock, self.params_dock):
            panels.addAction(dock.toggleViewAction())
        self._panels_menu = panels
        view.addAction(self._action("Reset &layout", self.reset_layout))
        add_language_menu(self, view)  # View > Language (app/i18n.py)

        layer = mb.addMenu("&Layer")
        lp = self.layer_panel
        layer.addMenu(lp.add_menu)
        for key in ("remove", "duplicate", "move_up", "move_down", "toggle"):
            layer.addAction(lp.actions[key])
        layer.addSeparator()
        layer.addAction(a["prev_layer"])
        layer.addAction(a["next_layer"])

        kernel = mb.addMenu("&Kernel")
        kernel.addMenu(self.kernel_editor.presets_menu())
        kernel.addSeparator()
        for act in self.kernel_editor.actions_by_name().values():
            kernel.addAction(act)

        help_ = mb.addMenu("&Help")
        help_.addAction(a["shortcuts"])
        help_.addAction(a["about"])

    def _build_toolbar(self) -> None:
        a = self.actions_by_name
        tb = QToolBar("Main toolbar", self)
        tb.setObjectName("mainToolbar")
        tb.setIconSize(QSize(18, 18))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(a["open_image"])
        samples_button = self.samples_menu.menuAction()
        samples_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon))
        tb.addAction(samples_button)
        tb.addAction(a["open_pipeline"])
        tb.addAction(a["save_pipeline"])
        tb.addSeparator()
        tb.addAction(a["undo"])
        tb.addAction(a["redo"])
        tb.addSeparator()
        add = self.layer_panel.add_menu.menuAction()
        add.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder))
        add.setText("Add layer")
        tb.addAction(add)
        tb.addSeparator()
        tb.addAction(a["zoom_fit"])
        tb.addAction(a["export"])
        for action in (samples_button, add):
            button = tb.widgetForAction(action)
            if button is not None:
                button.setPopupMode(button.ToolButtonPopupMode.InstantPopup)
        for action in (a["undo"], a["redo"]):
            # Icon only: the text names the command ("Undo Add conv2d layer") and would make
            # the toolbar jump on every edit; the tooltip still says it.
            button = tb.widgetForAction(action)
            if button is not None:
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.toolbar = tb
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self._panels_menu.addAction(tb.toggleViewAction())

    def _build_undo_actions(self) -> tuple[QAction, QAction]:
        """Edit > Undo and Redo on the document's undo stack, named after the step they take
        ("&Undo Add conv2d layer") in the interface's language. ``QUndoStack.createUndoAction``
        fixes its prefix when the action is made; these actions follow the stack's signals as its
        own do, and are named again on a language switch (:meth:`_name_undo_actions`)."""
        stack = self.doc.undo_stack
        undo, redo = QAction(self), QAction(self)
        for act in (undo, redo):
            made_at_run_time(act, "text", "toolTip")  # (named here, again on languageChanged)
        undo.setEnabled(stack.canUndo())
        redo.setEnabled(stack.canRedo())
        stack.canUndoChanged.connect(undo.setEnabled)
        stack.canRedoChanged.connect(redo.setEnabled)
        undo.triggered.connect(lambda _checked=False: stack.undo())
        redo.triggered.connect(lambda _checked=False: stack.redo())
        self._undo_actions = (undo, redo)
        stack.undoTextChanged.connect(self._name_undo_actions)
        stack.redoTextChanged.connect(self._name_undo_actions)
        notifier().languageChanged.connect(self._name_undo_actions)
        self._name_undo_actions()
        return undo, redo

    def _name_undo_actions(self, *_args) -> None:
        """Name Undo and Redo after the steps they would take now (undo-step names are in the
        language of the moment they were recorded: docs/developing.md, "Translations")."""
        stack = self.doc.undo_stack
        undo, redo = self._undo_actions
        if not all(shiboken6.isValid(o) for o in (stack, undo, redo)):
            return  # (a language switch or the stack's last signal while the window goes)
        step = stack.undoText()
        undo.setText(tr("&Undo {what}").format(what=step) if step else tr("&Undo"))
        undo.setToolTip(tr("Undo {what}").format(what=step) if step else tr("Undo"))
        step = stack.redoText()
        redo.setText(tr("&Redo {what}").format(what=step) if step else tr("&Redo"))
        redo.setToolTip(tr("Redo {what}").format(what=step) if step else tr("Redo"))

    def _build_samples_menu(self) -> None:
        menu = self.samples_menu
        menu.clear()
        menu.setToolTipsVisible(True)
        shipped = samples.shipped_samples()
        for path in shipped:
            act = menu.addAction(path.stem.replace("_", " ").capitalize())
            act.setToolTip(str(path))
            made_at_run_time(act, "toolTip")  # a file path: nothing to translate (app/i18n.py)
            act.triggered.connect(lambda _c=False, p=path: self.open_image(p, wait=False))
        if shipped:
            menu.addSeparator()
        for pattern in samples.PATTERNS.values():
            act = menu.addAction(pattern.label)
            act.setToolTip(pattern.description)
            act.triggered.connect(lambda _c=False, n=pattern.name: self.load_pattern(n))

    # ================================================================== view
    def zoom(self, factor: float) -> None:
        vb = self.input_view.view_box()
        rect = self.linker.target_rect() or vb.targetRect()
        if rect is None or rect.isEmpty():
            return
        c = rect.center()
        w, h = rect.width() / factor, rect.height() / factor
        self.linker.set_rect(QRectF(c.x() - w / 2, c.y() - h / 2, w, h))

    def zoom_fit(self) -> None:
        """Show the whole input and the whole of the layer's maps in every (linked) view: a
        layer's extent may be smaller than the input (no padding) or reach beyond it (padding)."""
        from convstudio.app.views.feature_view import content_rect

        rects = []
        for view in (self.input_view, self.layer_view):
            x = view.maps()
            if x is None or (view is self.layer_view
                             and self._layer_stack.currentWidget() is not self.layer_view):
                continue
            rects.append(content_rect(view.placement(), x.shape[-2], x.shape[-1]))
        if not rects:
            self.input_view.auto_range()
            return
        x0 = min(r[0] for r in rects)
        y0 = min(r[1] for r in rects)
        x1 = max(r[0] + r[2] for r in rects)
        y1 = max(r[1] + r[3] for r in rects)
        self.linker.set_rect(QRectF(x0, y0, x1 - x0, y1 - y0))

    def set_display_mode(self, mode: str) -> None:
        self.view_state.set_display_mode(mode)  # the layer view and this menu follow it

    def _on_mode_changed(self, mode: str) -> None:
        act = self.mode_actions.get(mode)
        if act is not None and not act.isChecked():
            act.setChecked(True)

    def _on_lock_levels_toggled(self, on: bool) -> None:
        # (the view state holds the lock; the layer view and the check boxes follow it)
        if on:
            if self.view_state.levels_lock is None:
                levels = self.layer_view.current_levels()
                if levels is not None:
                    self.view_state.set_levels_lock(levels)
        else:
            self.view_state.set_levels_lock(None)

    def _on_levels_lock_changed(self, locked: bool) -> None:
        act = self.actions_by_name["lock_levels"]
        if act.isChecked() != locked:
            act.blockSignals(True)
            act.setChecked(locked)
            act.blockSignals(False)

    def _on_preview_toggled(self, on: bool) -> None:
        self.renderer.set_preview_enabled(on)

    def _step_layer(self, step: int) -> None:
        i = max(0, min(len(self.doc.pipeline), self.doc.selected + step))
        self.doc.select(i)

    # ================================================================== help
    def show_shortcuts(self) -> None:
        rows = []
        for act in list(self.actions_by_name.values()) + list(self.layer_panel.actions.values()) \
                + list(self.kernel_editor.actions_by_name().values()):
            keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                             for s in act.shortcuts())
            if keys:
                rows.append(f"<tr><td><b>{html.escape(keys)}</b></td><td>&nbsp;&nbsp;"
                            f"{html.escape(act.text().replace('&', '').rstrip('…'))}</td></tr>")
        box = QMessageBox(QMessageBox.Icon.NoIcon, tr("Keyboard shortcuts"),
                          "<table>" + "".join(rows) + "</table>", QMessageBox.StandardButton.Ok,
                          self)
        made_at_run_time(box.findChild(QLabel, "qt_msgbox_label"))  # (made of translated texts)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def show_about(self) -> None:
        from convstudio import __version__ as version  # type: ignore[attr-defined]

        box = QMessageBox(QMessageBox.Icon.Information, tr("About ConvStudio"),
                          f"<h3>ConvStudio {html.escape(str(version))}</h3>"
                          + tr("<p>Design, see and understand image convolution: kernels, CNN layer "
                               "stacks, shapes and receptive fields.</p>"
                               "<p>Cross-correlation as in PyTorch; the NumPy core is the reference, "
                               "checked against OpenCV.</p>"), QMessageBox.StandardButton.Ok, self)
        made_at_run_time(box.findChild(QLabel, "qt_msgbox_label"))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # (not exec: the event loop goes on)
