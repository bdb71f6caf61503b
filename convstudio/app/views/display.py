"""What the views show and report: the display-mode labels, the pixel readout (:class:`PixelInfo`;
its numbers, like every number the app writes, come from :mod:`convstudio.core.formatting`, and
:func:`format_number` is re-exported here for the views) and the array preparation shared by
:mod:`~convstudio.app.views.image_view` and :mod:`~convstudio.app.views.map_grid` (true-colour
composite, block reduction for display, colour maps for the colour bar).

Arrays are ``(C, H, W) float32`` (``(H, W)`` is accepted as one channel) and are never copied for
display, except ``|x|`` in the abs mode and the alpha composite of an RGBA image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convstudio.app.qtsetup import pg
from convstudio.app.views.colormaps import AUTO, Display
from convstudio.app.views.placement import Placement, pixel_at_scene
from convstudio.core.formatting import format_number, format_readout

__all__ = [
    "ALL_CHANNELS",
    "MODE_LABELS",
    "PixelInfo",
    "as_chw",
    "color_map",
    "display_block_reduce",
    "format_number",
    "mode_menu_text",
    "needs_fit",
    "pixel_info",
    "reduce_col_blocks",
    "reduce_row_blocks",
    "rgb_for_display",
    "same_display",
]


ALL_CHANNELS = -1
"""``PixelInfo.channel`` of a true-colour view: the value is then a tuple, one entry per channel."""

MODE_LABELS = {
    AUTO: "Auto",
    "diverging": "Diverging (0 = white)",
    "clip": "Clip to [0, 1]",
    "abs": "Absolute |x|",
    "minmax": "Min to max",
    "contrast": "Contrast",
}
"""The display modes' names (the views' combo boxes, the View menu); see colormaps.py for the rules."""

_MODE_HINTS = {
    AUTO: "diverging for signed data",
    "contrast": "large maps: brightest 0.35 % saturate",
}


def mode_menu_text(mode: str) -> str:
    """A mode's name with its hint in brackets, for a menu entry (a combo box has no room)."""
    hint = _MODE_HINTS.get(mode)
    return f"{MODE_LABELS[mode]} ({hint})" if hint else MODE_LABELS[mode]


@dataclass(frozen=True)
class PixelInfo:
    """One pixel of one view, as reported by the ``hovered`` and ``clicked`` signals.

    ``row`` / ``col`` index the map shown (its own pixels, not the input's). ``value`` is the raw value
    of ``x[channel, row, col]`` (not ``|x|`` in the abs mode); in a true-colour view ``channel`` is
    :data:`ALL_CHANNELS` and ``value`` a tuple of every channel's value.
    """

    view_id: str
    channel: int
    row: int
    col: int
    value: float | tuple

    def text(self) -> str:
        """Readout text such as ``"x 12  y 40  c 3  value -0.1234"``."""
        if isinstance(self.value, tuple):
            name = "rgba" if len(self.value) == 4 else "rgb" if len(self.value) == 3 else "value"
            values = ", ".join(format_readout(v) for v in self.value)
            return f"x {self.col}  y {self.row}  {name} ({values})"
        return f"x {self.col}  y {self.row}  c {self.channel}  value {format_readout(self.value)}"


