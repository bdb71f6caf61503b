"""Slow, obvious references for the layers that enlarge their input, written from the definitions
in docs/semantics.md with explicit Python loops and float64 (Python float) accumulation. Nothing
from ``convstudio.core`` is used.
"""

from __future__ import annotations

import math

import numpy as np


def conv_transpose(x, weight, bias=None, *, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                   dilation=(1, 1), groups=1) -> np.ndarray:
    """The scatter: out[g*Cout_g + o, i*sh + a*dh - ph, j*sw + b*dw - pw] += x[c, i, j] * w[c, o, a, b]
    for the input channels c of group g, kept where the index lies in the output."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    cin, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    cin_g = cin // groups
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    out = [[[0.0] * wo for _ in range(ho)] for _ in range(cout_g * groups)]
    xs, ws = x.tolist(), w.tolist()
    for c in range(cin):
        g = c // cin_g
        for o in range(cout_g):
            for i in range(h):
                for j in range(wd):
                    for a in range(kh):
                        r = i * sh + a * dh - ph
                        if not 0 <= r < ho:
                            continue
                        for b in range(kw):
                            q = j * sw + b * dw - pw
                            if 0 <= q < wo:
                                out[g * cout_g + o][r][q] += xs[c][i][j] * ws[c][o][a][b]
    res = np.array(out, dtype=np.float64)
    if bias is not None:
        res += np.asarray(bias, dtype=np.float64)[:, None, None]
    return res


def nearest_source(dst: int, n_in: int, n_out: int) -> int:
    """PyTorch's nearest rule: floor(dst * in / out), in exact integers."""
    return dst * n_in // n_out


def upsample_nearest(x, scale) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    c, h, w = x.shape
    ho, wo = h * scale[0], w * scale[1]
    out = np.zeros((c, ho, wo))
    for ch in range(c):
        for i in range(ho):
            for j in range(wo):
                out[ch, i, j] = x[ch, nearest_source(i, h, ho), nearest_source(j, w, wo)]
    return out


def linear_source(dst: int, n_in: int, scale: int) -> tuple[int, int, float]:
    """PyTorch's bilinear rule with align_corners=False: src = (dst + 0.5) / scale - 0.5, at
    least 0; (floor(src), the next index but at most n_in - 1, src - floor(src))."""
    src = max((dst + 0.5) / scale - 0.5, 0.0)
    i0 = min(math.floor(src), n_in - 1)
    return i0, min(i0 + 1, n_in - 1), src - i0


def upsample_bilinear(x, scale) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    c, h, w = x.shape
    ho, wo = h * scale[0], w * scale[1]
    out = np.zeros((c, ho, wo))
    for ch in range(c):
        for i in range(ho):
            i0, i1, lam = linear_source(i, h, scale[0])
            for j in range(wo):
                j0, j1, mu = linear_source(j, w, scale[1])
                out[ch, i, j] = ((1 - lam) * ((1 - mu) * x[ch, i0, j0] + mu * x[ch, i0, j1])
                                 + lam * ((1 - mu) * x[ch, i1, j0] + mu * x[ch, i1, j1]))
    return out


def symmetric_source(i: int, n: int) -> int:
    """Input index that position i (may be < 0 or >= n) of a symmetric (edge-repeating) mirror
    reads: ... 1 0 | 0 1 ... n-1 | n-1 n-2 ..., with period 2n."""
    m = i % (2 * n)
    return m if m < n else 2 * n - 1 - m
