"""Exceptions raised by the core.

Every error a user can provoke (a malformed pipeline, an unreadable image) is one of these, with a
message meant to be shown as is: one line, naming what is wrong and where.
"""

from __future__ import annotations

from .formatting import format_bytes


class ConvStudioError(Exception):
    """Base class of every error the core raises on bad input."""


class PipelineError(ConvStudioError, ValueError):
    """A pipeline (or one of its layers) is malformed or does not fit its input.

    Parameters
    ----------
    message : str
        What is wrong, in words.
    layer : int, optional
        1-based index of the offending layer (0 is the input), if the error belongs to one.
    key : str, optional
        The JSON key at fault, if any.
    """

    def __init__(self, message: str, *, layer: int | None = None, key: str | None = None):
        self.layer = layer
        self.key = key
        self.reason = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.layer is not None:
            where.append(f"layer {self.layer}")
        if self.key is not None:
            where.append(f"'{self.key}'")
        prefix = " ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def at_layer(self, layer: int) -> PipelineError:
        """Return a copy of this error attributed to `layer`."""
        return PipelineError(self.reason, layer=layer, key=self.key)


class MemoryBudgetExceeded(PipelineError):
    """A layer's output would take more memory than the run may use.

    Parameters
    ----------
    need : int
        Bytes the layer's output needs (with `running`: what the layer holds while it runs, its
        input, output and working space).
    budget : int
        Bytes set aside for all the outputs of the run (with `running`: for one layer at a time,
        as ``convstudio apply`` keeps only the latest output).
    running : bool
        Which of the two the budget bounds (see :func:`convstudio.core.run_layers`).
    """

    def __init__(self, need: int, budget: int, *, layer: int | None = None, running: bool = False):
        self.need = int(need)
        self.budget = int(budget)
        self.running = bool(running)
        if running:
            text = (f"running it needs {format_bytes(need)} (its input, output and working space), "
                    f"more than the memory budget of {format_bytes(budget)}")
        else:
            text = (f"its output needs {format_bytes(need)}; with the layers before it that is more "
                    f"than the {format_bytes(budget)} set aside for feature maps")
        super().__init__(text, layer=layer)

    def at_layer(self, layer: int) -> MemoryBudgetExceeded:
        return MemoryBudgetExceeded(self.need, self.budget, layer=layer, running=self.running)


class ImageIOError(ConvStudioError, OSError):
    """An image could not be read or written (missing, corrupt, unsupported, too large)."""
