"""The main window: menus, toolbar, canvas, the Blur map and Edit docks, the status bar.

State flows one way: the window opens photos and runs detection, puts the results into the
EditorContext, and the canvas, controls and panels observe the context.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, Qt, QThreadPool, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStyle,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from blurstudio.blurmap import CLASS_NAMES
from blurstudio.images import READ_SUFFIXES

from . import settings as app_resources
from .banner import Banner
from .canvas import CanvasView, ViewMode
from .context import EditorContext, WorkerJob
from .detection import DetectionResult, DetectionSettings, DetectionThread, DetectorCache, ResultCache
from .dialogs import AboutDialog, SettingsDialog
from .imaging import LoadedPhoto, Pyramid, load_photo, overlay_pyramid, pyramid_from_array
from .overlay_controls import OverlayControls, action_tooltip
from .settings import PALETTES, Preferences, app_settings, model_available, read_model_card

if TYPE_CHECKING:
    from .panels.base import EditPanel

APP_NAME = "Blur Studio"
QUICK_OVERLAY_SIDE = 1024  # a subsampled overlay shows first on large photos
PHOTO_FILTER = "Photos (" + " ".join(f"*{s}" for s in READ_SUFFIXES) + ");;All files (*)"


def panel_classes() -> list[type]:
    """The registered editing panels (importing them and their libraries)."""
    from .panels import PANELS

    return list(PANELS)


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.prefs = Preferences(settings if settings is not None else app_settings())
        self.context = EditorContext(self)
        # Opening photos and drawing overlays never wait behind a long panel job (e.g. deblurring).
        self.display_pool = QThreadPool(self)
        self.display_pool.setMaxThreadCount(2)
        self.detectors = DetectorCache()
        self.results = ResultCache()
        self.detection: DetectionThread | None = None
        self._detection_key: tuple | None = None
        self._old_threads: list[DetectionThread] = []
        self._photo_key: tuple | None = None
        self._loading_photo = False  # set while the context takes a freshly loaded photo
        self._load_job: WorkerJob | None = None
        self._pyramid_job: WorkerJob | None = None
        self._preview_job: WorkerJob | None = None
        self._overlay_jobs: list[WorkerJob] = []
        self._overlay_full_shown = False
        self.last_result: DetectionResult | None = None
        self.export_job: WorkerJob | None = None

        self.detection_settings: DetectionSettings = self.prefs.detection()
        self.palette_name = self.prefs.palette_name()
        self.visible: tuple[bool, bool, bool] = self.prefs.visible()
        self.opacity = self.prefs.opacity()
        try:
            self.view_mode = ViewMode(self.prefs.view_mode())
        except ValueError:
            self.view_mode = ViewMode.OVERLAY

        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self._build_canvas()
        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect_context()
        self._apply_overlay_state()
        self._update_title()
        self._update_model_notice()
        self._update_actions()
        self.canvas.set_empty_text(self._empty_text())

        geometry = self.prefs.qsettings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        state = self.prefs.qsettings.value("window/state")
        if state is not None:
            self.restoreState(state)

    # ======================================================================================
    # construction
    # ======================================================================================
    def _build_canvas(self) -> None:
        self.canvas = CanvasView(self.context)
        self.banner = Banner()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        self.canvas.hovered.connect(self._hovered)
        self.canvas.zoom_changed.connect(self._zoom_changed)

    def _build_docks(self) -> None:
        self.controls = OverlayControls(PALETTES[self.palette_name])
        self.controls.visibility_changed.connect(self.set_class_visible)
        self.controls.opacity_changed.connect(self.set_opacity)
        self.controls.mode_changed.connect(self.set_view_mode)
        self.map_dock = QDockWidget("Blur map", self)
        self.map_dock.setObjectName("blur_map_dock")
        self.map_dock.setWidget(self.controls)
        self.map_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.map_dock)

        self.panel_tabs = QTabWidget()
        self.panel_tabs.setDocumentMode(True)
        self.panels: list[EditPanel] = []
        self._panels_loaded = False
        loading = QLabel("Loading editing tools…")
        loading.setObjectName("hint")
        loading.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        loading.setContentsMargins(10, 10, 10, 10)
        self.panel_tabs.addTab(loading, "Edit")
        # The panels (and their libraries) load right after the window first paints: it appears at once.
        self.canvas.first_painted.connect(self._schedule_panels, Qt.ConnectionType.QueuedConnection)
        self._active_panel: EditPanel | None = None
        self.panel_tabs.currentChanged.connect(self._panel_tab_changed)
        self.panel_tabs.tabBarClicked.connect(self._panel_tab_changed)
        self.edit_dock = QDockWidget("Edit", self)
        self.edit_dock.setObjectName("edit_dock")
        self.edit_dock.setWidget(self.panel_tabs)
        self.edit_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.edit_dock)
        self.splitDockWidget(self.map_dock, self.edit_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.map_dock], [330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.map_dock, self.edit_dock], [380, 420], Qt.Orientation.Vertical)
        # A panel becomes active when the user starts using it (not at startup, so the blur map shows first).
        QApplication.instance().focusChanged.connect(self._focus_changed)

    @Slot()
    def _schedule_panels(self) -> None:
        QTimer.singleShot(0, self.load_panels)

    def load_panels(self) -> None:
        """Import the registered editing panels and add them as tabs (once)."""
        if self._panels_loaded:
            return
        self._panels_loaded = True
        try:
            classes = panel_classes()
        except Exception as e:  # noqa: BLE001 - a broken panel module must not stop the editor
            classes = []
            self.show_error("Editing tools unavailable", f"The editing panels could not be loaded: {type(e).__name__}: {e}")
        self.panel_tabs.blockSignals(True)
        self.panel_tabs.clear()
        for panel_class in classes:
            try:
                panel = panel_class(self.context)
            except Exception as e:  # noqa: BLE001 - one broken panel must not stop the editor
                placeholder = QLabel(f"This panel could not start:\n{type(e).__name__}: {e}")
                placeholder.setWordWrap(True)
                self.panel_tabs.addTab(placeholder, getattr(panel_class, "title", panel_class.__name__))
                continue
            self.panels.append(panel)
            self.panel_tabs.addTab(panel, panel.title)
        if self.panel_tabs.count() == 0:
            empty = QLabel("Editing tools (selection, blur magnification, deblurring) appear here.")
            empty.setObjectName("hint")
            empty.setWordWrap(True)
            empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            empty.setContentsMargins(10, 10, 10, 10)
            self.panel_tabs.addTab(empty, "Edit")
        self.panel_tabs.blockSignals(False)

    def _action(self, text: str, slot, shortcut=None, icon: QStyle.StandardPixmap | None = None, checkable=False, tip="") -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when menus/toolbars are hidden
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        self.open_action = self._action("&Open…", self.choose_photo, QKeySequence.StandardKey.Open, sp.SP_DialogOpenButton, tip="Open a photo")
        self.sample_action = self._action("Open &Sample Photo", self.open_sample, "Ctrl+Shift+O")
        self.export_action = self._action(
            "&Export Blur Masks…", self.choose_export_folder, "Ctrl+E", sp.SP_DialogSaveButton,
            tip="Write labels, blur confidence and overlay images, as `blurstudio detect` does",
        )
        self.export_probs_action = self._action("Include &Probabilities in Export", self._export_probs_toggled, checkable=True)
        self.export_probs_action.setChecked(self.prefs.export_probs())
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q")

        self.undo_action = self.context.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.undo_action.setIcon(self.style().standardIcon(sp.SP_ArrowBack))
        self.redo_action = self.context.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.setIcon(self.style().standardIcon(sp.SP_ArrowForward))
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)
        self.settings_action = self._action("&Settings…", self.open_settings, "Ctrl+,", sp.SP_FileDialogDetailedView)

        self.mode_group = QActionGroup(self)
        self.mode_actions: dict[ViewMode, QAction] = {}
        for key, (mode, text) in enumerate(
            [(ViewMode.OVERLAY, "&Overlay"), (ViewMode.MAP, "&Map Only"), (ViewMode.PHOTO, "&Photo Only"), (ViewMode.SPLIT, "Before/After &Split")],
            start=1,
        ):
            action = self._action(text, lambda _=False, m=mode: self.set_view_mode(m), str(key), checkable=True)
            self.mode_group.addAction(action)
            self.mode_actions[mode] = action
        self.class_actions: list[QAction] = []
        for i, name in enumerate(("Sharp", "Motion Blur", "Defocus Blur")):
            action = self._action(f"Show {name}", lambda on, i=i: self.set_class_visible(i, on), f"Alt+{i + 1}", checkable=True)
            self.class_actions.append(action)
        self.more_opacity_action = self._action("More Overlay Opacity", lambda: self.set_opacity(self.opacity + 0.1), "]")
        self.less_opacity_action = self._action("Less Overlay Opacity", lambda: self.set_opacity(self.opacity - 0.1), "[")
        self.zoom_in_action = self._action("Zoom &In", self.canvas.zoom_in, [QKeySequence.StandardKey.ZoomIn, "Ctrl+="])
        self.zoom_out_action = self._action("Zoom &Out", self.canvas.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self.fit_action = self._action("&Fit to Window", self.canvas.fit_to_window, "Ctrl+0")
        self.actual_size_action = self._action("&Actual Size (100%)", self.canvas.actual_size, "Ctrl+1")

        self.detect_action = self._action(
            "&Detect Blur", lambda: self.start_detection(force=True), "F5", sp.SP_BrowserReload,
            tip="Run blur detection on the photo again",
        )
        self.cancel_action = self._action("&Cancel Detection", self.cancel_detection, "Esc", sp.SP_BrowserStop)
        self.shortcuts_action = self._action("&Keyboard Shortcuts", self.show_shortcuts, "Ctrl+/")
        self.about_action = self._action("&About Blur Studio", self.show_about, "F1", sp.SP_MessageBoxInformation)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        file_menu.addAction(self.sample_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_probs_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.settings_action)

        view_menu = bar.addMenu("&View")
        for action in self.mode_actions.values():
            view_menu.addAction(action)
        view_menu.addSeparator()
        for action in self.class_actions:
            view_menu.addAction(action)
        view_menu.addAction(self.more_opacity_action)
        view_menu.addAction(self.less_opacity_action)
        view_menu.addSeparator()
        for action in (self.zoom_in_action, self.zoom_out_action, self.fit_action, self.actual_size_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.map_dock.toggleViewAction())
        view_menu.addAction(self.edit_dock.toggleViewAction())

        detect_menu = bar.addMenu("&Detect")
        detect_menu.addAction(self.detect_action)
        detect_menu.addAction(self.cancel_action)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)

        toolbar = QToolBar("Main toolbar")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(18, 18))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for item in (
            self.open_action, self.export_action, None, self.detect_action, None,
            self.undo_action, self.redo_action, None,
        ):
            if item is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(item)
        for action, text in ((self.zoom_out_action, "−"), (self.zoom_in_action, "+"), (self.fit_action, "Fit"), (self.actual_size_action, "100%")):
            action.setIconText(text)  # short labels on the toolbar; menus keep the full text
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setMinimumWidth(34)
            toolbar.addWidget(button)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy())
        toolbar.addWidget(spacer)
        toolbar.addAction(self.settings_action)
        for action in toolbar.actions():
            if action.shortcut().toString():
                action.setToolTip(action_tooltip(action))
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setFixedWidth(160)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("Detecting %p%")
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(self.cancel_action)
        self.cancel_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.cancel_button.setText("Cancel")
        self.cancel_button.setAutoRaise(True)
        self.zoom_label = QLabel("")
        self.device_label = QLabel("Device: –")
        self.model_label = QLabel("Model: –")
        self.time_label = QLabel("")
        for w in (self.progress_bar, self.cancel_button):
            status.addPermanentWidget(w)
            w.hide()
        for w in (self.zoom_label, self.model_label, self.device_label, self.time_label):
            w.setContentsMargins(8, 0, 8, 0)
            status.addPermanentWidget(w)
        self.model_label.setText(f"Model: {self._model_display_name()}")

    def _connect_context(self) -> None:
        ctx = self.context
        ctx.photo_changed.connect(self._photo_pixels_changed)
        ctx.blurmap_changed.connect(self._blurmap_changed)
        ctx.preview_changed.connect(self._preview_changed)
        ctx.message.connect(self._show_status)
        ctx.error_reported.connect(self.show_error)
        ctx.undo_stack.cleanChanged.connect(self._clean_changed)

    # Slots are bound methods, never lambdas: Qt disconnects them when the window is destroyed.
    @Slot(str)
    def _show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    @Slot(bool)
    def _clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    @Slot(float)
    def _zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")

    # ======================================================================================
    # opening photos
    # ======================================================================================
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

    def open_photo(self, path: str | os.PathLike, remember: bool = True) -> None:
        """Read the photo in a worker; on success it replaces the open photo, on failure the
        previous photo stays and a message names the file and the reason."""
        path = Path(path).expanduser()
        if self._load_job is not None:
            self._load_job.discard()
        self.statusBar().showMessage(f"Opening {path.name}…")
        self._load_job = self.context.run_in_pool(self.display_pool, 
            load_photo, path,
            on_result=lambda loaded: self._photo_loaded(loaded, remember),
            on_error=lambda e: self._photo_failed(path, e),
        )

    def _photo_loaded(self, loaded: LoadedPhoto, remember: bool) -> None:
        self._load_job = None
        self.cancel_detection()
        self._photo_key = loaded.key
        self.last_result = None
        self._loading_photo = True
        try:
            self.context.set_photo(loaded.array, loaded.path)
        finally:
            self._loading_photo = False
        self.canvas.set_photo(loaded.pyramid)
        self.statusBar().showMessage(f"Opened {loaded.path.name} ({loaded.array.shape[1]} × {loaded.array.shape[0]})", 5000)
        self.time_label.setText("")
        if remember:
            self.prefs.add_recent_file(loaded.path)
            self.prefs.set_folder("open", loaded.path.parent)
        self._update_title()
        self._update_actions()
        self.start_detection()

    def _photo_failed(self, path: Path, error: BaseException) -> None:
        self._load_job = None
        self.statusBar().clearMessage()
        kept = "The current photo stays open." if self.context.photo is not None else ""
        self.show_error(f"Cannot open {path.name}", f"{error}\n\n{kept}".strip())

    def _photo_pixels_changed(self) -> None:
        """An edit, undo or redo replaced the pixels: rebuild the display pyramid off the GUI thread."""
        if self._loading_photo or self.context.photo is None:
            return
        if self._pyramid_job is not None:
            self._pyramid_job.discard()
        self._pyramid_job = self.context.run_in_pool(self.display_pool, 
            pyramid_from_array, self.context.photo, on_result=lambda p: self.canvas.set_photo(p, refit=False)
        )
        self._update_title()

    def _preview_changed(self) -> None:
        if self._preview_job is not None:
            self._preview_job.discard()
            self._preview_job = None
        preview = self.context.preview
        if preview is None:
            self.canvas.set_preview(None)
            return
        photo = self.context.photo
        full = QSize(photo.shape[1], photo.shape[0]) if photo is not None else QSize(preview.shape[1], preview.shape[0])
        self._preview_job = self.context.run_in_pool(self.display_pool, 
            pyramid_from_array, preview, full_size=full, on_result=self.canvas.set_preview
        )

    # ======================================================================================
    # detection
    # ======================================================================================
    def start_detection(self, force: bool = False) -> None:
        """Detect blur in the open photo (from the cache unless `force`)."""
        photo = self.context.photo
        if photo is None:
            return
        settings = self.detection_settings
        if not model_available(settings.model):
            self._update_model_notice()
            self.statusBar().showMessage("No model to detect blur with: choose one in Settings.", 8000)
            return
        key = (self._content_key(), settings)
        cached = None if force else self.results.get(key)
        if cached is not None:
            self._apply_result(cached, from_cache=True)
            return
        self.cancel_detection()
        thread = DetectionThread(photo, settings, self.detectors)
        thread.progress.connect(self._detection_progress)
        thread.succeeded.connect(self._detection_succeeded)
        thread.failed.connect(self._detection_failed)
        thread.cancelled.connect(self._detection_cancelled)
        thread.notice.connect(self._detection_notice)
        thread.finished.connect(self._reap_threads)
        self.detection = thread
        self._old_threads.append(thread)  # referenced until it has stopped (reaped on `finished`)
        self._detection_key = key
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Loading model…")  # the first run imports the engine and loads weights
        self.progress_bar.show()
        self.cancel_button.show()
        self.statusBar().showMessage("Detecting blur…")
        self._update_actions()
        thread.start()

    def _content_key(self) -> tuple:
        """Identifies the pixels: the file as opened, or a unique number for each edited state."""
        if self.context.undo_stack.index() == 0:
            return (self._photo_key,)
        return (self._photo_key, "edited", self.context.edit_generation)

    def cancel_detection(self) -> None:
        thread = self.detection
        if thread is None:
            return
        thread.cancel()
        self.detection = None
        self._detection_key = None
        self.progress_bar.hide()
        self.cancel_button.hide()
        self.statusBar().showMessage("Detection cancelled.", 4000)
        self._update_actions()

    def is_detecting(self) -> bool:
        return self.detection is not None

    def _is_current(self) -> bool:
        return self.detection is not None and self.sender() is self.detection

    @Slot(float)
    def _detection_progress(self, fraction: float) -> None:
        if self._is_current():
            self.progress_bar.setFormat("Detecting %p%")
            self.progress_bar.setValue(round(fraction * 100))

    @Slot(object)
    def _detection_succeeded(self, result: DetectionResult) -> None:
        if not self._is_current():
            return
        key = self._detection_key
        self.detection = None
        self._detection_key = None
        self.progress_bar.hide()
        self.cancel_button.hide()
        if key is not None:
            self.results.put(key, result)
        self._apply_result(result, from_cache=False)
        self._update_actions()

    @Slot(str)
    def _detection_failed(self, message: str) -> None:
        if not self._is_current():
            return
        self.detection = None
        self.progress_bar.hide()
        self.cancel_button.hide()
        self.statusBar().showMessage("Blur detection failed.", 8000)
        self._update_actions()
        self.show_error("Blur detection failed", f"{message}\n\nThe photo stays open; change the model or device in Settings and press F5 to retry.")

    @Slot()
    def _detection_cancelled(self) -> None:
        if self._is_current():  # cancelled from inside (e.g. the engine stopped itself)
            self.detection = None
            self.progress_bar.hide()
            self.cancel_button.hide()
            self._update_actions()

    @Slot(str)
    def _detection_notice(self, text: str) -> None:
        if self._is_current():
            self.banner.show_notice(text)

    @Slot()
    def _reap_threads(self) -> None:
        self._old_threads = [t for t in self._old_threads if not t.isFinished()]

    def _apply_result(self, result: DetectionResult, from_cache: bool) -> None:
        if self.context.photo is None or result.blurmap.shape != self.context.photo.shape[:2]:
            return
        self.last_result = result
        self.context.set_blurmap(result.blurmap)
        self.controls.set_fractions(result.fractions)
        self.device_label.setText(f"Device: {result.device_name}")
        self.model_label.setText(f"Model: {result.model_name}")
        self.time_label.setText("cached" if from_cache else f"{result.seconds:.1f} s")
        shares = ", ".join(f"{name} {result.fractions[name] * 100:.0f}%" for name in CLASS_NAMES)
        self.statusBar().showMessage(f"Blur detected: {shares}", 8000)
        if result.notice:
            self.banner.show_notice(result.notice)

    # ======================================================================================
    # overlay and view
    # ======================================================================================
    def _blurmap_changed(self) -> None:
        for job in self._overlay_jobs:
            job.discard()
        self._overlay_jobs = []
        blurmap = self.context.blurmap
        if blurmap is None:
            self.canvas.set_overlay(None)
            self.controls.set_fractions(None)
            self._update_actions()
            return
        self._render_overlay()
        self._update_actions()

    def _render_overlay(self) -> None:
        """Recompute the overlay layer in workers: a quick subsampled one first on big photos."""
        for job in self._overlay_jobs:
            job.discard()
        self._overlay_jobs = []
        blurmap = self.context.blurmap
        if blurmap is None:
            return
        palette = PALETTES[self.palette_name]
        visible = self.visible
        self._overlay_full_shown = False
        step = math.ceil(max(blurmap.shape) / QUICK_OVERLAY_SIDE)
        if step > 1:
            self._overlay_jobs.append(
                self.context.run_in_pool(self.display_pool, overlay_pyramid, blurmap, visible, palette, step, on_result=self._quick_overlay_ready)
            )
        self._overlay_jobs.append(
            self.context.run_in_pool(self.display_pool, overlay_pyramid, blurmap, visible, palette, 1, on_result=self._full_overlay_ready)
        )

    def _quick_overlay_ready(self, pyramid: Pyramid) -> None:
        if not self._overlay_full_shown:
            self.canvas.set_overlay(pyramid)

    def _full_overlay_ready(self, pyramid: Pyramid) -> None:
        self._overlay_full_shown = True
        self.canvas.set_overlay(pyramid)

    def overlay_ready(self) -> bool:
        """True when the overlay on the canvas is the full-resolution one for the current state."""
        return self._overlay_full_shown and all(not job.running for job in self._overlay_jobs)

    def set_class_visible(self, index: int, on: bool) -> None:
        self.leave_panel()  # the overlay is hidden behind a panel's preview
        visible = list(self.visible)
        visible[index] = bool(on)
        self.visible = tuple(visible)  # type: ignore[assignment]
        self._apply_overlay_state()
        self._render_overlay()

    def set_opacity(self, opacity: float) -> None:
        self.leave_panel()
        self.opacity = max(0.0, min(1.0, round(float(opacity), 2)))
        self._apply_overlay_state()  # a painter opacity: no recomputation

    def set_view_mode(self, mode: ViewMode | str) -> None:
        self.view_mode = ViewMode(mode)
        if self.view_mode in (ViewMode.OVERLAY, ViewMode.MAP):  # photo and split also compare previews
            self.leave_panel()
        self._apply_overlay_state()

    def _apply_overlay_state(self) -> None:
        """Push the overlay state to the canvas, the controls and the menu checks."""
        self.canvas.set_opacity(self.opacity)
        self.canvas.set_mode(self.view_mode)
        self.controls.set_opacity(self.opacity)
        self.controls.set_visible_classes(self.visible)
        self.controls.set_mode(self.view_mode.value)
        self.mode_actions[self.view_mode].setChecked(True)
        for action, on in zip(self.class_actions, self.visible):
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    def _hovered(self, x: int, y: int) -> None:
        blurmap = self.context.blurmap
        if x < 0 or blurmap is None or not (0 <= y < blurmap.shape[0] and 0 <= x < blurmap.shape[1]):
            text = "Move the pointer over the photo." if blurmap is not None or x < 0 else "No blur map yet."
            self.controls.set_hover(text)
            return
        p = blurmap.probs[:, y, x]  # three numbers: O(1)
        palette = PALETTES[self.palette_name]
        rows = "".join(
            f"<tr><td><span style='color:rgb{tuple(palette[i])}'>■</span> {name}</td>"
            f"<td align='right'>&nbsp;&nbsp;{p[i] * 100:.0f}%</td></tr>"
            for i, name in enumerate(("Sharp", "Motion", "Defocus"))
        )
        self.controls.set_hover(f"<table>{rows}</table><span style='color:gray'>at x {x}, y {y}</span>")

    # ======================================================================================
    # export
    # ======================================================================================
    def choose_export_folder(self) -> None:
        if self.context.blurmap is None:
            self.show_info("Nothing to export yet", "Open a photo and wait for the blur map before exporting masks.")
            return
        start = self.prefs.folder("export")
        if not Path(start).is_dir() and self.context.photo_path is not None:
            start = str(self.context.photo_path.parent)
        folder = QFileDialog.getExistingDirectory(self, "Export blur masks to folder", start)
        if folder:
            self.export_to(folder)

    def export_to(self, folder: str | os.PathLike) -> WorkerJob | None:
        """Write the masks into `folder` in a worker (atomic writes; never over the source photo)."""
        from blurstudio.export import export_masks, output_paths

        ctx = self.context
        if ctx.photo is None or ctx.blurmap is None:
            return None
        folder = Path(folder)
        self.prefs.set_folder("export", folder)
        stem = ctx.photo_path.stem if ctx.photo_path is not None else "photo"
        probs = self.export_probs_action.isChecked()
        existing = [p for p in output_paths(folder, stem, probs).values() if p.exists()]
        if existing:
            answer = QMessageBox.question(
                self, "Replace masks?",
                f"{len(existing)} mask file(s) for {stem} already exist in {folder}. Replace them?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return None
        protect = [ctx.photo_path] if ctx.photo_path is not None else []
        self.statusBar().showMessage(f"Exporting blur masks to {folder}…")
        self.export_job = ctx.run_in_worker(
            export_masks, ctx.photo, ctx.blurmap, folder, stem, probs=probs, protect=protect,
            on_result=lambda paths: self.statusBar().showMessage(
                f"Exported {len(paths)} files to {folder}: " + ", ".join(p.name for p in paths.values()), 10000
            ),
            on_error=lambda e: self.show_error("Export failed", str(e)),
        )
        return self.export_job

    def _export_probs_toggled(self, on: bool) -> None:
        self.prefs.set_export_probs(on)

    # ======================================================================================
    # settings, about, dialogs
    # ======================================================================================
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.detection_settings, self.palette_name, self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        self.apply_settings(dialog.detection_settings(), dialog.palette_name())

    def apply_settings(self, detection: DetectionSettings, palette_name: str) -> None:
        changed = detection != self.detection_settings
        self.detection_settings = detection
        self.prefs.set_detection(detection)
        if palette_name in PALETTES and palette_name != self.palette_name:
            self.palette_name = palette_name
            self.controls.set_palette(PALETTES[palette_name])
            self._render_overlay()
        self.model_label.setText(f"Model: {self._model_display_name()}")
        self._update_model_notice()
        if changed and self.context.photo is not None:
            self.start_detection()

    def show_about(self) -> None:
        card = self.last_result.card if self.last_result is not None else read_model_card(self.detection_settings.model)
        AboutDialog(card, self.detection_settings.model, self).exec()

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(action, keys) for every action with a shortcut, in menu order."""
        rows = []
        for menu_action in self.menuBar().actions():
            menu = menu_action.menu()
            for action in menu.actions() if menu is not None else []:
                keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
                if keys:
                    rows.append((action.text().replace("&", ""), keys))
        return rows

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td>&nbsp;&nbsp;<b>{html.escape(keys)}</b></td></tr>" for name, keys in self.shortcut_table())
        extra = (
            "<tr><td>Zoom</td><td>&nbsp;&nbsp;<b>mouse wheel</b></td></tr>"
            "<tr><td>Pan</td><td>&nbsp;&nbsp;<b>drag; middle button or Space+drag while brushing</b></td></tr>"
        )
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(f"<table>{rows}{extra}</table>")
        box.open()  # not modal-blocking: tests and users can keep working

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)

    def show_info(self, title: str, text: str) -> None:
        QMessageBox.information(self, title, text)

    def _model_display_name(self) -> str:
        model = self.detection_settings.model
        return Path(model).name if ("/" in model or model.endswith(".pt")) else model

    def _update_model_notice(self) -> None:
        model = self.detection_settings.model
        if model_available(model):
            if self.banner.isVisible() and self.banner.button.text() == "Choose Weights File…":
                self.banner.hide()
            return
        if "/" in model or model.endswith(".pt"):
            text = f"The weights file {model} (or its .json model card) is missing, so blur cannot be detected."
        else:
            text = (
                f"The bundled model “{model}” is not installed yet (resources/weights/{model}.pt). "
                "Photos open normally; to detect blur, choose a weights file."
            )
        self.banner.show_notice(text, "Choose Weights File…", self.open_settings)

    def _empty_text(self) -> str:
        sample = app_resources.SAMPLE_PHOTO
        lines = ["Open a photo (Ctrl+O) or drop one here to see where it is sharp, motion-blurred or out of focus."]
        if not sample.is_file():
            lines.append(f"\nThe sample photo is not installed yet ({sample.parent.parent.name}/{sample.parent.name}/{sample.name}).")
        return "\n".join(lines)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.prefs.recent_files()
        for i, path in enumerate(files):
            action = self.recent_menu.addAction(f"&{(i + 1) % 10} {Path(path).name}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_photo(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent Files", self._clear_recent)
        else:
            self.recent_menu.addAction("No recent files").setEnabled(False)

    def _clear_recent(self) -> None:
        self.prefs.clear_recent_files()

    def _update_title(self) -> None:
        path = self.context.photo_path
        name = path.name if path is not None else ("Untitled" if self.context.photo is not None else "")
        self.setWindowTitle(f"{name}[*] — {APP_NAME}" if name else APP_NAME)

    def _update_actions(self) -> None:
        has_photo = self.context.photo is not None
        self.export_action.setEnabled(self.context.blurmap is not None)
        self.detect_action.setEnabled(has_photo and not self.is_detecting())
        self.cancel_action.setEnabled(self.is_detecting())
        for action in (self.zoom_in_action, self.zoom_out_action, self.fit_action, self.actual_size_action):
            action.setEnabled(has_photo)

    @Slot(int)
    def _panel_tab_changed(self, index: int) -> None:
        """The user chose a panel's tab: the previous panel stops, this one starts."""
        widget = self.panel_tabs.widget(index)
        if self._active_panel is not None and self._active_panel is widget:
            return
        self.leave_panel()
        if widget in self.panels:
            self._active_panel = widget
            widget.activate()

    @Slot(QWidget, QWidget)
    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        current = self.panel_tabs.currentWidget()
        if new is not None and current in self.panels and current is not self._active_panel:
            if current is new or current.isAncestorOf(new):
                self._panel_tab_changed(self.panel_tabs.currentIndex())

    def leave_panel(self) -> None:
        """Stop the active panel: clear its preview and brush, so the canvas shows the blur map."""
        if self._active_panel is not None:
            panel, self._active_panel = self._active_panel, None
            panel.deactivate()
        self.context.show_preview(None)
        self.context.end_brush()

    # ======================================================================================
    # drag and drop, closing
    # ======================================================================================
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_photo(files[0])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, wait_ms: int = 10000) -> bool:
        """Save the settings, then stop the workers; safe to call twice. Returns False if a worker
        was still running after `wait_ms` (e.g. still loading a model, which cannot be interrupted)."""
        if self.isVisible():
            self.prefs.qsettings.setValue("window/geometry", self.saveGeometry())
            self.prefs.qsettings.setValue("window/state", self.saveState())
        self.prefs.save_overlay(self.opacity, self.visible, self.palette_name, self.view_mode.value)
        self.prefs.sync()
        self.cancel_detection()
        self.hide()  # the window goes at once; workers stop at their next check
        stopped = all(thread.wait(wait_ms) for thread in self._old_threads)
        self._reap_threads()
        stopped &= self.context.wait_for_workers(wait_ms)
        stopped &= self.display_pool.waitForDone(wait_ms)
        self.context.discard_all_jobs()  # results still queued must not reach closed widgets
        return bool(stopped)
