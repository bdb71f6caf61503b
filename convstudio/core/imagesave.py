"""Writing images: normalisation to [0, 1], encoding and atomic writes.

Used by :mod:`convstudio.core.imageio`, the public module, which re-exports
:func:`normalize_for_display`, :func:`save_image` and :func:`atomic_write_bytes` (see its docstring
for the array convention and the errors).
"""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from convstudio.core.errors import ImageIOError
from convstudio.core.imageheaders import PathArg, _cv_reason, _display_name, _os_reason
from convstudio.core.normalization import NORMALIZE_MODES

SUPPORTED_WRITE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".npy")


def _jpeg_quality() -> int:
    """:data:`convstudio.core.imageio.JPEG_QUALITY`, read at call time (a caller may change it)."""
    from convstudio.core import imageio

    return imageio.JPEG_QUALITY


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def normalize_for_display(x: np.ndarray, mode: str = "clip") -> np.ndarray:
    """Map an array of any range to [0, 1], for display or for saving as 8/16-bit.

    Parameters
    ----------
    x : array_like
        Any shape, real numeric (bool, int, uint or float). Typically ``(C, H, W)``.
    mode : {"clip", "minmax", "abs", "signed"}
        ``"clip"``: clip to [0, 1].
        ``"minmax"``: ``(x - min) / (max - min)`` over the whole array (all channels together,
        so channels stay comparable); a constant array gives 0.
        ``"abs"``: ``|x|``, then clip to [0, 1].
        ``"signed"``: 0 maps to mid-grey, ``0.5 + x / (2 * max|x|)`` (max over the whole array);
        an all-zero array gives 0.5 everywhere.

    Returns
    -------
    numpy.ndarray
        Same shape as `x`, ``float32``, every value in [0, 1].

    Notes
    -----
    min, max and max|x| are taken over finite values only. +inf and -inf then clip to 1 and 0.
    NaN becomes 0 (black) *after* normalisation, so the result is always displayable.

    Raises
    ------
    ValueError
        Unknown `mode`, or `x` not a real numeric array.
    """
    if mode not in NORMALIZE_MODES:
        raise ValueError(
            f"unknown normalize mode {mode!r}; expected one of {', '.join(map(repr, NORMALIZE_MODES))}"
        )
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"cannot normalise an array of dtype {a.dtype}: expected real numbers")
    # float32 cannot hold every int32/int64/float64 value; keep the extra precision until the end.
    wide = a.dtype.itemsize > 4 or (a.dtype.kind in "iu" and a.dtype.itemsize >= 4)
    work = a.astype(np.float64 if wide else np.float32, copy=True)
    if work.size == 0:
        return work.astype(np.float32, copy=False)

    with np.errstate(all="ignore"):
        if mode == "abs":
            np.abs(work, out=work)
        elif mode in ("minmax", "signed"):
            finite = np.isfinite(work)
            has_finite = bool(finite.any())
            lo = float(np.min(work, where=finite, initial=np.inf)) if has_finite else 0.0
            hi = float(np.max(work, where=finite, initial=-np.inf)) if has_finite else 0.0
            del finite
            if mode == "minmax":
                span = hi - lo  # a Python float: cannot overflow for float32 data
                if span > 0:
                    scale = 1.0 / span
                    # Multiply before subtracting, so extreme values cannot overflow to inf.
                    work *= scale
                    work -= lo * scale
                else:
                    # Constant finite part: it maps to 0; infinities keep their sign to clip.
                    np.copyto(work, np.where(np.isinf(work), work, 0))
            else:
                peak = max(abs(lo), abs(hi))
                if peak > 0:
                    work *= 0.5 / peak
                    work += 0.5
                else:
                    np.copyto(work, 0.5 + 0.5 * np.sign(work))
        np.clip(work, 0.0, 1.0, out=work)
        np.nan_to_num(work, copy=False, nan=0.0)
    return work.astype(np.float32, copy=False)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _file_mode_for(target: Path) -> int:
    """Permission bits for a new file: mkstemp makes 0600, an ordinary open() would not."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        pass
    mask = None
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    mask = int(line.split()[1], 8)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if mask is None:
        # Reading the umask means setting it; this briefly changes it process-wide.
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


#: The temporary files of the atomic writer: ``.<name>.cs<pid>.<8 random>.tmp`` (mkstemp's random
#: part). Only files of exactly this form are ever swept.
TEMP_PATTERN = re.compile(r"^\..{1,80}\.cs(?P<pid>[0-9]{1,10})\.[a-z0-9_]{8}\.tmp$")
#: A temporary file older than this (seconds) is stale even if a process of its pid runs.
STALE_SECONDS = 600
_swept: set[str] = set()
_swept_lock = threading.Lock()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or unknown: keep the file
    return True


def sweep_stale_temporaries(folder: PathArg, *, now: float | None = None) -> list[Path]:
    """Remove the atomic writer's temporary files that a killed run left in `folder`.

    A run stopped by SIGKILL (or a power cut) cannot remove its temporaries. A file is removed
    only when its name has exactly the writer's form (:data:`TEMP_PATTERN`, never a user's file)
    and its writer is gone: the pid in its name runs no process on this machine, or the file is
    older than :data:`STALE_SECONDS`. Errors are ignored (it is housekeeping). Returns the files
    removed.
    """
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = TEMP_PATTERN.match(entry.name)
        if m is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            if _pid_alive(int(m["pid"])) and now - st.st_mtime < STALE_SECONDS:
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _sweep_once(folder: Path) -> None:
    """Sweep each output folder once per process, before the first write into it."""
    key = os.path.abspath(folder)
    with _swept_lock:
        if key in _swept:
            return
        _swept.add(key)
    sweep_stale_temporaries(folder)


def _write_temp(target: Path, data: bytes | bytearray | memoryview) -> str:
    folder = target.parent
    # Short prefix: mkstemp adds random characters and the name must stay within NAME_MAX. The
    # pid lets a later run tell a dead writer's leftovers (sweep_stale_temporaries).
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:80]}.cs{os.getpid()}.", suffix=".tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.name == "posix":
            os.chmod(tmp, _file_mode_for(target))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return tmp


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; directories cannot be opened this way on Windows.
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write_many(items: list[tuple[Path, bytes | bytearray | memoryview]]) -> None:
    """Write every file or none: all temporaries are written and synced before any rename."""
    temps: list[tuple[str, Path]] = []
    current = items[0][0] if items else Path()
    for folder in {target.parent for target, _ in items}:
        _sweep_once(folder)
    try:
        for target, data in items:
            current = target
            temps.append((_write_temp(target, data), target))
        while temps:
            tmp, target = temps[0]
            current = target
            os.replace(tmp, target)
            temps.pop(0)
    except OSError as exc:
        reason = _os_reason(exc)
        if isinstance(exc, FileNotFoundError) and not current.parent.exists():
            reason = f"the folder '{current.parent}' does not exist"
        raise ImageIOError(f"cannot write '{current}': {reason}") from exc
    finally:
        for tmp, _ in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    for folder in {target.parent for target, _ in items}:
        _fsync_folder(folder)


def atomic_write_bytes(path: PathArg, data: bytes | bytearray | memoryview) -> None:
    """Write `data` to `path` atomically: afterwards the file holds all of it, or is untouched.

    The bytes go to a temporary file in the same folder, which is flushed, fsync'ed and then
    renamed over `path` (``os.replace``). On failure the temporary file is removed and an
    existing `path` keeps its old content. A new file gets the usual permissions (0666 minus the
    umask); an existing one keeps its own.

    Parameters
    ----------
    path : str or os.PathLike
        Target file. Its folder must exist.
    data : bytes-like
        The complete new content.

    Raises
    ------
    ImageIOError
        The file cannot be written (it is an ``OSError``).
    """
    name = _display_name(path)
    _atomic_write_many([(Path(name), data)])


def _as_chw(x: np.ndarray, name: str) -> np.ndarray:
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ImageIOError(f"cannot write '{name}': not an array ({exc})") from None
    if a.dtype.kind not in "biuf":
        raise ImageIOError(f"cannot write '{name}': unsupported dtype {a.dtype} (expected real numbers)")
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ImageIOError(
            f"cannot write '{name}': array of shape {a.shape}; expected (H, W) or (C, H, W)"
        )
    if 0 in a.shape:
        raise ImageIOError(f"cannot write '{name}': the array is empty (shape {a.shape})")
    return a


def _channel_paths(target: Path, count: int) -> list[Path]:
    digits = max(2, len(str(count - 1)))
    return [target.with_name(f"{target.stem}_c{i:0{digits}d}{target.suffix}") for i in range(count)]


def _to_cv_layout(chw: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` RGB(A) to the ``(H, W[, C])`` BGR(A) OpenCV encodes (C in 1, 3, 4)."""
    if chw.shape[0] == 1:
        return np.ascontiguousarray(chw[0])
    order = [2, 1, 0] if chw.shape[0] == 3 else [2, 1, 0, 3]
    return np.ascontiguousarray(np.moveaxis(chw[order], 0, -1))


