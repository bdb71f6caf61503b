"""Writing an output tile by tile, atomically (docs/scale.md).

A sink takes the tiles of a ``(C, H, W) float32`` output (``sink.write(box, block)``), then
``commit()`` publishes the file(s) at once or ``abort()`` leaves the target untouched. Every sink
writes into temporaries in the target's folder and renames them at the end, like every other
output of ConvStudio.

- ``.npy``: a memory-mapped temporary; tiles in any order.
- ``.tif`` / ``.tiff``: tiled, zlib-compressed BigTIFF, float32 values as they are; one file, or
  one grey file per channel (``NAME_c00.tif``...) when split. Tiles must come in row-major order
  and the tile sides be multiples of 16 (TIFF's rule); the files are written as the tiles come.
- ``.zarr``: a Zarr array (C, H, W) chunked by tile (needs the ``scale`` extra); any order.
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from .errors import ImageIOError
from .imageheaders import _os_reason
from .imagesave import _file_mode_for, _fsync_folder

__all__ = ["TileSink", "open_sink", "TILED_EXTENSIONS"]

#: Output extensions written tile by tile (other formats are assembled in memory).
TILED_EXTENSIONS = (".npy", ".tif", ".tiff", ".zarr")


def _temp_name(target: Path, suffix: str = ".tmp") -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:80]}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    return tmp


class TileSink:
    """Base class: ``write(box, block)`` per tile, then ``commit()`` or ``abort()``."""

    ordered = False  # True: tiles must arrive in row-major order

    def __init__(self, targets: list[Path]):
        self.targets = targets
        self._temps: list[str] = []

    def write(self, box: tuple[int, int, int, int], block: np.ndarray) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Finish writing the temporaries."""

    def commit(self) -> list[Path]:
        try:
            self._close()
            for tmp, target in zip(self._temps, self.targets):
                if os.name == "posix" and os.path.isfile(tmp):
                    os.chmod(tmp, _file_mode_for(target))
                _replace(tmp, target)
        except OSError as exc:
            self.abort()
            raise ImageIOError(f"cannot write '{self.targets[0]}': {_os_reason(exc)}") from exc
        for folder in {t.parent for t in self.targets}:
            _fsync_folder(folder)
        self._temps = []
        return self.targets

    def abort(self) -> None:
        try:
            self._close()
        except Exception:  # noqa: BLE001 - the output is abandoned anyway
            pass
        for tmp in self._temps:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            elif os.path.exists(tmp):
                os.unlink(tmp)
        self._temps = []


def _replace(tmp: str, target: Path) -> None:
    """Rename `tmp` over `target`; a folder (Zarr) replaces an old one by two renames."""
    if os.path.isdir(tmp) and target.exists():
        old = tempfile.mkdtemp(prefix=f".{target.name[:80]}.", suffix=".old", dir=target.parent)
        os.replace(target, os.path.join(old, "old"))
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


class _NpySink(TileSink):
    """A ``.npy`` written tile by tile with ``pwrite`` at each row's place in the file. (A memory
    map would do the same with one assignment, but its written pages count in the process's
    resident memory until the kernel reclaims them: 3.7 GiB for a 1-gigapixel run, against the
    tiles' 0.15 GiB.)"""

    def __init__(self, target: Path, shape):
        super().__init__([target])
        self._temps = [_temp_name(target)]
        header = np.lib.format.open_memmap(self._temps[0], mode="w+", dtype=np.float32, shape=shape)
        self._offset = int(header.offset)  # the header's length; the file has its full size
        del header
        self._shape = tuple(int(v) for v in shape)
        self._fd: int | None = os.open(self._temps[0], os.O_WRONLY)

    def write(self, box, block):
        r0, r1, c0, c1 = box
        _, h, w = self._shape
        block = np.ascontiguousarray(block, dtype="<f4")
        for c in range(block.shape[0]):
            if c0 == 0 and c1 == w:  # whole rows: one write per channel
                os.pwrite(self._fd, memoryview(block[c]).cast("B"), self._offset + (c * h + r0) * w * 4)
                continue
            for r in range(r0, r1):
                os.pwrite(self._fd, memoryview(block[c, r - r0]).cast("B"),
                          self._offset + ((c * h + r) * w + c0) * 4)

    def _close(self):
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


