"""The ConvStudio desktop application (PySide6 + pyqtgraph). Everything Qt lives under here.

The rooms: ``model/`` (the Document, the renderer and its worker, autosave), ``window/`` (the
main window and the controllers that wire it), ``views/`` (the image and feature-map views and
their overlays), ``panels/`` (the docks' contents), ``editing/`` (the kernel editor and its
model), ``dialogs/``. Qt-free logic lives in :mod:`convstudio.session`; Qt start-up in
:mod:`convstudio.app.qtsetup`. See docs/developing.md.
"""
