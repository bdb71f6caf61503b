"""Images too large to load whole, read region by region (docs/scale.md).

:func:`open_image` opens an image without reading its pixels and returns an object with
``shape == (C, H, W)`` that reads ``image[:, r0:r1, c0:c1]`` as ``float32`` on demand, with the
same values :func:`~convstudio.core.load_image` gives (8-bit / 255, 16-bit / 65535, float as is,
R, G, B order, alpha dropped unless kept):

- tiled or striped (Big)TIFF: only the tiles or strips a region touches are read and decoded
  (``tifffile``);
- ``.npy``: through a read-only memory map (``numpy.load(mmap_mode="r", allow_pickle=False)``);
- Zarr arrays and OME-Zarr images (a folder; needs the ``scale`` extra): the chunks a region
  touches;
- anything else (PNG, JPEG, TIFF layouts read otherwise, ...): loaded whole by ``load_image``,
  with its limits.

The size comes from the header and is checked (at most :data:`MAX_LAZY_PIXELS` pixels and
``MAX_CHANNELS`` channels) before any pixel is read. The objects pickle as their path and
options, so Dask workers reopen the file themselves. Writing tile by tile is in
:mod:`convstudio.core.tilesinks`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .errors import ImageIOError
from .imageheaders import _check_pixels, _Corrupt, _display_name, _npy_header, _os_reason, _probe, _sniff
from .layerspec import MAX_CHANNELS
from .safeio import open_regular

__all__ = ["MAX_LAZY_PIXELS", "LazyImage", "open_image", "is_zarr_path", "scale_extra_missing"]

#: Images read region by region may hold up to this many pixels (width x height): 200
#: gigapixels, a thousand times what ``load_image`` accepts whole.
MAX_LAZY_PIXELS = 200_000_000_000

_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def scale_extra_missing(what: str) -> ImageIOError:
    """The one-line message for a feature of the optional ``scale`` extra."""
    return ImageIOError(f"{what} needs Dask and Zarr: pip install \"convstudio[scale]\"")


def is_zarr_path(path: str | os.PathLike) -> bool:
    """A folder, or a name ending in .zarr: read and written as Zarr."""
    p = Path(os.fspath(path))
    return p.suffix.lower() == ".zarr" or p.is_dir()


class LazyImage:
    """Base of the lazy images: ``shape`` (C, H, W), ``dtype`` float32, ``image[:, rows, cols]``."""

    dtype = np.dtype(np.float32)
    ndim = 3
    lazy = True  # False: the pixels were loaded whole

    def __init__(self, path: str | os.PathLike, keep_alpha: bool = False):
        self.path = os.fspath(path)
        self.name = _display_name(path)
        self.keep_alpha = keep_alpha
        self.shape: tuple[int, int, int] = (0, 0, 0)

    def __reduce__(self):
        # a Dask worker reopens the file instead of receiving its pixels
        return (_reopen, (self.path, self.keep_alpha))

    def __getitem__(self, key: Any) -> np.ndarray:
        if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(k, slice) for k in key)
                and all(k.step in (None, 1) for k in key[1:])):
            raise TypeError("a lazy image is read as image[channels, r0:r1, c0:c1]")
        _, h, w = self.shape
        r0, r1, _ = key[1].indices(h)
        c0, c1, _ = key[2].indices(w)
        a = self.read(r0, max(r0, r1), c0, max(c0, c1))
        return a if key[0] == slice(None) else a[key[0]]

    def read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file (also done when the object is collected)."""

    def __enter__(self) -> LazyImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _finish(self, a: np.ndarray, kind: str) -> np.ndarray:
        """(C, h, w) samples of the file -> float32 values as load_image gives them."""
        scale = _SCALES.get(a.dtype)
        with np.errstate(over="ignore"):  # float64 beyond float32 becomes inf, refused below
            out = a.astype(np.float32)
        if scale is not None and kind == "image":
            out /= np.float32(scale)
        elif a.dtype.kind == "f" and not np.isfinite(out).all():
            what = "values beyond the float32 range" if np.isfinite(a).all() else "NaN or infinite values"
            raise ImageIOError(f"cannot read '{self.name}': the image contains {what}")
        return out


