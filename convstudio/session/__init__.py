"""What the app does that needs no Qt: running pipelines for the window (cached, cancellable,
with a preview scale), the quick delta stage after a weight edit, layer export and the sample
inputs. Importable and tested without Qt (a test imports it in a fresh interpreter)."""
