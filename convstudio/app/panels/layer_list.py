"""The layer stack panel: the input and every layer with its output shape, compute time, an
enabled box, and the reason in words when a layer does not fit its input.

:class:`~convstudio.app.panels.layer_list_model.LayerListModel` (in its own module, re-exported
here) is a read-mostly Qt model over the Document (row 0 = the input, row i = layer i);
:class:`LayerListPanel` is the view with the Add menu and the Remove / Duplicate / Move buttons.
Every change goes through the Document (so it is undoable); the view follows the Document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QStyle,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from convstudio.app.i18n import made_at_run_time, notifier, tr
from convstudio.app.model.document import Document
from convstudio.app.panels.layer_list_model import (
    COL_LAYER,
    COL_SHAPE,
    COL_TIME,
    LayerListModel,
    layer_label,
    shape_text,
    time_text,
)
from convstudio.core import (
    Abs,
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    Layer,
    LeakyReLU,
    MaxPool2d,
    Pad,
    PipelineError,
    ReLU,
    Sigmoid,
    Stride,
    Tanh,
    Upsample,
    kernels,
)

__all__ = ["LAYER_CHOICES", "LayerChoice", "new_layer", "LayerListModel", "LayerListView",
           "LayerListPanel", "shape_text", "time_text", "layer_label", "COL_LAYER", "COL_SHAPE", "COL_TIME"]


# ------------------------------------------------------------------------------ new layers


@dataclass(frozen=True)
class LayerChoice:
    """An entry of the Add menu: `make(in_channels)` builds the layer with sensible defaults."""

    key: str
    label: str
    tip: str
    make: Callable[[int], Layer]


def _conv_kernel(_c: int) -> Layer:
    # The image-editor form: one kernel for every channel. Reflect padding keeps borders from
    # darkening, as GIMP's and ImageJ's filters do.
    return Conv2d(kernel=kernels.gaussian(3, sigma=0.85), padding="same", padding_mode="reflect")


def _conv_multi(c: int) -> Layer:
    # A CNN layer: 4 output channels, each a classic detector summed over the input channels,
    # so that the maps differ and show what a multi-channel weight does.
    bank = [kernels.SOBEL_X, kernels.SOBEL_Y, kernels.LAPLACIAN_4, kernels.gaussian(3, sigma=0.85)]
    w = np.stack([np.broadcast_to(np.asarray(k, np.float32) / c, (c, 3, 3)) for k in bank])
    return Conv2d(weight=w, padding="same")


def _conv_1x1(c: int) -> Layer:
    if c == 3:
        # Gray (BT.601 luma) and two colour-opponent channels: what a 1x1 mix is good for.
        w = np.array([[0.299, 0.587, 0.114], [1.0, -1.0, 0.0], [-0.5, -0.5, 1.0]], np.float32)
    else:
        w = np.eye(c, dtype=np.float32)
    return Conv2d(weight=w[:, :, None, None])


def _conv_transpose(c: int) -> Layer:
    # The bilinear kernel (1 3 3 1)/4 in both axes, one per channel: with stride 2 and padding 1
    # it interpolates like bilinear upsampling away from the border, a common initialisation.
    taps = np.array([1, 3, 3, 1], np.float32) / 4
    w = np.broadcast_to(np.outer(taps, taps), (c, 1, 4, 4))
    return ConvTranspose2d(weight=np.ascontiguousarray(w), stride=(2, 2), padding=(1, 1), groups=c)


LAYER_CHOICES: tuple[LayerChoice, ...] = (
    LayerChoice("conv3", "Conv 3×3 (per channel)",
                "One 3×3 kernel applied to every channel on its own, as image editors filter",
                _conv_kernel),
    LayerChoice("conv_multi", "Conv k×k multi-channel",
                "A CNN layer: weight (Cout, Cin, 3, 3), each output sums over all input channels",
                _conv_multi),
    LayerChoice("conv1x1", "1×1 conv (channel mixer)",
                "Each output pixel is a weighted sum of the input channels at the same pixel",
                _conv_1x1),
    LayerChoice("conv_transpose", "Transposed conv 4×4, stride 2",
                "Every pixel spreads a 4×4 kernel over a twice as large output (here the bilinear "
                "kernel, one per channel): learnable upsampling", _conv_transpose),
    LayerChoice("upsample", "Upsample ×2", "Every value repeated 2×2 (nearest; bilinear in the "
                "parameters)", lambda c: Upsample(scale_factor=(2, 2))),
    LayerChoice("pad", "Pad", "Add rows and columns around the map", lambda c: Pad(padding=1)),
    LayerChoice("stride", "Stride (subsample)", "Keep every 2nd row and column",
                lambda c: Stride(stride=(2, 2), offset=(0, 0))),
    LayerChoice("maxpool", "Max pool 2×2", "Largest value of each 2×2 window, stride 2",
                lambda c: MaxPool2d(kernel_size=(2, 2))),
    LayerChoice("avgpool", "Avg pool 2×2", "Mean of each 2×2 window, stride 2",
                lambda c: AvgPool2d(kernel_size=(2, 2))),
    LayerChoice("relu", "ReLU", "max(x, 0)", lambda c: ReLU()),
    LayerChoice("leaky_relu", "Leaky ReLU", "x if x > 0 else 0.01·x", lambda c: LeakyReLU()),
    LayerChoice("abs", "Abs", "|x|", lambda c: Abs()),
    LayerChoice("sigmoid", "Sigmoid", "1 / (1 + e^−x)", lambda c: Sigmoid()),
    LayerChoice("tanh", "Tanh", "tanh(x)", lambda c: Tanh()),
)


def new_layer(key: str, in_channels: int = 1) -> Layer:
    """A new layer of the Add menu's kind `key` for an input of `in_channels` channels."""
    for choice in LAYER_CHOICES:
        if choice.key == key:
            return choice.make(max(1, int(in_channels)))
    raise KeyError(f"no layer kind {key!r}; known: {', '.join(c.key for c in LAYER_CHOICES)}")


