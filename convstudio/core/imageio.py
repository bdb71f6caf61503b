"""Reading and writing images: files on disk to and from ``(C, H, W) float32`` arrays.

Everything ConvStudio shows or convolves enters through :func:`load_image` and leaves through
:func:`save_image`. Both speak one array convention: ``(C, H, W) float32``, channels in the order
R, G, B (then A), 8- and 16-bit samples scaled to [0, 1]. OpenCV (which stores B, G, R, with
channels last) is an implementation detail that never shows in the results.

Files are read as bytes and decoded with ``cv2.imdecode``, never ``cv2.imread``, which cannot open
non-ASCII paths on some platforms. The format is told from the file's content, not its extension.

Limits (module constants, read at call time, so a caller or a test may change them):

``DEFAULT_MAX_PIXELS`` = 200_000_000 (200 megapixels)
    The default of ``max_pixels``. The dimensions are read from the header with a small, bounded
    parser *before* decoding, so a small file that claims to be huge (a decompression bomb) is
    refused without allocating anything.
``MAX_FILE_BYTES`` = 1 GiB
    Larger files are refused before they are read.
``MAX_UNPARSED_BYTES`` = 64 MiB
    When the header cannot be parsed (dimensions unknown), decoding is attempted only for files up
    to this size.

Every failure a user can cause (missing, unreadable, corrupt, unsupported or too large file) raises
:class:`~convstudio.core.errors.ImageIOError` with a one-line message naming the file. Invalid
*arguments* (an unknown ``normalize`` mode, a ``depth`` other than 8 or 16) raise ``ValueError``.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import cv2
import numpy as np

from convstudio.core.errors import ImageIOError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_FILE_BYTES",
    "MAX_UNPARSED_BYTES",
    "JPEG_QUALITY",
    "NORMALIZE_MODES",
    "SUPPORTED_READ_EXTENSIONS",
    "SUPPORTED_WRITE_EXTENSIONS",
    "atomic_write_bytes",
    "image_size",
    "load_image",
    "normalize_for_display",
    "save_image",
]

PathArg = Union[str, "os.PathLike[str]"]

#: Images with more pixels (width x height) than this are refused unless ``max_pixels`` says
#: otherwise: 200 megapixels, already 3.2 GB as RGBA ``float32``.
DEFAULT_MAX_PIXELS = 200_000_000
#: Files larger than this (1 GiB) are refused before being read.
MAX_FILE_BYTES = 1 << 30
#: A file whose dimensions cannot be read from its header is decoded only up to this size (64 MiB).
MAX_UNPARSED_BYTES = 64 << 20
#: Quality used when saving JPEG (0-100).
JPEG_QUALITY = 95

NORMALIZE_MODES = ("clip", "minmax", "abs", "signed")
SUPPORTED_READ_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".npy")
SUPPORTED_WRITE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".npy")

_FORMAT_NAMES = {
    "png": "PNG",
    "jpeg": "JPEG",
    "tiff": "TIFF",
    "bmp": "BMP",
    "webp": "WebP",
    "npy": "NumPy .npy",
}
_SUPPORTED_FORMATS_TEXT = "PNG, JPEG, TIFF, BMP, WebP or NumPy .npy"

# Bounds that keep the header parsers' work small whatever a file claims.
_MAX_HEADER_SEGMENTS = 100_000
_MAX_EXIF_BYTES = 1 << 20
_MAX_TIFF_ENTRIES = 65_535
_PNG_MAX_CHUNK = 2**31 - 1  # the PNG spec's own limit on a chunk length

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_NPY_MAGIC = b"\x93NUMPY"
# SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_PNG_VALID_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}

_ReadAt = Callable[[int, int], bytes]


class _Corrupt(Exception):
    """Internal: the file is malformed; the message is the reason, to be prefixed with its name."""


@dataclass
class _Header:
    """What the bounded header parsers learn about a file before it is decoded."""

    kind: str
    width: int | None = None  # as stored, before any orientation is applied
    height: int | None = None
    orientation: int = 1  # EXIF/TIFF orientation, 1..8
    decoder_orients: bool = False  # True when OpenCV applies the orientation itself (TIFF)
    gray: bool = False  # the file says it is gray, whatever the decoder returns
    bit_depth: int = 8
    gray_trns: int | None = None  # PNG colour type 0 with tRNS: the sample value that is transparent

    def loaded_size(self) -> tuple[int, int] | None:
        """(width, height) as :func:`load_image` returns it, i.e. after orientation."""
        if self.width is None or self.height is None:
            return None
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


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
# Small helpers: names, messages
# --------------------------------------------------------------------------------------------


def _display_name(path: PathArg) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"expected a str or os.PathLike path, got {type(path).__name__}")
    name = os.fspath(path)
    return os.fsdecode(name) if isinstance(name, bytes) else name


def _fmt_count(n: int) -> str:
    if n >= 1_000_000:
        mp = n / 1e6
        text = f"{mp:.0f}" if mp >= 100 else f"{mp:.1f}".rstrip("0").rstrip(".")
        return f"{text} megapixels"
    return f"{n} pixels"


def _check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    n = width * height
    if n > max_pixels:
        have, limit = _fmt_count(n), _fmt_count(max_pixels)
        if have == limit:  # rounding made them look equal: show the exact counts
            have, limit = f"{n} pixels", f"{max_pixels} pixels"
        raise ImageIOError(f"'{name}' is {width} x {height} = {have}, above the limit of {limit}")


def _fmt_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n} bytes"


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    return (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")


def _cv_reason(exc: cv2.error) -> str:
    # cv2.error's str() spans several lines; its .err attribute is the one-line reason.
    reason = getattr(exc, "err", None) or str(exc)
    return " ".join(str(reason).split())


# --------------------------------------------------------------------------------------------
# Reading bytes
# --------------------------------------------------------------------------------------------


def _read_file(path: PathArg, name: str) -> bytes:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ImageIOError(f"cannot read '{name}': {_os_reason(exc)}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise ImageIOError(f"cannot read '{name}': it is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        # Reading a FIFO or device could block forever or never end.
        raise ImageIOError(f"cannot read '{name}': not a regular file")
    limit = MAX_FILE_BYTES
    if st.st_size > limit:
        raise ImageIOError(
            f"cannot read '{name}': the file is {_fmt_bytes(st.st_size)}, "
            f"above the limit of {_fmt_bytes(limit)}"
        )
    try:
        with open(path, "rb") as f:
            # Bounded even if the file grew since stat().
            data = f.read(limit + 1)
    except OSError as exc:
        raise ImageIOError(f"cannot read '{name}': {_os_reason(exc)}") from exc
    except MemoryError as exc:
        raise ImageIOError(f"cannot read '{name}': not enough memory") from exc
    if len(data) > limit:
        raise ImageIOError(f"cannot read '{name}': the file is above the limit of {_fmt_bytes(limit)}")
    if not data:
        raise ImageIOError(f"cannot read '{name}': the file is empty")
    return data


def _sniff(head: bytes) -> str | None:
    """Format from the first bytes (at least 16); None when not one we read."""
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"BM"):
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(_NPY_MAGIC):
        return "npy"
    return None


# --------------------------------------------------------------------------------------------
# Bounded header parsers. Each reads through `read_at(offset, n)` (a bytes slice or a file seek),
# touches a bounded number of bytes, never raises on garbage and returns what it could learn.
# --------------------------------------------------------------------------------------------


def _exif_orientation(tiff: bytes) -> int:
    """Orientation (1..8) from Exif TIFF data (no ``Exif\\0\\0`` prefix); 1 when absent."""
    tiff = bytes(tiff)
    if len(tiff) < 8:
        return 1
    if tiff[:4] == b"II*\x00":
        e = "<"
    elif tiff[:4] == b"MM\x00*":
        e = ">"
    else:
        return 1
    (off,) = struct.unpack(e + "I", tiff[4:8])
    if off + 2 > len(tiff):
        return 1
    (n,) = struct.unpack(e + "H", tiff[off : off + 2])
    for i in range(min(n, (len(tiff) - off - 2) // 12)):
        p = off + 2 + 12 * i
        tag, typ, count = struct.unpack(e + "HHI", tiff[p : p + 8])
        if tag == 0x0112:
            if typ == 3 and count >= 1:
                (value,) = struct.unpack(e + "H", tiff[p + 8 : p + 10])
                return value if 1 <= value <= 8 else 1
            return 1
    return 1


def _probe_png(read_at: _ReadAt) -> _Header:
    h = _Header("png")
    ihdr = read_at(8, 25)
    if len(ihdr) < 21:
        return h
    length, ctype = struct.unpack(">I4s", ihdr[:8])
    if ctype != b"IHDR" or length != 13:
        return h
    width, height, depth, colour = struct.unpack(">IIBB", ihdr[8:18])
    if not (0 < width <= _PNG_MAX_CHUNK and 0 < height <= _PNG_MAX_CHUNK):
        return h
    h.width, h.height, h.bit_depth = width, height, depth
    h.gray = colour in (0, 4)
    # tRNS and eXIf come before the image data; stop at the first IDAT so a long file costs nothing.
    pos = 33
    for _ in range(_MAX_HEADER_SEGMENTS):
        head = read_at(pos, 8)
        if len(head) < 8:
            break
        length, ctype = struct.unpack(">I4s", head)
        if ctype in (b"IDAT", b"IEND") or length > _PNG_MAX_CHUNK:
            break
        if ctype == b"tRNS" and colour == 0 and length >= 2:
            (value,) = struct.unpack(">H", bytes(read_at(pos + 8, 2)))
            # libpng ignores a transparent value the bit depth cannot represent.
            h.gray_trns = value if value < (1 << depth) else None
        elif ctype == b"eXIf" and length <= _MAX_EXIF_BYTES:
            h.orientation = _exif_orientation(read_at(pos + 8, length))
        pos += 12 + length
    return h


def _probe_jpeg(read_at: _ReadAt) -> _Header:
    h = _Header("jpeg")
    pos = 2
    exif_seen = False
    for _ in range(_MAX_HEADER_SEGMENTS):
        b = read_at(pos, 4)
        if len(b) < 2 or b[0] != 0xFF:
            return h
        marker = b[1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # TEM, RSTn: no length field
            pos += 2
            continue
        if marker in (0xD8, 0xD9, 0xDA) or len(b) < 4:  # SOI again, EOI, SOS: no frame header found
            return h
        (length,) = struct.unpack(">H", b[2:4])
        if length < 2:
            return h
        if marker in _JPEG_SOF:
            frame = read_at(pos + 4, 5)
            if len(frame) == 5:
                _, height, width = struct.unpack(">BHH", frame)
                if width and height:  # height 0 means "given later by DNL": treat as unknown
                    h.width, h.height = width, height
            return h
        if marker == 0xE1 and not exif_seen:
            body = read_at(pos + 4, length - 2)
            if body[:6] == b"Exif\x00\x00":
                exif_seen = True
                h.orientation = _exif_orientation(body[6:])
        pos += 2 + length
    return h


def _probe_tiff(read_at: _ReadAt) -> _Header:
    # OpenCV's TIFF decoder applies the Orientation tag itself, even with IMREAD_UNCHANGED.
    h = _Header("tiff", decoder_orients=True)
    head = read_at(0, 16)
    if len(head) < 8:
        return h
    e = "<" if head[:2] == b"II" else ">"
    (magic,) = struct.unpack(e + "H", head[2:4])
    if magic == 42:
        (ifd,) = struct.unpack(e + "I", head[4:8])
        count_fmt, entry_size, count_size = "H", 12, 2
        entry_fmt, short_at = "HHI", 8
    elif magic == 43 and len(head) == 16 and struct.unpack(e + "HH", head[4:8]) == (8, 0):
        (ifd,) = struct.unpack(e + "Q", head[8:16])
        count_fmt, entry_size, count_size = "Q", 20, 8
        entry_fmt, short_at = "HHQ", 12
    else:
        return h
    raw = read_at(ifd, count_size)
    if len(raw) < count_size:
        return h
    (n,) = struct.unpack(e + count_fmt, raw)
    if not 0 < n <= _MAX_TIFF_ENTRIES:
        return h
    entries = read_at(ifd + count_size, n * entry_size)
    if len(entries) < n * entry_size:
        return h
    tags: dict[int, int] = {}
    for i in range(n):
        p = i * entry_size
        tag, typ, count = struct.unpack(e + entry_fmt, entries[p : p + short_at])
        if count != 1:
            continue
        field = entries[p + short_at : p + entry_size]
        if typ == 3:
            (tags[tag],) = struct.unpack(e + "H", field[:2])
        elif typ == 4:
            (tags[tag],) = struct.unpack(e + "I", field[:4])
        elif typ == 16 and magic == 43:
            (tags[tag],) = struct.unpack(e + "Q", field[:8])
    width, height = tags.get(256, 0), tags.get(257, 0)
    if width > 0 and height > 0:
        h.width, h.height = width, height
    h.gray = tags.get(262) in (0, 1)  # PhotometricInterpretation WhiteIsZero / BlackIsZero
    orientation = tags.get(274, 1)
    h.orientation = orientation if 1 <= orientation <= 8 else 1
    return h


def _probe_bmp(read_at: _ReadAt) -> _Header:
    h = _Header("bmp")
    head = read_at(0, 26)
    if len(head) < 26:
        return h
    (dib,) = struct.unpack("<I", head[14:18])
    if dib == 12:  # BITMAPCOREHEADER
        width, height = struct.unpack("<HH", head[18:22])
    elif 40 <= dib <= 124:
        width, height = struct.unpack("<ii", head[18:26])
        height = abs(height)  # negative height: rows stored top-down
    else:
        return h
    if width > 0 and height > 0:
        h.width, h.height = width, height
    return h


def _probe_webp(read_at: _ReadAt) -> _Header:
    h = _Header("webp")
    head = read_at(0, 12)
    if len(head) < 12:
        return h
    pos = 12
    for _ in range(_MAX_HEADER_SEGMENTS):
        chunk = read_at(pos, 8)
        if len(chunk) < 8:
            break
        fourcc = chunk[:4]
        (length,) = struct.unpack("<I", chunk[4:8])
        body_at = pos + 8
        if fourcc == b"VP8X":  # extended format: the canvas size is authoritative
            d = read_at(body_at, 10)
            if len(d) == 10:
                h.width = 1 + int.from_bytes(d[4:7], "little")
                h.height = 1 + int.from_bytes(d[7:10], "little")
        elif fourcc == b"VP8 " and h.width is None:
            d = read_at(body_at, 10)
            if len(d) == 10 and d[3:6] == b"\x9d\x01\x2a":
                w, hh = struct.unpack("<HH", d[6:10])
                if w & 0x3FFF and hh & 0x3FFF:
                    h.width, h.height = w & 0x3FFF, hh & 0x3FFF
        elif fourcc == b"VP8L" and h.width is None:
            d = read_at(body_at, 5)
            if len(d) == 5 and d[0] == 0x2F:
                (bits,) = struct.unpack("<I", d[1:5])
                h.width, h.height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        elif fourcc == b"EXIF":
            body = bytes(read_at(body_at, min(length, _MAX_EXIF_BYTES)))
            # The spec says raw TIFF data, but some writers keep the JPEG-style prefix.
            if body.startswith(b"Exif\x00\x00"):
                body = body[6:]
            h.orientation = _exif_orientation(body)
        pos = body_at + length + (length & 1)
    return h


_PROBES = {
    "png": _probe_png,
    "jpeg": _probe_jpeg,
    "tiff": _probe_tiff,
    "bmp": _probe_bmp,
    "webp": _probe_webp,
}


def _probe(kind: str, read_at: _ReadAt) -> _Header:
    """Run the header parser for `kind`; a header too broken to parse just gives no size."""
    try:
        return _PROBES[kind](read_at)
    except (struct.error, ValueError, IndexError, OverflowError):
        return _Header(kind, decoder_orients=kind == "tiff")


def _npy_header(fp: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran_order, dtype, data offset) of a .npy stream positioned at its start."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise _Corrupt(f"unsupported .npy format version {version[0]}.{version[1]}")
    except _Corrupt:
        raise
    except Exception as exc:  # noqa: BLE001
        # numpy parses the header with ast/tokenize: hostile bytes raise ValueError, SyntaxError,
        # tokenize.TokenError, UnicodeDecodeError, ... none of which may escape.
        raise _Corrupt(f"not a valid .npy file ({' '.join(str(exc).split())[:200]})") from exc
    return tuple(int(s) for s in shape), bool(fortran), np.dtype(dtype), fp.tell()


def image_size(path: PathArg) -> tuple[int, int] | None:
    """Width and height of an image, read from its header without decoding it.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`load_image` reads.

    Returns
    -------
    (width, height) or None
        The size :func:`load_image` would return (after EXIF/TIFF orientation; for a ``.npy``,
        its last two axes), or None when the format is not recognised or its header cannot be
        parsed. Only a bounded number of bytes is read, however large the file.

    Raises
    ------
    ImageIOError
        The file cannot be opened.
    """
    name = _display_name(path)
    try:
        # stat() before open(): opening a FIFO for reading would block.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ImageIOError(f"cannot read '{name}': not a regular file")
        with open(path, "rb") as f:
            kind = _sniff(f.read(16))
            if kind is None:
                return None
            if kind == "npy":
                f.seek(0)
                try:
                    shape = _npy_header(f)[0]
                except _Corrupt:
                    return None
                if len(shape) not in (2, 3):
                    return None
                return shape[-1], shape[-2]

            def read_at(offset: int, n: int) -> bytes:
                if offset < 0 or n <= 0:
                    return b""
                f.seek(offset)
                return f.read(n)

            return _probe(kind, read_at).loaded_size()
    except OSError as exc:
        if isinstance(exc, ImageIOError):
            raise
        raise ImageIOError(f"cannot read '{name}': {_os_reason(exc)}") from exc


# --------------------------------------------------------------------------------------------
# PNG structure check
# --------------------------------------------------------------------------------------------


def _verify_png(data: bytes) -> None:
    """Walk every chunk, checking lengths and CRCs; raise _Corrupt with the reason.

    libpng trusts a chunk's length field and allocates for it before noticing the file ended
    (libpng's huge_* crashers make OpenCV take over 1 GB for a 79-byte file), so lengths are
    checked against the real file size first.
    """
    mv = memoryview(data)
    size = len(mv)
    pos = 8
    seen_idat = False
    first = True
    for _ in range(size // 12 + 1):
        if pos + 8 > size:
            raise _Corrupt("not a valid PNG (truncated: the file ends before the IEND chunk)")
        length, ctype = struct.unpack_from(">I4s", mv, pos)
        label = ctype.decode("latin-1")
        if not all(65 <= c <= 90 or 97 <= c <= 122 for c in ctype):
            raise _Corrupt(f"not a valid PNG (invalid chunk type {ctype!r} at byte {pos + 4})")
        if length > _PNG_MAX_CHUNK:
            raise _Corrupt(f"not a valid PNG (chunk '{label}' has an invalid length {length})")
        end = pos + 12 + length
        if end > size:
            raise _Corrupt(
                f"not a valid PNG (truncated or corrupt: chunk '{label}' claims {length} bytes "
                f"but only {max(size - pos - 8, 0)} remain)"
            )
        (crc,) = struct.unpack_from(">I", mv, pos + 8 + length)
        if zlib.crc32(mv[pos + 4 : pos + 8 + length]) != crc:
            raise _Corrupt(f"not a valid PNG (CRC error in chunk '{label}')")
        if first:
            if ctype != b"IHDR" or length != 13:
                raise _Corrupt("not a valid PNG (the first chunk is not IHDR)")
            width, height, depth, colour, comp, filt, interlace = struct.unpack_from(
                ">IIBBBBB", mv, pos + 8
            )
            if not (0 < width <= _PNG_MAX_CHUNK and 0 < height <= _PNG_MAX_CHUNK):
                raise _Corrupt(f"not a valid PNG (invalid size {width} x {height})")
            if depth not in _PNG_VALID_DEPTHS.get(colour, ()):
                raise _Corrupt(f"not a valid PNG (invalid colour type {colour} with bit depth {depth})")
            if comp != 0 or filt != 0 or interlace not in (0, 1):
                raise _Corrupt("not a valid PNG (unknown compression, filter or interlace method)")
            first = False
        elif ctype == b"IHDR":
            raise _Corrupt("not a valid PNG (more than one IHDR chunk)")
        seen_idat = seen_idat or ctype == b"IDAT"
        pos = end
        if ctype == b"IEND":
            break
    else:  # pragma: no cover - every chunk is at least 12 bytes, so the loop ends before this
        raise _Corrupt("not a valid PNG (too many chunks)")
    if not seen_idat:
        raise _Corrupt("not a valid PNG (no image data)")


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an ``(H, W[, C])`` array; returns a view."""
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1]
    if orientation == 5:
        return a.swapaxes(0, 1)
    if orientation == 6:  # rotate 90 degrees clockwise
        return a.swapaxes(0, 1)[:, ::-1]
    if orientation == 7:
        return a.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:  # rotate 90 degrees counter-clockwise
        return a.swapaxes(0, 1)[::-1]
    return a


