"""The kernel learner in the real window: the loss curve grows, the kernel in the Document (and
the kernel editor) changes while it learns, Pause stops, and one undo brings the old kernel back."""

from __future__ import annotations

import numpy as np
import pytest

from convstudio.app.panels.learner import KernelLearner
from convstudio.core import Conv2d, Pipeline
from convstudio.core.fit import mse


def step_image() -> np.ndarray:
    x = np.ones((1, 6, 8), np.float32)
    x[:, :, 2:6] = 0
    return x


@pytest.fixture
def learner_window(make_window, qtbot):
    w = make_window(first_launch=False)
    w.doc.set_image_array(step_image(), name="steps")
    w.doc.new_pipeline(Pipeline((Conv2d(kernel=[[0.3, 0.7]]), Conv2d(kernel=[[0.5], [0.5]]))))
    w.doc.select(1)
    w.learner.action.trigger()  # Learn ▸ Learn a kernel...
    dialog = w.learner.dialog
    assert isinstance(dialog, KernelLearner) and dialog.isVisible()
    return w, dialog


def kernel_of(w) -> np.ndarray:
    return w.doc.pipeline.layers[0].kernel.astype(np.float64)


def test_learn_pause_and_undo_in_one_step(learner_window, qtbot):
    w, dialog = learner_window
    assert dialog.target_combo.currentData() == "edge"
    before_pipeline = w.doc.pipeline
    undo_index = w.doc.undo_stack.index()
    dialog.momentum_spin.setValue(0.0)  # plain gradient descent
    # a small fixed rate, so that the run is still going when the test looks (the automatic rate
    # reaches [1, -1] in a few dozen steps)
    dialog.lr_auto.setChecked(False)
    dialog.lr_spin.setValue(1e-3)
    dialog.steps_spin.setValue(100_000)
    changes = []
    w.doc.pipelineChanged.connect(lambda: changes.append(kernel_of(w)))
    assert dialog.start()
    qtbot.waitUntil(lambda: len(changes) >= 2 and not np.allclose(kernel_of(w), [[0.3, 0.7]]),
                    timeout=20_000)
    assert not np.allclose(changes[0], changes[-1])  # the kernel changes while it learns
    assert dialog.running
    # the kernel editor shows the kernel the Document holds now
    np.testing.assert_array_equal(w.kernel_editor.weight(), w.doc.pipeline.layers[0].kernel)
    xs, ys = dialog.curve.getData()
    assert len(xs) >= 5
    dialog.pause()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    n = len(dialog.losses)
    qtbot.wait(200)
    assert len(dialog.losses) == n  # paused: no more steps
    # the loss curve holds the losses of the layers it went through: decreasing, and the last
    # layer is better than the first
    losses = np.array(dialog.losses)
    assert np.all(np.diff(losses) <= 1e-12) and losses[-1] < losses[0]
    target = Pipeline((Conv2d(kernel=[[1, -1]]), w.doc.pipeline.layers[1])).run(step_image())[-1]
    assert mse(w.doc.pipeline.run(step_image())[-1], target) < losses[0]
    # all the updates of the run are one undo step
    assert w.doc.undo_stack.index() == undo_index + 1
    assert dialog.undo_button.isEnabled()
    dialog.undo_button.click()
    assert w.doc.pipeline == before_pipeline
    np.testing.assert_array_equal(w.doc.pipeline.layers[0].kernel, np.float32([[0.3, 0.7]]))
    assert w.doc.undo_stack.index() == undo_index
    assert not dialog.undo_button.isEnabled()


def test_learning_to_the_end_recovers_the_edge_kernel(learner_window, qtbot):
    w, dialog = learner_window
    dialog.steps_spin.setValue(300)
    dialog.momentum_spin.setValue(0.0)
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)
    assert len(dialog.losses) == 300
    np.testing.assert_allclose(kernel_of(w), [[1, -1]], atol=1e-4)
    assert "Done" in dialog.status_label.text()
    # a Step goes on from there, in the same undo step
    undo_index = w.doc.undo_stack.index()
    assert dialog.step()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert len(dialog.losses) == 301 and w.doc.undo_stack.index() == undo_index


def test_an_edit_elsewhere_ends_the_run(learner_window, qtbot):
    w, dialog = learner_window
    dialog.steps_spin.setValue(100_000)
    dialog.start()
    qtbot.waitUntil(lambda: len(dialog.losses) >= 3, timeout=20_000)
    w.doc.set_layer_enabled(2, False)
    assert not dialog.running
    assert "changed" in dialog.status_label.text()
    assert w.doc.pipeline.layers[1].enabled is False  # the learner leaves the edit alone


def test_a_file_target_of_the_wrong_shape_is_one_message(learner_window, qtbot, tmp_path):
    w, dialog = learner_window
    path = tmp_path / "target.npy"
    np.save(path, np.zeros((1, 6, 8), np.float32))
    assert dialog.load_target_file(path, wait=True)
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert "target is 1 x 6 x 8" in dialog.status_label.text()
    assert not dialog.losses


def test_a_layer_that_is_not_a_conv_cannot_learn(learner_window):
    w, dialog = learner_window
    w.doc.new_pipeline(Pipeline((Conv2d(kernel=[[1.0]]),)).insert_layer(0, Conv2d(kernel=[[1.0]])))
    w.doc.select(0)
    assert not dialog.start()
    assert "conv2d" in dialog.status_label.text()