def as_chw(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 2:
        return x[None]
    if x.ndim != 3:
        raise ValueError(f"expected an (H, W) or (C, H, W) array, got shape {x.shape}")
    return x


def rgb_for_display(x: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` view (C = 3) or alpha composite over a checkerboard (C = 4)."""
    if x.shape[0] == 3:
        return x.transpose(1, 2, 0)  # a view; pyqtgraph reads it as it scales to 8 bits
    alpha = x[3]
    if float(alpha.min()) >= 1.0:
        return x[:3].transpose(1, 2, 0)
    h, w = alpha.shape
    a = np.clip(alpha, 0.0, 1.0)
    rows = (np.arange(h) // 8) % 2
    cols = (np.arange(w) // 8) % 2
    checker = np.where((rows[:, None] ^ cols[None, :]) == 1, 0.6, 0.4).astype(np.float32)
    back = checker * (1.0 - a)
    out = np.empty((h, w, 3), dtype=np.float32)
    for k in range(3):
        np.multiply(x[k], a, out=out[..., k])
        out[..., k] += back
    return out


def display_block_reduce(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A map shrunk for display: one value per ``rows x cols`` block, the block's value of largest
    magnitude (sign kept; a tie goes to the positive one). Shape
    ``(ceil(H / rows), ceil(W / cols))``, the shape of ``a[::rows, ::cols]``.

    Taking every ``rows``-th pixel (or the block mean) loses a 1 or 2 pixel wide edge, however
    strong; the block extreme keeps it at full strength. Blocks at the right and bottom edges may be
    partial. NaN in a block makes the block NaN. ``rows = cols = 1`` returns ``a`` itself.

    Rows are reduced first (whole contiguous rows at a time, one pass over the map), then the
    columns of the ``rows`` times smaller result: for a 24 MP map shrunk 30 times this takes about
    a tenth of the time of reducing columns first, where every strided pass touches every cache
    line of the map. Large maps are shrunk off the GUI thread (:mod:`~convstudio.app.views.shrink`).
    """
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"expected an (H, W) map, got shape {a.shape}")
    rows, cols = int(rows), int(cols)
    if rows < 1 or cols < 1:
        raise ValueError(f"block size must be at least 1, got {rows} x {cols}")
    if rows == cols == 1 or a.size == 0:
        return a
    hi = reduce_col_blocks(reduce_row_blocks(a, rows, np.maximum), cols, np.maximum)
    lo = reduce_col_blocks(reduce_row_blocks(a, rows, np.minimum), cols, np.minimum)
    return np.where(-lo > hi, lo, hi)


def reduce_row_blocks(a: np.ndarray, rows: int, fn: np.ufunc) -> np.ndarray:
    """``fn`` over each block of `rows` rows (the last one may be partial); `a` itself for 1."""
    if rows == 1:
        return a
    h, w = a.shape
    full = h // rows
    out = np.empty((-(-h // rows), w), a.dtype)
    if full:
        fn.reduce(a[: full * rows].reshape(full, rows, w), axis=1, out=out[:full])
    if full < out.shape[0]:
        fn.reduce(a[full * rows:], axis=0, out=out[full])
    return out


def reduce_col_blocks(a: np.ndarray, cols: int, fn: np.ufunc) -> np.ndarray:
    """``fn`` over each block of `cols` columns (the last one may be partial), a new array."""
    h, w = a.shape
    full = w // cols
    out = np.empty((h, -(-w // cols)), a.dtype)
    if cols >= 8:  # long enough blocks: one reduce over the innermost axis
        if full:
            fn.reduce(a[:, : full * cols].reshape(h, full, cols), axis=2, out=out[:, :full])
        if full < out.shape[1]:
            fn.reduce(a[:, full * cols:], axis=1, out=out[:, full])
        return out
    # short blocks: NumPy's inner loop over a few values is slow; combine strided slices instead
    out[...] = a[:, ::cols]
    for k in range(1, cols):
        s = a[:, k::cols]  # one column fewer when the last block is partial
        n = s.shape[1]
        fn(out[:, :n], s, out=out[:, :n])
    return out


_COLOR_MAPS: dict[int, pg.ColorMap] = {}


def color_map(lut: np.ndarray) -> pg.ColorMap:
    cmap = _COLOR_MAPS.get(id(lut))
    if cmap is None:
        cmap = pg.ColorMap(pos=np.linspace(0.0, 1.0, len(lut)), color=lut)
        _COLOR_MAPS[id(lut)] = cmap
    return cmap


def pixel_info(
    source: np.ndarray | None, channel: int, placement: Placement, x: float, y: float, view_id: str
) -> PixelInfo | None:
    """The pixel of ``source[channel]`` drawn at input coordinates ``(x, y)``, or None off the map."""
    if source is None:
        return None
    i, j = pixel_at_scene(placement, x, y)
    _, h, w = source.shape
    if not (0 <= i < h and 0 <= j < w):
        return None
    if channel == ALL_CHANNELS:
        value: float | tuple = tuple(float(v) for v in source[:, i, j])
    else:
        value = float(source[channel, i, j])
    return PixelInfo(view_id, channel, i, j, value)


def same_display(a: Display | None, b: Display | None) -> bool:
    """Whether two displays colour every value alike (the LUTs are module constants)."""
    return (a is not None and b is not None and a.mode == b.mode and a.levels == b.levels
            and a.lut is b.lut and a.absolute == b.absolute)


def needs_fit(old: tuple | None, new: tuple) -> bool:
    """Refit the view when there was nothing before or the content's size changed by more than 25 %."""
    if old is None:
        return True
    return any(abs(n - o) > 0.25 * max(abs(o), 1.0) for o, n in zip(old[2:], new[2:]))
