"""File > Open Folder: the folder's photos in a filmstrip dock under the canvas (verdict badges, a
filter, culling in the background; `filmstrip.py`), the chosen photo opened in the editor, and its
verdict in the status bar."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel

from .panel_dock import DOCK_FEATURES, hint

if TYPE_CHECKING:
    from .filmstrip import FilmstripWidget
    from .window import MainWindow

VERDICT_WIDTH = 460  # status-bar pixels for the verdict; longer reasons are elided (the tooltip has them)


class FolderBrowser(QObject):
    """Owns the Filmstrip dock and the verdict label of the status bar."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.strip: FilmstripWidget | None = None  # made on first use: the window starts without the cull engine
        self.dock = QDockWidget("Filmstrip", window)
        self.dock.setObjectName("filmstrip_dock")
        self.dock.setFeatures(DOCK_FEATURES)
        self.dock.setWidget(hint("File > Open Folder shows a folder's photos here, with a blur verdict for each."))
        self.dock.hide()
        self.verdict_label = QLabel()
        self.verdict_label.setMaximumWidth(VERDICT_WIDTH)

    def choose_folder(self) -> None:
        start = self.window.prefs.folder("folder")
        folder = QFileDialog.getExistingDirectory(self.window, "Open folder", start)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | os.PathLike) -> int:
        """Show the folder's photos (the first one opens) and cull them in the background; returns how many."""
        from .filmstrip import FilmstripWidget

        if self.strip is None:
            settings = self.window.detection.settings
            self.strip = FilmstripWidget(model=settings.model, device=settings.device)
            self.strip.photoSelected.connect(self._chosen)
            self.strip.statusMessage.connect(self._show_verdict)
            self.dock.setWidget(self.strip)
            for action in self.window.menus.step_actions:
                self.strip.addAction(action)  # the arrow keys step while the filmstrip has the focus
        self.dock.show()
        self.window.resizeDocks([self.dock], [self.strip.sizeHint().height()], Qt.Orientation.Vertical)  # no more
        try:
            count = self.strip.open_folder(folder)
        except OSError as e:  # unreadable, or gone since it was chosen: say so, keep what is open
            self.window.show_error(f"Cannot open the folder {Path(folder).name}", str(e))
            return 0
        self.window.prefs.set_folder("folder", folder)
        if count == 0:
            self._show_verdict("")
            self.window.statusBar().showMessage(f"No photos in {folder}", 8000)
        self.window.menus.update()
        return count

    def has_photos(self) -> bool:
        return self.strip is not None and self.strip.list.count() > 0

    def step(self, delta: int) -> None:
        """The next (+1) or previous (-1) photo of the filmstrip, as the filter shows them."""
        if self.strip is not None and not self.strip.step(delta):
            self.window.statusBar().showMessage("Last photo of the folder" if delta > 0 else "First photo of the folder", 3000)

    def photo_opened(self, path: Path | None) -> None:
        """The editor opened `path`: the filmstrip marks it (if it is one of its photos)."""
        if self.strip is not None and not (path is not None and self.strip.select_path(path)):
            self._show_verdict("")  # a photo from elsewhere: no verdict

    def stop(self) -> None:
        if self.strip is not None:
            self.strip.stop()

    def _chosen(self, path: Path) -> None:
        if not self.window.open_photo(path, remember=False):  # the user kept the unsaved edits
            self.photo_opened(self.window.context.photo_path)

    def _show_verdict(self, text: str) -> None:
        metrics = self.verdict_label.fontMetrics()
        self.verdict_label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, VERDICT_WIDTH))
        self.verdict_label.setToolTip(text)
