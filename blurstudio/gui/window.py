"""The main window: canvas, the Blur map and Edit docks, the status bar; opening photos, exporting
masks, settings and closing.

State flows one way: the window opens photos into the document (through the EditorContext), the
`DetectionController` puts the blur map there, and the canvas, the `OverlayController`, the
`Menus` and the panels observe the context.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, QThreadPool, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from blurstudio.images import READ_SUFFIXES

from . import settings as app_resources
from .actions import Menus
from .banner import Banner
from .canvas import CanvasView
from .context import EditorContext, WorkerJob
from .detection import DetectionResult, DetectionSettings
from .detection_controller import DetectionController
from .dialogs import AboutDialog, SettingsDialog
from .folder_browser import FolderBrowser
from .imaging import LoadedPhoto, load_photo, pyramid_from_array
from .mask_export import ask_export_folder, export_masks_in_worker
from .overlay import OverlayController
from .layout import fit_to_screen, scrolling
from .panel_dock import DOCK_FEATURES, PanelDock
from .photo_save import PhotoSaver
from .status_bar import StatusBar
from .settings import Preferences, app_settings, missing_model_notice, model_available, read_model_card
from .workers import Latest

APP_NAME = "Blur Studio"
PHOTO_FILTER = "Photos (" + " ".join(f"*{s}" for s in READ_SUFFIXES) + ");;All files (*)"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.prefs = Preferences(settings if settings is not None else app_settings())
        self.context = EditorContext(self)
        # Opening photos and drawing overlays never wait behind a long panel job (e.g. deblurring).
        self.display_pool = QThreadPool(self)
        self.display_pool.setMaxThreadCount(2)
        run_display = partial(self.context.run_in_pool, self.display_pool)
        self._load, self._pyramid, self._preview = Latest(run_display), Latest(run_display), Latest(run_display)
        self.export_job: WorkerJob | None = None
        self._opening = False  # set while the document takes a freshly loaded photo
        self._shut_down = False
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)

        self.canvas = CanvasView(self.context)
        self.banner = Banner()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.detection = DetectionController(self.context, self.prefs.detection(), self)
        self.edit_dock = PanelDock(self.context, self.show_error, self)
        self.overlay = OverlayController(self.context, self.canvas, self.prefs, run_display, self.edit_dock.leave_panel, self)
        self.saver = PhotoSaver(self.context, self.prefs, self)
        self.folder = FolderBrowser(self)
        self._build_docks()
        self.menus = Menus(self)
        self.setStatusBar(StatusBar(self.context, self.canvas, self.detection, self.menus.cancel_action, self.folder.verdict_label))
        self.cancel_button = self.statusBar().cancel_button
        ctx = self.context
        ctx.photo_changed.connect(self._photo_pixels_changed)
        ctx.blurmap_changed.connect(self.menus.update)
        ctx.preview_changed.connect(self._preview_changed)
        ctx.history_changed.connect(self._update_title)
        ctx.photo_opened.connect(self.menus.update)
        ctx.error_reported.connect(self.show_error)
        self.detection.running_changed.connect(self.menus.update)
        self.detection.detected.connect(self._detected)
        self.overlay.apply_state()
        self._update_title()
        self._update_model_notice()
        self.menus.update()
        self.canvas.set_empty_text(self._empty_text())

        geometry = self.prefs.qsettings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        state = self.prefs.qsettings.value("window/state")
        if state is not None:
            self.restoreState(state)
        fit_to_screen(self)

    # --- construction -----------------------------------------------------------------------------
    def _build_docks(self) -> None:
        self.map_dock = QDockWidget("Blur map", self)
        self.map_dock.setObjectName("blur_map_dock")
        self.map_dock.setWidget(scrolling(self.overlay.controls))
        self.map_dock.setFeatures(DOCK_FEATURES)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.map_dock)

        # The panels (and their libraries) load right after the window first paints: it appears at once.
        self.canvas.first_painted.connect(self.edit_dock.load_soon, Qt.ConnectionType.QueuedConnection)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.edit_dock)
        self.splitDockWidget(self.map_dock, self.edit_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.map_dock], [330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.map_dock, self.edit_dock], [380, 420], Qt.Orientation.Vertical)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.folder.dock)

    # --- status ---------------------------------------------------------------------------------
    @Slot(object)
    def _detected(self, result: DetectionResult) -> None:
        self.overlay.controls.set_fractions(result.fractions)
        if result.notice:
            self.banner.show_notice(result.notice)

    def _update_title(self) -> None:
        path = self.context.photo_path
        name = path.name if path is not None else ("Untitled" if self.context.photo is not None else "")
        self.setWindowTitle(f"{name}[*] — {APP_NAME}" if name else APP_NAME)
        self.setWindowModified(not self.context.undo_stack.is_clean())

    # --- opening photos -------------------------------------------------------------------------
    def choose_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", self.prefs.folder("open"), PHOTO_FILTER)
        if path:
            self.open_photo(path)

    def open_sample(self) -> bool:
        """Open the bundled sample photo; False (with a message on the canvas) if it is not installed."""
        sample = app_resources.SAMPLE_PHOTO
        if not sample.is_file():
            self.canvas.set_empty_text(self._empty_text())
            self.statusBar().showMessage(f"The sample photo is not installed ({sample}).", 8000)
            return False
        self.open_photo(sample, remember=False)
        return True

    def open_photo(self, path: str | os.PathLike, remember: bool = True) -> bool:
        """Read the photo in a worker; on success it replaces the open photo, on failure the
        previous photo stays and a message names the file and the reason. Unsaved edits are saved
        or discarded first, as the user chooses; False when the photo is not opened now."""
        path = Path(path).expanduser()
        if not self.saver.confirm_discard(lambda: self.open_photo(path, remember)):
            return False
        self.statusBar().showMessage(f"Opening {path.name}…")
        self._load.start(load_photo, path, on_result=lambda loaded: self._photo_loaded(loaded, remember),
                         on_error=lambda e: self._photo_failed(path, e))
        return True

    def _photo_loaded(self, loaded: LoadedPhoto, remember: bool) -> None:
        self.detection.forget_photo()
        self._pyramid.cancel()
        self._opening = True  # the loader has built the display pyramid already
        try:
            self.context.set_photo(loaded.array, loaded.path, loaded.key, loaded.metadata)
        finally:
            self._opening = False
        self.canvas.set_photo(loaded.pyramid)
        self.canvas.set_original(loaded.pyramid)
        self.edit_dock.new_photo(keep_settings=self.prefs.keep_edit_settings())
        self.folder.photo_opened(loaded.path)
        self.statusBar().showMessage(f"Opened {loaded.path.name} ({loaded.array.shape[1]} × {loaded.array.shape[0]})", 5000)
        if remember:
            self.prefs.add_recent_file(loaded.path)
            self.prefs.set_folder("open", loaded.path.parent)
        self._update_title()
        self.menus.update()
        self.start_detection()

    def _photo_failed(self, path: Path, error: BaseException) -> None:
        self.statusBar().clearMessage()
        kept = "The current photo stays open." if self.context.photo is not None else ""
        self.show_error(f"Cannot open {path.name}", f"{error}\n\n{kept}".strip())

    def _photo_pixels_changed(self) -> None:
        """An edit, undo or redo replaced the pixels: rebuild the display pyramid off the GUI thread."""
        if self._opening or self.context.photo is None:
            return
        self._pyramid.start(pyramid_from_array, self.context.photo, on_result=lambda p: self.canvas.set_photo(p, refit=False))

    def _preview_changed(self) -> None:
        preview = self.context.preview
        if preview is None:
            self._preview.cancel()
            self.canvas.set_preview(None)
            return
        photo = self.context.photo
        full = QSize(photo.shape[1], photo.shape[0]) if photo is not None else QSize(preview.shape[1], preview.shape[0])
        self._preview.start(pyramid_from_array, preview, full_size=full, on_result=self.canvas.set_preview)

    def start_detection(self, force: bool = False) -> None:
        """Detect blur in the open photo (from the cache unless `force`)."""
        if not self.detection.start(force):
            self._update_model_notice()

    # --- export ---------------------------------------------------------------------------------
    def choose_export_folder(self) -> None:
        if self.context.blurmap is None:
            self.show_info("Nothing to export yet", "Open a photo and wait for the blur map before exporting masks.")
            return
        folder = ask_export_folder(self.context, self.prefs, self)
        if folder:
            self.export_to(folder)

    def export_to(self, folder: str | os.PathLike) -> WorkerJob | None:
        """Write the blur masks into `folder` in a worker (see mask_export)."""
        probs = self.menus.export_probs_action.isChecked()
        self.export_job = export_masks_in_worker(self.context, self.prefs, folder, probs, self)
        return self.export_job

    # --- settings, about, messages ------------------------------------------------------------------
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.detection.settings, self.overlay.palette_name, self.overlay.style,
                                self.prefs.keep_edit_settings(), self)
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_settings(dialog.detection_settings(), dialog.palette_name(), dialog.style(), dialog.keep_settings())

    def apply_settings(self, detection: DetectionSettings, palette_name: str, style: str | None = None,
                       keep_edit_settings: bool | None = None) -> None:
        changed = self.detection.set_settings(detection)
        self.prefs.set_detection(detection)
        self.overlay.set_palette(palette_name)
        if style is not None:
            self.overlay.set_style(style)
        if keep_edit_settings is not None:
            self.prefs.set_keep_edit_settings(keep_edit_settings)
        self._update_model_notice()
        if changed and self.context.photo is not None:
            self.start_detection()

    def show_about(self) -> None:
        result, model = self.detection.last_result, self.detection.settings.model
        AboutDialog(result.card if result is not None else read_model_card(model), model, self).exec()

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)

    def show_info(self, title: str, text: str) -> None:
        QMessageBox.information(self, title, text)

    def _update_model_notice(self) -> None:
        model = self.detection.settings.model
        if not model_available(model):
            self.banner.show_notice(missing_model_notice(model), "Choose Weights File…", self.open_settings)
        elif self.banner.isVisible() and self.banner.button.text() == "Choose Weights File…":
            self.banner.hide()

    def _empty_text(self) -> str:
        sample = app_resources.SAMPLE_PHOTO
        lines = ["Open a photo (Ctrl+O) or drop one here to see where it is sharp, motion-blurred or out of focus."]
        if not sample.is_file():
            lines.append(f"\nThe sample photo is not installed yet ({sample.parent.parent.name}/{sample.parent.name}/{sample.name}).")
        return "\n".join(lines)

    # --- drag and drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_photo(files[0])

    # --- the screen, closing -----------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        fit_to_screen(self)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        QTimer.singleShot(0, self._fit_to_screen)  # after the layout settles; a no-op when it fits

    @Slot()
    def _fit_to_screen(self) -> None:
        fit_to_screen(self)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self._shut_down and not self.saver.confirm_discard(self.close):
            event.ignore()  # Cancel, or the photo is being saved first (then the window closes)
            return
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, wait_ms: int = 10000) -> bool:
        """Save the settings, then stop the workers; safe to call twice. Returns False if a worker
        was still running after `wait_ms` (e.g. still loading a model, which cannot be interrupted)."""
        self._shut_down = True
        self.folder.stop()
        if self.isVisible():
            self.prefs.qsettings.setValue("window/geometry", self.saveGeometry())
            self.prefs.qsettings.setValue("window/state", self.saveState())
        self.overlay.save()
        self.prefs.sync()
        self.detection.cancel()
        self.hide()  # the window goes at once; workers stop at their next check
        stopped = self.detection.wait(wait_ms)
        stopped &= self.context.wait_for_workers(wait_ms)
        stopped &= self.display_pool.waitForDone(wait_ms)
        self.context.discard_all_jobs()  # results still queued must not reach closed widgets
        return bool(stopped)
