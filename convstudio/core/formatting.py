"""Numbers, shapes, times and sizes as text: the one place the app, the CLI and the core write them.

No Qt and no NumPy needed (NumPy scalars are accepted). Every function is pure and cheap; the
callers pick the style (how many digits, a typographic minus) and nothing here depends on state.

Which function writes what:

========================  ===================================================================
:func:`format_number`     ``format(v, spec)`` without a negative zero (colour-bar ranges)
:func:`format_short`      integers in full, others with a few significant digits (value
                          labels, the inspector's cells, the combined kernel, lessons)
:func:`format_readout`    the pixel readout under the cursor: 4 decimals, or 4-digit scientific
:func:`format_duration`   a compute time: ``"3.2 ms"``, ``"41 ms"``, ``"1.25 s"``
:func:`format_shape`      ``"3 x 224 x 224"`` (the separator is the caller's)
:func:`format_bytes`      ``"1.5 MiB"`` (binary units)
:func:`format_pixels`     ``"12.3 megapixels"``
:func:`format_large`      ``"4,200"``, ``"57 million"``
:func:`format_ratio`      ``" (57 million times as many)"``, the fully connected comparison
========================  ===================================================================
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = [
    "MINUS",
    "format_bytes",
    "format_duration",
    "format_large",
    "format_number",
    "format_pixels",
    "format_ratio",
    "format_readout",
    "format_shape",
    "format_short",
]

MINUS = "\u2212"
"""The typographic minus sign (U+2212) of :func:`format_short` with ``typographic=True``."""


def format_number(value: float, spec: str = ".4g") -> str:
    """``format(value, spec)``, but zero is never written with a minus sign.

    ``-0.0``, and a small negative value that `spec` rounds to zero, print as ``0`` (a blur's
    range is ``[0, 1]``, not ``[-0, 1]``).

    Parameters
    ----------
    value : float
        Any real number (a NumPy scalar too).
    spec : str
        A format specification, as for :func:`format`.

    Returns
    -------
    str

    Examples
    --------
    >>> format_number(-0.0)
    '0'
    >>> format_number(-0.00001, ".4f")
    '0.0000'
    >>> format_number(-0.25, ".4f")
    '-0.2500'
    >>> format_number(1234567.0)
    '1.235e+06'
    """
    text = format(float(value) + 0.0, spec)  # -0.0 + 0.0 is +0.0
    digits = text.partition("e")[0]
    if text.startswith("-") and any(c.isdigit() for c in digits) and not any(
            c in "123456789" for c in digits):
        text = text[1:]
    return text


def format_short(value: float, digits: int = 4, *, whole_below: float = 1e6,
                 typographic: bool = False) -> str:
    """A short text for one value: integers in full, other values with `digits` significant digits.

    Parameters
    ----------
    value : float
        Any real number (a NumPy scalar too), including inf and NaN.
    digits : int
        Significant digits of a value that is not an integer (``"g"`` format).
    whole_below : float
        Integers with a magnitude below this are written in full; larger ones in ``"g"`` format
        like any other value.
    typographic : bool
        Write minus signs as U+2212 and infinities as ``∞`` (text set in a proportional font);
        otherwise ``-`` and ``inf``.

    Returns
    -------
    str
        Never ``-0``; NaN is ``nan``.

    Examples
    --------
    >>> [format_short(v) for v in (19.0, -1.0, -0.0, 0.5, 1 / 3, 2.5e-7)]
    ['19', '-1', '0', '0.5', '0.3333', '2.5e-07']
    >>> format_short(1 / 3, 3)
    '0.333'
    >>> format_short(-1234567.0), format_short(-1234567.0, whole_below=1e9)
    ('-1.235e+06', '-1234567')
    >>> format_short(-0.125, typographic=True), format_short(float("-inf"), typographic=True)
    ('−0.125', '−∞')
    >>> format_short(float("nan")), format_short(float("inf"))
    ('nan', 'inf')
    """
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        text = "∞" if typographic else "inf"
        if v < 0:
            text = (MINUS if typographic else "-") + text
        return text
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) < whole_below:
        text = str(int(v))
    else:
        text = f"{v:.{digits}g}"
    return text.replace("-", MINUS) if typographic else text


def format_readout(value: float) -> str:
    """A value under the cursor: four decimals for ordinary magnitudes, else 4-digit scientific.

    Four decimals when ``1e-3 <= |value| < 1e5`` (and for zero, never ``-0.0000``), so that a
    column of readouts lines up; scientific notation outside that range; ``nan`` / ``inf`` /
    ``-inf`` as Python writes them.

    Examples
    --------
    >>> format_readout(0.5), format_readout(-0.0), format_readout(-12.345678)
    ('0.5000', '0.0000', '-12.3457')
    >>> format_readout(1e-5), format_readout(123456.0), format_readout(float("-inf"))
    ('1.0000e-05', '1.2346e+05', '-inf')
    """
    v = float(value)
    if v == 0 or (1e-3 <= abs(v) < 1e5):
        return format_number(v, ".4f")
    if math.isnan(v) or math.isinf(v):
        return str(v)
    return f"{v:.4e}"


def format_duration(seconds: float | None) -> str:
    """A compute time: ``"3.2 ms"`` below 10 ms, ``"41 ms"`` below a second, else ``"1.25 s"``.

    ``None`` (not measured) gives ``""``.

    Examples
    --------
    >>> [format_duration(t) for t in (0.0032, 0.041, 1.25, None)]
    ['3.2 ms', '41 ms', '1.25 s', '']
    """
    if seconds is None:
        return ""
    ms = seconds * 1000.0
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{seconds:.2f} s"


def format_shape(shape: Iterable[int], sep: str = " x ") -> str:
    """A shape or size such as ``(3, 224, 224)`` as ``"3 x 224 x 224"``.

    Parameters
    ----------
    shape : iterable of numbers
        Any number of dimensions (NumPy integers too). A whole number is written as an integer
        (``3.0`` as ``3``); any other value as ``str`` writes it (a receptive field's jump after
        upsampling is a :class:`fractions.Fraction` such as ``1/2``).
    sep : str
        Between the numbers: ``" x "`` in plain text (the CLI, messages), ``" × "`` or ``"×"``
        where the app sets text in a proportional font.

    Examples
    --------
    >>> format_shape((3, 224, 224))
    '3 x 224 x 224'
    >>> format_shape([8, 15, 15], sep="×")
    '8×15×15'
    >>> from fractions import Fraction
    >>> format_shape((Fraction(1, 2), 2.0))
    '1/2 x 2'
    """
    return sep.join(_dimension(v) for v in shape)


def _dimension(v) -> str:
    whole = int(v)
    return str(whole) if whole == v else str(v)


def format_bytes(n: int) -> str:
    """A byte count in binary units, one decimal at most: ``"1.5 MiB"``, ``"64 MiB"``, ``"900 bytes"``.

    Examples
    --------
    >>> [format_bytes(n) for n in (900, 1536, 64 << 20, 3 << 30)]
    ['900 bytes', '1.5 KiB', '64 MiB', '3 GiB']
    """
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n} bytes"


def format_pixels(n: int) -> str:
    """A pixel count: ``"4096 pixels"``, ``"12.3 megapixels"``, ``"250 megapixels"``.

    Examples
    --------
    >>> [format_pixels(n) for n in (4096, 12_345_678, 2_000_000, 250_000_000)]
    ['4096 pixels', '12.3 megapixels', '2 megapixels', '250 megapixels']
    """
    if n >= 1_000_000:
        mp = n / 1e6
        text = f"{mp:.0f}" if mp >= 100 else f"{mp:.1f}".rstrip("0").rstrip(".")
        return f"{text} megapixels"
    return f"{n} pixels"


def format_large(x: float) -> str:
    """A large count in words: ``"4,200"``, ``"57 million"``, ``"6.9 billion"``.

    Below a million the number itself with thousands separators; from a million on the leading
    digits and the word (two digits below ten of the unit, else whole units).

    Examples
    --------
    >>> [format_large(x) for x in (4200, 57_333_516, 6_880_021_950, 2.5e12)]
    ['4,200', '57 million', '6.9 billion', '2.5 trillion']
    """
    for v, name in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if x >= v:
            q = x / v
            return f"{q:.0f} {name}" if q >= 10 else f"{q:.1f} {name}"
    return f"{x:,.0f}"


def format_ratio(fc: int, params: int) -> str:
    """``" (57 million times as many)"``: one fully connected layer's parameters against `params`.

    Empty when `params` is 0 (nothing to compare with). See docs/semantics.md, "Parameters".

    Examples
    --------
    >>> format_ratio(6_880_021_950, 120)
    ' (57 million times as many)'
    >>> [format_ratio(fc, 10) for fc in (4200, 30)]
    [' (420 times as many)', ' (3.0 times as many)']
    >>> format_ratio(5, 0)
    ''
    """
    if not params:
        return ""
    q = fc / params
    if q >= 1e6:
        return f" ({format_large(q)} times as many)"
    if q >= 10:
        return f" ({q:,.0f} times as many)"
    if q >= 1:
        return f" ({q:.1f} times as many)"
    return f" (only {q:.2g} times as many: on so small an input the kernels cost more)"
