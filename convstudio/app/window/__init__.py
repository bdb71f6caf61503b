"""The main window and the controllers that wire the rooms together: files and actions, the
Learn menu, the "seeing why" controller, undo keys, code export."""
