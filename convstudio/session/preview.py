"""Images too large to load whole, in the app: the rule that says so, and a preview read at screen
resolution without ever holding the whole image (docs/scale.md, "In the app").

No Qt here: the window's image loader runs :func:`load_for_app` on its worker thread.

- **The rule** (:func:`too_large_reason`): an image is opened as a preview when it holds more
  pixels than ``load_image`` accepts whole (``DEFAULT_MAX_PIXELS``), or when its float32 array
  alone would take more than a quarter of the app's memory budget
  (:func:`convstudio.session.compute.memory_budget`): the layers' outputs need the rest.
- **The preview** (:func:`read_preview`) has at most `max_pixels` pixels, the app's own preview
  limit (``Renderer.preview_pixels``), so the renderer computes on it at once. It comes from the
  TIFF's pyramid when one of its levels (SubIFDs or series levels, read by ``tifffile``) has
  between a quarter of `max_pixels` and `max_pixels` pixels; otherwise from a strided read of the
  lazy image (:mod:`convstudio.core.lazyio`): preview pixel ``(i, j)`` is pixel ``(i N, j N)`` of
  the file, ``N`` from :func:`~convstudio.session.compute.preview_factor`. The strided read takes
  the kept rows only, a TIFF chunk row (tile or strip row) at a time, in column blocks of a few
  MiB, and reports its progress row by row.

Values are those of ``load_image`` (8-bit / 255, 16-bit / 65535, float as is, unscaled ``.npy``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convstudio.core import cancel
from convstudio.core.errors import ImageIOError
from convstudio.core.formatting import format_bytes, format_pixels, format_shape
from convstudio.core.imageio import DEFAULT_MAX_PIXELS
from convstudio.core.safeio import open_regular
from convstudio.session import compute

__all__ = ["Preview", "TiledSource", "too_large_reason", "strided_preview", "read_preview",
           "readable_by_region", "load_for_app", "PREVIEW_READ_BYTES"]

#: The most bytes (float32) one read of the strided preview asks the lazy image for.
PREVIEW_READ_BYTES = 16 << 20

Progress = Callable[[int, int], None]

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_NPY_MAGIC = b"\x93NUMPY"
_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class TiledSource:
    """An image file computed tile by tile at full resolution (the export of a previewed image)."""

    path: Path
    keep_alpha: bool = False


@dataclass(frozen=True, eq=False)
class Preview:
    """A preview of an image too large to load whole (plain values: it crosses threads).

    array : ``(C, h, w) float32``, read-only: what the app computes on.
    factor : full-resolution pixels per preview pixel along each axis (for a pyramid level, the
        ratio of the heights, rounded).
    how : how it was read, in words; reason : why the image was not loaded whole.
    """

    path: Path
    keep_alpha: bool
    full_shape: tuple[int, int, int]
    array: np.ndarray
    factor: int
    how: str
    reason: str

    @property
    def name(self) -> str:
        """The name the window shows for the input: the file's, and that this is a preview."""
        return f"{self.path.name} (preview 1/{self.factor})"

    @property
    def source(self) -> TiledSource:
        return TiledSource(self.path, self.keep_alpha)

    def describe(self) -> str:
        """One sentence for a tooltip or a status line."""
        c, h, w = self.full_shape
        return (f"{self.path.name} is {w} x {h} ({c} channel{'' if c == 1 else 's'}), {self.reason}: the "
                f"layers are computed on a preview at 1/{self.factor} scale ({self.how}). File ▸ Export "
                "computes at full resolution, tile by tile.")


def too_large_reason(shape: tuple[int, ...], *, budget: int | None = None,
                     max_pixels: int = DEFAULT_MAX_PIXELS) -> str | None:
    """Why an image of `shape` (C, H, W) is not loaded whole in the app, or None if it is.

    `budget` defaults to :func:`convstudio.session.compute.memory_budget`.
    """
    c, h, w = (int(v) for v in shape)
    if h * w > max_pixels:
        return f"{format_pixels(h * w)}, over the limit of {format_pixels(max_pixels)} for an image loaded whole"
    budget = compute.memory_budget() if budget is None else int(budget)
    need = 4 * c * h * w
    if need > budget // 4:
        return (f"{format_bytes(need)} as float32, over a quarter of the memory budget "
                f"({format_bytes(budget)})")
    return None


