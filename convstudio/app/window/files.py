"""The main window's files: opening images, recent files, samples and
test patterns, drag-and-drop, pasting, export, and reading images in the background.

:class:`WindowFiles` is mixed into :class:`~convstudio.app.window.main_window.MainWindow` and
works on its attributes (``doc``, ``settings``, the recent-file menus, ``view_state`` and
``image_loader``, a :class:`~convstudio.app.model.worker.Worker`: the newest image asked for
wins, and ``view_state.loading`` names it while it is read). What a pipeline file holds is
described in docs/pipeline-format.md.

An image too large to load whole (``session/preview.py``) is opened as a preview read at screen
resolution, with a progress bar in the status bar; ``big_image``
(:class:`~convstudio.app.model.big_image.BigImage`) remembers it, the status bar and the image's
name say "preview 1/N", and Export computes from the file, tile by tile (docs/scale.md).

Pipeline files: :mod:`~convstudio.app.window.pipeline_files`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QProgressBar

from convstudio.app.dialogs.export import ExportDialog, ExportOptions, run_export
from convstudio.app.i18n import SKIP_PROPERTY, known, tr, tr_noop
from convstudio.app.model.big_image import read_for_window
from convstudio.core import Conv2d, ConvStudioError, Pipeline, kernels
from convstudio.core.layers import MaxPool2d, ReLU
from convstudio.session import samples
from convstudio.session.preview import Preview, readable_by_region
from convstudio.session.tiled_export import tiled_export_formats

__all__ = ["WindowFiles", "default_pipeline", "qimage_to_array", "MAX_RECENT", "IMAGE_FILTER"]

MAX_RECENT = 10
IMAGE_FILTER = tr_noop("Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp *.npy);;All files (*)")


def default_pipeline() -> Pipeline:
    """What a first launch shows: an edge detector, its rectification and a pooling step."""
    return Pipeline((
        Conv2d(kernel=kernels.SOBEL_X, padding="same", padding_mode="reflect", name="Sobel x"),
        ReLU(),
        MaxPool2d(kernel_size=(2, 2)),
    ), name="Edges, rectified and pooled")


def preview_text(preview: Preview) -> str:
    """:meth:`Preview.describe` in the interface's language (its reason and how it was read are
    the session's words, in English: docs/developing.md, "Translations")."""
    c, h, w = preview.full_shape
    return tr("{name} is {w} x {h} ({c}), {why}: the layers are computed on a preview at 1/{f} scale ({how}). "
              "File ▸ Export computes at full resolution, tile by tile.").format(
        name=preview.path.name, w=w, h=h, c=tr("1 channel") if c == 1 else tr("{n} channels").format(n=c),
        why=preview.reason, f=preview.factor, how=preview.how)


#: What the image loader returns in place of a path for image data without a file: pasted from
#: the clipboard, or dropped (the document's name of the image).
PASTED, DROPPED = "pasted image", "dropped image"
_NO_FILE = (PASTED, DROPPED)


