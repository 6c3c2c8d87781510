"""The editor state shared by the main window, the canvas and the editing panels, for Qt.

`EditorContext` is a thin Qt adapter over the Qt-free `blurstudio.document.Document` (photo, blur
map, selection, undo history): it re-emits the document's callbacks as Qt signals and adds what only
the GUI has: previews, the brush, worker jobs and messages. Panels use it through
`blurstudio.gui.panels.base` (see the guide there). It lives outside the panels package so that the
window can start, and paint, before the panels and their libraries are imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal

from blurstudio.blurmap import BlurMap
from blurstudio.document import Document, History, Step
from blurstudio.photo_export import PhotoMetadata

from .workers import JobRunner, WorkerJob

__all__ = ["BrushEvent", "EditorContext", "Step", "WorkerJob"]


@dataclass(frozen=True)
class BrushEvent:
    """One point of a brush stroke, in photo pixel coordinates."""

    phase: str  # "press", "move" or "release"
    x: float
    y: float
    erase: bool = False  # Alt held or right button: subtract instead of add


class EditorContext(QObject):
    """The editor state shared by the main window, the canvas and the editing panels."""

    photo_opened = Signal()  # a different photo was opened (or the photo was closed)
    photo_changed = Signal()  # the photo pixels changed (open, edit, undo, redo)
    blurmap_changed = Signal()
    selection_changed = Signal()
    history_changed = Signal()  # a step was added, undone or redone, or the saved state changed
    preview_changed = Signal()
    brush_changed = Signal()  # a brush began, ended or changed radius
    comparing_changed = Signal(bool)  # the original photo is shown instead of everything else, or no longer
    message = Signal(str, int)  # status-bar text, milliseconds to show it (0: until replaced)
    error_reported = Signal(str, str)  # title, text: the window shows a dialog

    def __init__(self, parent: QObject | None = None, document: Document | None = None) -> None:
        super().__init__(parent)
        self.document = document if document is not None else Document()
        self._preview: np.ndarray | None = None
        self._brush: Callable[[BrushEvent], None] | None = None
        self.brush_radius: float | None = None
        self._resize_brush: Callable[[int], None] | None = None
        self.comparing = False
        self.pool = QThreadPool(self)
        self._runner = JobRunner()
        doc = self.document
        doc.opened.connect(self._opened)
        doc.photo_changed.connect(self.photo_changed.emit)
        doc.blurmap_changed.connect(self.blurmap_changed.emit)
        doc.selection_changed.connect(self.selection_changed.emit)
        doc.history.changed.connect(self.history_changed.emit)

    # --- the document, read by panels ------------------------------------------------------
    @property
    def photo(self) -> np.ndarray | None:
        return self.document.photo

    @property
    def photo_path(self) -> Path | None:
        return self.document.path

    @property
    def blurmap(self) -> BlurMap | None:
        return self.document.blurmap

    @property
    def selection(self) -> np.ndarray | None:
        return self.document.selection

    @property
    def edit_generation(self) -> int:
        """Grows with every change of pixels (open, edit, undo, redo)."""
        return self.document.edit_generation

    @property
    def undo_stack(self) -> History:
        """The document's undo history (undo(), redo(), count(), text(i), as on a QUndoStack)."""
        return self.document.history

    # --- GUI state ---------------------------------------------------------------------------
    @property
    def preview(self) -> np.ndarray | None:
        return self._preview

    @property
    def brush_callback(self) -> Callable[[BrushEvent], None] | None:
        return self._brush

    # --- set by the window ----------------------------------------------------------------
    def set_photo(self, photo: np.ndarray | None, path: Path | None = None, source: Hashable = None,
                  metadata: PhotoMetadata = PhotoMetadata()) -> None:
        """Open a new photo (None closes it): clears the blur map, the selection, the preview and the
        undo history. `source` identifies the file version (see Document.open)."""
        if photo is None:
            self.document.close()
        else:
            self.document.open(photo, path, source, metadata)

    def set_blurmap(self, blurmap: BlurMap | None) -> None:
        self.document.set_blurmap(blurmap)

    # --- for panels -----------------------------------------------------------------------
    def set_selection(self, alpha: np.ndarray | None) -> None:
        """Set the selection: float32 (H, W) in [0, 1] aligned with the photo, or None for no selection."""
        self.document.set_selection(alpha)

    def push_step(self, step: Step) -> None:
        """Record a change the panel has already made (e.g. a brush stroke) as a step of the one undo
        history: Ctrl+Z calls `step.undo`, Ctrl+Shift+Z `step.redo`. Set `changes_photo=False` unless
        the pixels changed, so that the step alone does not ask to save the photo."""
        self.document.history.push(step)

    def run_in_worker(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        **kwargs: Any,
    ) -> WorkerJob:
        """Run fn(*args, **kwargs) in the thread pool; callbacks run on the GUI thread. Without
        `on_error` the error is shown in a dialog. `on_progress=` and `cancellable=True` are passed
        on to `JobRunner.start` (fn then also gets `progress=` / `cancel=`)."""
        return self.run_in_pool(self.pool, fn, *args, on_result=on_result, on_error=on_error, **kwargs)

    def run_in_pool(
        self,
        pool: QThreadPool,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        **kwargs: Any,
    ) -> WorkerJob:
        """run_in_worker on a given pool (the window keeps display work and detection apart from panel work)."""
        def report(exc: BaseException) -> None:
            self.report_error("Operation failed", f"{getattr(fn, '__name__', 'The operation')} failed: {exc}")

        return self._runner.start(pool, fn, *args, on_result=on_result, on_error=on_error or report, **kwargs)

    def show_preview(self, image: np.ndarray | None) -> None:
        """Show a processed (H, W, 3) uint8 image instead of the photo; None restores the normal view."""
        if image is not None:
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim not in (2, 3):
                raise ValueError(f"preview must be an (H, W[, 3]) uint8 image, got {image.dtype} {image.shape}")
        self._preview = image
        self.preview_changed.emit()

    def apply_edit(self, new_photo: np.ndarray, description: str) -> None:
        """Replace the photo as one undoable step; the blur map and selection are kept, the preview cleared."""
        if self.document.photo is None:
            raise ValueError("no photo is open")
        self.show_preview(None)
        self.document.apply_edit(new_photo, description)

    def compare_original(self, on: bool) -> None:
        """Show the photo as opened, with no overlay, preview or edit, while `on` (hold to compare)."""
        if bool(on) != self.comparing:
            self.comparing = bool(on)
            self.comparing_changed.emit(self.comparing)

    def begin_brush(self, callback: Callable[[BrushEvent], None], radius: float | None = None,
                    resize: Callable[[int], None] | None = None) -> None:
        """Deliver canvas strokes to `callback` (image coordinates) until end_brush(). `resize(steps)`
        makes the brush larger (steps > 0) or smaller: the `[` and `]` keys call it."""
        self._brush = callback
        self.brush_radius = radius
        self._resize_brush = resize
        self.brush_changed.emit()

    def resize_brush(self, steps: int) -> bool:
        """Ask the active brush to grow or shrink by `steps`; False when no brush can be resized."""
        if self._brush is None or self._resize_brush is None:
            return False
        self._resize_brush(steps)
        return True

    def set_brush_radius(self, radius: float | None) -> None:
        self.brush_radius = radius
        self.brush_changed.emit()

    def end_brush(self) -> None:
        if self._brush is not None:
            self._brush = None
            self.brush_radius = None
            self._resize_brush = None
            self.brush_changed.emit()

    def deliver_brush(self, event: BrushEvent) -> None:
        """Called by the canvas."""
        if self._brush is not None:
            self._brush(event)

    def notify(self, text: str, msecs: int = 6000) -> None:
        """A message in the status bar for `msecs` (0: until the next one)."""
        self.message.emit(text, msecs)

    def report_error(self, title: str, text: str) -> None:
        self.error_reported.emit(title, text)

    def wait_for_workers(self, msecs: int = 30000) -> bool:
        """Block until every run_in_worker job has finished (used on close and in tests)."""
        return self.pool.waitForDone(msecs)

    def discard_all_jobs(self) -> None:
        """Drop the results of every job not yet delivered (the window is closing)."""
        self._runner.discard_all()

    def _opened(self) -> None:
        self._preview = None
        self.compare_original(False)
        self.photo_opened.emit()
        self.preview_changed.emit()
