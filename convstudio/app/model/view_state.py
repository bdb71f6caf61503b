"""What the window shows, as opposed to what the document holds: :class:`ViewState`.

The :class:`~convstudio.app.model.document.Document` is the pipeline and the image (saved, undone,
autosaved). How they are looked at is here: the display mode of the layer's maps, the levels they
are locked to, the clicked pixel that the Inspector and the ERF explain, and the image being read
in the background. Each is a property with a ``...Changed`` signal emitted only when the value
really changes, so views and the window observe it (as napari's controls observe a layer's
events) instead of asking each other, and setting a value to what it is already does nothing,
which ends every loop between a widget and the state.

Who writes and who listens (docs/developing.md, "From an edit to a repaint"):

* ``display_mode``: the View ▸ Display mode menu and the grid's mode box write it; the layer view
  and the menu's check marks follow; the window saves it in its settings.
* ``levels_lock``: View ▸ Lock levels and the grid's "Lock levels" box write it; the layer view
  and both check boxes follow.
* ``pixel``: a click on a map writes it; the "seeing why" controller explains it.
* ``pins``: the pinned receptive-field marks, ``(colour index, Mark)`` pairs, oldest first; a
  click pins, Esc / "Clear pins" clears; the receptive-field overlay draws them and the panel
  lists them.
* ``loading``: the window's background image reads write it; the status bar shows it.

Plain Python values only (str, tuples, a frozen ``Mark``, a Path); GUI thread only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from convstudio.app.views.colormaps import AUTO, DISPLAY_MODES, check_levels

__all__ = ["ViewState"]


class ViewState(QObject):
    """The window's view state; see the module docstring.

    Signals
    -------
    displayModeChanged(str)
    levelsLockChanged(object)
        The locked ``(lo, hi)``, or None for per-layer levels.
    pixelChanged(object)
        The clicked pixel (a :class:`~convstudio.app.views.receptive_overlay.Mark`) or None.
    loadingChanged(object)
        The image file being read in the background (a Path), or None.
    pinsChanged(object)
        The pinned marks: a tuple of ``(colour index, Mark)``.
    """

    displayModeChanged = Signal(str)
    levelsLockChanged = Signal(object)
    pixelChanged = Signal(object)
    loadingChanged = Signal(object)
    pinsChanged = Signal(object)

    def __init__(self, parent: QObject | None = None, *, display_mode: str = AUTO) -> None:
        super().__init__(parent)
        self._display_mode = _check_mode(display_mode)
        self._levels_lock: tuple[float, float] | None = None
        self._pixel: Any = None
        self._loading: Path | None = None
        self._pins: tuple[tuple[int, Any], ...] = ()

    @property
    def pins(self) -> tuple[tuple[int, Any], ...]:
        """The pinned marks, ``(colour index, Mark)``, oldest first."""
        return self._pins

    def set_pins(self, pins) -> None:
        pins = tuple((int(k), m) for k, m in pins)
        if pins == self._pins:
            return
        self._pins = pins
        self.pinsChanged.emit(pins)

    # ------------------------------------------------------------------ display mode
    @property
    def display_mode(self) -> str:
        """``"auto"`` or one of :data:`~convstudio.app.views.colormaps.DISPLAY_MODES`."""
        return self._display_mode

    @display_mode.setter
    def display_mode(self, mode: str) -> None:
        self.set_display_mode(mode)

    def set_display_mode(self, mode: str) -> None:
        mode = _check_mode(mode)
        if mode != self._display_mode:
            self._display_mode = mode
            self.displayModeChanged.emit(mode)

    # ------------------------------------------------------------------ level lock
    @property
    def levels_lock(self) -> tuple[float, float] | None:
        """The ``(lo, hi)`` every layer's maps are shown with, or None (each layer its own)."""
        return self._levels_lock

    @levels_lock.setter
    def levels_lock(self, levels: tuple[float, float] | None) -> None:
        self.set_levels_lock(levels)

    def set_levels_lock(self, levels: tuple[float, float] | None) -> None:
        """Lock to `levels` (two finite numbers, low < high) or unlock with None."""
        levels = None if levels is None else check_levels(levels)
        if levels != self._levels_lock:
            self._levels_lock = levels
            self.levelsLockChanged.emit(levels)

    @property
    def levels_locked(self) -> bool:
        return self._levels_lock is not None

    # ------------------------------------------------------------------ clicked pixel
    @property
    def pixel(self):
        """The clicked output pixel (a ``Mark``: layer, row, col, channel), or None."""
        return self._pixel

    @pixel.setter
    def pixel(self, mark) -> None:
        self.set_pixel(mark)

    def set_pixel(self, mark) -> None:
        if mark != self._pixel:
            self._pixel = mark
            self.pixelChanged.emit(mark)

    # ------------------------------------------------------------------ background image read
    @property
    def loading(self) -> Path | None:
        """The image file being read in the background, or None."""
        return self._loading

    @loading.setter
    def loading(self, path: Path | None) -> None:
        self.set_loading(path)

    def set_loading(self, path: str | Path | None) -> None:
        path = None if path is None else Path(path)
        if path != self._loading:
            self._loading = path
            self.loadingChanged.emit(path)


def _check_mode(mode: str) -> str:
    if mode != AUTO and mode not in DISPLAY_MODES:
        raise ValueError(f"unknown display mode {mode!r}; expected 'auto' or one of {DISPLAY_MODES}")
    return str(mode)
