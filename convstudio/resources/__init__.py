"""The files ConvStudio ships beside its code: the app icon and the sample images.

They live inside the package, so this one lookup serves a source checkout, an installed wheel (the
files are package data, see pyproject.toml) and the frozen PyInstaller app (the spec collects them
to the same place under ``_internal/convstudio/resources``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["RESOURCES", "resource_path"]

RESOURCES = Path(__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    """The path of a shipped file or folder, e.g. ``resource_path("icons", "convstudio.svg")``.

    The path is returned whether or not it exists; callers that can do without the file check.
    """
    return RESOURCES.joinpath(*parts)