class LayerListView(QTreeView):
    """A flat tree view (three columns) with internal drag-and-drop moves."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setRootIsDecorated(False)
        self.setItemsExpandable(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setIconSize(QSize(16, 16))

    def dropEvent(self, event) -> None:
        model = self.model()
        if event.source() is not self or not isinstance(model, LayerListModel):
            event.ignore()
            return
        current = self.currentIndex()
        src = current.row() if current.isValid() else -1
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        if not index.isValid():
            before = model.rowCount()
        else:
            # Upper half of a row: before it; lower half: after it.
            rect = self.visualRect(index)
            before = index.row() if pos.y() < rect.center().y() else index.row() + 1
        dst = model.drop_target(src, before)
        event.setDropAction(Qt.DropAction.IgnoreAction)
        event.accept()
        if dst is not None:
            model.move(src, dst)


class LayerListPanel(QWidget):
    """The layer stack dock's content: the list and its buttons.

    Signals
    -------
    message(str)
        A status-bar text (a refused action, say).
    """

    message = Signal(str)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._syncing = False
        self.model = LayerListModel(document, self)
        notifier().languageChanged.connect(self._on_language_changed)
        style = self.style()
        self.model.set_icons(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))

        self.view = LayerListView(self)
        self.view.setModel(self.model)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_LAYER, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_SHAPE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_TIME, QHeaderView.ResizeMode.ResizeToContents)
        self.view.selectionModel().currentRowChanged.connect(self._on_view_row_changed)
        self.model.modelReset.connect(self._on_selection_changed)

        self.actions: dict[str, QAction] = {}
        self.add_menu = self._build_add_menu()
        self._build_actions(style)
        buttons = self._build_buttons(style)

        self.summary = QLabel()
        self.summary.setObjectName("stackSummary")
        made_at_run_time(self.summary)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setContentsMargins(2, 6, 2, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)

        document.selectionChanged.connect(self._on_selection_changed)
        document.pipelineChanged.connect(self._on_pipeline_changed)
        document.imageChanged.connect(self._update_summary)
        self._on_selection_changed()
        self._update_actions()
        self._update_summary()

    def _build_add_menu(self) -> QMenu:
        """The Add menu: one entry per :data:`LAYER_CHOICES`, in groups."""
        menu = QMenu("Add layer", self)
        menu.setToolTipsVisible(True)
        for choice in LAYER_CHOICES:
            act = menu.addAction(choice.label)
            act.setToolTip(choice.tip)
            act.setData(choice.key)
            act.triggered.connect(lambda _=False, k=choice.key: self.add(k))
            self.actions[f"add_{choice.key}"] = act
            if choice.key in ("conv1x1", "upsample", "stride", "avgpool"):
                menu.addSeparator()
        return menu

    def _build_actions(self, style: QStyle) -> None:
        """Remove, Duplicate, Move up / down and Enable / disable, also on the list's context menu."""
        def action(key: str, text: str, tip: str, icon: QStyle.StandardPixmap, slot, shortcut=None):
            act = QAction(style.standardIcon(icon), text, self)
            act.setToolTip(tip)
            act.triggered.connect(slot)
            if shortcut:
                act.setShortcut(shortcut)
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.actions[key] = act
            return act

        action("remove", "Remove layer", "Remove the selected layer (Delete)",
               QStyle.StandardPixmap.SP_TrashIcon, self.remove_selected, "Delete")
        action("duplicate", "Duplicate layer", "Insert a copy of the selected layer after it",
               QStyle.StandardPixmap.SP_FileDialogNewFolder, self.duplicate_selected)
        action("move_up", "Move layer up", "Move the selected layer one place up",
               QStyle.StandardPixmap.SP_ArrowUp, self.move_selected_up)
        action("move_down", "Move layer down", "Move the selected layer one place down",
               QStyle.StandardPixmap.SP_ArrowDown, self.move_selected_down)
        action("toggle", "Enable / disable layer", "Switch the selected layer on or off",
               QStyle.StandardPixmap.SP_DialogApplyButton, self.toggle_selected)
        for key in ("remove", "duplicate", "move_up", "move_down", "toggle"):
            self.view.addAction(self.actions[key])

    def _build_buttons(self, style: QStyle) -> QHBoxLayout:
        """The Add button (with its menu) and the buttons of the row under the list."""
        add_button = QToolButton(self)
        add_button.setText("Add")
        add_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder))
        add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        add_button.setMenu(self.add_menu)
        add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        add_button.setToolTip("Add a layer after the selected one")
        self.add_button = add_button
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        buttons.addWidget(add_button)
        for key in ("remove", "duplicate", "move_up", "move_down"):
            b = QToolButton(self)
            b.setDefaultAction(self.actions[key])
            b.setAutoRaise(True)
            buttons.addWidget(b)
        buttons.addStretch(1)
        return buttons

    # -- actions (all through the Document)
    def add(self, key: str) -> None:
        """Add a layer of kind `key` after the selected one, fed by its output channels."""
        at = self._doc.selected + 1
        c = self._channels_before(at)
        try:
            self._doc.add_layer(new_layer(key, c), at)
        except PipelineError as exc:  # e.g. the 64-layer limit
            self.message.emit(f"Cannot add a layer: {exc.reason}")

    def _channels_before(self, at: int) -> int:
        """Channels reaching a new layer inserted as layer `at` (1 if unknown)."""
        if at <= 1:
            shape = self._doc.image_shape
            return shape[0] if shape else 1
        infos = self._doc.analysis()
        for info in reversed(infos[: at - 1]):
            if info.output_shape is not None:
                return info.output_shape[0]
        shape = self._doc.image_shape
        return shape[0] if shape else 1

    def remove_selected(self) -> None:
        i = self._doc.selected
        if i == 0:
            self.message.emit("The input cannot be removed; select a layer.")
            return
        self._doc.remove_layer(i)

    def duplicate_selected(self) -> None:
        i = self._doc.selected
        if i == 0:
            self.message.emit("Select a layer to duplicate.")
            return
        try:
            self._doc.duplicate_layer(i)
        except PipelineError as exc:
            self.message.emit(f"Cannot duplicate: {exc.reason}")

    def move_selected_up(self) -> None:
        i = self._doc.selected
        if i > 1:
            self._doc.move_layer(i, i - 1)

    def move_selected_down(self) -> None:
        i = self._doc.selected
        if 1 <= i < len(self._doc.pipeline):
            self._doc.move_layer(i, i + 1)

    def toggle_selected(self) -> None:
        i = self._doc.selected
        if i >= 1:
            layer = self._doc.pipeline.layers[i - 1]
            self._doc.set_layer_enabled(i, not layer.enabled)

    # -- syncing
    def _on_view_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing or not current.isValid():
            return
        self._doc.select(current.row())

    def _on_selection_changed(self, *_args) -> None:
        row = self._doc.selected
        ix = self.model.index(row, 0)
        if not ix.isValid():
            return
        self._syncing = True
        try:
            if self.view.currentIndex().row() != row:
                self.view.setCurrentIndex(ix)
            else:
                self.view.selectionModel().select(
                    ix, self.view.selectionModel().SelectionFlag.ClearAndSelect
                    | self.view.selectionModel().SelectionFlag.Rows)
            self.view.scrollTo(ix)
        finally:
            self._syncing = False
        self._update_actions()

    def _on_pipeline_changed(self) -> None:
        self._on_selection_changed()
        self._update_actions()
        self._update_summary()

    def _on_language_changed(self, _language: str) -> None:
        self._update_summary()  # made here: again in the new language (docs/developing.md, "Translations")

    def summary_text(self) -> str:
        """Plain text of the stack summary under the list."""
        return self.summary.text()

    def _update_summary(self) -> None:
        shape = self._doc.image_shape
        p = self._doc.pipeline
        if shape is None:
            self.summary.setText("")
            return
        infos = self._doc.analysis()
        bad = next((i for i in infos if i.error is not None), None)
        if bad is not None:
            self.summary.setText("<span style='color:#c62828'>" + tr(
                "Layer {n} does not fit its input; the layers after it wait.").format(n=bad.index) + "</span>")
            return
        if not infos:
            self.summary.setText(tr("No layers yet: <b>Add</b> one below the input."))
            return
        last = infos[-1]
        rf = last.receptive_field
        params = sum(i.params or 0 for i in infos)
        fc = p.fc_params(shape)
        count = (tr("<b>{n}</b> layer, <b>{params}</b> parameters") if len(p) == 1
                 else tr("<b>{n}</b> layers, <b>{params}</b> parameters"))
        self.summary.setText(
            count.format(n=len(p), params=f"{params:,}") + "<br>"
            f"{shape_text(shape)} → {shape_text(last.output_shape)}<br>"
            + tr("receptive field of the last layer: {rf} input pixels").format(rf=shape_text(rf.size)) + "<br>"
            "<span style='color:gray'>"
            + tr("one fully connected layer doing the same mapping would need {fc} parameters").format(
                fc=f"{fc:,.0f}") + "</span>")

    def _update_actions(self) -> None:
        i, n = self._doc.selected, len(self._doc.pipeline)
        self.actions["remove"].setEnabled(i >= 1)
        self.actions["duplicate"].setEnabled(i >= 1)
        self.actions["toggle"].setEnabled(i >= 1)
        self.actions["move_up"].setEnabled(i > 1)
        self.actions["move_down"].setEnabled(1 <= i < n)
