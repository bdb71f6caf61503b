"""core/buffers.py: a recycled block is handed out again only once nothing refers to it, never
while an array or a view of it lives; free memory is kept up to a bound and given back on
request; threads allocating at once never share memory; and a pipeline computes the same bits
with recycled memory as without."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from convstudio.core import Conv2d, MaxPool2d, Pipeline, ReLU, buffers
from convstudio.session import delta

MB = 1 << 20


@pytest.fixture
def recycler():
    """A recycler that the test's thread allocates from."""
    r = buffers.Recycler(keep_bytes=1 << 30)
    with buffers.recycling(r):
        yield r


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_without_a_recycler_it_is_plain_numpy():
    assert buffers.current() is None
    a = buffers.empty((4, 1024, 1024))
    assert a.dtype == np.float32 and a.shape == (4, 1024, 1024) and a.base is None
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    c = buffers.copy(x[:, ::2])
    assert c.flags.c_contiguous and np.array_equal(c, x[:, ::2]) and not np.shares_memory(c, x)


def test_the_recycler_is_the_calling_threads_only(recycler):
    seen = []
    t = threading.Thread(target=lambda: seen.append((buffers.current(),
                                                      buffers.empty((4, 1024, 1024)).base)))
    t.start()
    t.join()
    assert seen == [(None, None)] and buffers.current() is recycler
    with buffers.recycling(None):  # nested: plain NumPy inside, the recycler again after
        assert buffers.empty((4, 1024, 1024)).base is None
    assert buffers.empty((4, 1024, 1024)).base is not None


@pytest.mark.parametrize("shape", [(8, 1024, 1024), (5, 1031, 997)])
def test_a_large_copy_in_pieces_on_the_pool_is_exact(shape):
    x = np.random.default_rng(9).standard_normal(shape).astype(np.float32)
    x[0, 0, 0], x[-1, -1, -1] = np.nan, -np.inf  # the very first and last elements too
    c = buffers.copy(x)
    assert c.flags.c_contiguous and not np.shares_memory(c, x)
    assert np.array_equal(c, x, equal_nan=True)
    t = buffers.copy(x.transpose(0, 2, 1))  # not contiguous: one NumPy copy
    assert t.flags.c_contiguous and np.array_equal(t, x.transpose(0, 2, 1), equal_nan=True)


def test_small_arrays_bypass_the_recycler(recycler):
    a = buffers.empty((3, 100, 100))
    assert a.base is None and recycler.created == 0 and recycler.held_bytes() == 0


def test_a_block_comes_back_only_when_every_view_is_gone(recycler):
    a = buffers.empty((4, 1024, 1024))  # 16 MiB
    assert a.dtype == np.float32 and a.flags.c_contiguous and a.flags.writeable
    where = _address(a)
    view = a[1, ::2]
    del a
    assert recycler.free_bytes() == 0  # the view still holds the block
    b = buffers.empty((4, 1024, 1024))
    assert _address(b) != where and not np.shares_memory(b, view)
    del view
    assert recycler.free_bytes() == 16 * MB
    c = buffers.empty((2, 2048, 1024))  # same size, other shape: the free block
    assert _address(c) == where and recycler.reused == 1 and recycler.created == 2
    assert recycler.free_bytes() == 0


def test_memoryviews_and_copies_of_the_array_count_too(recycler):
    a = buffers.empty((4, 1024, 1024))
    where = _address(a)
    mv = memoryview(a)
    del a
    assert _address(buffers.empty((4, 1024, 1024))) != where
    del mv
    assert recycler.free_bytes() >= 16 * MB


def test_a_block_serves_only_requests_of_about_its_size(recycler):
    big = buffers.empty((64, 1024, 1024))  # 256 MiB
    where = _address(big)
    del big
    small = buffers.empty((4, 1024, 1024))  # 16 MiB would waste the big block
    assert _address(small) != where
    larger = buffers.empty((65, 1024, 1024))  # does not fit
    assert _address(larger) != where
    fits = buffers.empty((60, 1024, 1024))  # within the slack
    assert _address(fits) == where