def _encode(ext: str, img: np.ndarray, name: str) -> bytes:
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, _jpeg_quality()]
    elif ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101]  # above 100 means lossless
    else:
        params = []
    try:
        ok, buf = cv2.imencode(ext, img, params)
    except cv2.error as exc:
        raise ImageIOError(f"cannot write '{name}': encoding failed ({_cv_reason(exc)})") from None
    if not ok:
        raise ImageIOError(f"cannot write '{name}': encoding failed")
    return buf.tobytes()


def _check_save_args(name: str, target: Path, ext: str, normalize: str, depth: int) -> None:
    """The checks of :func:`save_image` on its extension, `normalize` and `depth`."""
    if ext not in SUPPORTED_WRITE_EXTENSIONS:
        raise ImageIOError(
            f"cannot write '{name}': unsupported extension '{target.suffix}' "
            f"(supported: {', '.join(SUPPORTED_WRITE_EXTENSIONS)})"
        )
    if normalize not in NORMALIZE_MODES:
        raise ValueError(
            f"unknown normalize mode {normalize!r}; expected one of {', '.join(map(repr, NORMALIZE_MODES))}"
        )
    if isinstance(depth, bool) or depth not in (8, 16):
        raise ValueError(f"depth must be 8 or 16, got {depth!r}")


