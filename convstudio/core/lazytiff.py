"""Tiled or striped (Big)TIFF read region by region: only the tiles or strips a region touches
are read from the file and decoded (``tifffile``). Part of :mod:`convstudio.core.lazyio`.

Layouts that this reader does not take (palette colours, an alpha channel, an orientation
other than the default, several planes) raise :class:`TiffLayoutUnsupported`; :func:`lazyio.open_image` then
loads the file whole with ``load_image``, which handles them, within its limits.
"""

from __future__ import annotations

import os
import re
import threading
from typing import BinaryIO

import numpy as np

from .errors import ImageIOError
from .lazyio import MAX_LAZY_PIXELS, LazyImage, _channel_index, _check_segment, _check_size, _reason
from .quiet import captured_log
from .safeio import open_regular

__all__ = ["TiffImage", "TiffLayoutUnsupported"]

_MINISBLACK, _RGB = 1, 2


class TiffLayoutUnsupported(Exception):
    """The TIFF is valid but is not read region by region."""


class TiffImage(LazyImage):
    """The first page of a TIFF; 8-bit / 255, 16-bit / 65535, float as is (as load_image).

    `file`, when given, is the open file the header checks of :func:`lazyio.open_image` were made
    on (the image then owns it); otherwise the path is opened (a regular file only). Whatever the
    TIFF library raises or warns about while reading the directory or a tile becomes one
    :class:`ImageIOError` line (docs/security.md)."""

    def __init__(self, path, keep_alpha: bool = False, max_pixels: int = MAX_LAZY_PIXELS, *,
                 file: BinaryIO | None = None):
        super().__init__(path, keep_alpha)
        self._file = open_regular(path, error=ImageIOError) if file is None else file
        try:
            self._open(max_pixels)
        except BaseException:
            self.close()
            raise

    def _open(self, max_pixels: int) -> None:
        import tifffile

        try:
            with captured_log("tifffile") as notes:
                self._file.seek(0)  # tifffile reads a stream from where it stands
                self._tif = tifffile.TiffFile(self._file, name=os.path.basename(self.name))
                page = self._tif.pages.first
                orientation = page.tags.valueof(274, 1)
                layout = (page.photometric, page.imagedepth, page.dtype, page.shaped, page.is_tiled,
                          page.tilelength, page.tilewidth, page.rowsperstrip)
        except (MemoryError, ImageIOError):
            raise
        except Exception as exc:  # noqa: BLE001 - tifffile raises many kinds for a corrupt file
            raise ImageIOError(f"cannot read '{self.name}': not a valid TIFF file ({_reason(exc)})") from None
        if notes:  # a tag skipped or repaired: the pixels may not be what the file holds
            raise ImageIOError(f"cannot read '{self.name}': the TIFF reader reported: {_note(notes[0])}")
        photometric, depth, dtype, shaped, tiled, tile_h, tile_w, rows_per_strip = layout
        if (photometric not in (_MINISBLACK, _RGB) or orientation != 1 or depth != 1
                or dtype is None or np.dtype(dtype) not in _DTYPES):
            raise TiffLayoutUnsupported
        sep, _, h, w, contig = shaped
        samples = sep * contig
        if samples not in (1, 3):
            # OpenCV (load_image) premultiplies an unassociated alpha; only it gives those values
            raise TiffLayoutUnsupported
        self._channels = _channel_index(samples, keep_alpha=self.keep_alpha, name=self.name)
        _check_size(self.name, len(self._channels), w, h, max_pixels)
        seg_rows, seg_cols = (tile_h, tile_w) if tiled else (min(rows_per_strip or h, h), w)
        if seg_rows < 1 or seg_cols < 1:
            raise ImageIOError(f"cannot read '{self.name}': not a valid TIFF file (segments of "
                               f"{seg_rows} x {seg_cols})")
        _check_segment(self.name, "tile" if tiled else "strip", seg_rows * seg_cols * contig)
        self._page, self._segment, self._lock = page, (seg_rows, seg_cols), threading.Lock()
        self.shape = (len(self._channels), h, w)

    def read(self, r0, r1, c0, c1):
        try:
            with captured_log("tifffile") as notes:
                samples = self._read(r0, r1, c0, c1)
        except (MemoryError, ImageIOError):
            raise
        except Exception as exc:  # noqa: BLE001 - a corrupt offset, count or compressed tile
            raise ImageIOError(f"cannot read '{self.name}': a tile cannot be read ({_reason(exc)})") from None
        if notes:
            raise ImageIOError(f"cannot read '{self.name}': the TIFF reader reported: {_note(notes[0])}")
        return self._finish(samples[self._channels], "image")

    def _read(self, r0, r1, c0, c1) -> np.ndarray:
        page = self._page
        sep, _, h, w, contig = page.shaped
        th, tw = self._segment
        ny, nx = -(-h // th), -(-w // tw)
        ty = range(r0 // th, -(-r1 // th))
        tx = range(c0 // tw, -(-c1 // tw))
        indices = [s * ny * nx + y * nx + x for s in range(sep) for y in ty for x in tx]
        offsets, counts = page.dataoffsets, page.databytecounts
        if indices and max(indices) >= min(len(offsets), len(counts)):
            raise ImageIOError(f"cannot read '{self.name}': not a valid TIFF file (fewer tiles or strips "
                               "than its size needs)")
        out = np.zeros((sep, r1 - r0, c1 - c0, contig), np.dtype(page.dtype))
        decode = page.decode
        with self._lock:  # one file handle: its reads are not thread-safe
            segments = list(self._tif.filehandle.read_segments(
                [offsets[i] for i in indices], [counts[i] for i in indices], indices, sort=True))
        for data, index in segments:
            seg, (s, _, y, x, _), _ = decode(data, index, jpegtables=page.jpegtables)
            if seg is None:  # an empty (sparse) tile reads as zeros
                continue
            seg = seg.reshape(seg.shape[-3:])  # (rows, cols, contig samples)
            ya, yb = max(y, r0), min(y + seg.shape[0], r1)
            xa, xb = max(x, c0), min(x + seg.shape[1], c1)
            if ya < yb and xa < xb:
                out[s, ya - r0:yb - r0, xa - c0:xb - c0] = seg[ya - y:yb - y, xa - x:xb - x]
        return np.moveaxis(out, 3, 1).reshape(sep * contig, r1 - r0, c1 - c0)

    def close(self) -> None:
        tif = self.__dict__.pop("_tif", None)
        if tif is not None:
            tif.close()
        f = self.__dict__.pop("_file", None)
        if f is not None:
            f.close()

    def __del__(self) -> None:
        self.close()


def _note(text: str) -> str:
    """tifffile's log line, without its call-site prefix and object reprs:
    "<TiffTag.fromfile> raised TiffFileError('<tifffile.TiffTag 339 @1318> invalid data type 0')"
    -> "tag 339 at byte 1318: invalid data type 0"."""
    inner = _RAISED.search(text)
    text = inner.group(1) if inner else _CALLER.sub("", text)
    return _reason(_TAG.sub(r"tag \1 at byte \2:", text))


_RAISED = re.compile(r"raised \w+\(['\"](.*)['\"]\)\s*$")
_CALLER = re.compile(r"^<[\w.]+>\s*")
_TAG = re.compile(r"<tifffile\.TiffTag (\d+) @(\d+)>")

_DTYPES = {np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64)}
