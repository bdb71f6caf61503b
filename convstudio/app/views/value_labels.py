"""Numbers written on the pixels of tiny maps (the tutorial's 3 x 3 and 6 x 8 examples).

A 3 x 3 input zoomed to fill a view is nine coloured squares; the tutorial is about the numbers in
them. :class:`ValueLabels` puts one ``pg.TextItem`` on every pixel of each map a
:class:`~convstudio.app.views.map_grid.FeatureMapGrid` shows, as long as the map has at most
:data:`MAX_LABELLED_PIXELS` pixels, and hides them while a pixel is too small on screen for its
number. It only uses the grid's public API (``maps``, ``tile_image_items``, ``channels_shown``,
``focus_view``): the labels are children of the grid's ``ImageItem`` objects, whose item coordinates
are the map's own pixel coordinates, so they follow zoom, pan and placement for free.
"""

from __future__ import annotations

import math

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF
from PySide6.QtGui import QFont, QFontMetricsF

from convstudio.app.model.throttle import Debouncer
from convstudio.app.qtsetup import pg
from convstudio.app.views.display import ALL_CHANNELS
from convstudio.app.views.map_grid import FeatureMapGrid
from convstudio.app.views.overlay import detach_items
from convstudio.core.formatting import format_short

__all__ = ["ValueLabels", "format_value", "MAX_LABELLED_PIXELS", "MAX_LABELS"]

MAX_LABELLED_PIXELS = 256
"""Maps with more pixels than this (e.g. 16 x 16) get no labels."""

MAX_LABELS = 1024
"""Cap on labels in one grid (all of its small maps together)."""


def format_value(v: float) -> str:
    """Short text for one value: integers as integers, others with 3 significant digits."""
    return format_short(v, 3)


def _texts(x: np.ndarray, channel: int) -> list[list[str]]:
    if channel == ALL_CHANNELS:
        return [["\n".join(format_value(v) for v in x[:, i, j]) for j in range(x.shape[2])]
                for i in range(x.shape[1])]
    m = x[channel]
    return [[format_value(v) for v in row] for row in m]


