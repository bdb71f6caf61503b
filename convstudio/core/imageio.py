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
    refused without allocating anything. Every size the decoder may allocate for is checked (each
    TIFF page and tile); a file whose size cannot be read from its header is refused, never
    decoded blind. A PNG's image data is inflated in bounded steps first and refused if it holds
    more (or less) than its size needs.
``MAX_FILE_BYTES`` = 1 GiB
    Larger files are refused; only regular files are read, and never more than this
    (:func:`convstudio.core.safeio.read_bounded`).

What a decoder warns about (libpng, libjpeg, libtiff) is refused with its reason in the message;
it never reaches the terminal (:mod:`convstudio.core.quiet`). docs/security.md lists every limit.

Every failure a user can cause (missing, unreadable, corrupt, unsupported or too large file) raises
:class:`~convstudio.core.errors.ImageIOError` with a one-line message naming the file. Invalid
*arguments* (an unknown ``normalize`` mode, a ``depth`` other than 8 or 16) raise ``ValueError``.
"""

from __future__ import annotations

import io
import os
import stat

import cv2
import numpy as np

from convstudio.core.errors import ImageIOError
from convstudio.core.imageheaders import (
    _FORMAT_NAMES,
    _SUPPORTED_FORMATS_TEXT,
    PathArg,
    _check_pixels,
    _Corrupt,
    _cv_reason,
    _display_name,
    _Header,
    _npy_header,
    _os_reason,
    _probe,
    _sniff,
    _verify_png,
)

# The writers live in imagesave; the private helpers are re-exported for convstudio.core.channels.
from convstudio.core.imagesave import (  # noqa: F401
    NORMALIZE_MODES,
    SUPPORTED_WRITE_EXTENSIONS,
    _as_chw,
    _atomic_write_many,
    _channel_paths,
    _encode,
    _to_cv_layout,
    atomic_write_bytes,
    normalize_for_display,
    save_image,
)
from convstudio.core.quiet import captured_stderr, decoder_reason
from convstudio.core.safeio import read_bounded

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_FILE_BYTES",
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

#: Images with more pixels (width x height) than this are refused unless ``max_pixels`` says
#: otherwise: 200 megapixels, already 3.2 GB as RGBA ``float32``.
DEFAULT_MAX_PIXELS = 200_000_000
#: Files larger than this (1 GiB) are refused before being read.
MAX_FILE_BYTES = 1 << 30
#: Quality used when saving JPEG (0-100).
JPEG_QUALITY = 95

SUPPORTED_READ_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".npy")


# --------------------------------------------------------------------------------------------
# Reading bytes
# --------------------------------------------------------------------------------------------


def _read_file(path: PathArg, name: str) -> bytes:
    # MAX_FILE_BYTES is read at call time: a caller (or a test) may change it.
    data = read_bounded(path, MAX_FILE_BYTES, error=ImageIOError)
    if not data:
        raise ImageIOError(f"cannot read '{name}': the file is empty")
    return data


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
        # Opened without blocking and checked on the descriptor: a FIFO would block a plain open().
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ImageIOError(f"cannot read '{name}': not a regular file")
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

            try:
                return _probe(kind, read_at).loaded_size()
            except _Corrupt:
                return None
    except OSError as exc:
        if isinstance(exc, ImageIOError):
            raise
        raise ImageIOError(f"cannot read '{name}': {_os_reason(exc)}") from exc


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
        # The decoders' own warnings are kept off the terminal; a warning means the pixels may not
        # be what the file should hold (truncated data, bad markers), so the file is refused.
        with captured_stderr() as chatter:
            # IMREAD_UNCHANGED keeps alpha and 16-bit samples; it ignores EXIF orientation, which
            # is applied afterwards. (IMREAD_ANYDEPTH | IMREAD_ANYCOLOR would drop alpha.)
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageIOError(
            f"cannot read '{name}': the {_FORMAT_NAMES[kind]} decoder failed ({_cv_reason(exc)})"
        ) from None
    except MemoryError:
        raise ImageIOError(f"cannot read '{name}': not enough memory to decode it") from None
    reason = decoder_reason(chatter)
    if img is None or img.size == 0:
        raise ImageIOError(
            f"cannot read '{name}': not a valid {_FORMAT_NAMES[kind]} file "
            f"({reason or 'the decoder rejected its data'})"
        )
    if reason is not None:
        raise ImageIOError(f"cannot read '{name}': the {_FORMAT_NAMES[kind]} decoder reported: {reason}")
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

    try:
        header = _probe(kind, read_at)
    except _Corrupt as exc:
        raise ImageIOError(f"cannot read '{name}': {exc}") from None
    if header.width is None or header.height is None:
        # Decoding blind would let the decoder allocate whatever the file claims further on.
        raise ImageIOError(
            f"cannot read '{name}': not a valid {_FORMAT_NAMES[kind]} file (its size cannot be read "
            "from its header)"
        )
    for width, height in [(header.width, header.height), *header.sizes]:
        _check_pixels(name, width, height, max_pixels)
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
