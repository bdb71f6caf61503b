"""The kernel learner's background work, without widgets: the target, and gradient descent run
on a :class:`~convstudio.app.model.worker.Worker` thread in reported chunks.

The learner panel (``app/panels/learner.py``) owns one :class:`LearnSession` per run. Only the
worker thread touches the session's :class:`~convstudio.core.fit.KernelFit`; the GUI thread gets
:class:`LearnReport` values (the losses of the steps since the last report and the layer as it
is now) through ``Worker.progressed`` and ``Worker.done``, and steers a running job through
:class:`LearnControls` (plain numbers and a ``threading.Event``, read between steps).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convstudio.core import Conv2d, Pipeline, PipelineError
from convstudio.core.fit import KernelFit

__all__ = ["EDGE_KERNEL", "LearnControls", "LearnReport", "LearnSession", "kernel_target",
           "target_layer"]

#: The tutorial's edge detector (D2L 6.2.3): the kernel a learner recovers in the lesson.
EDGE_KERNEL = np.array([[1.0, -1.0]], dtype=np.float32)

#: Seconds between two progress reports of a running job (the loss curve's refresh rate).
REPORT_INTERVAL_S = 0.1


def target_layer(layer: Conv2d, kernel: np.ndarray) -> Conv2d:
    """`layer` with `kernel` in place of its weights (no bias, no scale, no flip): the layer that
    makes a target for learning.

    A smaller kernel is placed at the centre of a zero kernel of the layer's size (so the layer
    can learn it exactly, and the output keeps its shape). A ``weight`` layer gets the kernel on
    every (output, input) pair, divided by the inputs per group: each output channel filters
    the mean of its inputs.
    """
    k = np.asarray(kernel, dtype=np.float64)
    kh, kw = layer.kernel_size
    if k.shape[0] > kh or k.shape[1] > kw:
        raise PipelineError(f"the layer's kernel is {kh} x {kw}, smaller than the {k.shape[0]} x "
                            f"{k.shape[1]} target kernel: it cannot learn it")
    full = np.zeros((kh, kw))
    top, left = (kh - k.shape[0]) // 2, (kw - k.shape[1]) // 2
    full[top:top + k.shape[0], left:left + k.shape[1]] = k
    common = dict(scale=1.0, flip=False, bias=None, bias_shared=False, bias_list=False)
    if layer.kernel is not None:
        return dataclasses.replace(layer, kernel=full.astype(np.float32), **common)
    cout, cin_g = layer.weight.shape[:2]
    weight = np.broadcast_to(full / cin_g, (cout, cin_g, kh, kw)).astype(np.float32)
    return dataclasses.replace(layer, weight=weight, **common)


def kernel_target(pipeline: Pipeline, index: int, image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The last output of `pipeline` on `image` with layer `index` (1-based) made by `kernel`."""
    layer = pipeline.layers[index - 1]
    if not isinstance(layer, Conv2d):
        raise PipelineError(f"is a {layer.type} layer; only conv2d layers can learn", layer=index)
    return pipeline.replace_layer(index - 1, target_layer(layer, kernel)).run(image)[-1]


@dataclass
class LearnControls:
    """What the GUI thread may change while a job runs (read by the job between steps)."""

    lr: float | None = None  # None: the automatic rate
    momentum: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class LearnReport:
    """What a job tells the GUI thread.

    losses : the loss before each step taken since the previous report (float64).
    layer : the learned layer as it is now. steps : steps taken in this session so far.
    lr : the learning rate in use (the automatic one once it is known). done : the job ended.
    """

    losses: np.ndarray
    layer: Conv2d
    steps: int
    lr: float
    done: bool = False


class LearnSession:
    """One learning run on fixed values: the pipeline, the input, the learned layer's index and
    the target (an array, or a kernel whose output is the target). The gradient-descent state
    is made on the worker thread by the first job and kept between jobs, so pausing and going on
    continue the same descent (with momentum, the same velocity)."""

    def __init__(self, pipeline: Pipeline, image: np.ndarray, index: int, *,
                 target: np.ndarray | None = None, target_kernel: np.ndarray | None = None) -> None:
        if (target is None) == (target_kernel is None):
            raise ValueError("give exactly one of target and target_kernel")
        self.pipeline = pipeline
        self.image = image
        self.index = index
        self._target = target
        self._target_kernel = target_kernel
        self._fit: KernelFit | None = None  # worker thread only

    def _learner(self, controls: LearnControls) -> KernelFit:
        if self._fit is None:
            target = self._target
            if target is None:
                target = kernel_target(self.pipeline, self.index, self.image, self._target_kernel)
            self._fit = KernelFit(self.pipeline, self.image, target, self.index, lr=controls.lr,
                                  momentum=controls.momentum)
        return self._fit

    def job(self, steps: int, controls: LearnControls) -> Callable[[Any], LearnReport]:
        """A Worker job taking up to `steps` steps, reporting every ``REPORT_INTERVAL_S``; it
        ends early, with its report, once ``controls.stop`` is set."""

        def run(ctx) -> LearnReport:  # worker thread
            fit = self._learner(controls)
            pending: list[float] = []
            last = time.monotonic()
            for _ in range(steps):
                if controls.stop.is_set():
                    break
                if controls.lr is not None:
                    fit.lr = controls.lr
                fit.momentum = controls.momentum
                pending.append(fit.step())
                if time.monotonic() - last >= REPORT_INTERVAL_S:
                    ctx.progress(LearnReport(np.array(pending), fit.layer(), fit.steps_taken, fit.lr))
                    pending, last = [], time.monotonic()
            return LearnReport(np.array(pending), fit.layer(), fit.steps_taken, fit.lr, done=True)

        return run