def _load_npy(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    try:
        shape, fortran, dtype, offset = _npy_header(io.BytesIO(data))
    except _Corrupt as exc:
        raise ImageIOError(f"cannot read '{name}': {exc}") from None
    if dtype.hasobject:
        raise ImageIOError(
            f"cannot read '{name}': it holds Python objects (pickled data), refused for safety"
        )
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise ImageIOError(
            f"cannot read '{name}': unsupported dtype {dtype} (expected bool, integer or real float)"
        )
    if len(shape) not in (2, 3):
        raise ImageIOError(
            f"cannot read '{name}': array of shape {shape}; expected (H, W) or (C, H, W)"
        )
    if 0 in shape:
        raise ImageIOError(f"cannot read '{name}': the array is empty (shape {shape})")
    height, width = shape[-2], shape[-1]
    _check_pixels(name, width, height, max_pixels)
    count = int(np.prod(shape, dtype=np.int64))
    # Same budget as an RGBA image at the pixel limit.
    if count > 4 * max_pixels:
        raise ImageIOError(
            f"cannot read '{name}': {count} values, above the limit of {4 * max_pixels} (4 x max_pixels)"
        )
    if len(data) - offset < count * dtype.itemsize:
        raise ImageIOError(f"cannot read '{name}': the .npy file is truncated")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    arr = arr.reshape(shape, order="F" if fortran else "C")
    if dtype.kind == "f" and not np.isfinite(arr).all():
        raise ImageIOError(f"cannot read '{name}': the array contains NaN or infinite values")
    try:
        with np.errstate(over="ignore"):  # float64 beyond float32 becomes inf, caught just below
            out = np.ascontiguousarray(arr, dtype=np.float32)
    except MemoryError as exc:
        raise ImageIOError(f"cannot read '{name}': not enough memory") from exc
    if dtype.kind == "f" and dtype.itemsize > 4 and not np.isfinite(out).all():
        raise ImageIOError(f"cannot read '{name}': values beyond the float32 range")
    return out[None] if out.ndim == 2 else out


def _decode(data: bytes, kind: str, name: str) -> np.ndarray:
    try:
        # IMREAD_UNCHANGED keeps alpha and 16-bit samples; it ignores EXIF orientation, which is
        # applied afterwards. (IMREAD_ANYDEPTH | IMREAD_ANYCOLOR would drop alpha.)
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageIOError(
            f"cannot read '{name}': the {_FORMAT_NAMES[kind]} decoder failed ({_cv_reason(exc)})"
        ) from None
    except MemoryError:
        raise ImageIOError(f"cannot read '{name}': not enough memory to decode it") from None
    if img is None or img.size == 0:
        raise ImageIOError(
            f"cannot read '{name}': not a valid {_FORMAT_NAMES[kind]} file (the decoder rejected its data)"
        )
    return img


def _to_chw(img: np.ndarray, header: _Header, keep_alpha: bool, name: str) -> np.ndarray:
    """Decoded ``(H, W[, C])`` BGR(A) samples to ``(C, H, W) float32`` RGB(A) in [0, 1]."""
    if img.dtype == np.uint8:
        scale = 255.0
    elif img.dtype == np.uint16:
        scale = 65535.0
    elif img.dtype in (np.float32, np.float64):
        scale = 1.0
    else:
        raise ImageIOError(f"cannot read '{name}': unsupported sample type {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    if not header.decoder_orients:
        img = _orient(img, header.orientation)
    channels = img.shape[2]

    derived_alpha = None  # gray PNG with tRNS: alpha is computed, not decoded
    if channels == 1:
        colour, alpha = [0], None
        if keep_alpha and header.gray_trns is not None:
            transparent = header.gray_trns
            if header.bit_depth < 8:  # libpng scaled the samples up to 8 bits
                transparent *= 255 // ((1 << header.bit_depth) - 1)
            derived_alpha = img[:, :, 0] != transparent
    elif channels == 2:  # gray + alpha
        colour, alpha = [0], 1
    elif channels in (3, 4):
        # A gray PNG can come back as BGR(A) with B = G = R: the file's own word decides.
        colour = [0] if header.gray else [2, 1, 0]
        alpha = 3 if channels == 4 else None
    else:
        raise ImageIOError(f"cannot read '{name}': unsupported number of channels ({channels})")

    if keep_alpha and (alpha is not None or derived_alpha is not None):
        index = colour * 3 if len(colour) == 1 else colour
        if alpha is not None:
            index = index + [alpha]
    else:
        index, derived_alpha = colour, None
    n_out = len(index) + (derived_alpha is not None)
    try:
        out = np.empty((n_out, img.shape[0], img.shape[1]), np.float32)
    except MemoryError:
        raise ImageIOError(f"cannot read '{name}': not enough memory") from None
    for k, i in enumerate(index):
        out[k] = img[:, :, i]
    if scale != 1.0:
        out[: len(index)] /= np.float32(scale)
    elif not np.isfinite(out[: len(index)]).all():
        raise ImageIOError(f"cannot read '{name}': the image contains NaN or infinite values")
    if derived_alpha is not None:
        out[-1] = derived_alpha
    return out


def load_image(
    path: PathArg, *, keep_alpha: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Read an image file into a ``(C, H, W) float32`` array.

    Parameters
    ----------
    path : str or os.PathLike
        PNG, JPEG, TIFF, BMP, WebP or NumPy ``.npy``. The format is taken from the content, not
        the extension. Non-ASCII paths work.
    keep_alpha : bool, keyword-only
        Keep the alpha channel of an image that has one (RGBA, gray+alpha, a PNG with tRNS),
        giving C = 4 in the order R, G, B, A; a gray image's value is repeated in R, G and B.
        By default the alpha channel is dropped (not composited). Images without alpha are not
        affected. Ignored for ``.npy``.
    max_pixels : int, keyword-only
        Refuse images with more than this many pixels (width x height), checked from the header
        before decoding. Default :data:`DEFAULT_MAX_PIXELS` (200 megapixels).

    Returns
    -------
    numpy.ndarray
        ``(C, H, W) float32``. C is 1 for gray, 3 for RGB, 4 for RGBA with `keep_alpha`.
        8-bit samples are divided by 255, 16-bit by 65535; float TIFF values are kept as they
        are (they may lie outside [0, 1]). A ``.npy`` holding ``(H, W)`` or ``(C, H, W)``
        (bool, integer or real float) is cast to ``float32`` unscaled, ``(H, W)`` giving
        ``(1, H, W)``. EXIF orientation (JPEG, PNG eXIf, WebP) and TIFF orientation are applied.

    Raises
    ------
    ImageIOError
        Missing or unreadable file, unrecognised format, corrupt data, too many pixels, a file
        above :data:`MAX_FILE_BYTES`, a ``.npy`` with pickled objects, complex or structured
        dtype, a wrong number of dimensions, NaN or infinity (float TIFFs too).
    ValueError
        `max_pixels` is not a positive integer.
    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels <= 0:
        raise ValueError(f"max_pixels must be a positive integer, got {max_pixels!r}")
    max_pixels = int(max_pixels)
    name = _display_name(path)
    data = _read_file(path, name)
    kind = _sniff(data[:16])
    if kind is None:
        raise ImageIOError(
            f"cannot read '{name}': not a recognised image ({_SUPPORTED_FORMATS_TEXT} expected)"
        )
    if kind == "npy":
        return _load_npy(data, name, max_pixels)

    def read_at(offset: int, n: int) -> bytes:
        # used only before `del data` below (ruff cannot see that)
        return data[offset : offset + n] if offset >= 0 and n > 0 else b""  # noqa: F821

    header = _probe(kind, read_at)
    if header.width is None or header.height is None:
        if len(data) > MAX_UNPARSED_BYTES:
            raise ImageIOError(
                f"cannot read '{name}': its size cannot be read from the {_FORMAT_NAMES[kind]} header "
                f"and the file is above {_fmt_bytes(MAX_UNPARSED_BYTES)}, too large to decode blindly"
            )
    else:
        _check_pixels(name, header.width, header.height, max_pixels)
    if kind == "png":
        try:
            _verify_png(data)
        except _Corrupt as exc:
            raise ImageIOError(f"cannot read '{name}': {exc}") from None
    img = _decode(data, kind, name)
    del data
    # The header may have lied or been unparsed: check what was actually decoded.
    _check_pixels(name, img.shape[1], img.shape[0], max_pixels)
    return _to_chw(img, header, keep_alpha, name)


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


def _write_temp(target: Path, data: bytes | bytearray | memoryview) -> str:
    folder = target.parent
    # Short prefix: mkstemp adds random characters and the name must stay within NAME_MAX.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:80]}.", suffix=".tmp", dir=folder)
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
        params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
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
    chw = _as_chw(x, name)
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
    _atomic_write_many(files)
    return [p for p, _ in files]

