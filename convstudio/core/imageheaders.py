"""Image file formats before decoding: format sniffing, bounded header probes and structure checks.

Used by :mod:`convstudio.core.imageio` (the public module; see its docstring for the limits and the
errors). Everything here reads a bounded number of bytes, however large the file or whatever it
claims: :func:`_sniff` tells the format from the first bytes; the ``_probe_*`` parsers read the
size (and EXIF/TIFF orientation, PNG gray transparency) of PNG, JPEG, TIFF, BMP and WebP files;
:func:`_npy_header` reads a ``.npy`` header; :func:`_verify_png` checks every PNG chunk's length and
CRC before libpng sees the data. The small naming and message helpers shared by
:mod:`~convstudio.core.imageio` and :mod:`~convstudio.core.imagesave` live here too.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Union

import cv2
import numpy as np

from convstudio.core.errors import ImageIOError

PathArg = Union[str, "os.PathLike[str]"]

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
