"""The app's state and the machinery behind it: the Document (the only mutable state, with its
undo stack), the renderer and its worker thread, background jobs, autosave."""
