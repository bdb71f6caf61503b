"""Image and feature-map views: one map (:class:`ImageView`), all channels of a layer
(:class:`FeatureMapGrid`), and the geometry that places every layer in INPUT pixel coordinates
(:class:`Placement`).

Why input coordinates: a feature map pixel is drawn as a ``jump x jump`` square centred on the centre of
its receptive field. Then every view of every layer shares one coordinate system, so synced zoom / pan
(:class:`ViewLinker`) is plain range copying and a receptive-field box computed for any layer can be drawn
on any view.

Coordinates are ``(x, y) = (column, row)`` with y pointing down (row 0 at the top); input pixel
``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``.

Arrays are ``(C, H, W) float32`` (``(H, W)`` is accepted as one channel) and are never copied for
display, except ``|x|`` in the abs mode and the alpha composite of an RGBA image. Do not mutate an array
after handing it to a view; the views keep a reference to read values under the cursor.

This module only re-exports the public names; the code lives in:

- :mod:`~convstudio.app.views.placement`: :class:`Placement` and the coordinate helpers;
- :mod:`~convstudio.app.views.display`: :class:`PixelInfo`, :func:`format_number`, mode labels and the
  array preparation for display (:func:`display_block_reduce`);
- :mod:`~convstudio.app.views.linker`: :class:`ViewLinker`;
- :mod:`~convstudio.app.views.overlay`: the rectangle overlay item;
- :mod:`~convstudio.app.views.image_view`: :class:`ImageView` and the shared Qt pieces;
- :mod:`~convstudio.app.views.map_tile`, :mod:`~convstudio.app.views.grid_controls` and
  :mod:`~convstudio.app.views.map_grid`: :class:`FeatureMapGrid`, its small views and its widgets.
"""

from __future__ import annotations

from convstudio.app.views.display import (
    ALL_CHANNELS,
    MODE_LABELS,
    PixelInfo,
    display_block_reduce,
    format_number,
)
from convstudio.app.views.image_view import ImageView
from convstudio.app.views.linker import ViewLinker
from convstudio.app.views.map_grid import MAX_VIEWS, FeatureMapGrid
from convstudio.app.views.placement import (
    INPUT_PLACEMENT,
    Placement,
    as_placement,
    content_rect,
    pixel_at_scene,
    placement_transform,
    receptive_field_rect,
    scene_rect_of_pixel,
)

__all__ = [
    "ALL_CHANNELS",
    "INPUT_PLACEMENT",
    "MAX_VIEWS",
    "MODE_LABELS",
    "FeatureMapGrid",
    "ImageView",
    "PixelInfo",
    "Placement",
    "ViewLinker",
    "as_placement",
    "content_rect",
    "display_block_reduce",
    "format_number",
    "pixel_at_scene",
    "placement_transform",
    "receptive_field_rect",
    "scene_rect_of_pixel",
]
