"""The files ConvStudio ships beside its code: the app icon and the sample images.

In the source tree they live in ``resources/`` beside ``convstudio/``; the wheel installs them as
the package ``convstudio.resources`` (pyproject.toml maps the folder), and the frozen app collects
them to the same place. Code finds them only through :func:`resource_path`, which asks
``importlib.resources`` where the package is, so the editable install, the wheel and the frozen
app all work the same way.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["RESOURCES", "resource_path"]

#: The folder of the shipped files (a real directory: the package is never zipped).
RESOURCES = Path(str(files(__name__)))


def resource_path(*parts: str) -> Path:
    """The path of a shipped file or folder, e.g. ``resource_path("icons", "convstudio.svg")``.

    The path is returned whether or not it exists; callers that can do without the file check.
    """
    return RESOURCES.joinpath(*parts)
