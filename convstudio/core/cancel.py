"""Stopping a long computation early, from inside it.

A conv layer with a large kernel on a large photo can take seconds. The app must be able to drop
such a result the moment the user edits again, and it must compute with exactly the code that
``convstudio apply`` runs, so that the window shows the same numbers. Instead of a second,
interruptible implementation, the core's own loops ask :func:`check` between pieces of work
(row strips, FFT tiles, thread-pool tasks). Whoever runs the core sets the question with
:func:`cancellable`; without it :func:`check` costs one attribute lookup and never raises.

Checking only raises, it never changes what is computed: a run that is not cancelled gives the
same bits as one that was never asked.

A function that takes ``cancelled=None`` and opens a block of its own (``run_layers``, the tiled
runs) passes :func:`current` on when it was given none: ``cancellable(None)`` would silence the
question of the block it runs in (an app worker's job) for its whole duration.

Examples
--------
>>> import numpy as np
>>> from convstudio.core import Conv2d
>>> layer = Conv2d(kernel=np.ones((3, 3), np.float32))
>>> with cancellable(lambda: True):
...     layer.forward(np.zeros((1, 8, 8), np.float32))
Traceback (most recent call last):
...
convstudio.core.cancel.RunCancelled
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["RunCancelled", "cancellable", "check", "current"]

_tls = threading.local()


class RunCancelled(Exception):
    """Raised inside a run when its `cancelled` callback says the result is no longer wanted."""


def current() -> Callable[[], bool] | None:
    """The question this thread's computation is asked (None: it runs to the end)."""
    return getattr(_tls, "cancelled", None)


@contextmanager
def cancellable(cancelled: Callable[[], bool] | None) -> Iterator[None]:
    """Within the block, :func:`check` on this thread raises once ``cancelled()`` is True.

    The core's thread pool passes the question on to the threads that share the work. Blocks
    nest; the inner question replaces the outer one until the inner block ends.
    """
    previous = current()
    _tls.cancelled = cancelled
    try:
        yield
    finally:
        _tls.cancelled = previous


def check() -> None:
    """Raise :class:`RunCancelled` if this thread's computation is no longer wanted."""
    cancelled = getattr(_tls, "cancelled", None)
    if cancelled is not None and cancelled():
        raise RunCancelled()
