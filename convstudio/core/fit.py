"""Learning a kernel: gradient descent on one conv layer's weights and bias.

Every other layer stays fixed. The loss is the mean squared error between the pipeline's last
output ``y`` and a target ``t`` of the same shape,

    L = (1 / N) * sum (y - t)^2,      N = C * H * W of the last output,

and the gradient is back-propagated exactly (docs/semantics.md, "Learning a kernel"): through the
later layers by :func:`convstudio.core.gradients.layer_backward` (the same code as the effective
receptive field: conv2d of both forms, pad, stride, max and average pooling with ceil_mode and
count_include_pad, activations, every border mode), then to the layer's parameters by correlating
the layer's padded input with the gradient of its output.

The learned layer keeps its form: a ``kernel`` layer (one kernel applied to every channel) learns
its one kernel, whose gradient is the sum over the channels; a ``weight`` layer learns its
``(Cout, Cin / groups, kh, kw)`` weight. ``scale`` and ``flip`` stay as they are: the stored
numbers are learned, the gradient passing through the scale and the flip. The bias is learned
when the layer has one (one number for every channel stays one number).

Precision: the forward passes are the core's float32 ones (the very numbers ``apply`` writes);
the loss and the backward pass are computed in float64 from them. The gradient is therefore the
exact derivative, up to float64 rounding, of the loss at the float32 activations; it differs from
the real-arithmetic gradient only by the float32 rounding of the forward pass (docs/semantics.md,
"How exact the numbers are"). Given float64 activations (``outputs=``), it is exact to float64.

Examples
--------
The tutorial's edge detector, learned back from its own output:

>>> import numpy as np
>>> from convstudio.core import Pipeline, Conv2d
>>> x = np.ones((1, 6, 8), np.float32); x[:, :, 2:6] = 0
>>> target = Pipeline((Conv2d(kernel=[[1, -1]]),)).run(x)[-1]
>>> result = fit(Pipeline((Conv2d(kernel=[[0.5, 0.3]]),)), x, target, 1, steps=300)
>>> np.round(result.pipeline.layers[0].kernel, 3).tolist()
[[1.0, -1.0]]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import cancel, ops
from .errors import ConvStudioError, PipelineError
from .gradients import layer_backward
from .layers import Conv2d
from .pipeline import Pipeline, as_chw, run_layers

__all__ = ["DEFAULT_STEPS", "FitDiverged", "FitResult", "Gradient", "KernelFit", "fit",
           "loss_and_gradient", "mse"]

#: Steps `fit` takes when none are asked for.
DEFAULT_STEPS = 200

# Power iterations for the automatic learning rate, and their relative stopping tolerance.
_POWER_ITERATIONS = 30
_POWER_TOLERANCE = 1e-3


class FitDiverged(ConvStudioError):
    """The loss (or a parameter) became infinite or NaN: the learning rate is too large."""


@dataclass(frozen=True)
class Gradient:
    """The loss and its gradient with respect to the layer's stored parameters (float64).

    Attributes
    ----------
    loss : float
        Mean squared error of the last output against the target.
    weight : ndarray
        Same shape as the layer's stored ``weight`` ``(Cout, Cin / groups, kh, kw)`` or
        ``kernel`` ``(kh, kw)``.
    bias : ndarray or None
        Same shape as the stored ``bias`` (one number when it is shared); None without a bias.
    """

    loss: float
    weight: np.ndarray
    bias: np.ndarray | None


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    pipeline : Pipeline
        The pipeline with the learned layer.
    losses : ndarray
        float64, the loss before each step (one per step taken).
    final_loss : float
        The loss of `pipeline` (after the last step).
    lr : float
        The learning rate used (chosen by :meth:`KernelFit.suggest_learning_rate` if none given).
    """

    pipeline: Pipeline
    losses: np.ndarray
    final_loss: float
    lr: float


