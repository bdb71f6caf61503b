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
from dataclasses import dataclass, field
from typing import BinaryIO, Union

import cv2
import numpy as np

from convstudio.core.errors import ImageIOError
from convstudio.core.formatting import format_pixels
from convstudio.core.safeio import os_reason

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
    # Every other size the decoder may allocate for (TIFF: each page and tile), checked as well.
    sizes: list[tuple[int, int]] = field(default_factory=list)

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


def _check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    n = width * height
    if n > max_pixels:
        have, limit = format_pixels(n), format_pixels(max_pixels)
        if have == limit:  # rounding made them look equal: show the exact counts
            have, limit = f"{n} pixels", f"{max_pixels} pixels"
        raise ImageIOError(f"'{name}' is {width} x {height} = {have}, above the limit of {limit}")


_os_reason = os_reason  # (the readers and writers here import it by this name)


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


# Tag numbers and the field types a size may be given in (TIFF 6.0 section 2; BigTIFF adds LONG8).
_TIFF_WIDTH, _TIFF_HEIGHT, _TIFF_BITS, _TIFF_SAMPLES = 256, 257, 258, 277
_TIFF_PHOTOMETRIC, _TIFF_ORIENTATION, _TIFF_TILE_W, _TIFF_TILE_H = 262, 274, 322, 323
_TIFF_SIZE_TAGS = {_TIFF_WIDTH: "ImageWidth", _TIFF_HEIGHT: "ImageLength",
                   _TIFF_TILE_W: "TileWidth", _TIFF_TILE_H: "TileLength"}
# field type -> struct format: SHORT, LONG, SSHORT, SLONG, LONG8, SLONG8
_TIFF_INT_TYPES = {3: "H", 4: "I", 8: "h", 9: "i", 16: "Q", 17: "q"}
_MAX_TIFF_IFDS = 1024
_MAX_TIFF_SAMPLES = 4  # OpenCV decodes gray, gray + alpha, RGB and RGBA
_MAX_TIFF_BITS = 64


def _tiff_ifd(read_at: _ReadAt, e: str, ifd: int, big: bool,
              budget: int) -> tuple[dict[int, int], int, int]:
    """The single-valued integer tags of the IFD at `ifd`, the offset of the next IFD (0: none)
    and the entry budget left (all directories together read at most _MAX_TIFF_ENTRIES).

    Raises _Corrupt on a directory that cannot be read whole, a tag given twice, or a size tag
    that is not one integer."""
    count_fmt, count_size, entry_size, entry_fmt, value_at = (
        ("Q", 8, 20, "HHQ", 12) if big else ("H", 2, 12, "HHI", 8))
    raw = read_at(ifd, count_size)
    if len(raw) < count_size:
        raise _Corrupt(f"not a valid TIFF (the directory at byte {ifd} is missing)")
    (n,) = struct.unpack(e + count_fmt, raw)
    if not 0 < n <= budget:
        raise _Corrupt(f"not a valid TIFF (a directory of {n} entries)" if n == 0 or n > _MAX_TIFF_ENTRIES
                       else "not a valid TIFF (more directory entries than any image needs)")
    size = n * entry_size + (8 if big else 4)
    block = read_at(ifd + count_size, size)
    if len(block) < size:
        raise _Corrupt("not a valid TIFF (truncated: a directory ends past the end of the file)")
    tags: dict[int, int] = {}
    seen: set[int] = set()
    for i in range(n):
        p = i * entry_size
        tag, typ, count = struct.unpack(e + entry_fmt, block[p : p + value_at])
        if tag in seen:
            # Decoders disagree on which of the two counts; a size given twice is refused.
            raise _Corrupt(f"not a valid TIFF (tag {tag} appears twice in one directory)")
        seen.add(tag)
        fmt = _TIFF_INT_TYPES.get(typ)
        if tag in _TIFF_SIZE_TAGS and (fmt is None or count != 1):
            raise _Corrupt(f"not a valid TIFF ({_TIFF_SIZE_TAGS[tag]} is not one integer)")
        nbytes = struct.calcsize(fmt) if fmt is not None else 0
        # The first value of a tag whose values fit in the entry (BitsPerSample holds one per
        # sample, all equal in the files OpenCV reads); values stored elsewhere are not needed.
        if fmt is not None and count >= 1 and nbytes * count <= entry_size - value_at:
            (tags[tag],) = struct.unpack(e + fmt, block[p + value_at : p + value_at + nbytes])
    (next_ifd,) = struct.unpack(e + ("Q" if big else "I"), block[n * entry_size :])
    return tags, next_ifd, budget - n


