"""The contents of the docks: layer list, layer parameters, inspector, receptive fields, shapes,
cross-check, combined kernel."""