class MemoryImage(LazyImage):
    """An image ``load_image`` read whole (formats that cannot be read by region)."""

    lazy = False

    def __init__(self, path, keep_alpha: bool = False):
        from .imageio import load_image

        super().__init__(path, keep_alpha)
        self.array = load_image(path, keep_alpha=keep_alpha)
        self.shape = tuple(self.array.shape)  # type: ignore[assignment]

    def read(self, r0, r1, c0, c1):
        return self.array[:, r0:r1, c0:c1]


class NpyImage(LazyImage):
    """A ``.npy`` file through a read-only memory map; values cast to float32 unscaled."""

    def __init__(self, path, keep_alpha: bool = False, max_pixels: int = MAX_LAZY_PIXELS, *,
                 file: BinaryIO | None = None):
        super().__init__(path, keep_alpha)
        f = open_regular(path, error=ImageIOError) if file is None else file
        try:
            self._mm = self._map(f, max_pixels)
        except OSError as exc:
            raise ImageIOError(f"cannot read '{self.name}': {_os_reason(exc)}") from None
        finally:
            if file is None:
                f.close()  # the map keeps its own reference to the file
        shape = self._mm.shape
        self.shape = (1,) + tuple(shape) if len(shape) == 2 else tuple(shape)  # type: ignore[assignment]

    def _map(self, f: BinaryIO, max_pixels: int) -> np.memmap:
        """The checks of load_image on the header (docs/security.md), then the map of the
        descriptor they were made on (a regular file; never reopened by name)."""
        f.seek(0)
        try:
            shape, fortran, dtype, offset = _npy_header(f)
        except _Corrupt as exc:
            raise ImageIOError(f"cannot read '{self.name}': {exc}") from None
        if dtype.hasobject:
            raise ImageIOError(f"cannot read '{self.name}': it holds Python objects (pickled data), "
                               "refused for safety")
        if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
            raise ImageIOError(f"cannot read '{self.name}': unsupported dtype {dtype} "
                               "(expected bool, integer or real float)")
        if len(shape) not in (2, 3) or 0 in shape:
            raise ImageIOError(f"cannot read '{self.name}': array of shape {shape}; expected (H, W) "
                               "or (C, H, W), not empty")
        _check_size(self.name, shape[-3] if len(shape) == 3 else 1, shape[-1], shape[-2], max_pixels)
        if os.fstat(f.fileno()).st_size - offset < math.prod(shape) * dtype.itemsize:
            raise ImageIOError(f"cannot read '{self.name}': the .npy file is truncated")
        try:
            return np.memmap(f, dtype=dtype, mode="r", offset=offset, shape=shape,
                             order="F" if fortran else "C")
        except ValueError as exc:
            raise ImageIOError(f"cannot read '{self.name}': {' '.join(str(exc).split())}") from None

    def read(self, r0, r1, c0, c1):
        mm = self._mm
        try:
            a = mm[r0:r1, c0:c1][None] if mm.ndim == 2 else mm[:, r0:r1, c0:c1]
            a = np.array(a)
        except OSError as exc:  # the file shrank under the map (SIGBUS is not raised on Linux reads)
            raise ImageIOError(f"cannot read '{self.name}': {_os_reason(exc)}") from None
        return self._finish(a, "npy")


def _check_size(name: str, c: int, w: int, h: int, max_pixels: int) -> None:
    _check_pixels(name, w, h, max_pixels)
    if c > MAX_CHANNELS:
        raise ImageIOError(f"cannot read '{name}': {c} channels, above the limit of {MAX_CHANNELS}")