class _ZarrSink(TileSink):
    def __init__(self, target: Path, shape, tile):
        try:
            import zarr
        except ImportError:
            from .lazyio import scale_extra_missing

            raise scale_extra_missing(f"writing '{target}' (Zarr)") from None
        super().__init__([target])
        tmp = tempfile.mkdtemp(prefix=f".{target.name[:80]}.", suffix=".tmp", dir=target.parent)
        self._temps = [tmp]
        chunks = (shape[0], min(tile[0], shape[1]), min(tile[1], shape[2]))
        self._arr = zarr.open_array(tmp, mode="w", shape=shape, chunks=chunks, dtype="float32")

    def write(self, box, block):
        r0, r1, c0, c1 = box
        self._arr[:, r0:r1, c0:c1] = block


class _TiffWriterThread(threading.Thread):
    """Feeds one tifffile writer from a queue of tiles (tifffile pulls tiles from an iterator)."""

    def __init__(self, path: str, shape_hw: tuple[int, int], samples: int, tile):
        super().__init__(daemon=True)
        self.path, self.shape_hw, self.samples, self.tile = path, shape_hw, samples, tile
        self.tiles: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self._ended = False

    def _iter(self):
        while (item := self.tiles.get()) is not None:
            yield item
        self._ended = True

    def run(self) -> None:
        import tifffile

        shape = self.shape_hw + ((self.samples,) if self.samples > 1 else ())
        kw = {"photometric": "rgb" if self.samples in (3, 4) else "minisblack"}
        if self.samples == 4:
            kw["extrasamples"] = ["unassalpha"]
        try:
            with tifffile.TiffWriter(self.path, bigtiff=True) as tw:
                tw.write(self._iter(), shape=shape, dtype=np.float32, tile=self.tile, compression="zlib",
                         planarconfig="contig" if self.samples > 1 else None, metadata=None, **kw)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that feeds us
            self.error = exc
            while not self._ended and self.tiles.get() is not None:  # let the producer finish
                pass


class _TiffSink(TileSink):
    ordered = True

    def __init__(self, targets: list[Path], shape, tile):
        if tile[0] % 16 or tile[1] % 16:
            raise ValueError(f"TIFF tiles must be multiples of 16, got {tile}")
        super().__init__(targets)
        self._temps = [_temp_name(t) for t in targets]
        c = shape[0]
        self._per_file = c if len(targets) == 1 else 1
        self._threads = [_TiffWriterThread(tmp, tuple(shape[1:]), self._per_file, tile) for tmp in self._temps]
        for t in self._threads:
            t.start()

    def write(self, box, block):
        for k, t in enumerate(self._threads):
            if t.error is not None:
                raise ImageIOError(f"cannot write '{self.targets[k]}': {t.error}")
            part = block if self._per_file > 1 else block[k:k + 1]
            t.tiles.put(np.ascontiguousarray(np.moveaxis(part, 0, -1) if self._per_file > 1 else part[0]))

    def _close(self):
        for t in self._threads:
            if t.is_alive():
                t.tiles.put(None)
            t.join()
        errors = [(k, t.error) for k, t in enumerate(self._threads) if t.error is not None]
        self._threads = []
        if errors:
            k, err = errors[0]
            raise ImageIOError(f"cannot write '{self.targets[k]}': {' '.join(str(err).split())}")


def open_sink(target: str | os.PathLike, shape: tuple[int, int, int], tile: tuple[int, int], *,
              split: bool = False) -> TileSink:
    """A sink for a ``shape`` output at `target` (the extension picks the format, see the module
    docstring); `split` writes one TIFF per channel, named as ``channels.output_paths`` names them."""
    from .channels import output_paths

    path = Path(os.fspath(target))
    ext = path.suffix.lower()
    if not path.parent.is_dir():
        raise ImageIOError(f"cannot write '{path}': the folder '{path.parent}' does not exist")
    if ext == ".npy":
        return _NpySink(path, shape)
    if ext == ".zarr":
        return _ZarrSink(path, shape, tile)
    if ext in (".tif", ".tiff"):
        return _TiffSink(output_paths(path, shape[0], split=split), shape, tile)
    raise ValueError(f"no tiled writer for '{ext}' (tiled formats: {', '.join(TILED_EXTENSIONS)})")
