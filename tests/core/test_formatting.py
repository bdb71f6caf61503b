"""convstudio.core.formatting: every text is read back and compared with the number it stands for,
within the rounding its format allows (no formatted float is compared as a string)."""

import doctest
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convstudio.core import formatting
from convstudio.core.formatting import (
    MINUS,
    format_bytes,
    format_duration,
    format_large,
    format_number,
    format_pixels,
    format_ratio,
    format_readout,
    format_shape,
    format_short,
)

# Far below float64's maximum, so that a value rounded up to fewer digits still parses finite.
finite = st.floats(min_value=-1e300, max_value=1e300)


def _parse(text: str) -> float:
    return float(text.replace(MINUS, "-").replace("∞", "inf").replace(",", ""))


def _g_bound(v: float, digits: int) -> float:
    """Half a unit in the last of `digits` significant digits of `v`, plus the binary rounding
    of the text read back (half an ulp of it) and of the difference itself."""
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(v))) - digits + 1) * (1 + 1e-12) + 2 * math.ulp(v)


def test_doctests():
    result = doctest.testmod(formatting, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0


@given(finite, st.integers(1, 9))
def test_format_short_reads_back_within_its_digits(v, digits):
    text = format_short(v, digits)
    assert text != "-0" and not text.startswith("-0e")
    back = float(text)
    if v == 0:
        assert back == 0
    elif v.is_integer() and abs(v) < 1e6:
        assert back == v and "e" not in text and "." not in text  # whole numbers in full
    else:
        assert abs(back - v) <= _g_bound(v, digits)
        significant = text.partition("e")[0].replace("-", "").replace(".", "").lstrip("0")
        assert len(significant) <= digits


@given(finite, st.integers(1, 9))
def test_typographic_is_the_plain_text_with_typographic_signs(v, digits):
    plain = format_short(v, digits, whole_below=1e9)
    typo = format_short(v, digits, whole_below=1e9, typographic=True)
    assert "-" not in typo
    assert typo == plain.replace("-", MINUS)


def test_non_finite_values():
    assert [format_short(v) for v in (math.nan, math.inf, -math.inf)] == ["nan", "inf", "-inf"]
    assert [format_short(v, typographic=True) for v in (math.inf, -math.inf)] == ["∞", MINUS + "∞"]
    assert format_readout(math.nan) == "nan"


@given(st.integers(-10**12, 10**12), st.sampled_from([1e6, 1e9]))
def test_whole_below_sets_where_integers_stop_being_written_in_full(n, limit):
    text = format_short(float(n), whole_below=limit)
    if abs(n) < limit:
        assert text == str(n)
    else:
        assert "e" in text and abs(float(text) - n) <= _g_bound(n, 4)


def test_numpy_scalars_are_numbers_like_any_other():
    for v in (np.float32(0.1), np.float64(-2.5), np.int64(7)):
        assert _parse(format_short(v)) == pytest.approx(float(v), rel=1e-3)
        assert float(format_number(v)) == pytest.approx(float(v), rel=1e-3)


@given(finite, st.sampled_from([".4g", ".4f", ".2f", ".3e", ".6g"]))
def test_format_number_never_writes_a_negative_zero(v, spec):
    text = format_number(v, spec)
    back = float(text)
    assert not (back == 0 and text.startswith("-"))
    assert back == float(format(v, spec))  # the same number as format() wrote


@given(finite)
def test_readout_is_fixed_point_in_the_ordinary_range_else_scientific(v):
    text = format_readout(v)
    back = float(text)
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        assert re.fullmatch(r"-?\d+\.\d{4}", text)
        assert abs(back - v) <= 0.5e-4 * (1 + 1e-9) + abs(v) * 1e-15
    else:
        assert re.fullmatch(r"-?\d\.\d{4}e[-+]\d+", text)
        assert abs(back - v) <= _g_bound(v, 5)


@given(st.floats(min_value=0, max_value=1e5))
def test_duration_reads_back_within_its_rounding(seconds):
    text = format_duration(seconds)
    number, unit = text.split()
    back = float(number) / (1000.0 if unit == "ms" else 1.0)
    ms = seconds * 1000
    step = 0.1 if ms < 10 else 1.0 if ms < 1000 else 10.0  # in milliseconds
    assert unit == ("ms" if ms < 1000 else "s")
    assert abs(back - seconds) * 1000 <= step / 2 * (1 + 1e-9) + ms * 1e-15


def test_duration_of_nothing_measured_is_empty():
    assert format_duration(None) == ""


@given(st.lists(st.integers(0, 10**6), max_size=5), st.sampled_from([" x ", "×", " × "]))
def test_shape_round_trips(shape, sep):
    text = format_shape(np.array(shape, dtype=np.int64), sep)
    assert ([int(p) for p in text.split(sep)] if shape else []) == shape


_UNITS = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


@given(st.integers(0, 1 << 45))
def test_bytes_read_back_within_a_twentieth_of_the_unit(n):
    number, unit = format_bytes(n).split()
    size = _UNITS[unit]
    assert size <= max(n, 1) < size * 1024 or unit == "GiB" or unit == "bytes"
    assert abs(float(number) * size - n) <= 0.05 * size * (1 + 1e-9)


@given(st.integers(0, 10**10))
def test_pixels_read_back(n):
    number, unit = format_pixels(n).split()
    if unit == "pixels":
        assert int(number) == n < 1_000_000
    else:
        mp = n / 1e6
        assert abs(float(number) - mp) <= (0.5 if mp >= 100 else 0.05) * (1 + 1e-9)


@given(st.floats(min_value=0, max_value=1e15))
def test_large_numbers_in_words_read_back_to_two_significant_digits(x):
    number, *word = format_large(x).split()
    scale = {"million": 1e6, "billion": 1e9, "trillion": 1e12}[word[0]] if word else 1.0
    back = _parse(number) * scale
    if not word:
        assert back == round(x) or abs(back - x) <= 0.5
    else:
        q = x / scale
        assert 1 <= q < 1000 or word[0] == "trillion"
        assert abs(back - x) <= (0.5 if q >= 10 else 0.05) * scale * (1 + 1e-9)


@given(st.integers(0, 10**13), st.integers(0, 10**6))
def test_ratio_names_fc_over_params(fc, params):
    text = format_ratio(fc, params)
    if params == 0:
        assert text == ""
        return
    q = fc / params
    number = re.search(r"\((?:only )?([\d.,e+-]+(?: (?:million|billion|trillion))?) times", text).group(1)
    value, *word = number.split()
    scale = {"million": 1e6, "billion": 1e9, "trillion": 1e12}[word[0]] if word else 1.0
    back = _parse(value) * scale
    assert back == pytest.approx(q, rel=0.06, abs=0.06) or abs(back - q) <= 0.5
    assert text.startswith(" (only ") == (q < 1)
