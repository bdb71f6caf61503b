"""Dialogs: exporting feature maps, border modes side by side."""