def _channel_index(samples: int, keep_alpha: bool, name: str) -> list[int]:
    """Samples of a pixel -> channels, as load_image keeps them (alpha last, dropped by default)."""
    if samples == 1:
        return [0]
    if samples == 2:  # grey + alpha
        return [0, 0, 0, 1] if keep_alpha else [0]
    if samples in (3, 4):
        return [0, 1, 2, 3][: samples if keep_alpha else 3]
    raise ImageIOError(f"cannot read '{name}': unsupported number of samples per pixel ({samples})")


class ZarrImage(LazyImage):
    """A Zarr array (C, H, W) or (H, W), or the full-resolution level of an OME-Zarr image whose
    axes other than c, y, x have length 1; values cast to float32 unscaled."""

    def __init__(self, path, keep_alpha: bool = False, max_pixels: int = MAX_LAZY_PIXELS):
        super().__init__(path, keep_alpha)
        try:
            import zarr
        except ImportError:
            raise scale_extra_missing(f"reading '{self.name}' (Zarr)") from None
        try:
            self._open(zarr, max_pixels)
        except ImageIOError:
            raise
        except Exception as exc:  # noqa: BLE001 - zarr raises many kinds for a bad store
            raise ImageIOError(f"cannot read '{self.name}': not a readable Zarr array or group "
                               f"({_reason(exc)})") from None

    def _open(self, zarr: Any, max_pixels: int) -> None:
        node = zarr.open(self.path, mode="r")
        axes = None
        if not hasattr(node, "shape"):  # a group: OME-Zarr multiscales, level 0
            attrs = dict(node.attrs)
            ome = attrs.get("ome")
            ms = attrs.get("multiscales") or (ome.get("multiscales") if isinstance(ome, dict) else None)
            try:
                level = ms[0]["datasets"][0]["path"]
                axes = [a["name"] if isinstance(a, dict) else a for a in ms[0].get("axes", [])] or None
                node = node[level]
            except (TypeError, KeyError, IndexError, AttributeError):
                raise ImageIOError(f"cannot read '{self.name}': a Zarr group without OME-Zarr "
                                   "multiscales metadata") from None
        shape = tuple(int(n) for n in node.shape)
        if axes is not None and len(axes) != len(shape):
            raise ImageIOError(f"cannot read '{self.name}': {len(axes)} OME-Zarr axes for an array of "
                               f"{len(shape)} dimensions")
        self._arr, self._select = node, _zarr_selection(shape, axes, self.name)
        if np.dtype(node.dtype).kind not in "biuf":
            raise ImageIOError(f"cannot read '{self.name}': unsupported dtype {node.dtype}")
        c_axis, y_axis, x_axis = self._select
        c = shape[c_axis] if c_axis is not None else 1
        _check_size(self.name, c, shape[x_axis], shape[y_axis], max_pixels)
        chunks = tuple(int(n) for n in node.chunks)
        _check_segment(self.name, "chunk", math.prod(chunks))
        self.shape = (c, shape[y_axis], shape[x_axis])

    def read(self, r0, r1, c0, c1):
        c_axis, y_axis, x_axis = self._select
        key = [0] * self._arr.ndim
        if c_axis is not None:
            key[c_axis] = slice(None)
        key[y_axis], key[x_axis] = slice(r0, r1), slice(c0, c1)
        try:
            a = np.asarray(self._arr[tuple(key)])
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - a missing or corrupt chunk, a codec error
            raise ImageIOError(f"cannot read '{self.name}': a chunk cannot be read ({_reason(exc)})") from None
        if c_axis is None:
            a = a[None]
        elif c_axis > y_axis:  # channels after the rows: bring them first
            a = np.moveaxis(a, -1 if c_axis > x_axis else 1, 0)
        return self._finish(a, "zarr")


