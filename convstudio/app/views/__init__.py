"""What draws maps: the image and feature-map views, their colour mapping, and the overlays
(receptive fields, the ERF heat map, value labels)."""