def _encode_files(target: Path, ext: str, chw: np.ndarray, normalize: str, depth: int,
                  name: str) -> list[tuple[Path, bytes]]:
    """(path, encoded bytes) of every file :func:`save_image` writes for `chw` at `target`."""
    channels = chw.shape[0]
    files: list[tuple[Path, bytes]] = []
    try:
        if ext == ".npy":
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(chw, dtype=np.float32), allow_pickle=False)
            files.append((target, buf.getvalue()))
        elif ext in (".tif", ".tiff"):
            data = np.asarray(chw, dtype=np.float32)
            if channels in (1, 3, 4):
                files.append((target, _encode(".tiff", _to_cv_layout(data), name)))
            else:
                for c, p in zip(range(channels), _channel_paths(target, channels)):
                    files.append((p, _encode(".tiff", np.ascontiguousarray(data[c]), str(p))))
        else:
            fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".webp": "WebP"}[ext]
            if depth == 16 and ext != ".png":
                raise ImageIOError(
                    f"cannot write '{name}': {fmt} holds only 8-bit samples; use depth=8, or .png or .tif"
                )
            if channels == 4 and ext in (".jpg", ".jpeg", ".bmp"):
                raise ImageIOError(
                    f"cannot write '{name}': {fmt} cannot hold an alpha channel (4 channels given); "
                    "use .png, .webp or .tif, or drop the alpha channel"
                )
            unit = normalize_for_display(chw, normalize)
            maxval, dtype = (65535.0, np.uint16) if depth == 16 else (255.0, np.uint8)
            unit *= np.float32(maxval)
            samples = np.rint(unit).astype(dtype)
            del unit
            if channels in (1, 3, 4):
                files.append((target, _encode(ext, _to_cv_layout(samples), name)))
            else:
                for c, p in zip(range(channels), _channel_paths(target, channels)):
                    files.append((p, _encode(ext, np.ascontiguousarray(samples[c]), str(p))))
    except MemoryError:
        raise ImageIOError(f"cannot write '{name}': not enough memory to encode it") from None
    return files


def save_image(
    path: PathArg, x: np.ndarray, *, normalize: str = "clip", depth: int = 8
) -> list[Path]:
    """Write an array as an image (or several) and return the files written.

    Parameters
    ----------
    path : str or os.PathLike
        Target; the extension (any case) picks the format: ``.png``, ``.jpg``/``.jpeg``,
        ``.bmp``, ``.webp``, ``.tif``/``.tiff`` or ``.npy``.
    x : array_like
        ``(H, W)`` or ``(C, H, W)``, real numbers. Channel order R, G, B(, A).
    normalize : {"clip", "minmax", "abs", "signed"}, keyword-only
        How values are brought to [0, 1] for 8/16-bit formats; see
        :func:`normalize_for_display`. One mapping for the whole array, so channels stay
        comparable. NaN becomes 0 after normalisation. Ignored for ``.npy`` and TIFF.
    depth : {8, 16}, keyword-only
        Bits per sample for PNG. JPEG, BMP and WebP hold only 8. Ignored for ``.npy`` and TIFF,
        which are always written as ``float32``.

    Returns
    -------
    list of pathlib.Path
        The files written. One, except when C is not 1, 3 or 4 for an image format: then one
        gray file per channel, ``<stem>_c00<ext>``, ``<stem>_c01<ext>``, ... (more digits when
        C > 100).

    Notes
    -----
    ``.npy`` holds the ``(C, H, W) float32`` array exactly (``(H, W)`` becomes ``(1, H, W)``).
    TIFF holds the ``float32`` values as they are (C = 1 gray, 3 RGB, 4 RGBA). PNG, JPEG, BMP
    and WebP hold ``rint(normalize(x) * 255)`` (or 65535). WebP is written lossless, except
    that the colour of fully transparent pixels is not kept. JPEG and BMP cannot hold alpha, so
    C = 4 is refused for them.

    Writes are atomic (see :func:`atomic_write_bytes`); for several files, all are encoded and
    written to temporary files before the first is renamed into place.

    Raises
    ------
    ImageIOError
        Unsupported extension, unusable array (shape, dtype, empty), a format that cannot hold
        the requested depth or alpha, or a failed write.
    ValueError
        Unknown `normalize` mode or `depth` not 8 or 16.
    """
    name = _display_name(path)
    target = Path(name)
    ext = target.suffix.lower()
    _check_save_args(name, target, ext, normalize, depth)
    chw = _as_chw(x, name)
    files = _encode_files(target, ext, chw, normalize, depth, name)
    _atomic_write_many(files)
    return [p for p, _ in files]
