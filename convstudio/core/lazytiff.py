"""Tiled or striped (Big)TIFF read region by region: only the tiles or strips a region touches
are read from the file and decoded (``tifffile``). Part of :mod:`convstudio.core.lazyio`.

Layouts that this reader does not take (palette colours, an alpha channel, an orientation
other than the default, several planes) raise :class:`TiffLayoutUnsupported`; :func:`lazyio.open_image` then
loads the file whole with ``load_image``, which handles them, within its limits.
"""

from __future__ import annotations

import threading

import numpy as np

from .errors import ImageIOError
from .lazyio import MAX_LAZY_PIXELS, LazyImage, _channel_index, _check_size

__all__ = ["TiffImage", "TiffLayoutUnsupported"]

_MINISBLACK, _RGB = 1, 2


class TiffLayoutUnsupported(Exception):
    """The TIFF is valid but is not read region by region."""


class TiffImage(LazyImage):
    """The first page of a TIFF; 8-bit / 255, 16-bit / 65535, float as is (as load_image)."""

    def __init__(self, path, keep_alpha: bool = False, max_pixels: int = MAX_LAZY_PIXELS):
        import tifffile

        super().__init__(path, keep_alpha)
        try:
            self._tif = tifffile.TiffFile(self.path)
            page = self._tif.pages.first
        except (OSError, ValueError, tifffile.TiffFileError) as exc:
            raise ImageIOError(f"cannot read '{self.name}': not a valid TIFF file "
                               f"({' '.join(str(exc).split())[:200]})") from None
        orientation = page.tags.valueof(274, 1)
        if (page.photometric not in (_MINISBLACK, _RGB) or orientation != 1 or page.imagedepth != 1
                or page.dtype is None or np.dtype(page.dtype) not in _DTYPES):
            self._tif.close()
            raise TiffLayoutUnsupported
        sep, _, h, w, contig = page.shaped
        samples = sep * contig
        if samples not in (1, 3):
            # OpenCV (load_image) premultiplies an unassociated alpha; only it gives those values
            self._tif.close()
            raise TiffLayoutUnsupported
        self._channels = _channel_index(samples, keep_alpha, self.name)
        _check_size(self.name, len(self._channels), w, h, max_pixels)
        self._page, self._lock = page, threading.Lock()
        self.shape = (len(self._channels), h, w)

    def read(self, r0, r1, c0, c1):
        page = self._page
        sep, _, h, w, contig = page.shaped
        if page.is_tiled:
            th, tw = page.tilelength, page.tilewidth
        else:
            th, tw = page.rowsperstrip or h, w
        ny, nx = -(-h // th), -(-w // tw)
        ty = range(r0 // th, -(-r1 // th))
        tx = range(c0 // tw, -(-c1 // tw))
        indices = [s * ny * nx + y * nx + x for s in range(sep) for y in ty for x in tx]
        out = np.zeros((sep, r1 - r0, c1 - c0, contig), np.dtype(page.dtype))
        decode = page.decode
        with self._lock:  # one file handle: its reads are not thread-safe
            segments = list(self._tif.filehandle.read_segments(
                [page.dataoffsets[i] for i in indices], [page.databytecounts[i] for i in indices],
                indices, sort=True))
        for data, index in segments:
            try:
                seg, (s, _, y, x, _), _ = decode(data, index, jpegtables=page.jpegtables)
            except (ValueError, NotImplementedError, RuntimeError) as exc:
                raise ImageIOError(f"cannot read '{self.name}': a tile cannot be decoded "
                                   f"({' '.join(str(exc).split())[:200]})") from None
            if seg is None:  # an empty (sparse) tile reads as zeros
                continue
            seg = seg.reshape(seg.shape[-3:])  # (rows, cols, contig samples)
            ya, yb = max(y, r0), min(y + seg.shape[0], r1)
            xa, xb = max(x, c0), min(x + seg.shape[1], c1)
            if ya < yb and xa < xb:
                out[s, ya - r0:yb - r0, xa - c0:xb - c0] = seg[ya - y:yb - y, xa - x:xb - x]
        samples = np.moveaxis(out, 3, 1).reshape(sep * contig, r1 - r0, c1 - c0)
        return self._finish(samples[self._channels], "image")

    def close(self) -> None:
        tif = self.__dict__.pop("_tif", None)
        if tif is not None:
            tif.close()

    def __del__(self) -> None:
        self.close()


_DTYPES = {np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64)}
