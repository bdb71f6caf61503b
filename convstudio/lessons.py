"""The Learn menu: every section of the convolution tutorial as a ready example.

Each lesson is an input (made here, exact small numbers where the tutorial gives them), a pipeline
and a short explanation, plus the numbers the tutorial itself states, so that a test can hold the
app to them. Pure NumPy: the app opens a lesson, the tests check it, without Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .core.pipeline import Pipeline
from .resources import resource_path

__all__ = ["Lesson", "LESSONS", "get_lesson"]

SAMPLES = resource_path("samples")


def _pipeline(*layers: dict, name: str) -> dict:
    return {"format": "convstudio-pipeline", "version": 1, "name": name, "layers": list(layers)}


@dataclass(frozen=True)
class Lesson:
    """One tutorial example.

    Attributes
    ----------
    id : str
        Stable name, e.g. "cross-correlation".
    title : str
        Menu text.
    explanation : str
        A few sentences (simple HTML) shown beside the example.
    make_image : callable
        Returns the ``(C, H, W) float32`` input.
    pipeline : dict
        The pipeline in the JSON format.
    select_layer : int
        The layer to show first.
    expected : dict
        What the tutorial states: ``{"outputs": {layer: array}}`` and/or ``{"shapes": {layer:
        (C, H, W)}}``, ``{"receptive_field": {layer: (rh, rw)}}``, ``{"fc_params": n}``.
    """

    id: str
    title: str
    explanation: str
    make_image: Callable[[], np.ndarray]
    pipeline: dict
    select_layer: int = 1
    expected: dict[str, Any] = field(default_factory=dict)

    def build_pipeline(self) -> Pipeline:
        return Pipeline.from_dict(self.pipeline)


def _arange(c: int, h: int, w: int, start: float = 0.0) -> Callable[[], np.ndarray]:
    return lambda: (np.arange(c * h * w, dtype=np.float32) + start).reshape(c, h, w)


def _step_image() -> np.ndarray:
    # the tutorial's 6 x 8 image: white (1) left and right, black (0) in the middle columns
    x = np.ones((1, 6, 8), dtype=np.float32)
    x[:, :, 2:6] = 0
    return x


def _two_channels() -> np.ndarray:
    return np.stack([np.arange(9, dtype=np.float32).reshape(3, 3),
                     np.arange(1, 10, dtype=np.float32).reshape(3, 3)])


def _sample_rgb() -> np.ndarray:
    from .core.imageio import load_image

    path = SAMPLES / "coffee.png"
    if path.is_file():
        return load_image(path)
    # a colour gradient stands in when the sample images are not installed
    h, w = 200, 300
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([xx / w, yy / h, 1 - xx / w]).astype(np.float32)


def _megapixel() -> np.ndarray:
    h = w = 1000
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (0.5 + 0.5 * np.sin(xx / 23.0) * np.cos(yy / 31.0))[None].astype(np.float32)


K = [[0, 1], [2, 3]]
K2 = [[1, 2], [3, 4]]
SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]


def _shapes_image() -> np.ndarray:
    # a 32 x 32 dark image with a bright square and a bar: objects to move about
    x = np.zeros((1, 32, 32), dtype=np.float32)
    x[0, 8:16, 6:15] = 1.0
    x[0, 20:23, 16:28] = 0.6
    return x


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "parameters", "1. Fully connected: too many parameters",
        "A one-megapixel image mapped to 1000 hidden values by a fully connected layer needs "
        "10^6 × 10^3 = 10^9 weights (plus 10^3 biases): too many to learn. A 3 x 3 convolution "
        "(kept at every 40th row and 25th column, 25 x 40 = 1000 outputs) maps the same input to "
        "the same number of outputs with 9 weights and 1 bias, because the weights are shared "
        "by every position. The next two lessons take the two steps that get there: "
        "<a href='lesson:translation-invariance'>translation invariance</a> and "
        "<a href='lesson:locality'>locality</a>.",
        _megapixel,
        _pipeline({"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]],
                   "scale": 0.0625, "bias": 0.0, "padding": 1},
                  {"type": "stride", "stride": [40, 25]}, name="parameters"),
        select_layer=2,
        expected={"fc_params": 10**9 + 10**3, "params": 10, "shapes": {2: (1, 25, 40)}}),
    Lesson(
        "translation-invariance", "2. Translation invariance: the same weights everywhere",
        "A fully connected hidden value [H]_{i,j} has weights [V]_{i,j,a,b} of its own for every "
        "position (i, j). Translation invariance asks that an object gets the same response "
        "wherever it is, so the weights may not depend on (i, j): V_{i,j,a,b} becomes V_{a,b}, "
        "and H_{i,j} = u + Σ_a Σ_b V_{a,b} X_{i+a,j+b} is a convolution. Try it: Learn ▸ Shift "
        "the input... moves the image by (dy, dx); the map of the shifted image, moved back, "
        "equals the original map exactly away from the border (the difference is 0 there).",
        _shapes_image,
        _pipeline({"type": "conv2d", "kernel": SOBEL_X, "padding": 1}, name="translation invariance"),
        expected={"shapes": {1: (1, 32, 32)}, "shift_equivariant": {1: (3, 5)}}),
    Lesson(
        "locality", "3. Locality: a window of (2Δ + 1)²",
        "Locality: a hidden value looks only at the pixels near it, V_{a,b} = 0 when |a| > Δ or "
        "|b| > Δ. For a 1-megapixel image and a 1-megapixel hidden map, fully connected needs "
        "10^6 × 10^6 = 10^12 weights; locally connected (one (2Δ + 1)² window per output pixel, "
        "each with weights of its own) 10^6 × 9 for Δ = 1; the convolution (one window, shared) "
        "9. The Shapes & formula page counts the three for the selected layer and your image.",
        _megapixel,
        _pipeline({"type": "conv2d", "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]],
                   "scale": 0.0625, "bias": 0.0, "padding": 1}, name="locality"),
        expected={"fc_params": 10**12 + 10**6, "local_params": 9 * 10**6 + 10**6, "params": 10,
                  "shapes": {1: (1, 1000, 1000)}}),
    Lesson(
        "cross-correlation", "4. Cross-correlation",
        "The 2x2 kernel slides over the 3x3 input from the top left, left to right, top to "
        "bottom. At each position the window and the kernel are multiplied element by element "
        "and summed: 0×0 + 1×1 + 3×2 + 4×3 = 19. The output is (3 - 2 + 1) x (3 - 2 + 1) = 2 x 2. "
        "Click an output pixel to see its sum written out; Learn ▸ Sliding window player plays "
        "the whole slide.",
        _arange(1, 3, 3), _pipeline({"type": "conv2d", "weight": [[K]]}, name="cross-correlation"),
        expected={"outputs": {1: [[[19, 25], [37, 43]]]}, "shapes": {1: (1, 2, 2)}}),
    Lesson(
        "true-convolution", "5. Convolution flips the kernel",
        "Strictly, what a convolutional layer computes is a cross-correlation. A true "
        "convolution first rotates the kernel by 180 degrees (flips it up-down and left-right): "
        "the kernel with rows (0, 1) and (2, 3) becomes rows (3, 2) and (1, 0), so the first output is "
        "0×3 + 1×2 + 3×1 + 4×0 = 5 instead of 19. The layer's 'Flip' box does it. A network that "
        "learns its kernels does not care: it learns the flipped kernel instead.",
        _arange(1, 3, 3), _pipeline({"type": "conv2d", "weight": [[K]], "flip": True},
                                    name="true convolution"),
        expected={"outputs": {1: [[[5, 11], [23, 29]]]}}),
    Lesson(
        "edge-detector", "6. An edge detector: [1, -1]",
        "A 6 x 8 image, white at the sides and black in the middle. The 1 x 2 kernel [1, -1] "
        "subtracts each pixel's right neighbour: flat areas give 0, the white-to-black edge gives "
        "1 and the black-to-white edge gives -1. It finds only vertical edges; transpose the "
        "kernel to find horizontal ones.",
        _step_image, _pipeline({"type": "conv2d", "kernel": [[1, -1]]}, name="edge detector"),
        expected={"outputs": {1: [[[0, 1, 0, 0, 0, -1, 0]] * 6]}, "shapes": {1: (1, 6, 7)}}),
    Lesson(
        "receptive-field", "7. Receptive fields grow with depth",
        "The output 19 of a 2 x 2 kernel sees four input values. Stack a second 2 x 2 convolution "
        "on the 2 x 2 output and its single value z sees all four of Y and all nine inputs: the "
        "receptive field grows from 2 x 2 to 3 x 3. Click a pixel of layer 2 to see its window "
        "on the input.",
        _arange(1, 3, 3),
        _pipeline({"type": "conv2d", "weight": [[K]]}, {"type": "conv2d", "weight": [[K]]},
                  name="receptive field"),
        select_layer=2,
        expected={"receptive_field": {1: (2, 2), 2: (3, 3)}, "shapes": {2: (1, 1, 1)}}),
    Lesson(
        "padding-figure", "8. Padding: 3 x 3 becomes 5 x 5",
        "The tutorial's padding figure: the 3 x 3 input padded with a ring of zeros to 5 x 5, "
        "then the 2 x 2 kernel: the output grows to (3 + 2 - 2 + 1) x (3 + 2 - 2 + 1) = 4 x 4. "
        "Its top-left value sees only padding and the 0: 0×0 + 0×1 + 0×2 + 0×3 = 0.",
        _arange(1, 3, 3), _pipeline({"type": "conv2d", "weight": [[K]], "padding": 1},
                                    name="padding figure"),
        expected={"outputs": {1: [[[0, 3, 8, 4], [9, 19, 25, 10], [21, 37, 43, 16], [6, 7, 8, 0]]]},
                  "shapes": {1: (1, 4, 4)}}),
    Lesson(
        "padding", "9. Padding keeps the shape",
        "Each unpadded 3 x 3 convolution loses a border pixel all round. Padding the 8 x 8 input "
        "by p_h = k_h - 1 rows in total (1 on each side) keeps it 8 x 8: "
        "n_h + p_h - k_h + 1 = 8 + 2 - 3 + 1 = 8. The second layer uses a 5 x 3 kernel with "
        "padding (2, 1) and keeps the shape too. Switch the padding mode to see what the border "
        "is filled with.",
        lambda: np.random.default_rng(0).random((1, 8, 8), dtype=np.float32),
        _pipeline({"type": "conv2d", "kernel": [[1, 1, 1]] * 3, "scale": 1 / 9, "padding": 1},
                  {"type": "conv2d", "kernel": [[0, 1, 0]] * 5, "scale": 0.2, "padding": [2, 1]},
                  name="padding keeps the shape"),
        expected={"shapes": {1: (1, 8, 8), 2: (1, 8, 8)}}),
    Lesson(
        "padding-even", "10. An even kernel: ceil on top, floor at the bottom",
        "With an even kernel, p_h = k_h - 1 is odd and cannot be split evenly: the tutorial puts "
        "ceil(p_h / 2) rows on top and floor(p_h / 2) at the bottom (the same for the columns). "
        "The 2 x 2 kernel on the 3 x 3 input with padding 'same': p_h = 1, so 1 row on top, 0 at "
        "the bottom, 1 column on the left, 0 on the right, and the output stays 3 x 3: "
        "[[0, 3, 8], [9, 19, 25], [21, 37, 43]].",
        _arange(1, 3, 3), _pipeline({"type": "conv2d", "weight": [[K]], "padding": "same"},
                                    name="even kernel padding"),
        expected={"outputs": {1: [[[0, 3, 8], [9, 19, 25], [21, 37, 43]]]}, "shapes": {1: (1, 3, 3)}}),
    Lesson(
        "stride-figure", "11. Strides 3 and 2",
        "The tutorial's stride figure: the 3 x 3 input padded to 5 x 5 and the 2 x 2 kernel, "
        "jumping 3 rows down and 2 columns right: 0×0 + 0×1 + 1×2 + 2×3 = 8 and "
        "0×0 + 6×1 + 0×2 + 0×3 = 6. The output is floor((3 + 2 + 3 - 2) / 3) x "
        "floor((3 + 2 + 2 - 2) / 2) = 2 x 2: [[0, 8], [6, 8]].",
        _arange(1, 3, 3), _pipeline({"type": "conv2d", "weight": [[K]], "padding": 1, "stride": [3, 2]},
                                    name="stride figure"),
        expected={"outputs": {1: [[[0, 8], [6, 8]]]}, "shapes": {1: (1, 2, 2)}}),
    Lesson(
        "stride", "12. Stride shrinks it",
        "With stride s the window jumps s pixels at a time, so the output shape is "
        "floor((n + p + s - k) / s). 8 x 8 with a 3 x 3 kernel, padding 1, stride 2: "
        "floor((8 + 2 + 2 - 3) / 2) = 4, so 4 x 4. With p = k - 1 the formula simplifies to "
        "floor((n + s - 1) / s) = floor((8 + 2 - 1) / 2) = 4, and as 2 divides 8, to "
        "n / s = 8 / 2 = 4. Then a 3 x 5 kernel, padding (0, 1), strides "
        "(3, 4) on that 4 x 4: floor((4 + 0 + 3 - 3) / 3) = 1 by floor((4 + 2 + 4 - 5) / 4) = 1.",
        lambda: np.random.default_rng(1).random((1, 8, 8), dtype=np.float32),
        _pipeline({"type": "conv2d", "kernel": [[1, 1, 1]] * 3, "scale": 1 / 9, "padding": 1,
                   "stride": 2},
                  {"type": "conv2d", "kernel": [[1] * 5] * 3, "padding": [0, 1],
                   "stride": [3, 4]}, name="stride"),
        expected={"shapes": {1: (1, 4, 4), 2: (1, 1, 1)}}),
    Lesson(
        "stride-d2l", "12b. Stride (3, 4) on 8 x 8",
        "The tutorial's second stride example: a 3 x 5 kernel with padding (0, 1) and strides "
        "(3, 4) on an 8 x 8 input gives floor((8 + 0 + 3 - 3) / 3) = 2 by "
        "floor((8 + 2 + 4 - 5) / 4) = 2.",
        lambda: np.random.default_rng(2).random((1, 8, 8), dtype=np.float32),
        _pipeline({"type": "conv2d", "kernel": [[1] * 5] * 3, "padding": [0, 1], "stride": [3, 4]},
                  name="stride (3, 4)"),
        expected={"shapes": {1: (1, 2, 2)}}),
    Lesson(
        "multi-input", "13. Two input channels are summed",
        "With two input channels the kernel has two slices, one per channel. Each channel is "
        "cross-correlated with its own slice and the results are added: "
        "(1×1 + 2×2 + 4×3 + 5×4) + (0×0 + 1×1 + 3×2 + 4×3) = 56.",
        _two_channels, _pipeline({"type": "conv2d", "weight": [[K, K2]]}, name="two input channels"),
        expected={"outputs": {1: [[[56, 72], [104, 120]]]}}),
    Lesson(
        "multi-output", "14. Several output channels",
        "One kernel of shape c_i x k_h x k_w per output channel: stacking K, K + 1 and K + 2 gives "
        "a 3 x 2 x 2 x 2 weight and three output maps. The first is the previous lesson's.",
        _two_channels,
        _pipeline({"type": "conv2d", "weight": [
            [(np.array(K) + d).tolist(), (np.array(K2) + d).tolist()] for d in (0, 1, 2)]},
            name="three output channels"),
        expected={"outputs": {1: [[[56, 72], [104, 120]], [[76, 100], [148, 172]],
                                  [[96, 128], [192, 224]]]}}),
    Lesson(
        "one-by-one", "15. 1 x 1 convolution mixes channels",
        "A 1 x 1 kernel sees one pixel, so each output value is a weighted sum of that pixel's "
        "input channels plus a bias: the layer is a fully connected layer applied at every pixel, "
        "with a c_o x c_i weight matrix and c_o biases. Here: 3 inputs (R, G, B), 2 outputs: luma "
        "(0.299 R + 0.587 G + 0.114 B) and a red-minus-blue opponent channel shifted by a bias of "
        "0.1: 2 x 3 weights and 2 biases, 8 learnable parameters. The kernel size, "
        "padding, stride and number of output channels are hyperparameters: chosen, not learned.",
        _sample_rgb,
        _pipeline({"type": "conv2d", "weight": [[[[0.299]], [[0.587]], [[0.114]]],
                                                 [[[1.0]], [[0.0]], [[-1.0]]]], "bias": [0.0, 0.1]},
                  name="1x1 channel mixing"),
        expected={"shapes_from_input": True, "params": 8}),
    Lesson(
        "pooling", "16. Max pooling",
        "A 2 x 2 window slides like a kernel but has no weights: max pooling keeps the largest "
        "value of each window. On 0..8 it gives [[4, 5], [7, 8]]. The stride defaults to the "
        "window size; here it is set to 1 to match the tutorial's figure. Average pooling takes "
        "the mean of the same windows instead: <a href='lesson:pooling-average'>lesson 16b</a>.",
        _arange(1, 3, 3),
        _pipeline({"type": "maxpool2d", "kernel_size": 2, "stride": 1}, name="max pooling"),
        expected={"outputs": {1: [[[4, 5], [7, 8]]]}}),
    Lesson(
        "pooling-average", "16b. Average pooling",
        "The same 2 x 2 window on 0..8 with stride 1, averaging: [[2, 3], [5, 6]].",
        _arange(1, 3, 3), _pipeline({"type": "avgpool2d", "kernel_size": 2, "stride": 1},
                                    name="average pooling"),
        expected={"outputs": {1: [[[2, 3], [5, 6]]]}}),
    Lesson(
        "pooling-padding", "17. Pooling with padding and stride",
        "On a 4 x 4 input 0..15, a 3 x 3 max window with its default stride 3 fits once: "
        "[[10]]. Padding and a smaller stride give more windows, which overlap the border (max "
        "pooling pads with -inf, so the border never wins): padding 1 and stride 2 in "
        "<a href='lesson:pooling-padding-2'>lesson 17b</a>, a (2, 3) window with padding (0, 1) "
        "and stride (2, 3) in <a href='lesson:pooling-padding-3'>lesson 17c</a>.",
        _arange(1, 4, 4),
        _pipeline({"type": "maxpool2d", "kernel_size": 3}, name="pooling with padding"),
        expected={"outputs": {1: [[[10]]]}}),
    Lesson(
        "pooling-padding-2", "17b. Padding 1, stride 2",
        "The 3 x 3 max window with padding 1 and stride 2 on 0..15: [[5, 7], [13, 15]].",
        _arange(1, 4, 4), _pipeline({"type": "maxpool2d", "kernel_size": 3, "stride": 2,
                                     "padding": 1}, name="pooling padding 1 stride 2"),
        expected={"outputs": {1: [[[5, 7], [13, 15]]]}}),
    Lesson(
        "pooling-padding-3", "17c. A (2, 3) window, padding (0, 1), stride (2, 3)",
        "A 2 x 3 max window with padding (0, 1) and stride (2, 3) on 0..15 gives the same as "
        "lesson 17b: [[5, 7], [13, 15]].",
        _arange(1, 4, 4), _pipeline({"type": "maxpool2d", "kernel_size": [2, 3],
                                     "stride": [2, 3], "padding": [0, 1]},
                                    name="pooling (2, 3) window"),
        expected={"outputs": {1: [[[5, 7], [13, 15]]]}}),
    Lesson(
        "why-pool", "18. Why pool: less sensitive to position",
        "The tutorial gives pooling two purposes: to make the convolution less sensitive to "
        "where things are, and to downsample to coarser maps. Layer 1 is the edge detector "
        "[1, -1]; layer 2 max-pools its map 2 x 2. Open Learn ▸ Shift the input... and move the "
        "image one pixel right: every edge of layer 1 moves off itself (it changes by twice "
        "its own size), while the pooled map (layer 2) keeps the values whose maximum stays "
        "inside its 2 x 2 window, and changes much less (by how much depends on where each edge "
        "falls in its window: try -1 too). Moved by 2, a whole step of "
        "the pooled map, it shifts back exactly.",
        _shapes_image,
        _pipeline({"type": "conv2d", "kernel": [[1, -1]]},
                  {"type": "maxpool2d", "kernel_size": 2}, name="why pool"),
        select_layer=2,
        expected={"shapes": {1: (1, 32, 31), 2: (1, 16, 15)}, "shift_equivariant": {2: (2, 2)},
                  "shift_less_sensitive": {"by": (0, 1), "layer": 2, "than": 1}}),
    Lesson(
        "kernels-are-learned", "19. Kernels are learned",
        "The edge detector of lesson 6 was written by hand. A network finds its kernels itself: "
        "start from a wrong 1 x 2 kernel [0.3, 0.7] and let gradient descent change it until the "
        "output matches the edge image Y = corr2d(X, [1, -1]) (mean squared error). Open "
        "Learn ▸ Learn a kernel..., keep the target 'Edge detector [1, -1]' and press Start: the "
        "loss falls on a log scale and the kernel becomes [1, -1] within a few dozen steps. "
        "On the command line: <code>convstudio fit</code>.",
        _step_image, _pipeline({"type": "conv2d", "kernel": [[0.3, 0.7]]}, name="kernels are learned"),
        expected={"shapes": {1: (1, 6, 7)}}),
)


def get_lesson(lesson_id: str) -> Lesson:
    for lesson in LESSONS:
        if lesson.id == lesson_id:
            return lesson
    raise KeyError(f"no lesson '{lesson_id}' (known: {', '.join(l.id for l in LESSONS)})")