def _reason(exc: BaseException) -> str:
    """An exception of a file library as a few words for a one-line message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _check_segment(name: str, what: str, values: int) -> None:
    """A tile, strip or chunk is decoded whole: it is held to what load_image reads at once."""
    from .imageio import DEFAULT_MAX_PIXELS

    limit = 4 * DEFAULT_MAX_PIXELS  # an RGBA image at load_image's pixel limit
    if values > limit:
        raise ImageIOError(f"cannot read '{name}': one {what} holds {values} values, above the limit "
                           f"of {limit} decoded at once")


def _zarr_selection(shape: tuple[int, ...], axes: list[str] | None, name: str):
    """(channel axis or None, row axis, column axis) of a Zarr array."""
    if axes is None:
        if len(shape) == 2:
            return None, 0, 1
        if len(shape) == 3:
            return 0, 1, 2
        axes = ["t", "c", "z", "y", "x"][-len(shape):] if len(shape) <= 5 else None
    if axes is None or "y" not in axes or "x" not in axes:
        raise ImageIOError(f"cannot read '{name}': array of shape {shape}; expected (H, W), "
                           "(C, H, W) or OME-Zarr axes with y and x")
    for a, n in zip(axes, shape):
        if a not in ("c", "y", "x") and n != 1:
            raise ImageIOError(f"cannot read '{name}': axis '{a}' has {n} entries; only images "
                               "with one time point and one plane are read")
    return (axes.index("c") if "c" in axes else None), axes.index("y"), axes.index("x")


def _open_dispatch(path, keep_alpha: bool, max_pixels: int) -> LazyImage:
    if is_zarr_path(path):
        return ZarrImage(path, keep_alpha, max_pixels)
    name = _display_name(path)
    # the checks load_image makes (docs/security.md): a regular file, opened without blocking,
    # its format from its content; the sizes come from a bounded header probe below
    f = open_regular(path, error=ImageIOError)
    handed_over = False
    try:
        kind = _sniff(f.read(16))
        if kind == "npy":
            return NpyImage(path, keep_alpha, max_pixels, file=f)
        if kind == "tiff":
            from .lazytiff import TiffImage, TiffLayoutUnsupported

            _probe_tiff_sizes(f, name, max_pixels)
            try:
                image = TiffImage(path, keep_alpha, max_pixels, file=f)
                handed_over = True
                return image
            except TiffLayoutUnsupported:
                pass  # palette, orientation, JPEG-in-TIFF ...: OpenCV reads those whole
    except ImageIOError:
        raise
    except OSError as exc:
        raise ImageIOError(f"cannot read '{name}': {_os_reason(exc)}") from None
    finally:
        if not handed_over:
            f.close()
    return MemoryImage(path, keep_alpha)


def _probe_tiff_sizes(f: BinaryIO, name: str, max_pixels: int) -> None:
    """load_image's TIFF header checks on an open file: every directory read within bounds
    (no loops, no tag given twice, sizes as single integers), and every page's size within
    `max_pixels` (docs/security.md), before the TIFF library reads anything."""

    def read_at(offset: int, n: int) -> bytes:
        if offset < 0 or n <= 0:
            return b""
        f.seek(offset)
        return f.read(n)

    try:
        header = _probe("tiff", read_at)
    except _Corrupt as exc:
        raise ImageIOError(f"cannot read '{name}': {exc}") from None
    if header.width is None or header.height is None:
        raise ImageIOError(f"cannot read '{name}': not a valid TIFF file (its size cannot be read from "
                           "its header)")
    for width, height in [(header.width, header.height), *header.sizes]:
        _check_pixels(name, width, height, max_pixels)


def open_image(path: str | os.PathLike, *, keep_alpha: bool = False,
               max_pixels: int = MAX_LAZY_PIXELS) -> LazyImage:
    """Open an image for reading by region (see the module docstring); ImageIOError when it
    cannot be read, is too large, or holds what load_image would refuse."""
    return _open_dispatch(path, keep_alpha, max_pixels)


def _reopen(path: str, keep_alpha: bool) -> LazyImage:
    return open_image(path, keep_alpha=keep_alpha)
