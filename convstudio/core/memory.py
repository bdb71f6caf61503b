"""How much memory running a layer takes: the model behind ``Pipeline.peak_bytes``, ``info``'s
peak memory and the budget check of :func:`convstudio.core.run_layers` (docs/security.md).

A layer's *peak* is what it holds at once while it runs: its input, its output and its working
space (a padded copy of the input, the fast paths' scratch, an activation's temporaries). The
working space is modelled per layer type from the kernels in :mod:`convstudio.core.ops` and
:mod:`convstudio.core.fastpaths`, as an upper bound of what they allocate (``tests/core/
test_memory.py`` holds the model against ``tracemalloc`` measurements of real runs).
"""

from __future__ import annotations

import math

from .layerbase import Layer

__all__ = ["FLOAT_BYTES", "array_bytes", "layer_workspace_bytes", "layer_peak_bytes",
           "save_peak_bytes"]

FLOAT_BYTES = 4  # every feature map is float32

# The fast paths pad large inputs band by band and keep their scratch (FFT spectra, GEMM blocks)
# under fixed sizes (fastpaths._BAND_MIN_BYTES, _FFT_MAX_SPECTRA_BYTES): past these sizes the
# working space stops growing with the image.
_PADDED_COPY_CAP = 64 << 20
_SCRATCH_CAP = 256 << 20
# Scratch of a convolution, in units of the larger of its input and output, per path: the FFT's
# complex spectra and tiles (measured up to about 9 on small images), the other paths' strips
# and blocks (about 1.5), plus their fixed-size GEMM scratch; capped per thread of the pool.
_FFT_SCRATCH, _FFT_CAP, _FFT_CAP_PER_THREAD = 12, 64 << 20, 16 << 20
_GEMM_SCRATCH, _GEMM_CAP_PER_THREAD, _GEMM_FIXED = 1.5, 8 << 20, 4 << 20
# The compiled depthwise loop (core/jit.py): a little per task besides its ring of padded rows.
_DIRECT_FIXED = 1 << 20
# Temporaries of an activation, in units of its output (sigmoid: exp and a division).
_ACTIVATION_TEMPS = {"relu": 0, "abs": 0, "tanh": 0, "leaky_relu": 2, "sigmoid": 4}


def array_bytes(shape) -> int:
    """Bytes of a float32 array of `shape`."""
    return FLOAT_BYTES * math.prod(int(s) for s in shape)


def _padded_bytes(layer: Layer, in_shape) -> int:
    pads = getattr(layer, "pads", (0, 0, 0, 0))
    if not any(pads):
        return 0
    c, h, w = in_shape
    t, b, left, r = pads
    return min(array_bytes((c, h + t + b, w + left + r)), _PADDED_COPY_CAP)


def layer_workspace_bytes(layer: Layer, in_shape) -> int:
    """Bytes a layer allocates while it runs besides its output (an upper bound).

    `in_shape` must fit the layer (``layer.output_shape(in_shape)`` succeeds)."""
    if not layer.enabled:
        return 0
    out = array_bytes(layer.output_shape(in_shape))
    inp = array_bytes(in_shape)
    kind = layer.type
    if kind == "conv2d":
        if _conv_path(layer, in_shape) == "direct":
            return _direct_scratch(layer, in_shape)
        return _padded_bytes(layer, in_shape) + _conv_scratch(layer, in_shape, max(inp, out))
    if kind in ("maxpool2d", "avgpool2d"):
        from . import fastpaths

        # the fast path reads the padding in place (fastpaths.pool_reduce); the fallback pads
        return (0 if fastpaths.enabled else _padded_bytes(layer, in_shape)) + out
    if kind == "pad":
        return inp // 2  # numpy.pad's edge temporaries for the mirrored modes
    if kind == "stride":
        return 0
    if kind in _ACTIVATION_TEMPS:
        return _ACTIVATION_TEMPS[kind] * out
    # Layers that enlarge their input (transposed convolution, upsampling) and any other type:
    # a generous bound until a measured model exists.
    return min(_FFT_SCRATCH * max(inp, out), _SCRATCH_CAP) + out


# (id(layer), in_shape) -> (layer, path): the cost model may take an SVD of the weights, and a
# tile search asks for the same layer many times. The layer is kept so that its id stays unique.
_PATHS: dict[tuple[int, tuple[int, ...]], tuple[Layer, str]] = {}
_PATHS_MAX = 512


def _conv_path(layer, in_shape) -> str:
    from . import fastpaths

    key = (id(layer), tuple(in_shape))
    hit = _PATHS.get(key)
    if hit is not None and hit[0] is layer:
        return hit[1]
    c, h, w = in_shape
    t, b, left, r = layer.pads
    try:
        path = fastpaths.choose_path((c, h + t + b, w + left + r), layer.effective_weight(c),
                                     stride=layer.stride, dilation=layer.dilation,
                                     groups=layer.effective_groups(c))
    except (ValueError, ArithmeticError):
        path = "fft"  # the largest model
    if len(_PATHS) >= _PATHS_MAX:
        _PATHS.clear()
    _PATHS[key] = (layer, path)
    return path


def _conv_scratch(layer, in_shape, size: int) -> int:
    """The scratch of the path the fast paths' cost model picks for this convolution."""
    from . import fastpaths

    threads = fastpaths.num_threads()
    if _conv_path(layer, in_shape) == "fft":
        return int(min(_FFT_SCRATCH * size, _FFT_CAP + threads * _FFT_CAP_PER_THREAD))
    return int(min(_GEMM_SCRATCH * size, threads * _GEMM_CAP_PER_THREAD)) + _GEMM_FIXED


def _direct_scratch(layer, in_shape) -> int:
    """The compiled loop (core/jit.py) reads the padding in place; each running task holds a
    ring of the kernel's span of padded rows (and its index arrays)."""
    from . import fastpaths

    _, h, w = in_shape
    t, b, left, r = layer.pads
    kh = layer.kernel_size[0]
    span = (kh - 1) * layer.dilation[0] + 1
    ring = FLOAT_BYTES * span * (w + left + r) + 8 * (h + t + b + w + left + r)
    return fastpaths.num_threads() * ring + _DIRECT_FIXED


def layer_peak_bytes(layer: Layer, in_shape) -> int:
    """Bytes held while `layer` runs on an input of `in_shape`: input + output + working space."""
    if not layer.enabled:
        return array_bytes(in_shape)
    return array_bytes(in_shape) + array_bytes(layer.output_shape(in_shape)) \
        + layer_workspace_bytes(layer, in_shape)


def save_peak_bytes(shape) -> int:
    """Bytes held while an output of `shape` is written: the array, a normalised float copy, the
    rounded samples and the encoded file with its copy (PNG, JPEG ...), or the serialised bytes
    and their copy (``.npy``, float TIFF): measured at up to 3x the array besides the array
    itself (a float32 TIFF), so 4x in all."""
    return 4 * array_bytes(shape)