def test_free_memory_is_kept_up_to_the_bound_and_released_on_request():
    r = buffers.Recycler(keep_bytes=40 * MB)
    arrays = [r.empty((4 + i, 1024, 1024)) for i in range(3)]  # 16, 20, 24 MiB: 60 MiB in use
    assert r.held_bytes() == 60 * MB and r.free_bytes() == 0
    del arrays
    assert r.free_bytes() == 60 * MB  # kept until the next new block...
    x = r.empty((30, 1024, 1024))  # ...which drops the oldest free ones down to the bound
    assert r.free_bytes() <= 40 * MB and r.held_bytes() == r.free_bytes() + 120 * MB
    assert r.release() > 0
    assert r.free_bytes() == 0 and r.held_bytes() == 120 * MB  # x's block stays: it is in use
    del x
    assert r.release() == 120 * MB and r.held_bytes() == 0


def test_threads_never_share_a_live_block(recycler):
    """Four threads allocate, fill with their own number, check, drop, in a loop: a block handed
    to two live arrays at once would show another thread's number."""
    errors: list[str] = []

    def work(k: int) -> None:
        with buffers.recycling(recycler):
            loop(k)

    def loop(k: int) -> None:
        for _ in range(15):
            a = buffers.empty((4 + k % 2, 1024, 1024))
            a.fill(k)
            time.sleep(0.001)
            if not (a[0, 0, 0] == k and a[-1, -1, -1] == k and np.all(a[:, ::97, ::89] == k)):
                errors.append(f"thread {k}: overwritten")
            del a

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert recycler.reused > 0  # blocks did come back between iterations


def _stack() -> Pipeline:
    rng = np.random.default_rng(3)
    w1 = rng.standard_normal((8, 3, 5, 5)).astype(np.float32)
    w4 = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    return Pipeline((Conv2d(weight=w1, bias=rng.standard_normal(8).astype(np.float32),
                            padding="same"),
                     ReLU(), MaxPool2d(kernel_size=2), Conv2d(weight=w4, padding="same")))


def test_a_pipeline_computes_the_same_bits_in_recycled_memory():
    x = np.random.default_rng(4).random((3, 1024, 1280), dtype=np.float32)
    p = _stack()
    want = p.run(x)
    r = buffers.Recycler(keep_bytes=1 << 30)
    with buffers.recycling(r):
        for _ in range(3):  # the second and third runs reuse the first ones' memory
            got = p.run(x)
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert g.dtype == w.dtype and g.shape == w.shape
                assert np.array_equal(g, w)
            del got, g
    assert r.reused > 0


def test_the_delta_update_copies_into_recycled_memory(recycler):
    x = np.random.default_rng(5).random((3, 1024, 1024), dtype=np.float32)
    p = _stack()
    old_layer = p.layers[0]
    out = old_layer.forward(x)
    w = old_layer.weight.copy()
    w[2, 1, 3, 4] += 0.25
    new_layer = Conv2d(weight=w, bias=old_layer.bias, padding="same")
    got = delta.conv_weight_delta(old_layer, new_layer, x, out)
    assert got is not None
    new_out, changed = got
    assert changed == (2,) and not np.shares_memory(new_out, out)
    want = new_layer.forward(x)
    assert np.array_equal(new_out[[0, 1, 3, 4, 5, 6, 7]], out[[0, 1, 3, 4, 5, 6, 7]])
    # the changed channel: the same sums in another order, so equal to float32 rounding
    bound = 64 * np.finfo(np.float32).eps * float(np.abs(want[2]).max() + 1)
    assert float(np.abs(new_out[2] - want[2]).max()) <= bound


def test_a_refused_request_first_gives_the_free_blocks_back(monkeypatch):
    """Under a limit on the address space the kept blocks may be what stands in the way: they go,
    and the request is tried once more; a request that still cannot be met raises."""
    r = buffers.Recycler(keep_bytes=1 << 30)
    a = r.empty((8, 1024, 1024))
    del a
    assert r.free_bytes() == 32 * MB
    real_empty = np.empty
    calls = []

    def empty(shape, dtype=float, *args, **kwargs):  # the first large request is refused
        calls.append(shape)
        if len(calls) == 1:
            raise MemoryError("address space")
        return real_empty(shape, dtype, *args, **kwargs)

    monkeypatch.setattr(buffers.np, "empty", empty)
    b = r.empty((16, 1024, 1024))  # 64 MiB: not served by the 32 MiB block
    monkeypatch.undo()
    assert len(calls) == 2 and b.shape == (16, 1024, 1024) and r.free_bytes() == 0
    del b
    r.release()

    def refuse(*_a, **_k):
        raise MemoryError("address space")

    monkeypatch.setattr(buffers.np, "empty", refuse)
    with pytest.raises(MemoryError):  # nothing kept to give back: the error stands
        r.empty((17, 1024, 1024))
    monkeypatch.undo()