def _strip_groups(rows: np.ndarray, chunk_rows: int) -> list[np.ndarray]:
    """The kept rows grouped by the chunk row (TIFF tile or strip row) that holds them."""
    if chunk_rows <= 1:
        return [rows[i:i + 1] for i in range(len(rows))]
    keys = rows // chunk_rows
    cuts = np.flatnonzero(np.diff(keys)) + 1
    return np.split(rows, cuts)


def strided_preview(image, factor: int, *, chunk_rows: int = 1, read_bytes: int = PREVIEW_READ_BYTES,
                    progress: Progress | None = None) -> np.ndarray:
    """``image[:, ::factor, ::factor]`` cropped to ``(C, H // factor, W // factor)``, read from a
    lazy image (anything indexable as ``image[:, r0:r1, c0:c1]``) without holding it whole.

    Each read spans the kept rows of one chunk row (`chunk_rows`: a TIFF's tile or strip height,
    so each chunk is decoded once; 1 reads every kept row alone) and a block of columns of at
    most `read_bytes` bytes. `progress(rows_done, rows_total)` follows; ``cancel.check()`` runs
    between reads.
    """
    c, h, w = image.shape
    n = max(1, int(factor))
    hp, wp = max(1, h // n), max(1, w // n)
    out = np.empty((c, hp, wp), np.float32)
    last_col = (wp - 1) * n + 1  # one past the last column kept
    done = 0
    for group in _strip_groups(np.arange(hp) * n, chunk_rows):
        r0, r1 = int(group[0]), int(group[-1]) + 1
        span = max(n, (read_bytes // (4 * c * (r1 - r0))) // n * n)
        picked = group - r0
        for c0 in range(0, last_col, span):
            cancel.check()
            c1 = min(c0 + span, last_col)
            block = np.asarray(image[:, r0:r1, c0:c1])
            out[:, done:done + len(group), c0 // n:c0 // n + -(-(c1 - c0) // n)] = block[:, picked, ::n]
        done += len(group)
        if progress is not None:
            progress(done, hp)
    out.setflags(write=False)
    return out


def _level_values(a: np.ndarray, axes: str, channels: int) -> np.ndarray | None:
    """A pyramid level's samples as ``(C, h, w) float32`` values of load_image, or None when its
    layout is not the full-resolution image's."""
    keep = [i for i, ax in enumerate(axes) if ax in "SYX"]
    if any(a.shape[i] != 1 for i, ax in enumerate(axes) if ax not in "SYX"):
        return None
    a = a.reshape([a.shape[i] for i in keep])
    kept = "".join(axes[i] for i in keep)
    a = a[None] if "S" not in kept else np.moveaxis(a, kept.index("S"), 0)
    if kept.replace("S", "") != "YX" or a.shape[0] != channels:
        return None
    if a.dtype in _SCALES:
        return a.astype(np.float32) / np.float32(_SCALES[a.dtype])
    if a.dtype in _FLOATS:
        with np.errstate(over="ignore"):
            out = a.astype(np.float32)
        return out if np.isfinite(out).all() else None
    return None


def _tiff_layout(path: Path, shape: tuple[int, int, int], max_pixels: int):
    """(chunk rows of the full-resolution page, a pyramid preview or None) of a TIFF."""
    import tifffile

    c, h, w = shape
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        chunk = page.tilelength if page.is_tiled else (page.rowsperstrip or h)
        best = None
        for k, level in enumerate(tif.series[0].levels[1:], 1):
            axes = level.axes
            if "Y" not in axes or "X" not in axes:
                continue
            hk, wk = level.shape[axes.index("Y")], level.shape[axes.index("X")]
            same_aspect = abs(h / hk - w / wk) <= 0.05 * (h / hk)
            if same_aspect and max_pixels // 4 <= hk * wk <= max_pixels and (best is None or hk * wk > best[1]):
                best = (k, hk * wk)
        if best is None:
            return min(int(chunk), h), None
        level = tif.series[0].levels[best[0]]
        values = _level_values(level.asarray(), level.axes, c)
    if values is None:
        return min(int(chunk), h), None
    values.setflags(write=False)
    hk, wk = values.shape[1:]
    return min(int(chunk), h), (values, max(1, round(h / hk)),
                                f"pyramid level {best[0]}, {format_shape((wk, hk), ' x ')}")


def read_preview(image, max_pixels: int, *, progress: Progress | None = None) -> tuple[np.ndarray, int, str]:
    """``(array, factor, how)``: a preview of at most `max_pixels` pixels of a lazy image (see the
    module docstring): a pyramid level of a TIFF when one fits, else a strided read."""
    from convstudio.core.lazytiff import TiffImage

    chunk_rows = 1
    if isinstance(image, TiffImage):
        try:
            chunk_rows, level = _tiff_layout(Path(image.path), image.shape, max_pixels)
        except (OSError, ValueError, RuntimeError, NotImplementedError, ImportError, IndexError):
            level = None  # an unreadable pyramid: the full-resolution page still reads
        if level is not None:
            if progress is not None:
                progress(1, 1)
            return level
    n = compute.preview_factor(image.shape, max_pixels)
    array = strided_preview(image, n, chunk_rows=chunk_rows, progress=progress)
    return array, n, f"every {_ordinal(n)} row and column of the file"


def _ordinal(n: int) -> str:
    if n == 1:
        return ""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def readable_by_region(path: str | os.PathLike) -> bool:
    """Whether the region readers may take `path` (a TIFF or ``.npy`` by its first bytes, or a
    folder): only such an image can be too large and still be opened, as a preview."""
    p = Path(os.fspath(path))
    if p.is_dir():
        return True
    try:
        # without blocking: a FIFO given as an image must not stall the loader's thread
        with open_regular(p, error=ImageIOError) as f:
            head = f.read(8)
    except (ImageIOError, OSError):
        return False  # load_image reports it
    return head[:4] in _TIFF_MAGIC or head.startswith(_NPY_MAGIC)


def _open_by_region(path: Path, keep_alpha: bool):
    """The lazy image of a file the region readers take (TIFF, .npy, a Zarr folder), or None for
    the others (and for a TIFF or .npy they refuse: load_image then says why in its words)."""
    from convstudio.core.lazyio import open_image

    if path.is_dir():
        return open_image(path, keep_alpha=keep_alpha)
    if not readable_by_region(path):
        return None
    try:
        return open_image(path, keep_alpha=keep_alpha)
    except ImageIOError:
        return None


def load_for_app(path: str | os.PathLike, *, keep_alpha: bool = False,
                 max_pixels: int = compute.DEFAULT_PREVIEW_PIXELS,
                 progress: Progress | None = None) -> np.ndarray | Preview:
    """The image at `path` for the window: the whole ``(C, H, W) float32`` array as ``load_image``
    reads it, or a :class:`Preview` when :func:`too_large_reason` says it is too large and the
    region readers can read it by parts.

    Raises ImageIOError (one line) when it cannot be read.
    """
    from convstudio.core.imageio import load_image

    p = Path(os.fspath(path))
    image = _open_by_region(p, keep_alpha)
    if image is None:
        return load_image(p, keep_alpha=keep_alpha)
    with image:
        if not image.lazy:  # a layout read whole: load_image already did
            return image.array
        reason = too_large_reason(image.shape)
        if reason is None:
            if p.is_dir():
                return np.asarray(image[:, :, :])
            image.close()
            return load_image(p, keep_alpha=keep_alpha)
        array, factor, how = read_preview(image, max_pixels, progress=progress)
        return Preview(p, keep_alpha, tuple(image.shape), array, factor, how, reason)