class ValueLabels(QObject):
    """Value labels on every small map (and the enlarged channel) of one grid.

    Call :meth:`schedule` whenever the grid may show something new (the owner connects its
    Document / renderer signals); the grid's own image changes and zoom also reschedule.
    """

    def __init__(self, grid: FeatureMapGrid, *, max_pixels: int = MAX_LABELLED_PIXELS,
                 max_labels: int = MAX_LABELS) -> None:
        super().__init__(grid)
        self._grid = grid
        self._max_pixels = int(max_pixels)
        self._max_labels = int(max_labels)
        self._enabled = True
        self._key: tuple | None = None
        self._labels: list[tuple[pg.ImageItem, list[pg.TextItem]]] = []
        self._watched: list[pg.ImageItem] = []
        self._font = QFont()
        self._font.setPointSizeF(max(7.0, self._font.pointSizeF() - 1))
        self._metrics = QFontMetricsF(self._font)
        # Many signals in one event-loop turn make one refresh / one visibility update.
        self._refresh = Debouncer(0, parent=self)
        self._refresh.triggered.connect(self.refresh)
        self._fit = Debouncer(0, parent=self)
        self._fit.triggered.connect(self.update_visibility)
        grid.focusChanged.connect(self.schedule)
        grid.view_box().sigRangeChanged.connect(self._on_range_changed)
        grid.installEventFilter(self)
        self._watch(grid.focus_view().image_item())

    # ------------------------------------------------------------------ public
    def set_enabled(self, on: bool) -> None:
        self._enabled = bool(on)
        self.refresh()

    def enabled(self) -> bool:
        return self._enabled

    def schedule(self, *_args) -> None:
        """Refresh on the next event-loop turn (many signals in a row make one refresh)."""
        self._refresh.trigger()

    def stop(self) -> None:
        self._refresh.cancel()
        self._fit.cancel()

    def texts(self) -> list[list[list[str]]]:
        """The label texts now: one list per labelled map, row by row (tests)."""
        out = []
        for _item, labels in self._labels:
            if not labels:
                continue
            out.append([lab.toPlainText() for lab in labels])
        return out

    def visible_count(self) -> int:
        return sum(1 for _item, labels in self._labels for lab in labels if lab.isVisible())

    def count(self) -> int:
        return sum(len(labels) for _item, labels in self._labels)

    def refresh(self) -> None:
        """Rebuild the labels if the grid shows other data than last time."""
        self._refresh.cancel()
        grid = self._grid
        if not shiboken6.isValid(grid):
            return
        for item in grid.tile_image_items():
            self._watch(item)
        targets = self._targets()
        x = grid.maps()
        key = None if not targets else (id(x), tuple((id(item), ch) for item, ch in targets))
        if key == self._key:
            self.update_visibility()
            return
        self._clear()
        self._key = key
        for item, ch in targets:
            labels = []
            for i, row in enumerate(_texts(x, ch)):
                for j, text in enumerate(row):
                    lab = pg.TextItem(text, color=(255, 255, 255), anchor=(0.5, 0.5),
                                      fill=pg.mkBrush(0, 0, 0, 150))
                    lab.setFont(self._font)
                    lab.setParentItem(item)
                    lab.setPos(QPointF(j + 0.5, i + 0.5))
                    lab.setZValue(5)
                    labels.append(lab)
            self._labels.append((item, labels))
        self.update_visibility()

    def update_visibility(self) -> None:
        """Show an item's labels only while its pixels are wide enough on screen for them."""
        for item, labels in self._labels:
            if not labels or not shiboken6.isValid(item):
                continue
            px = self._pixel_size_on_screen(item)
            widest = max(self._metrics.horizontalAdvance(line) for lab in labels
                         for line in lab.toPlainText().split("\n"))
            lines = max(lab.toPlainText().count("\n") + 1 for lab in labels)
            fits = px is not None and px[0] >= widest + 6 and px[1] >= lines * \
                self._metrics.height() + 2
            for lab in labels:
                lab.setVisible(fits)

    # ------------------------------------------------------------------ internals
    def _targets(self) -> list[tuple[pg.ImageItem, int]]:
        grid = self._grid
        x = grid.maps()
        if not self._enabled or x is None or x.ndim != 3:
            return []
        c, h, w = x.shape
        if h * w > self._max_pixels:
            return []
        focused = grid.focused_channel()
        if focused is not None:
            targets = [(grid.focus_view().image_item(), focused)]
        else:
            items, channels = grid.tile_image_items(), grid.channels_shown()
            if len(items) != len(channels):
                return []
            targets = list(zip(items, channels))
        per_map = h * w
        if per_map * len(targets) > self._max_labels:
            return []
        return targets

    def _clear(self) -> None:
        detach_items(lab for _item, labels in self._labels for lab in labels)
        self._labels = []
        self._key = None

    def _watch(self, item: pg.ImageItem) -> None:
        if any(item is w for w in self._watched):
            return
        self._watched.append(item)
        item.sigImageChanged.connect(self.schedule)

    @staticmethod
    def _pixel_size_on_screen(item: pg.ImageItem) -> tuple[float, float] | None:
        scene = item.scene()
        if scene is None or not item.isVisible():
            return None
        views = scene.views()
        if not views:
            return None
        t = item.deviceTransform(views[0].viewportTransform())
        o = t.map(QPointF(0, 0))
        dx, dy = t.map(QPointF(1, 0)) - o, t.map(QPointF(0, 1)) - o
        return math.hypot(dx.x(), dx.y()), math.hypot(dy.x(), dy.y())

    def _on_range_changed(self, *_args) -> None:
        self._fit.trigger()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self._fit.trigger()
        return False
