"""Code export: a pipeline as PyTorch source or as a standalone NumPy + OpenCV script.

Both generators return Python source text (the app copies it to the clipboard):

* :func:`to_pytorch` defines ``build_model() -> torch.nn.Sequential``. Its forward reproduces the
  pipeline on ``(N, C, H, W)`` float32 tensors: ``model.layer<i>`` is pipeline layer i (1-based;
  disabled layers are left out), so iterating over the children yields every layer's output.
* :func:`to_numpy_opencv` writes a plain script (NumPy and OpenCV only, no ConvStudio import) that
  defines ``run(x) -> list[np.ndarray]`` for ``(C, H, W)`` float32 input, returning every layer's
  output exactly as :meth:`Pipeline.run` does (a disabled layer passes its input through), and
  that prints every layer's output shape for an image given on the command line.

Numbers are exact: the effective float32 weights (scaled, flipped, the kernel form repeated per
channel) are written with ``repr(float(v))``, which reads back to the very same float32.

How the PyTorch translation handles what PyTorch does differently
------------------------------------------------------------------
* "same" padding: ConvStudio puts the extra row/column of an even kernel on the top/left (as
  OpenCV's anchor does); PyTorch's ``padding='same'`` puts it at the bottom/right. Every
  asymmetric padding is therefore an explicit ``nn.ZeroPad2d((left, right, top, bottom))`` before
  a ``padding=0`` convolution; symmetric zero padding stays ``nn.Conv2d(padding=(ph, pw))``.
* Non-zero padding modes: ``nn.ReflectionPad2d`` / ``nn.ReplicationPad2d`` / ``nn.CircularPad2d``
  (torch >= 2.1) before the convolution; "symmetric", which PyTorch lacks, becomes a small
  ``SymmetricPad2d`` module defined in the generated code (an index gather, any pad size).
  PyTorch refuses a reflect pad that is not smaller than the input side and a circular pad larger
  than it, where NumPy (and so ConvStudio) mirrors or wraps repeatedly; the generated code says so
  in a comment naming the smallest input that works.
* Pooling: ``nn.MaxPool2d`` / ``nn.AvgPool2d`` take one padding per axis (at most half the
  kernel, not counting dilation) and decide ceil_mode's "drop a window that starts in the padding"
  by that padding. Symmetric padding within that limit maps straight onto them. Otherwise, without
  ceil_mode, an explicit pad (-inf for max, zeros for avg with count_include_pad) then a
  ``padding=0`` pool is exact. Every remaining case (asymmetric or over-the-limit padding with
  ceil_mode, asymmetric avg pooling with count_include_pad=False) becomes a small ``Pool2d``
  module defined in the generated code: it pads explicitly, pools with ``padding=0``, divides
  window sums (``divisor_override=1``) by the count of real pixels where needed, and crops the
  ceil_mode result to ConvStudio's size. Nothing is approximated.
* ``conv_transpose2d`` is ``nn.ConvTranspose2d`` (the same weight layout), ``upsample`` is
  ``nn.Upsample(scale_factor=..., mode=...)`` with ``align_corners=False`` for bilinear.
* On a GPU, PyTorch may run float32 convolutions in TF32; the header says how to turn that off.

The generators live in :mod:`convstudio.core.codegen_torch` and :mod:`convstudio.core.codegen_numpy`
(their shared helpers in :mod:`convstudio.core.codegen_common`); this module is the public entry.
"""

from __future__ import annotations

from .codegen_numpy import to_numpy_opencv
from .codegen_torch import to_pytorch

__all__ = ["to_pytorch", "to_numpy_opencv"]
