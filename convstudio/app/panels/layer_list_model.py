"""The layer stack's Qt model: the input and every layer with its output shape, compute time, an
enabled box, and the reason in words when a layer does not fit its input.

:class:`LayerListModel` is a read-mostly Qt model over the Document (row 0 = the input, row i =
layer i); the panel that shows it is :mod:`convstudio.app.panels.layer_list`. Every change goes
through the Document (so it is undoable).
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QIcon

from convstudio.app.i18n import describe_layer, known, notifier, tr
from convstudio.app.model.document import Document
from convstudio.core import Layer
from convstudio.core.formatting import format_duration, format_shape

__all__ = ["LayerListModel", "COL_LAYER", "COL_SHAPE", "COL_TIME", "shape_text", "time_text", "layer_label"]

_MIME = "application/x-convstudio-layer-row"
COL_LAYER, COL_SHAPE, COL_TIME = range(3)
_HEADERS = ("Layer", "Output", "Time")
_HEADER_TIPS = ("Layer number and what it does", "Output shape: channels × height × width",
                "Compute time of the last run")


# ------------------------------------------------------------------------------ text helpers


def shape_text(shape) -> str:
    """The compact ``3×224×224`` of the layer list, the parameter form and the status bar."""
    return format_shape(shape, sep="×")


def time_text(seconds: float | None) -> str:
    """A layer's compute time (``""`` when not measured)."""
    return format_duration(seconds)


def layer_label(layer: Layer) -> str:
    label = describe_layer(layer)
    if layer.name:
        label = f"{layer.name}: {label}"
    return label


# ------------------------------------------------------------------------------ model


