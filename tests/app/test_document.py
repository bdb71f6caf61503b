"""The Document: validation, signals, undo/redo with merging, selection, files, analysis cache."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from convstudio.app.model.document import Document
from convstudio.core import (
    Conv2d,
    ImageIOError,
    MaxPool2d,
    Pipeline,
    PipelineError,
    ReLU,
    Stride,
)

SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


def three_layers() -> Pipeline:
    return Pipeline((Conv2d(kernel=SOBEL, padding="same"), ReLU(), MaxPool2d(kernel_size=(2, 2))))


@pytest.fixture
def doc(qapp) -> Document:
    d = Document()
    d.set_image_array(np.random.default_rng(0).random((3, 32, 40), dtype=np.float32), "noise")
    d.new_pipeline(three_layers())
    return d


class Recorder:
    def __init__(self, doc: Document) -> None:
        self.events: list[tuple] = []
        doc.imageChanged.connect(lambda: self.events.append(("image",)))
        doc.pipelineChanged.connect(lambda: self.events.append(("pipeline",)))
        doc.selectionChanged.connect(lambda i: self.events.append(("selection", i)))
        doc.dirtyChanged.connect(lambda d: self.events.append(("dirty", d)))
        doc.filePathChanged.connect(lambda: self.events.append(("path",)))

    def names(self) -> list[str]:
        return [e[0] for e in self.events]


def test_image_array_is_validated_and_frozen(doc):
    rec = Recorder(doc)
    doc.set_image_array(np.ones((5, 6)), "ones")
    assert doc.image.shape == (1, 5, 6) and doc.image.dtype == np.float32
    assert not doc.image.flags.writeable
    assert rec.names() == ["image"]
    for bad in (np.ones((2, 2, 2, 2)), np.array([["a"]]), np.zeros((0, 3)),
                np.array([[np.nan, 1.0]])):
        with pytest.raises(PipelineError):
            doc.set_image_array(bad)
    assert doc.image.shape == (1, 5, 6)  # untouched by the refusals
    assert rec.names() == ["image"]


def test_load_image_error_keeps_current_image(doc, tmp_path):
    before = doc.image
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(ImageIOError):
        doc.load_image(bad)
    with pytest.raises(ImageIOError):
        doc.load_image(tmp_path / "missing.png")
    assert doc.image is before


def test_edits_are_undoable_and_restore_exactly(doc):
    original = doc.pipeline
    rec = Recorder(doc)
    doc.add_layer(Stride(stride=(2, 2), offset=(1, 0)), 2)
    assert [l.type for l in doc.pipeline.layers] == ["conv2d", "stride", "relu", "maxpool2d"]
    assert doc.selected == 2 and doc.dirty
    doc.move_layer(2, 4)
    assert [l.type for l in doc.pipeline.layers] == ["conv2d", "relu", "maxpool2d", "stride"]
    doc.set_layer_enabled(1, False)
    assert not doc.pipeline.layers[0].enabled
    doc.duplicate_layer(2)
    assert [l.type for l in doc.pipeline.layers] == ["conv2d", "relu", "relu", "maxpool2d", "stride"]
    doc.remove_layer(5)
    after = doc.pipeline
    assert doc.undo_stack.count() == 5
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.pipeline == original
    assert not doc.dirty
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    assert doc.pipeline == after
    assert ("dirty", True) in rec.events and ("dirty", False) in rec.events


def test_consecutive_edits_with_one_merge_key_are_one_undo_step(doc):
    original = doc.pipeline
    conv = doc.pipeline.layers[0]
    for s in (2, 3, 4):
        doc.replace_layer(1, dataclasses.replace(conv, stride=(s, s)), merge_key="stride")
    assert doc.undo_stack.count() == 1
    assert doc.pipeline.layers[0].stride == (4, 4)
    # A different key starts a new step.
    doc.replace_layer(1, dataclasses.replace(doc.pipeline.layers[0], flip=True), merge_key="flip")
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.pipeline == original


def test_merging_back_to_the_start_leaves_nothing_to_undo(doc):
    conv = doc.pipeline.layers[0]
    doc.replace_layer(1, dataclasses.replace(conv, stride=(2, 2)), merge_key="stride")
    doc.replace_layer(1, dataclasses.replace(conv, stride=(1, 1)), merge_key="stride")
    assert not doc.undo_stack.canUndo()
    assert not doc.dirty


def test_equal_replacement_is_not_an_edit(doc):
    rec = Recorder(doc)
    doc.replace_layer(1, Conv2d(kernel=SOBEL.copy(), padding="same"))
    assert rec.events == [] and doc.undo_stack.count() == 0


def test_selection_is_validated_and_follows_edits(doc):
    rec = Recorder(doc)
    doc.select(3)
    assert rec.events == [("selection", 3)]
    doc.select(3)
    assert len(rec.events) == 1  # no change, no signal
    with pytest.raises(IndexError):
        doc.select(4)
    with pytest.raises(IndexError):
        doc.select(-1)
    doc.remove_layer(3)
    assert doc.selected == 2
    # Views reading the selection during pipelineChanged see a valid index.
    seen = []
    doc.pipelineChanged.connect(lambda: seen.append((doc.selected, len(doc.pipeline))))
    doc.remove_layer(2)
    assert seen[-1] == (1, 1)
    doc.undo_stack.undo()
    assert doc.selected == 2 and len(doc.pipeline) == 2


def test_bad_indices_raise(doc):
    with pytest.raises(IndexError):
        doc.remove_layer(0)
    with pytest.raises(IndexError):
        doc.replace_layer(4, ReLU())
    with pytest.raises(IndexError):
        doc.add_layer(ReLU(), 9)
    with pytest.raises(TypeError):
        doc.replace_layer(1, "relu")  # type: ignore[arg-type]


def test_save_and_open_mark_clean_and_keep_undo_semantics(doc, tmp_path):
    rec = Recorder(doc)
    doc.set_layer_enabled(2, False)
    assert doc.dirty
    with pytest.raises(ValueError):
        doc.save_pipeline()  # never saved: needs a path
    path = doc.save_pipeline(tmp_path / "p.json")
    assert not doc.dirty and doc.file_path == path
    assert ("path",) in rec.events
    assert Pipeline.load(path) == doc.pipeline
    doc.undo_stack.undo()  # back before the save: dirty again
    assert doc.dirty
    doc.undo_stack.redo()
    assert not doc.dirty

    other = tmp_path / "q.json"
    three_layers().save(other)
    doc.open_pipeline(other)
    assert doc.pipeline == three_layers()
    assert doc.file_path == other and not doc.dirty
    assert not doc.undo_stack.canUndo()


def test_open_malformed_pipeline_keeps_the_current_one(doc, tmp_path):
    before = doc.pipeline
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "convstudio-pipeline", "version": 1, "layers": [{"type": "conv2d"}]}')
    with pytest.raises(PipelineError) as info:
        doc.open_pipeline(bad)
    assert "layer 1" in str(info.value)
    assert doc.pipeline is before and doc.file_path is None


def test_analysis_is_cached_and_marks_misfits(doc):
    a1 = doc.analysis()
    assert doc.analysis() is a1
    assert [i.output_shape for i in a1] == [(3, 32, 40), (3, 32, 40), (3, 16, 20)]
    doc.add_layer(Conv2d(weight=np.ones((2, 5, 3, 3), np.float32)), 1)  # expects 5 channels
    infos = doc.analysis()
    assert infos is not a1
    assert infos[0].error is not None and "5 input channels" in infos[0].error.reason
    assert all(i.waiting for i in infos[1:])
    assert doc.first_error().index == 1
    doc.set_image_array(np.zeros((5, 8, 8), np.float32))
    assert doc.analysis()[0].error is None


def test_keep_alpha_reloads_the_file(doc, tmp_path):
    import cv2

    rgba = np.zeros((6, 7, 4), np.uint8)
    rgba[..., 3] = 128
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), rgba)
    doc.load_image(path)
    assert doc.image.shape == (3, 6, 7)
    doc.set_keep_alpha(True)
    assert doc.image.shape == (4, 6, 7)
    assert doc.image_path == path
