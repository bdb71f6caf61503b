"""Fixtures shared by the app tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def renderers(qapp):
    """A factory of Renderers (``renderers(doc, **kw)``) whose worker threads are all shut down,
    and must stop, when the test ends."""
    from convstudio.app.renderer import Renderer

    made: list[Renderer] = []

    def make(doc, **kw) -> Renderer:
        r = Renderer(doc, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        assert r.shutdown(), "a renderer thread did not stop"
