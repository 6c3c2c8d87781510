"""The editor state shared by the main window, the canvas and the editing panels.

Panels use it through `blurstudio.gui.panels.base` (see the guide there). It lives outside the panels
package so that the window can start, and paint, before the panels and their libraries are imported.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PySide6.QtGui import QUndoCommand, QUndoStack

from blurstudio.blurmap import BlurMap


@dataclass(frozen=True)
class BrushEvent:
    """One point of a brush stroke, in photo pixel coordinates."""

    phase: str  # "press", "move" or "release"
    x: float
    y: float
    erase: bool = False  # Alt held or right button: subtract instead of add


class WorkerJob(QObject):
    """A function running in the thread pool. It lives on the GUI thread, so the worker's signals are
    queued to it and the callbacks run on the GUI thread."""

    result = Signal(object)
    error = Signal(object)  # the exception
    finished = Signal()

    def __init__(
        self,
        on_result: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None],
        on_done: Callable[["WorkerJob"], None],
    ) -> None:
        super().__init__()
        self.discarded = False
        self.running = True
        self._on_result, self._on_error, self._on_done = on_result, on_error, on_done
        self.result.connect(self._deliver)
        self.error.connect(self._fail)
        self.finished.connect(self._done)

    def discard(self) -> None:
        """Forget the result (the function still runs to its end; pass it a cancel flag to stop early)."""
        self.discarded = True

    @Slot(object)
    def _deliver(self, value: Any) -> None:
        if not self.discarded and self._on_result is not None:
            self._on_result(value)

    @Slot(object)
    def _fail(self, exc: BaseException) -> None:
        if not self.discarded:
            self._on_error(exc)

    @Slot()
    def _done(self) -> None:
        self.running = False
        self._on_done(self)


class _Runnable(QRunnable):
    def __init__(self, job: WorkerJob, fn: Callable, args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.job, self.fn, self.args, self.kwargs = job, fn, args, kwargs
        self.setAutoDelete(True)

    def run(self) -> None:  # worker thread
        try:
            value = self.fn(*self.args, **self.kwargs)
        except BaseException as e:  # noqa: BLE001 - every failure must reach the GUI, never crash the app
            e.traceback_text = traceback.format_exc()  # type: ignore[attr-defined]
            self.job.error.emit(e)
        else:
            self.job.result.emit(value)
        finally:
            self.job.finished.emit()


class _EditPhotoCommand(QUndoCommand):
    def __init__(self, context: "EditorContext", old: np.ndarray, new: np.ndarray, description: str) -> None:
        super().__init__(description)
        self.context, self.old, self.new = context, old, new

    def redo(self) -> None:
        self.context._replace_pixels(self.new)

    def undo(self) -> None:
        self.context._replace_pixels(self.old)


class EditorContext(QObject):
    """The editor state shared by the main window, the canvas and the editing panels."""

    photo_opened = Signal()  # a different photo was opened (or the photo was closed)
    photo_changed = Signal()  # the photo pixels changed (open, edit, undo, redo)
    blurmap_changed = Signal()
    selection_changed = Signal()
    preview_changed = Signal()
    brush_changed = Signal()  # a brush began, ended or changed radius
    message = Signal(str)  # status-bar text
    error_reported = Signal(str, str)  # title, text: the window shows a dialog

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._photo: np.ndarray | None = None
        self._photo_path: Path | None = None
        self._blurmap: BlurMap | None = None
        self._selection: np.ndarray | None = None
        self._preview: np.ndarray | None = None
        self._brush: Callable[[BrushEvent], None] | None = None
        self.brush_radius: float | None = None
        self.edit_generation = 0  # grows with every change of pixels; part of the detection cache key
        self.undo_stack = QUndoStack(self)
        self.pool = QThreadPool(self)
        self._jobs: set[WorkerJob] = set()
        self._jobs_lock = threading.Lock()

    # --- state read by panels -------------------------------------------------------------
    @property
    def photo(self) -> np.ndarray | None:
        return self._photo

    @property
    def photo_path(self) -> Path | None:
        return self._photo_path

    @property
    def blurmap(self) -> BlurMap | None:
        return self._blurmap

    @property
    def selection(self) -> np.ndarray | None:
        return self._selection

    @property
    def preview(self) -> np.ndarray | None:
        return self._preview

    @property
    def brush_callback(self) -> Callable[[BrushEvent], None] | None:
        return self._brush

    # --- set by the window ----------------------------------------------------------------
    def set_photo(self, photo: np.ndarray | None, path: Path | None = None) -> None:
        """Open a new photo: clears the blur map, the selection, the preview and the undo history."""
        self._photo = photo
        self._photo_path = Path(path) if path is not None else None
        self._blurmap = None
        self._selection = None
        self._preview = None
        self.edit_generation += 1
        self.undo_stack.clear()
        self.photo_opened.emit()
        self.photo_changed.emit()
        self.blurmap_changed.emit()
        self.selection_changed.emit()
        self.preview_changed.emit()

    def set_blurmap(self, blurmap: BlurMap | None) -> None:
        if blurmap is not None and self._photo is not None and blurmap.shape != self._photo.shape[:2]:
            raise ValueError(f"blur map of size {blurmap.shape} does not match the photo {self._photo.shape[:2]}")
        self._blurmap = blurmap
        self.blurmap_changed.emit()

    # --- for panels -----------------------------------------------------------------------
    def set_selection(self, alpha: np.ndarray | None) -> None:
        """Set the selection: float32 (H, W) in [0, 1] aligned with the photo, or None for no selection."""
        if alpha is not None:
            alpha = np.asarray(alpha, dtype=np.float32)
            if self._photo is None or alpha.shape != self._photo.shape[:2]:
                shape = None if self._photo is None else self._photo.shape[:2]
                raise ValueError(f"selection of shape {alpha.shape} does not match the photo {shape}")
        self._selection = alpha
        self.selection_changed.emit()

    def run_in_worker(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        **kwargs: Any,
    ) -> WorkerJob:
        """Run fn(*args, **kwargs) in the thread pool; callbacks run on the GUI thread."""
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
        """run_in_worker on a given pool (the window keeps display work apart from panel work)."""
        def fail(exc: BaseException) -> None:
            if on_error is not None:
                on_error(exc)
            else:
                self.report_error("Operation failed", f"{getattr(fn, '__name__', 'The operation')} failed: {exc}")

        def done(job: WorkerJob) -> None:
            with self._jobs_lock:
                self._jobs.discard(job)

        job = WorkerJob(on_result, fail, done)
        with self._jobs_lock:
            self._jobs.add(job)  # keep the QObject alive until its signals are delivered
        pool.start(_Runnable(job, fn, args, kwargs))
        return job

    def show_preview(self, image: np.ndarray | None) -> None:
        """Show a processed (H, W, 3) uint8 image instead of the photo; None restores the normal view."""
        if image is not None:
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim not in (2, 3):
                raise ValueError(f"preview must be an (H, W[, 3]) uint8 image, got {image.dtype} {image.shape}")
        self._preview = image
        self.preview_changed.emit()

    def apply_edit(self, new_photo: np.ndarray, description: str) -> None:
        """Replace the photo as one undoable step; the blur map and selection are kept."""
        if self._photo is None:
            raise ValueError("no photo is open")
        new_photo = np.ascontiguousarray(new_photo)
        if new_photo.dtype != np.uint8 or new_photo.shape != self._photo.shape:
            raise ValueError(
                f"an edit must keep the photo's size and type {self._photo.shape} uint8, got {new_photo.shape} {new_photo.dtype}"
            )
        self._preview = None
        self.preview_changed.emit()
        self.undo_stack.push(_EditPhotoCommand(self, self._photo, new_photo, description))

    def begin_brush(self, callback: Callable[[BrushEvent], None], radius: float | None = None) -> None:
        """Deliver canvas strokes to `callback` (image coordinates) until end_brush()."""
        self._brush = callback
        self.brush_radius = radius
        self.brush_changed.emit()

    def set_brush_radius(self, radius: float | None) -> None:
        self.brush_radius = radius
        self.brush_changed.emit()

    def end_brush(self) -> None:
        if self._brush is not None:
            self._brush = None
            self.brush_radius = None
            self.brush_changed.emit()

    def deliver_brush(self, event: BrushEvent) -> None:
        """Called by the canvas."""
        if self._brush is not None:
            self._brush(event)

    def notify(self, text: str) -> None:
        self.message.emit(text)

    def report_error(self, title: str, text: str) -> None:
        self.error_reported.emit(title, text)

    def wait_for_workers(self, msecs: int = 30000) -> bool:
        """Block until every run_in_worker job has finished (used on close and in tests)."""
        return self.pool.waitForDone(msecs)

    def discard_all_jobs(self) -> None:
        """Drop the results of every job not yet delivered (the window is closing)."""
        with self._jobs_lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.discard()

    # --- internal -------------------------------------------------------------------------
    def _replace_pixels(self, photo: np.ndarray) -> None:
        self._photo = photo
        self.edit_generation += 1
        self.photo_changed.emit()
