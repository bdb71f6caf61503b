"""The kernel editor: its table model and its widget."""