class WindowFiles:
    """Files in and out of the window (a mixin of ``MainWindow``)."""

    # ================================================================== images
    def load_default(self) -> None:
        """The first-launch state: a shipped photo (or a test pattern) and a small pipeline."""
        shipped = {p.stem: p for p in samples.shipped_samples()}
        path = shipped.get(samples.DEFAULT_SAMPLE)
        try:
            if path is not None:
                self.doc.load_image(path)
            else:
                self.doc.set_image_array(samples.make_pattern(samples.DEFAULT_PATTERN),
                                         samples.PATTERNS[samples.DEFAULT_PATTERN].label)
        except ConvStudioError:
            self.doc.set_image_array(samples.make_pattern(samples.DEFAULT_PATTERN),
                                     samples.PATTERNS[samples.DEFAULT_PATTERN].label)
        self.doc.new_pipeline(default_pipeline())
        self.doc.select(1)

    def open_image(self, path: str | Path, *, wait: bool = True) -> bool:
        """Load an image file; on error one message, and the current image stays.

        With ``wait=False`` (what the menus, drops and recent files use) the file is read in a
        worker thread so that a large photo never freezes the window; the result arrives later
        and the return value only says that loading started. A TIFF, ``.npy`` or Zarr folder,
        which may be too large to load whole (a preview is then read), is read by that worker
        too: with ``wait`` the call processes events until it arrived (or, after 30 s, returns
        True while it goes on).
        """
        if not wait:
            self._load_image_async(Path(path))
            return True
        if readable_by_region(path):
            # maybe too large to load whole: the loader decides, reading a preview if need be (a
            # long read goes on in the background, its progress in the status bar)
            self._load_image_async(Path(path))
            if not self.wait_for_loads():
                return self.view_state.loading == Path(path)
            return self._load_outcome == (Path(path), True)
        self.cancel_image_load()  # a pending background load must not overwrite this image
        try:
            self.doc.load_image(path)
        except ConvStudioError as exc:
            self.report_error(tr("Cannot open image"), str(exc))
            return False
        except MemoryError:
            self.report_error(tr("Cannot open image"), tr("'{name}' is too large for the memory available").format(
                name=Path(path).name))
            return False
        self._add_recent("images", Path(path))
        self.show_message(tr("Opened {name}").format(name=Path(path).name))
        return True

    def _load_image_async(self, path: Path) -> None:
        self._load_outcome = (path, False)
        self.view_state.set_loading(path)
        self.image_loader.submit(lambda ctx, p=path, alpha=self.doc.keep_alpha,
                                 limit=self.renderer.preview_pixels: read_for_window(ctx, p, alpha, limit))

    def set_keep_alpha(self, keep: bool) -> None:
        """Keep (or drop) the alpha channel of images opened from now on, and read the current
        image's file again in the background (600-700 ms for a 24 MP photo)."""
        self.doc.set_keep_alpha(keep, reload=False)
        if self.doc.image_path is not None:
            self.open_image(self.doc.image_path, wait=False)

    def cancel_image_load(self) -> None:
        """Drop the image being read in the background (another image replaces it now)."""
        self.image_loader.cancel()
        self.view_state.set_loading(None)

    def _on_image_loaded(self, _token: int, result: tuple[Path, np.ndarray | Preview]) -> None:
        # (the worker delivers the newest load only, and nothing after the window shut it down)
        path, x = result
        self._load_outcome = (path, True)
        self.view_state.set_loading(None)
        if isinstance(path, str) and path in _NO_FILE:
            self.doc.set_converted_image(x, path)  # (uint8 / 255: finite, and made for this)
            c, h, w = x.shape
            if path == PASTED:
                self.show_message((tr("Pasted a {w}×{h} image (1 channel)") if c == 1 else
                                   tr("Pasted a {w}×{h} image ({c} channels)")).format(w=w, h=h, c=c))
            return
        self._add_recent("images", path)
        if isinstance(x, Preview):
            self.big_image.show(x)
            c, h, w = x.full_shape
            self.show_message(tr("Opened {name}, {w}×{h}: too large to load whole ({why}); the layers are computed "
                                 "on a preview at 1/{f} scale, File ▸ Export computes at full resolution").format(
                name=path.name, w=w, h=h, why=x.reason, f=x.factor), 10_000)
            return
        self.doc.set_loaded_image(x, path)
        self.show_message(tr("Opened {name}").format(name=path.name))

    def _on_image_load_failed(self, _token: int, message: str) -> None:
        self.view_state.set_loading(None)
        pasted = getattr(self, "_load_outcome", (None, False))[0] == PASTED
        self.report_error(tr("Cannot paste image") if pasted else tr("Cannot open image"), message)

    def _on_image_load_progress(self, _token: int, done_total: tuple[int, int]) -> None:
        """A preview is being read: the progress bar and the busy label follow it."""
        done, total = done_total
        path = self.view_state.loading
        bar = self._load_bar()
        bar.setRange(0, max(1, total))
        bar.setValue(done)
        bar.setVisible(True)
        if path is not None:
            self.busy_label.setText(tr("reading a preview of {name}… {percent}%").format(
                name=path.name, percent=100 * done // max(1, total)))

    def _load_bar(self) -> QProgressBar:
        bar = getattr(self, "_preview_load_bar", None)
        if bar is None:
            bar = self._preview_load_bar = QProgressBar()
            bar.setObjectName("previewLoadProgress")
            bar.setMaximumWidth(160)
            # no taller than the status bar's labels: even hidden, a taller widget made the
            # status bar 5 px taller the first time an image loaded, and the whole window's
            # layout, every view included, was redone and repainted (24 MP: a 50 ms stall)
            bar.setMaximumHeight(max(12, self.busy_label.sizeHint().height() + 2))
            bar.setTextVisible(True)
            bar.setVisible(False)
            self.statusBar().addPermanentWidget(bar)
        return bar

    def _show_loading(self, path: Path | None) -> None:
        self.busy_label.setText("" if path is None else tr("loading {name}…").format(name=path.name))
        bar = getattr(self, "_preview_load_bar", None)
        if path is None and bar is not None:
            bar.setVisible(False)

    def _show_preview_scale(self, *_args) -> None:
        """After the window's own display: say that the image is a preview of a larger file, at
        the scale of the preview times the renderer's own preview scale."""
        preview = self.big_image.preview
        if preview is None:
            if getattr(self, "_preview_scale_shown", False):  # until the next run says its own
                self.preview_label.clear()
                self.preview_label.setToolTip("")
                self._preview_scale_shown = False
            return
        f = preview.factor * (self.renderer.factor if self.renderer.input is not None else 1)
        self.preview_label.setText(tr("preview 1/{f}").format(f=f))
        about = preview_text(preview)
        self.preview_label.setToolTip(about)
        tip = self.image_label.toolTip().split("\n\n")[0]  # (the window's own line, then ours)
        self.image_label.setToolTip(f"{tip}\n\n{about}" if tip else about)
        self._preview_scale_shown = True

    def wait_for_loads(self, timeout_ms: int = 30_000) -> bool:
        """Wait until background image loads are done and their results delivered."""
        return self.image_loader.wait_idle(timeout_ms)

    def load_pattern(self, name: str) -> None:
        self.doc.set_image_array(samples.make_pattern(name), samples.PATTERNS[name].label)
        self.show_message(tr("Test pattern: {name}").format(name=known(samples.PATTERNS[name].label)))

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Open image"), self._last_folder("images"),
                                              tr(IMAGE_FILTER))
        if path:
            self.open_image(path, wait=False)

    def paste_image(self, *, wait: bool = True) -> bool:
        """Use the clipboard's image (an image, or a copied image file) as the input.

        The pixels become float32 on the image loader's thread (about 600 ms for 24 MP): the
        newest image asked for wins there, a paste as a file. With ``wait=False`` (the menu)
        the call returns once that started; with ``wait`` it processes events until the image
        arrived (or, after 30 s, returns True while it goes on).
        """
        clip = QGuiApplication.clipboard()
        md = clip.mimeData()
        if md is not None and md.hasUrls():
            for url in md.urls():
                if url.isLocalFile():
                    return self.open_image(url.toLocalFile(), wait=False)
        img = clip.image()
        if img.isNull():
            self.show_message(tr("The clipboard holds no image."))
            return False
        self._convert_async(img, PASTED)
        if not wait:
            return True
        if not self.wait_for_loads():
            return self._load_outcome[0] == PASTED
        return self._load_outcome == (PASTED, True)

    def _convert_async(self, img: QImage, what: str) -> None:
        """Make `img` the input, its pixels converted on the image loader's thread. A QImage is a
        reentrant value, not a QObject: the worker gets this copy, which the GUI thread does not
        touch again (docs/developing.md, "Threads"). The rule of a file opened: alpha dropped
        unless "keep alpha" is on."""
        self._load_outcome = (what, False)
        self.view_state.set_loading(Path(tr("pasted image") if what == PASTED else tr("dropped image")))
        self.image_loader.submit(lambda ctx, img=img, alpha=self.doc.keep_alpha:
                                 (what, qimage_to_array(img, keep_alpha=alpha)))

    # ================================================================== export
    def export_dialog(self) -> None:
        if self.doc.image is None:
            self.show_message(tr("Open an image first."))
            return
        preview = self.big_image.preview
        if preview is None:
            infos = self.doc.analysis()
            shapes = [self.doc.image_shape] + [i.output_shape for i in infos]
            stem = Path(self.doc.image_name or "image").stem
        else:  # the file at full resolution, tile by tile
            infos = self.doc.pipeline.analyze(preview.full_shape)
            shapes = [preview.full_shape] + [i.output_shape for i in infos]
            stem = preview.path.stem
        folder = Path(self.settings.value("export/folder", str(Path.home())))
        dlg = ExportDialog(self.doc.pipeline, shapes, layer=self.doc.selected, folder=folder,
                           stem=stem, parent=self,
                           formats=None if preview is None else tiled_export_formats())
        if dlg.exec() != dlg.DialogCode.Accepted:
            return
        opts = dlg.options()
        self.settings.setValue("export/folder", str(opts.path.parent))
        self.export_layer(opts)

    def export_layer(self, options: ExportOptions) -> list[Path]:
        """Export with a progress dialog; the maps are computed at full resolution in a worker
        (from the file, tile by tile, when the image is a preview of a larger one)."""
        source = self.big_image.source
        job = run_export(self.doc.pipeline, self.doc.image if source is None else source, options,
                         parent=self)
        if job.was_cancelled:
            self.show_message(tr("Export cancelled; nothing was written."))
            return []
        if job.error is not None:
            self.report_error(tr("Export failed"), str(job.error))
            return []
        names = ", ".join(p.name for p in job.paths[:3]) + (" …" if len(job.paths) > 3 else "")
        folders = sorted({str(p.parent.resolve()) for p in job.paths}) or [str(options.path.parent)]
        files = tr("{n} files").format(n=len(job.paths)) if len(job.paths) > 1 else tr("1 file")
        self.show_message(tr("Exported layer {n} to {folders} ({files}: {names})").format(
            n=options.layer, folders=", ".join(folders), files=files, names=names), 10_000)
        return job.paths

    # ================================================================== drag and drop
    def _drag_enter(self, event: QDragEnterEvent) -> None:
        md = event.mimeData()
        if md.hasUrls() and any(u.isLocalFile() for u in md.urls()):
            event.acceptProposedAction()
        elif md.hasImage():
            event.acceptProposedAction()
        else:
            event.ignore()

    def _drop(self, event: QDropEvent) -> None:
        md = event.mimeData()
        handled = False
        if md.hasUrls():
            for url in md.urls():
                if url.isLocalFile():
                    handled = self.open_path(url.toLocalFile()) or handled
        elif md.hasImage():
            img = QImage(md.imageData())
            if not img.isNull():
                self._convert_async(img, DROPPED)
                handled = True
        if handled:
            event.acceptProposedAction()
        else:
            event.ignore()

    def open_path(self, path: str | Path, *, wait: bool = False) -> bool:
        """Open a dropped file: .json as a pipeline, anything else as an image (read in the
        background unless `wait`)."""
        p = Path(path)
        if p.suffix.lower() == ".json":
            return self.open_pipeline(p, wait=wait)
        return self.open_image(p, wait=wait)

    # ================================================================== recent files
    def _recent(self, kind: str) -> list[str]:
        value = self.settings.value(f"recent/{kind}", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def _add_recent(self, kind: str, path: Path) -> None:
        p = str(Path(path).resolve())
        items = [p] + [x for x in self._recent(kind) if x != p]
        self.settings.setValue(f"recent/{kind}", items[:MAX_RECENT])
        self._update_recent_menus()

    def _last_folder(self, kind: str) -> str:
        items = self._recent(kind)
        return str(Path(items[0]).parent) if items else str(Path.home())

    def _update_recent_menus(self) -> None:
        for kind, menu, opener in (("images", self.recent_images_menu,
                                    lambda p: self.open_image(p, wait=False)),
                                   ("pipelines", self.recent_pipelines_menu,
                                    lambda p: self.open_pipeline(p, wait=False))):
            menu.clear()
            items = self._recent(kind)
            for i, p in enumerate(items):
                act = menu.addAction(f"&{(i + 1) % 10} {Path(p).name}")
                act.setToolTip(p)
                act.setProperty(SKIP_PROPERTY, True)  # a file name: nothing to translate (app/i18n.py)
                act.triggered.connect(lambda _c=False, path=p, fn=opener: fn(path))
            if items:
                menu.addSeparator()
                # (made in the language of the moment; the walker takes it back to its source on a switch)
                menu.addAction(tr("Clear list")).triggered.connect(
                    lambda _c=False, k=kind: (self.settings.setValue(f"recent/{k}", []),
                                              self._update_recent_menus()))
            menu.setEnabled(bool(items))


def qimage_to_array(img: QImage, *, keep_alpha: bool = False) -> np.ndarray:
    """A QImage as ``(C, H, W) float32`` in [0, 1], by the rule of ``load_image`` for a file:
    gray images give C = 1, others RGB (C = 3); an alpha channel is dropped (not composited)
    unless `keep_alpha`, which gives C = 4 (R, G, B, A; gray repeated in R, G and B)."""
    alpha = keep_alpha and img.hasAlphaChannel()
    if img.isGrayscale() and not img.hasAlphaChannel():
        g = img.convertToFormat(QImage.Format.Format_Grayscale8)
        arr = np.frombuffer(g.constBits(), np.uint8, g.bytesPerLine() * g.height())
        arr = arr.reshape(g.height(), g.bytesPerLine())[:, :g.width()]
        return (arr.astype(np.float32) / np.float32(255.0))[None]
    # straight (not premultiplied) colour, as a file holds it; the alpha is then kept or dropped
    conv = img.convertToFormat(QImage.Format.Format_RGBA8888)
    arr = np.frombuffer(conv.constBits(), np.uint8, conv.bytesPerLine() * conv.height())
    arr = arr.reshape(conv.height(), conv.bytesPerLine())[:, :conv.width() * 4]
    arr = arr.reshape(conv.height(), conv.width(), 4).transpose(2, 0, 1)
    if not alpha:
        # gray with alpha (to Qt: R = G = B everywhere) keeps the gray value alone
        arr = arr[:1] if img.isGrayscale() else arr[:3]
    return np.ascontiguousarray(arr, dtype=np.float32) / np.float32(255.0)