def _probe_tiff(read_at: _ReadAt) -> _Header:
    """Every IFD of the file is read and its sizes checked: libtiff reads the directories before
    OpenCV asks for the first page, and a size the probe cannot read is not decoded blind."""
    # OpenCV's TIFF decoder applies the Orientation tag itself, even with IMREAD_UNCHANGED.
    h = _Header("tiff", decoder_orients=True)
    head = read_at(0, 16)
    if len(head) < 8:
        return h
    e = "<" if head[:2] == b"II" else ">"
    (magic,) = struct.unpack(e + "H", head[2:4])
    if magic == 42:
        (ifd,) = struct.unpack(e + "I", head[4:8])
        big = False
    elif magic == 43 and len(head) == 16 and struct.unpack(e + "HH", head[4:8]) == (8, 0):
        (ifd,) = struct.unpack(e + "Q", head[8:16])
        big = True
    else:
        return h
    seen: set[int] = set()
    first = True
    budget = _MAX_TIFF_ENTRIES
    while ifd:
        if ifd in seen or len(seen) >= _MAX_TIFF_IFDS:
            raise _Corrupt("not a valid TIFF (its directories loop or never end)")
        seen.add(ifd)
        tags, ifd, budget = _tiff_ifd(read_at, e, ifd, big, budget)
        width, height = tags.get(_TIFF_WIDTH, 0), tags.get(_TIFF_HEIGHT, 0)
        if width <= 0 or height <= 0:
            raise _Corrupt(f"not a valid TIFF (image size {width} x {height})")
        if not 1 <= tags.get(_TIFF_SAMPLES, 1) <= _MAX_TIFF_SAMPLES:
            raise _Corrupt(f"unsupported TIFF ({tags[_TIFF_SAMPLES]} samples per pixel; at most "
                           f"{_MAX_TIFF_SAMPLES} are read)")
        if not 1 <= tags.get(_TIFF_BITS, 1) <= _MAX_TIFF_BITS:
            raise _Corrupt(f"unsupported TIFF ({tags[_TIFF_BITS]} bits per sample)")
        tile = (tags.get(_TIFF_TILE_W, 0), tags.get(_TIFF_TILE_H, 0))
        h.sizes.append((width, height))
        if tile != (0, 0):
            h.sizes.append(tile)
        if first:
            h.width, h.height = width, height
            h.gray = tags.get(_TIFF_PHOTOMETRIC) in (0, 1)  # WhiteIsZero / BlackIsZero
            orientation = tags.get(_TIFF_ORIENTATION, 1)
            h.orientation = orientation if 1 <= orientation <= 8 else 1
            first = False
    if first:
        raise _Corrupt("not a valid TIFF (no image directory)")
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
    idat: list[memoryview] = []
    ihdr: tuple[int, ...] = ()
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
            ihdr = (width, height, depth, colour, interlace)
            first = False
        elif ctype == b"IHDR":
            raise _Corrupt("not a valid PNG (more than one IHDR chunk)")
        if ctype == b"IDAT":
            idat.append(mv[pos + 8 : pos + 8 + length])
        pos = end
        if ctype == b"IEND":
            break
    else:  # pragma: no cover - every chunk is at least 12 bytes, so the loop ends before this
        raise _Corrupt("not a valid PNG (too many chunks)")
    if not idat:
        raise _Corrupt("not a valid PNG (no image data)")
    _check_png_image_data(idat, _png_raw_size(*ihdr))


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 passes: (row start, row step, column start, column step)
_ADAM7 = ((0, 8, 0, 8), (0, 8, 4, 8), (4, 8, 0, 4), (0, 4, 2, 4), (2, 4, 0, 2), (0, 2, 1, 2), (1, 2, 0, 1))
_INFLATE_STEP = 1 << 20


def _png_raw_size(width: int, height: int, depth: int, colour: int, interlace: int) -> int:
    """Bytes of filtered scanlines (a filter byte per row) a PNG of this header inflates to."""
    bits = depth * _PNG_CHANNELS[colour]
    if not interlace:
        return height * (1 + (width * bits + 7) // 8)
    total = 0
    for r0, dr, c0, dc in _ADAM7:
        w, h = (width - c0 + dc - 1) // dc, (height - r0 + dr - 1) // dr
        if w > 0 and h > 0:
            total += h * (1 + (w * bits + 7) // 8)
    return total


def _check_png_image_data(idat: list[memoryview], need: int) -> None:
    """Inflate the IDAT stream in bounded steps and stop at the first byte past what the image
    needs: surplus data (a 16 x 16 image with gigabytes of deflated data after it), a short or
    corrupt stream, or data after its end are refused before libpng spends time on them.

    The compressed size is bounded first, without inflating: deflate stores incompressible data
    with 5 bytes per 64 KiB block, and even fixed Huffman codes take at most 9 bits a byte, so no
    encoder needs more than ``need * 9/8`` plus block and zlib overhead.
    """
    compressed = sum(len(part) for part in idat)
    bound = need + need // 8 + 5 * (need // 16_384 + 1) + 1024
    if compressed > bound:
        raise _Corrupt(f"not a valid PNG ({compressed} bytes of image data where its size needs at "
                       f"most {bound})")
    d = zlib.decompressobj()
    produced = 0
    try:
        for k, part in enumerate(idat):
            buf: bytes | memoryview = part
            while buf and not d.eof:
                produced += len(d.decompress(buf, _INFLATE_STEP))
                if produced > need:
                    raise _Corrupt(f"not a valid PNG (more image data than its size needs: over "
                                   f"{need} bytes)")
                buf = d.unconsumed_tail
            if d.eof:
                if d.unused_data or any(len(rest) for rest in idat[k + 1 :]):
                    raise _Corrupt("not a valid PNG (data after the end of the image data)")
                break
    except zlib.error as exc:
        raise _Corrupt(f"not a valid PNG (corrupt image data: {exc})") from None
    if produced < need or not d.eof:
        raise _Corrupt(f"not a valid PNG (truncated image data: {produced} of {need} bytes)")
