"""The ways a float map becomes 8- or 16-bit samples in an image file (docs/semantics.md, the
section on writing images): one list for the library, the command line and the app. No OpenCV
here, so that the command line can offer the choices without loading it."""

__all__ = ["NORMALIZE_MODES"]

NORMALIZE_MODES = ("clip", "minmax", "abs", "signed")
