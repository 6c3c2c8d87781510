"""File > Export Blur Masks: the files `blurstudio detect` writes, from the open photo's blur map."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from .context import EditorContext, WorkerJob
from .settings import Preferences


def ask_export_folder(context: EditorContext, prefs: Preferences, parent: QWidget) -> str:
    """Ask for the folder to export into, starting at the last one; "" when cancelled."""
    start = prefs.folder("export")
    if not Path(start).is_dir() and context.photo_path is not None:
        start = str(context.photo_path.parent)
    return QFileDialog.getExistingDirectory(parent, "Export blur masks to folder", start)


def export_masks_in_worker(context: EditorContext, prefs: Preferences, folder: str | os.PathLike, probs: bool,
                           parent: QWidget) -> WorkerJob | None:
    """Write the masks into `folder` in a worker (atomic writes; never over the source photo), after
    asking before replacing masks already there. None if there is nothing to export or the user declined."""
    from blurstudio.export import export_masks, output_paths

    if context.photo is None or context.blurmap is None:
        return None
    folder = Path(folder)
    prefs.set_folder("export", folder)
    stem = context.photo_path.stem if context.photo_path is not None else "photo"
    existing = [p for p in output_paths(folder, stem, probs).values() if p.exists()]
    if existing:
        answer = QMessageBox.question(
            parent, "Replace masks?", f"{len(existing)} mask file(s) for {stem} already exist in {folder}. Replace them?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
    protect = [context.photo_path] if context.photo_path is not None else []
    context.notify(f"Exporting blur masks to {folder}…", 0)

    def done(paths: dict) -> None:
        context.notify(f"Exported {len(paths)} files to {folder}: " + ", ".join(p.name for p in paths.values()), 10000)

    return context.run_in_worker(
        export_masks, context.photo, context.blurmap, folder, stem, probs=probs, protect=protect,
        on_result=done, on_error=lambda e: context.report_error("Export failed", str(e)),
    )
