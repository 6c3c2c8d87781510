"""The main window's actions (with their shortcuts), menus, toolbar and the shortcuts list."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMessageBox, QStyle, QToolBar, QToolButton, QWidget

from .canvas import ViewMode
from .overlay_controls import action_tooltip

if TYPE_CHECKING:
    from .window import MainWindow

VIEW_MODES = [(ViewMode.OVERLAY, "&Overlay"), (ViewMode.MAP, "&Map Only"), (ViewMode.PHOTO, "&Photo Only"), (ViewMode.SPLIT, "Before/After &Split")]
CLASS_ACTIONS = ("Sharp", "Motion Blur", "Defocus Blur")


class Menus:
    """Creates the window's actions and puts them in the menus and the toolbar; keeps their enabled
    and checked states in step with the document, the overlay and detection."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        w, sp = window, QStyle.StandardPixmap
        history = window.context.undo_stack
        self.open_action = self._action("&Open…", w.choose_photo, QKeySequence.StandardKey.Open, sp.SP_DialogOpenButton, tip="Open a photo")
        self.sample_action = self._action("Open &Sample Photo", w.open_sample, "Ctrl+Shift+O")
        self.folder_action = self._action("Open &Folder…", w.folder.choose_folder, "Ctrl+Alt+O",
                                          tip="Show a folder's photos in a filmstrip with a blur verdict for each")
        self.next_action = self._action("&Next Photo in Folder", lambda: w.folder.step(1), "Right")
        self.previous_action = self._action("&Previous Photo in Folder", lambda: w.folder.step(-1), "Left")
        self.step_actions = (self.next_action, self.previous_action)
        for action in self.step_actions:
            # Only while the canvas or the filmstrip has the focus: sliders and text fields keep their arrows.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            w.removeAction(action)
            w.canvas.addAction(action)
        self.save_action = self._action("&Save As…", w.saver.save_as, "Ctrl+S", sp.SP_DialogSaveButton,
                                        tip="Save the edited photo (JPEG, PNG or 16-bit TIFF; EXIF and colour profile kept)")
        self.export_photo_action = self._action("Export &Photo…", w.saver.export, "Ctrl+Shift+E",
                                                tip="Save the edited photo with a chosen format and JPEG quality")
        self.export_action = self._action(
            "&Export Blur Masks…", w.choose_export_folder, "Ctrl+E",
            tip="Write labels, blur confidence and overlay images, as `blurstudio detect` does",
        )
        self.export_probs_action = self._action("Include &Probabilities in Export", w.prefs.set_export_probs, checkable=True)
        self.export_probs_action.setChecked(w.prefs.export_probs())
        self.quit_action = self._action("&Quit", w.close, "Ctrl+Q")
        self.undo_action = self._action("&Undo", history.undo, "Ctrl+Z", sp.SP_ArrowBack)
        self.redo_action = self._action("&Redo", history.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], sp.SP_ArrowForward)
        self.settings_action = self._action("&Settings…", w.open_settings, "Ctrl+,", sp.SP_FileDialogDetailedView)

        overlay = w.overlay
        self.mode_group = QActionGroup(w)
        self.mode_actions: dict[ViewMode, QAction] = {}
        for key, (mode, text) in enumerate(VIEW_MODES, start=1):
            action = self._action(text, lambda _=False, m=mode: overlay.set_view_mode(m), str(key), checkable=True)
            self.mode_group.addAction(action)
            self.mode_actions[mode] = action
        self.class_actions = [
            self._action(f"Show {name}", lambda on, i=i: overlay.set_class_visible(i, on), f"Alt+{i + 1}", checkable=True)
            for i, name in enumerate(CLASS_ACTIONS)
        ]
        self.more_opacity_action = self._action("More Overlay Opacity", lambda: overlay.set_opacity(overlay.opacity + 0.1), "Alt+]")
        self.less_opacity_action = self._action("Less Overlay Opacity", lambda: overlay.set_opacity(overlay.opacity - 0.1), "Alt+[")
        self.compare_action = self._action("&Compare with Original", w.context.compare_original, "\\", checkable=True,
                                           tip="Show the photo as opened, without overlay or edits (press again to go back)")
        self.compare_action.setIconText("Compare")
        w.context.comparing_changed.connect(self.compare_action.setChecked)
        self.brush_action = self._action("&Brush", self.toggle_brush, "B", tip="Turn the selection brush on or off")
        self.larger_brush_action = self._action("&Larger Brush", lambda: self.resize_brush(1), "]")
        self.smaller_brush_action = self._action("&Smaller Brush", lambda: self.resize_brush(-1), "[")
        canvas = w.canvas
        self.zoom_in_action = self._action("Zoom &In", canvas.zoom_in, [QKeySequence.StandardKey.ZoomIn, "Ctrl+="])
        self.zoom_out_action = self._action("Zoom &Out", canvas.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self.fit_action = self._action("&Fit to Window", canvas.fit_to_window, "Ctrl+0")
        self.actual_size_action = self._action("&Actual Size (100%)", canvas.actual_size, "Ctrl+1")
        self.zoom_actions = (self.zoom_in_action, self.zoom_out_action, self.fit_action, self.actual_size_action)

        self.detect_action = self._action(
            "&Detect Blur", lambda: w.start_detection(force=True), "F5", sp.SP_BrowserReload, tip="Run blur detection on the photo again",
        )
        self.cancel_action = self._action("&Cancel Detection", w.detection.cancel, "Esc", sp.SP_BrowserStop)
        self.cancel_action.setIconText("Cancel")  # the status bar's button; the menu keeps the full text
        self.shortcuts_action = self._action("&Keyboard Shortcuts", self.show_shortcuts, "Ctrl+/")
        self.about_action = self._action("&About Blur Studio", w.show_about, "F1", sp.SP_MessageBoxInformation)

        self._build_menus()
        self.toolbar = self._build_toolbar()
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        overlay.changed.connect(self.sync_overlay)
        window.context.history_changed.connect(self.sync_history)
        self.sync_history()

    def _action(self, text: str, slot: Callable, shortcut: object = None, icon: QStyle.StandardPixmap | None = None,
                checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self.window)
        if icon is not None:
            action.setIcon(self.window.style().standardIcon(icon))
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.window.addAction(action)  # shortcuts work even when menus/toolbars are hidden
        return action

    def _build_menus(self) -> None:
        w = self.window
        bar = w.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        self.fill_recent_menu()
        file_menu.addAction(self.sample_action)
        file_menu.addAction(self.folder_action)
        file_menu.addActions(list(self.step_actions))
        file_menu.addSeparator()
        file_menu.addActions([self.save_action, self.export_photo_action])
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_probs_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.undo_action, self.redo_action])
        edit_menu.addSeparator()
        edit_menu.addActions([self.brush_action, self.smaller_brush_action, self.larger_brush_action])
        edit_menu.addSeparator()
        edit_menu.addAction(self.settings_action)

        view_menu = bar.addMenu("&View")
        view_menu.addActions(list(self.mode_actions.values()))
        view_menu.addAction(self.compare_action)
        view_menu.addSeparator()
        view_menu.addActions([*self.class_actions, self.more_opacity_action, self.less_opacity_action])
        view_menu.addSeparator()
        view_menu.addActions(list(self.zoom_actions))
        view_menu.addSeparator()
        view_menu.addActions([w.map_dock.toggleViewAction(), w.edit_dock.toggleViewAction(), w.folder.dock.toggleViewAction()])

        detect_menu = bar.addMenu("&Detect")
        detect_menu.addActions([self.detect_action, self.cancel_action])

        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.shortcuts_action, self.about_action])

    def _build_toolbar(self) -> QToolBar:
        toolbar = QToolBar("Main toolbar")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(18, 18))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for item in (self.open_action, self.save_action, None, self.detect_action, None, self.undo_action, self.redo_action,
                     self.compare_action, None):
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
        return toolbar

    # --- the brush keys -------------------------------------------------------------------------
    def toggle_brush(self) -> None:
        w = self.window
        if w.context.photo is not None and not w.edit_dock.toggle_brush():
            w.statusBar().showMessage("No editing panel with a brush is loaded.", 4000)

    def resize_brush(self, steps: int) -> None:
        if not self.window.context.resize_brush(steps):
            self.window.statusBar().showMessage("Turn the brush on first (B).", 3000)

    # --- keeping states in step ---------------------------------------------------------------
    def update(self) -> None:
        """Enable what can be used now."""
        w = self.window
        has_photo = w.context.photo is not None
        self.export_action.setEnabled(w.context.blurmap is not None)
        for action in (self.save_action, self.export_photo_action, self.compare_action):
            action.setEnabled(has_photo)
        for action in self.step_actions:
            action.setEnabled(w.folder.has_photos())
        self.detect_action.setEnabled(has_photo and not w.detection.is_running())
        self.cancel_action.setEnabled(w.detection.is_running())
        for action in self.zoom_actions:
            action.setEnabled(has_photo)

    def sync_overlay(self) -> None:
        overlay = self.window.overlay
        self.mode_actions[overlay.view_mode].setChecked(True)
        for action, on in zip(self.class_actions, overlay.visible):
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    def sync_history(self) -> None:
        history = self.window.context.undo_stack
        for action, name, can, text in (
            (self.undo_action, "&Undo", history.can_undo(), history.undo_text()),
            (self.redo_action, "&Redo", history.can_redo(), history.redo_text()),
        ):
            action.setEnabled(can)
            action.setText(f"{name} {text}" if text else name)

    def fill_recent_menu(self) -> None:
        w = self.window
        self.recent_menu.clear()
        files = w.prefs.recent_files()
        for i, path in enumerate(files):
            action = self.recent_menu.addAction(f"&{(i + 1) % 10} {Path(path).name}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: w.open_photo(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent Files", w.prefs.clear_recent_files)
        else:
            self.recent_menu.addAction("No recent files").setEnabled(False)

    # --- the shortcuts list ------------------------------------------------------------------
    def shortcut_table(self) -> list[tuple[str, str]]:
        """(action, keys) for every action with a shortcut, in menu order."""
        rows = []
        for menu_action in self.window.menuBar().actions():
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
        box = QMessageBox(self.window)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(f"<table>{rows}{extra}</table>")
        box.open()  # not modal-blocking: tests and users can keep working