class LayerListModel(QAbstractItemModel):
    """Rows: 0 = the input, i = layer i. Columns: layer, output shape, compute time.

    Reads the Document for the structure and the analysis (shapes, misfits), and the renderer's
    results for times and run-time failures. The enabled box (column 0) and drops write back
    through the Document.

    The rows are the Document's pipeline, whatever order the signals come in: results are
    reports about one pipeline (the Document's at the time they are given, unless named), and a
    report about another pipeline than the Document's is ignored. Results may be given before
    the model has heard ``pipelineChanged`` (a slot connected before the model's may compute
    them); the model then catches up with the Document first. The last run's times stay on
    screen while the pipeline is edited in place (same number of layers), until the new run
    reports; after layers were added, removed or replaced by a new pipeline they are dropped.

    What a row shows is worked out once per state (pipeline, image, times, failures) and kept:
    the view asks for a dozen roles of every cell on each change, and the shape and time columns
    resize to their contents. A change emits ``dataChanged`` for the rows whose content changed
    only; a kernel edit changes none, so the list does no work at all while a user types.
    """

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self._doc = document
        self._rows = len(document.pipeline) + 1
        self._times: dict[int, float] = {}
        self._run_errors: dict[int, str] = {}
        self._results_for: object | None = None  # the pipeline the times and failures are about
        self._version = 0  # bumped when the times or failures change
        self._views_key: tuple | None = None
        self._views: list[tuple] = []
        self._published: list[tuple] | None = None  # the rows as last announced to the views
        self._error_icon = QIcon()
        self._input_icon = QIcon()
        document.pipelineChanged.connect(self._on_pipeline_changed)
        document.imageChanged.connect(self._on_image_changed)
        notifier().languageChanged.connect(self._on_language_changed)

    def set_icons(self, error: QIcon, input_icon: QIcon | None = None) -> None:
        self._error_icon = error
        if input_icon is not None:
            self._input_icon = input_icon

    # -- renderer results
    def set_time(self, index: int, seconds: float, pipeline=None) -> None:
        """Layer `index` of `pipeline` (default: the Document's) took `seconds` to compute."""
        p = self._doc.pipeline if pipeline is None else pipeline
        if p is not self._doc.pipeline or not 1 <= index <= len(p):
            self._sync_rows()  # about another pipeline (or a layer it does not have)
            return
        if not self._results_apply(p):
            self._times, self._run_errors = {}, {}
        self._results_for = p
        self._times[index] = seconds
        self._version += 1
        if not self._sync_rows():
            self._publish()

    def set_run_result(self, times: list[float], errors: dict[int, str], pipeline=None) -> None:
        """A complete run of `pipeline` (default: the Document's): the times of the layers it
        computed, and the failed layer's message."""
        p = self._doc.pipeline if pipeline is None else pipeline
        if p is not self._doc.pipeline or len(times) > len(p) \
                or any(not 1 <= i <= len(p) for i in errors):
            self._sync_rows()  # about another pipeline
            return
        self._times = {i + 1: t for i, t in enumerate(times)}
        self._run_errors = dict(errors)
        self._results_for = p
        self._version += 1
        if not self._sync_rows():
            self._publish()

    def _results_apply(self, pipeline) -> bool:
        """Whether the times and failures kept may be shown for `pipeline`: they are about it,
        or about an earlier state with the same layer count (an edit in place, until the new
        run reports)."""
        p = self._results_for
        return p is not None and (p is pipeline or len(p) == len(pipeline))

    # -- structure
    def index(self, row: int, column: int = 0, parent=QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() or not (0 <= row < self._rows and 0 <= column < len(_HEADERS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, index=QModelIndex()) -> QModelIndex:  # noqa: B008
        return QModelIndex()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return len(_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(_HEADERS[section])
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return tr(_HEADER_TIPS[section])
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        if index.row() > 0:
            f |= Qt.ItemFlag.ItemIsDragEnabled
            if index.column() == COL_LAYER:
                f |= Qt.ItemFlag.ItemIsUserCheckable
        return f

    # -- what a row says
    def row_state(self, row: int) -> tuple[str, str | None]:
        """("input" | "ok" | "disabled" | "error" | "waiting", reason or None)."""
        views = self._row_views()
        if row >= len(views):
            return self._compute_row_state(row)
        state, reason = views[row][:2]
        return state, reason

    def _row_views(self) -> list[tuple]:
        """(state, reason, text, shape text, time text, enabled) of every row, for the current
        state (recomputed only when the pipeline, the image or the run results changed)."""
        d = self._doc
        # (identity checks only: the view calls data() a dozen times per cell and paint)
        key = (d.pipeline, d.image, d.image_name, self._version, self._rows)
        old = self._views_key
        if old is None or old[0] is not key[0] or old[1] is not key[1] or old[2:] != key[2:]:
            if not self._results_apply(d.pipeline) and (self._times or self._run_errors):
                # (a report about a pipeline of another length: not about these rows)
                self._times, self._run_errors, self._results_for = {}, {}, None
            # (rows the pipeline no longer has, before the reset that removes them, show nothing)
            rows = min(self._rows, len(d.pipeline) + 1)
            self._views = [self._row_view(r) for r in range(rows)]
            self._views_key = key
        return self._views

    def _row_view(self, row: int) -> tuple:
        state, reason = self._compute_row_state(row)
        if row == 0:
            enabled, time = True, ""
        else:
            layer = self._doc.pipeline.layers[row - 1]
            enabled = layer.enabled
            t = self._times.get(row)
            time = "" if state in ("error", "waiting") else (
                "cached" if t is None and not enabled else time_text(t))
        if state == "error":
            shape = "does not fit"
        elif state == "waiting":
            shape = "waiting"
        else:
            s = self.shape_of(row)
            shape = shape_text(s) if s else ""
        return state, reason, self.row_text(row), shape, time, enabled

    def _compute_row_state(self, row: int) -> tuple[str, str | None]:
        if row == 0:
            return "input", None
        infos = self._doc.analysis()
        info = infos[row - 1] if row - 1 < len(infos) else None
        if info is not None and info.error is not None:
            return "error", info.error.reason
        if info is not None and info.waiting:
            failed = next((i.index for i in infos if i.error is not None), None)
            return "waiting", tr("waiting: layer {n} does not fit its input").format(n=failed)
        run_error = self._run_errors.get(row)
        if run_error:
            return "error", run_error
        failed_run = min(self._run_errors) if self._run_errors else None
        if failed_run is not None and row > failed_run:
            return "waiting", tr("waiting: layer {n} failed").format(n=failed_run)
        layer = self._doc.pipeline.layers[row - 1]
        if not layer.enabled:
            return "disabled", tr("disabled: passes its input through unchanged")
        return "ok", None

    def row_text(self, row: int) -> str:
        if row == 0:
            name = known(self._doc.image_name)
            return tr("0  input  {name}").format(name=name) if name else tr("0  input")
        return f"{row}  {layer_label(self._doc.pipeline.layers[row - 1])}"

    def shape_of(self, row: int) -> tuple | None:
        if row == 0:
            return self._doc.image_shape
        infos = self._doc.analysis()
        if row - 1 < len(infos):
            return infos[row - 1].output_shape
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if row >= self._rows:
            return None
        views = self._row_views()
        if row >= len(views):
            return None
        state, reason, text, shape, time, enabled = views[row]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_LAYER:
                return text
            if col == COL_SHAPE:
                return shape
            if col == COL_TIME:
                return time
        elif role == Qt.ItemDataRole.CheckStateRole and col == COL_LAYER and row > 0:
            return Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked
        elif role == Qt.ItemDataRole.DecorationRole and col == COL_LAYER:
            if state == "error":
                return self._error_icon
            if row == 0:
                return self._input_icon
        elif role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, state, reason)
        elif role == Qt.ItemDataRole.ForegroundRole:
            if state == "error":
                return QColor(200, 40, 40)
            if state in ("waiting", "disabled"):
                return QColor(140, 140, 140)
        elif role == Qt.ItemDataRole.FontRole and state == "disabled" and col == COL_LAYER:
            f = QFont()
            f.setItalic(True)
            return f
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_SHAPE, COL_TIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif role == Qt.ItemDataRole.UserRole:
            return state
        elif role == Qt.ItemDataRole.UserRole + 1:
            return reason
        return None

    def _tooltip(self, row: int, state: str, reason: str | None) -> str:
        if row == 0:
            shape = self._doc.image_shape
            return (tr("The input image: {shape} (channels × height × width)").format(shape=shape_text(shape))
                    if shape else tr("The input image"))
        layer = self._doc.pipeline.layers[row - 1]
        lines = [tr("Layer {n}: {layer}").format(n=row, layer=describe_layer(layer))]
        if reason:
            lines.append(reason)
        infos = self._doc.analysis()
        if row - 1 < len(infos) and infos[row - 1].output_shape is not None:
            info = infos[row - 1]
            rf = info.receptive_field
            lines.append(tr("output {shape}; receptive field {rf}, jump {jump}; {params} parameters").format(
                shape=shape_text(info.output_shape), rf=shape_text(rf.size), jump=shape_text(rf.jump),
                params=info.params))
        return "\n".join(lines)

    def setData(self, index: QModelIndex | QPersistentModelIndex, value,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.row() == 0 or role != Qt.ItemDataRole.CheckStateRole:
            return False
        checked = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) \
            else value
        # Safe to change the Document at once: enabling keeps the row count, so the model only
        # emits dataChanged (no reset under the view's feet).
        self._set_enabled(index.row(), checked)
        return True

    def _set_enabled(self, row: int, checked: bool) -> None:
        if row <= len(self._doc.pipeline):
            self._doc.set_layer_enabled(row, checked)

    # -- drag and drop (reorder)
    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [_MIME]

    def mimeData(self, indexes) -> QMimeData:
        rows = sorted({ix.row() for ix in indexes if ix.isValid() and ix.row() > 0})
        md = QMimeData()
        md.setData(_MIME, ",".join(map(str, rows)).encode())
        return md

    def canDropMimeData(self, data: QMimeData, action, row: int, column: int, parent) -> bool:
        return data.hasFormat(_MIME)

    def dropMimeData(self, data: QMimeData, action, row: int, column: int, parent) -> bool:
        if not data.hasFormat(_MIME):
            return False
        try:
            src = int(bytes(data.data(_MIME)).decode().split(",")[0])
        except (ValueError, IndexError):
            return False
        if row < 0:  # dropped onto an item: put it there
            row = parent.row() if parent.isValid() else self._rows
        dst = self.drop_target(src, row)
        if dst is not None:
            self._doc.move_layer(src, dst)
        # False: the view must not remove the source row itself; the Document moves it.
        return False

    def move(self, src: int, dst: int) -> None:
        """Move layer `src` to become layer `dst` (through the Document, undoable)."""
        self._doc.move_layer(src, dst)

    def drop_target(self, src: int, before_row: int) -> int | None:
        """Layer index a layer dragged from row `src` takes when dropped before row
        `before_row` (rows past the end mean "at the end"); None if it would not move."""
        n = len(self._doc.pipeline)
        if not 1 <= src <= n:
            return None
        before_row = max(1, min(before_row, n + 1))
        dst = before_row if before_row <= src else before_row - 1
        dst = max(1, min(dst, n))
        return None if dst == src else dst

    # -- following the Document
    def _on_pipeline_changed(self) -> None:
        # Run-time failures and times stay, while they apply, until the renderer reports the new
        # run (which may have come already, from a slot connected before this one).
        if not self._sync_rows():
            self._publish()

    def _sync_rows(self) -> bool:
        """Match the row count to the Document's pipeline; True if the model was reset."""
        rows = len(self._doc.pipeline) + 1
        if rows == self._rows:
            return False
        self.beginResetModel()
        self._rows = rows
        self._published = None
        self.endResetModel()
        self._published = list(self._row_views())
        return True

    def _on_image_changed(self) -> None:
        self._publish()

    def _on_language_changed(self, _language: str) -> None:
        self._views_key = None  # the rows' texts are made again in the new language
        self._publish()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(_HEADERS) - 1)

    def _publish(self) -> None:
        """Announce the rows whose content changed since the last announcement."""
        new = self._row_views()
        old = self._published
        self._published = list(new)
        if not self._rows:
            return
        if old is None or len(old) != len(new):
            changed = range(len(new))
        else:
            changed = [r for r in range(len(new)) if new[r] != old[r]]
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0),
                                  self.index(max(changed), len(_HEADERS) - 1))
