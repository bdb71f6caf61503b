"""The input check behind every file the command line writes: an output is refused when it is an
input by name, through a symlink or a hard link, and an InputSet answers as the pairwise test does."""

from __future__ import annotations

import os

import pytest

from convstudio.core import ConvStudioError
from convstudio.core.safeio import InputSet, check_not_input, same_file


@pytest.fixture
def files(tmp_path):
    a = tmp_path / "a.png"
    b = tmp_path / "b.png"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    (tmp_path / "sub").mkdir()
    os.symlink(a, tmp_path / "sub" / "link.png")
    os.link(b, tmp_path / "hard.png")
    return tmp_path, [a, b]


def test_an_input_by_any_name_is_refused(files):
    tmp, inputs = files
    inputs_set = InputSet(inputs)
    for target, which in ((tmp / "a.png", "a.png"), (tmp / "sub" / ".." / "b.png", "b.png"),
                          (tmp / "sub" / "link.png", "a.png"), (tmp / "hard.png", "b.png")):
        for given in (inputs, inputs_set):
            with pytest.raises(ConvStudioError, match="inputs are never overwritten") as info:
                check_not_input(target, given)
            assert which in str(info.value)


def test_a_new_or_other_file_passes(files):
    tmp, inputs = files
    inputs_set = InputSet(inputs)
    (tmp / "other.png").write_bytes(b"o")
    for target in (tmp / "new.png", tmp / "other.png", tmp / "sub" / "a.png"):
        check_not_input(target, inputs_set)
        check_not_input(target, inputs)


def test_the_set_agrees_with_the_pairwise_test(files):
    tmp, inputs = files
    targets = [tmp / n for n in ("a.png", "b.png", "hard.png", "new.png", "sub/link.png", "sub/x.png")]
    inputs_set = InputSet(inputs)
    for t in targets:
        pairwise = next((s for s in inputs if same_file(t, s)), None)
        assert inputs_set.find(t) == pairwise
