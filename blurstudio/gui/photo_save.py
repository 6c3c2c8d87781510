"""File > Save As and File > Export of the edited photo, and the "Save changes?" prompt before unsaved
edits would be lost (opening another photo, closing, quitting).

The photo is written in a worker by `blurstudio.photo_export.save_photo` (JPEG, PNG, 16-bit TIFF; EXIF
and ICC kept). The original file is protected unless the user confirmed replacing it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from blurstudio.images import same_file
from blurstudio.photo_export import SAVE_FORMATS, save_photo

from .context import EditorContext, WorkerJob
from .settings import Preferences

# (label, suffix, file patterns) of each format, as the file dialog and the Export dialog offer them
FORMATS = (("JPEG", ".jpg", "*.jpg *.jpeg"), ("PNG", ".png", "*.png"), ("TIFF, 16 bits per channel", ".tif", "*.tif *.tiff"))
SAVE_FILTER = ";;".join(f"{label} ({patterns})" for label, _, patterns in FORMATS)
Button = QMessageBox.StandardButton


class PhotoSaver(QObject):
    """Saves the document's photo; asks before edits would be lost. `parent` is the main window."""

    def __init__(self, context: EditorContext, prefs: Preferences, parent: QWidget) -> None:
        super().__init__(parent)
        self.context, self.prefs, self.window = context, prefs, parent
        self.job: WorkerJob | None = None
        self.last_path: Path | None = None  # where this photo was last saved: the next dialog starts there
        context.photo_opened.connect(self._photo_opened)

    def _photo_opened(self) -> None:
        self.last_path = None

    # --- where to save ------------------------------------------------------------------------
    def suggested_path(self, suffix: str | None = None) -> Path:
        """The last path this photo was saved to, else `NAME_edited.jpg` in the photo's folder."""
        if self.last_path is not None:
            path = self.last_path
        else:
            source = self.context.photo_path
            folder = source.parent if source is not None else Path(self.prefs.folder("save"))
            path = folder / f"{source.stem if source is not None else 'photo'}_edited.jpg"
        return path.with_suffix(suffix) if suffix else path

    def ask_path(self) -> str:
        """The save dialog: the format follows the suffix; "" when cancelled."""
        path, chosen = QFileDialog.getSaveFileName(self.window, "Save photo as", str(self.suggested_path()), SAVE_FILTER)
        if path and Path(path).suffix.lower() not in SAVE_FORMATS:  # no suffix typed: the chosen filter's
            path += next((suffix for label, suffix, _ in FORMATS if chosen.startswith(label)), ".jpg")
        return path

    # --- saving ---------------------------------------------------------------------------------
    def save_as(self) -> WorkerJob | None:
        """File > Save As: ask where, then save (JPEG at the Export dialog's last quality)."""
        if self.context.photo is None:
            return None
        path = self.ask_path()
        return self.save_to(path) if path else None

    def export(self) -> WorkerJob | None:
        """File > Export: format, JPEG quality and path in one dialog, then save."""
        if self.context.photo is None:
            return None
        dialog = ExportDialog(self.suggested_path(), self.prefs.jpeg_quality(), self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        self.prefs.set_jpeg_quality(dialog.quality.value())
        return self.save_to(dialog.path())

    def save_to(self, path: str | os.PathLike, then: Callable[[], None] | None = None) -> WorkerJob | None:
        """Write the photo to `path` in a worker; when it is written the document counts as saved and
        `then()` runs. Asks first when `path` is the original photo. None when nothing was started."""
        ctx = self.context
        if ctx.photo is None or (self.job is not None and self.job.running):
            return None
        path = Path(path)
        protect = [ctx.photo_path] if ctx.photo_path is not None else []
        if ctx.photo_path is not None and same_file(path, ctx.photo_path):
            answer = QMessageBox.question(
                self.window, "Replace the original?",
                f"{path.name} is the original photo. Replacing it cannot be undone: its pixels are lost for good.\n\n"
                "Replace the original?", Button.Yes | Button.No, Button.No)
            if answer != Button.Yes:
                return None
            protect = []
        generation = ctx.edit_generation
        ctx.notify(f"Saving {path.name}…", 0)
        self.job = ctx.run_in_worker(
            save_photo, path, ctx.photo, self.prefs.jpeg_quality(), ctx.document.metadata, protect,
            on_result=lambda written: self._saved(written, generation, then),
            on_error=lambda e: ctx.report_error("Could not save the photo", str(e)),
        )
        return self.job

    def _saved(self, path: Path, generation: int, then: Callable[[], None] | None) -> None:
        self.last_path = path
        self.prefs.set_folder("save", path.parent)
        if self.context.edit_generation == generation:  # else the photo changed while it was written
            self.context.undo_stack.set_clean()
        self.context.notify(f"Saved {path}", 8000)
        if then is not None:
            then()

    # --- the prompt ------------------------------------------------------------------------------
    def confirm_discard(self, then: Callable[[], None]) -> bool:
        """Before unsaved edits would be lost: True when the caller may go on now (no edits, or the
        user chose Don't Save). Save writes the photo first and then calls `then()`; Cancel: False."""
        ctx = self.context
        if ctx.photo is None or ctx.undo_stack.is_clean():
            return True
        name = ctx.photo_path.name if ctx.photo_path is not None else "the photo"
        answer = QMessageBox.question(
            self.window, "Save changes?", f"Save the changes to {name}? Without saving, the edits are lost.",
            Button.Save | Button.Discard | Button.Cancel, Button.Save)
        if answer == Button.Discard:
            return True
        if answer == Button.Save:
            path = self.ask_path()
            if path:
                self.save_to(path, then)
        return False


class ExportDialog(QDialog):
    """Format, JPEG quality and the file to write."""

    def __init__(self, path: Path, quality: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export photo")
        self.format = QComboBox()
        for label, suffix, _ in FORMATS:
            self.format.addItem(label, suffix)
        self.format.setCurrentIndex(max(0, self.format.findData(".tif" if path.suffix.lower() == ".tiff" else path.suffix.lower())))
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(quality)
        self.quality.setToolTip("JPEG quality: 90-95 keeps fine detail; lower makes smaller files")
        self.file = QLineEdit(str(path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file, 1)
        file_row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("JPEG quality", self.quality)
        form.addRow("File", file_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self._format_changed()

    def _format_changed(self) -> None:
        suffix = self.format.currentData()
        self.quality.setEnabled(suffix == ".jpg")
        text = self.file.text().strip()
        if text:
            self.file.setText(str(Path(text).with_suffix(suffix)))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export photo", self.file.text(), SAVE_FILTER)
        if path:
            self.file.setText(path)

    def path(self) -> Path:
        """The file to write, with the chosen format's suffix."""
        return Path(self.file.text().strip()).expanduser().with_suffix(self.format.currentData())