def mse(y: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error, accumulated in float64."""
    d = np.asarray(y, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    return float(np.mean(d * d))


def _tap(start: int, count: int, step: int) -> slice:
    return slice(start, start + (count - 1) * step + 1, step)


def conv_parameter_gradient(layer: Conv2d, x: np.ndarray, g: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Gradient w.r.t. the *effective* weight ``(Cout, Cin / groups, kh, kw)`` and bias ``(Cout,)``
    of a conv layer with input `x` ``(C, H, W)``, given the gradient `g` of its output.

    ``dW[o, c, a, b] = sum_ij g[o, i, j] * xpad[grp(o) * Cin_g + c, i * sh + a * dh, j * sw + b * dw]``:
    the padded input correlated with the output gradient, one matrix product per kernel tap
    (all groups at once), in float64.
    """
    c = x.shape[0]
    groups = layer.effective_groups(c)
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
    xp = ops.pad(np.asarray(x, dtype=np.float64), layer.pads, mode=layer.padding_mode)
    g = np.asarray(g, dtype=np.float64)
    cout, ho, wo = g.shape
    cin_g, cout_g = c // groups, cout // groups
    gg = g.reshape(groups, cout_g, ho * wo)
    dw_eff = np.empty((cout, cin_g, kh, kw))
    for a in range(kh):
        for b in range(kw):
            patch = xp[:, _tap(a * dh, ho, sh), _tap(b * dw, wo, sw)].reshape(groups, cin_g, ho * wo)
            dw_eff[:, :, a, b] = np.matmul(gg, patch.transpose(0, 2, 1)).reshape(cout, cin_g)
    return dw_eff, g.sum(axis=(1, 2))


def _to_stored(layer: Conv2d, dw_eff: np.ndarray, db_eff: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """Map gradients of the effective weight and bias onto the numbers the layer stores
    (through its scale, its flip, the kernel form's sharing and a shared bias)."""
    dw = dw_eff * float(np.float32(layer.scale))  # effective = stored * float32(scale)
    if layer.flip:
        dw = dw[..., ::-1, ::-1]
    if layer.kernel is not None:
        dw = dw[:, 0].sum(axis=0)  # one kernel for every channel
    db = None
    if layer.bias is not None:
        db = np.array([db_eff.sum()]) if layer.bias_shared else db_eff
    return np.ascontiguousarray(dw), db


def _check_target(target: Any, shape: tuple[int, ...]) -> np.ndarray:
    t = np.asarray(target)
    if t.ndim == 2:
        t = t[None]
    if t.ndim != 3 or t.dtype.kind not in "biuf":
        raise PipelineError(f"the target must be a numeric (H, W) or (C, H, W) array, got shape "
                            f"{t.shape}")
    if tuple(t.shape) != tuple(shape):
        raise PipelineError(f"the target is {' x '.join(map(str, t.shape))} but the pipeline's "
                            f"last output is {' x '.join(map(str, shape))} (C x H x W)")
    t = t.astype(np.float64)
    if not np.isfinite(t).all():
        raise PipelineError("the target holds NaN or infinite values")
    return t


def _check_layer(pipeline: Pipeline, layer: int) -> Conv2d:
    n = len(pipeline)
    if not 1 <= layer <= n:
        raise PipelineError(f"the layer to learn must be between 1 and {n}, got {layer}")
    lyr = pipeline.layers[layer - 1]
    if not isinstance(lyr, Conv2d):
        raise PipelineError(f"is a {lyr.type} layer; only conv2d layers have a kernel to learn",
                            layer=layer)
    if not lyr.enabled:
        raise PipelineError("is disabled: it passes its input through and has nothing to learn",
                            layer=layer)
    return lyr


def _backward(layers, acts, g: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Back-propagate `g` (w.r.t. the last activation) to the parameters of ``layers[0]``, a conv
    layer; ``acts[i]`` is the input of ``layers[i]`` and ``acts[-1]`` the last output. `first` is
    the 1-based index of ``layers[0]`` in the pipeline (for error messages)."""
    for i in range(len(layers) - 1, 0, -1):
        try:
            g = layer_backward(layers[i], acts[i], acts[i + 1], g)
        except PipelineError as exc:
            raise exc.at_layer(first + i) from None
    return _to_stored(layers[0], *conv_parameter_gradient(layers[0], acts[0], g))


def loss_and_gradient(pipeline: Pipeline, image: Any, target: Any, layer: int, *,
                      outputs: list[np.ndarray] | None = None) -> Gradient:
    """The loss of `pipeline` on `image` against `target` and its gradient w.r.t. conv layer
    `layer`'s stored weight (or kernel) and bias.

    Parameters
    ----------
    pipeline : Pipeline
    image : (H, W) or (C, H, W) array
    target : array of the last output's shape ((H, W) for one channel also accepted)
    layer : int
        1-based index of an enabled conv2d layer.
    outputs : list of arrays, optional
        Every layer's output (``pipeline.run(image)``), in any float precision: float64
        activations give a float64-exact gradient.
    """
    _check_layer(pipeline, layer)
    if outputs is None:
        x = as_chw(image)
        outputs = pipeline.run(x)
    else:
        x = np.asarray(image)
        x = x[None] if x.ndim == 2 else x
    t = _check_target(target, outputs[-1].shape)
    acts = [x] + list(outputs)
    y = np.asarray(acts[-1], dtype=np.float64)
    g = 2.0 * (y - t) / y.size
    dw, db = _backward(pipeline.layers[layer - 1:], acts[layer - 1:], g, layer)
    return Gradient(float(np.mean((y - t) ** 2)), dw, db)


class KernelFit:
    """Gradient descent on one conv layer, one step at a time (what the app's learner drives).

    The layers before the learned one are run once; each step runs the layers from it to the end,
    back-propagates and moves the parameters: ``p <- p - lr * dL/dp``. The parameters are kept in
    float64 and written to the layer (float32) before every forward pass, so the loss reported is
    that of the layer as it would be saved.

    Parameters
    ----------
    pipeline, image, target, layer
        As for :func:`loss_and_gradient`.
    lr : float, optional
        Learning rate; default :meth:`suggest_learning_rate`.
    learn_bias : bool
        Learn the layer's bias too (when it has one); False keeps it fixed.
    momentum : float
        Heavy-ball momentum ``0 <= momentum < 1`` (0: plain gradient descent), as
        ``torch.optim.SGD``: ``v <- momentum * v + dL/dp``, ``p <- p - lr * v``. On the
        ill-conditioned losses of natural images (neighbouring pixels are alike) 0.9 needs far
        fewer steps than plain descent; the automatic rate stays stable with it.
    """

    def __init__(self, pipeline: Pipeline, image: Any, target: Any, layer: int, *,
                 lr: float | None = None, learn_bias: bool = True, momentum: float = 0.0) -> None:
        lyr = _check_layer(pipeline, layer)
        x = as_chw(image)
        shapes = pipeline.output_shapes(x.shape)
        self._target = _check_target(target, shapes[-1])
        if lyr.scale == 0:
            raise PipelineError("has scale 0: its weights have no effect, there is nothing to learn",
                                layer=layer, key="scale")
        self._pipeline = pipeline
        self._index = layer
        self._input = pipeline.run(x, upto=layer - 1)[-1] if layer > 1 else x
        stored = lyr.weight if lyr.weight is not None else lyr.kernel
        self._weight = np.array(stored, dtype=np.float64)
        self._bias = None if lyr.bias is None or not learn_bias else np.array(lyr.bias, np.float64)
        self._layer = lyr
        self.steps_taken = 0
        if not 0.0 <= momentum < 1.0:
            raise PipelineError(f"momentum must be at least 0 and below 1, got {momentum}")
        self.momentum = float(momentum)
        self._velocity: tuple[np.ndarray, np.ndarray | None] | None = None
        self.lr = float(lr) if lr is not None else self.suggest_learning_rate()
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise PipelineError(f"the learning rate must be a finite number > 0, got {self.lr}")

    # ------------------------------------------------------------------ state
    @property
    def layer_index(self) -> int:
        """1-based index of the learned layer."""
        return self._index

    @property
    def weight(self) -> np.ndarray:
        """The current stored weight or kernel (float64 copy)."""
        return self._weight.copy()

    @property
    def bias(self) -> np.ndarray | None:
        """The current learned bias (float64 copy), None when the bias is not learned."""
        return None if self._bias is None else self._bias.copy()

    def layer(self) -> Conv2d:
        """The conv layer with the current parameters (float32, same form and settings)."""
        return self._layer_with(self._weight, self._bias)

    def pipeline(self) -> Pipeline:
        """The pipeline with the learned layer as it is now."""
        return self._pipeline.replace_layer(self._index - 1, self.layer())

    def _layer_with(self, weight: np.ndarray, bias: np.ndarray | None) -> Conv2d:
        key = "weight" if self._layer.weight is not None else "kernel"
        changes: dict[str, Any] = {key: weight.astype(np.float32)}
        if bias is not None:
            changes["bias"] = bias.astype(np.float32)
        return dataclasses.replace(self._layer, **changes)

    # ------------------------------------------------------------------ numbers
    def _forward(self, layer: Conv2d) -> list[np.ndarray]:
        """Inputs of the learned layer and of every later layer, then the last output."""
        tail = (layer,) + self._pipeline.layers[self._index:]
        outs = [r.output for r in run_layers(tail, self._input, cancelled=cancel.current())]
        return [self._input] + outs

    def _loss_grad(self, layer: Conv2d) -> tuple[float, np.ndarray, np.ndarray | None, list]:
        acts = self._forward(layer)
        y = acts[-1].astype(np.float64)
        d = y - self._target
        loss = float(np.mean(d * d))
        if not np.isfinite(loss):
            return loss, self._weight, self._bias, acts
        tail = (layer,) + self._pipeline.layers[self._index:]
        dw, db = _backward(tail, acts, 2.0 * d / d.size, self._index)
        return loss, dw, db, acts

    def loss(self) -> float:
        """The loss of the layer as it is now (one forward pass)."""
        return mse(self._forward(self.layer())[-1], self._target)

    def gradient(self) -> Gradient:
        """The loss and its gradient at the current parameters."""
        loss, dw, db, _ = self._loss_grad(self.layer())
        return Gradient(loss, dw, db if self._bias is not None else None)

    def step(self) -> float:
        """One gradient-descent step; returns the loss *before* it.

        Raises
        ------
        FitDiverged
            The loss or a parameter is no longer finite (the learning rate is too large).
        """
        cancel.check()
        loss, dw, db, _ = self._loss_grad(self.layer())
        if not np.isfinite(loss):
            raise self._diverged(f"the loss became {loss}")
        if self.momentum and self._velocity is not None:
            dw = self.momentum * self._velocity[0] + dw
            if self._bias is not None:
                db = self.momentum * self._velocity[1] + db
        self._velocity = (dw, db)
        weight = self._weight - self.lr * dw
        bias = None if self._bias is None else self._bias - self.lr * db
        if not (np.isfinite(weight).all() and (bias is None or np.isfinite(bias).all())
                and np.abs(weight).max() < np.finfo(np.float32).max):
            raise self._diverged("the weights became too large")
        self._weight, self._bias = weight, bias
        self.steps_taken += 1
        return loss

    def _diverged(self, what: str) -> FitDiverged:
        return FitDiverged(f"learning diverged at step {self.steps_taken + 1}: {what} "
                           f"(learning rate {self.lr:.3g} is too large; try a smaller one)")

    def suggest_learning_rate(self) -> float:
        """``1 / lambda``, lambda the largest eigenvalue of the loss's Gauss-Newton matrix
        ``(2 / N) J^T J`` (J: the last output's Jacobian w.r.t. the learned parameters) at the
        current parameters, by power iteration.

        For a stack that is linear after the learned layer the loss is quadratic, lambda is its
        largest curvature and gradient descent with this rate decreases the loss at every step
        (any rate below ``2 / lambda`` converges). Jacobian-vector products are central
        differences of the forward pass; the learned layer's output is affine in its
        parameters, so they are exact up to rounding for a linear rest of the stack.
        """
        base = self.layer()
        acts = self._forward(base)
        n = acts[-1].size
        tail = (base,) + self._pipeline.layers[self._index:]
        sizes = (self._weight.size, 0 if self._bias is None else self._bias.size)
        v = np.random.default_rng(0).standard_normal(sum(sizes))
        v /= np.linalg.norm(v)
        scale = 1e-3 * max(1.0, float(np.abs(self._weight).max()),
                           0.0 if self._bias is None else float(np.abs(self._bias).max()))
        lam = 0.0
        for _ in range(_POWER_ITERATIONS):
            vw, vb = self._split(v, sizes)
            plus = self._forward(self._layer_with(self._weight + scale * vw,
                                                  None if vb is None else self._bias + scale * vb))
            minus = self._forward(self._layer_with(self._weight - scale * vw,
                                                   None if vb is None else self._bias - scale * vb))
            jv = (plus[-1].astype(np.float64) - minus[-1].astype(np.float64)) / (2 * scale)
            dw, db = _backward(tail, acts, jv, self._index)
            gv = (2.0 / n) * np.concatenate([dw.ravel()] + ([] if vb is None else [db.ravel()]))
            new = float(np.linalg.norm(gv))
            if not np.isfinite(new) or new == 0.0:
                break
            v = gv / new
            done = abs(new - lam) <= _POWER_TOLERANCE * new
            lam = new
            if done:
                break
        return 1.0 / lam if lam > 0 and np.isfinite(lam) else 1.0

    def _split(self, v: np.ndarray, sizes: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
        vw = v[:sizes[0]].reshape(self._weight.shape)
        vb = None if self._bias is None else v[sizes[0]:].reshape(self._bias.shape)
        return vw, vb


def fit(pipeline: Pipeline, image: Any, target: Any, layer: int, *, steps: int = DEFAULT_STEPS,
        lr: float | None = None, learn_bias: bool = True, momentum: float = 0.0,
        callback: Callable[[int, float], Any] | None = None,
        cancelled: Callable[[], bool] | None = None) -> FitResult:
    """Learn conv layer `layer`'s weight (or kernel) and bias by gradient descent on the mean
    squared error of the last output against `target`.

    Parameters
    ----------
    pipeline : Pipeline
    image : (H, W) or (C, H, W) array
    target : array of the last output's shape
    layer : int
        1-based index of an enabled conv2d layer (0 is the input).
    steps : int
        Gradient-descent steps (>= 0).
    lr : float, optional
        Learning rate; default :meth:`KernelFit.suggest_learning_rate`.
    learn_bias : bool
        Learn the layer's bias too, when it has one.
    momentum : float
        Heavy-ball momentum (0, the default: plain gradient descent); see :class:`KernelFit`.
    callback : callable, optional
        ``callback(step, loss)`` after every step (1-based step, the loss before it).
    cancelled : callable, optional
        Polled between steps and inside long layers; :class:`~convstudio.core.RunCancelled` is
        raised once it returns True (:mod:`convstudio.core.cancel`).

    Raises
    ------
    PipelineError
        The layer is not an enabled conv2d, or the target's shape is not the last output's.
    FitDiverged
        The loss became non-finite.
    """
    if int(steps) != steps or steps < 0:
        raise PipelineError(f"steps must be an integer >= 0, got {steps}")
    with cancel.cancellable(cancelled if cancelled is not None else cancel.current()):
        learner = KernelFit(pipeline, image, target, layer, lr=lr, learn_bias=learn_bias,
                            momentum=momentum)
        losses = np.empty(int(steps))
        for i in range(int(steps)):
            losses[i] = learner.step()
            if callback is not None:
                callback(i + 1, float(losses[i]))
        final = learner.loss()
    if not np.isfinite(final):
        raise learner._diverged(f"the loss became {final}")
    return FitResult(learner.pipeline(), losses, final, learner.lr)
