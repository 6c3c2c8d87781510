"""The open photo and everything the editor knows about it, without Qt.

A `Document` holds the photo's pixels, where it came from, its blur map, the selection and the undo
history. Observers subscribe to plain callback lists (`Event`), as napari's layers do: the GUI's
`EditorContext` re-emits them as Qt signals, and tests and scripts use a Document on its own.

A Document is not thread-safe: change it from one thread (the GUI thread in the app).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from blurstudio.blurmap import BlurMap
from blurstudio.photo_export import PhotoMetadata

HISTORY_BYTES = 1_500_000_000  # undo steps kept in memory: about 20 steps of a 24 MP photo

_unsaved = itertools.count(1)  # tells apart photos that did not come from a file


class Event:
    """A list of callbacks, called in the order they connected (a signal without Qt)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def connect(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[], None]) -> None:
        self._callbacks.remove(callback)

    def emit(self) -> None:
        for callback in list(self._callbacks):  # a callback may disconnect itself
            callback()


@dataclass(frozen=True)
class Step:
    """One undoable change that has already been made: `undo` reverts it, `redo` makes it again."""

    description: str
    undo: Callable[[], None]
    redo: Callable[[], None]
    nbytes: int = 0  # memory only this step keeps alive (e.g. the pixels before an edit)
    changes_photo: bool = True  # False for e.g. brush strokes: undoable, but nothing Save would write


class History:
    """The undo history: steps before `index` are done, those from `index` on were undone.

    Past `budget_bytes` the oldest steps are dropped (the newest is always kept, so the last change
    can be undone even when it alone is larger). `changed` fires whenever the steps or the index
    change. Method names follow QUndoStack's, which many Qt programmers know. The saved ("clean")
    state is the photo as last saved: steps that do not change the photo leave it clean."""

    def __init__(self, budget_bytes: int = HISTORY_BYTES) -> None:
        self.budget = budget_bytes
        self.changed = Event()
        self._steps: list[Step] = []
        self._index = 0
        self._clean: int | None = 0  # the index whose state is saved; None once that state is gone

    def push(self, step: Step) -> None:
        """Record a change already made; steps that were undone are dropped."""
        del self._steps[self._index:]
        if self._clean is not None and self._clean > self._index:
            self._clean = None
        self._steps.append(step)
        self._index += 1
        while len(self._steps) > 1 and self.nbytes() > self.budget:
            self._steps.pop(0)
            self._index -= 1
            if self._clean is not None:
                self._clean = self._clean - 1 if self._clean > 0 else None
        self.changed.emit()

    def undo(self) -> None:
        if self.can_undo():
            self._index -= 1
            self._steps[self._index].undo()
            self.changed.emit()

    def redo(self) -> None:
        if self.can_redo():
            self._steps[self._index].redo()
            self._index += 1
            self.changed.emit()

    def clear(self) -> None:
        self._steps.clear()
        self._index = 0
        self._clean = 0
        self.changed.emit()

    def set_clean(self) -> None:
        """The current state is saved (e.g. written to a file): `is_clean()` until the next change."""
        self._clean = self._index
        self.changed.emit()

    def is_clean(self) -> bool:
        """The photo is as last saved (or opened): no step that changes it lies between then and now."""
        if self._clean is None:
            return False
        low, high = sorted((self._clean, self._index))
        return not any(step.changes_photo for step in self._steps[low:high])

    def can_undo(self) -> bool:
        return self._index > 0

    def can_redo(self) -> bool:
        return self._index < len(self._steps)

    def undo_text(self) -> str:
        return self._steps[self._index - 1].description if self.can_undo() else ""

    def redo_text(self) -> str:
        return self._steps[self._index].description if self.can_redo() else ""

    def count(self) -> int:
        return len(self._steps)

    def index(self) -> int:
        return self._index

    def text(self, i: int) -> str:
        return self._steps[i].description

    def nbytes(self) -> int:
        return sum(step.nbytes for step in self._steps)


class Document:
    """The open photo, its source, blur map and selection, and the undo history of its edits."""

    def __init__(self, history_budget: int = HISTORY_BYTES) -> None:
        self._photo: np.ndarray | None = None
        self._original: np.ndarray | None = None
        self.metadata = PhotoMetadata()  # the file's EXIF and ICC profile, kept when the photo is saved
        self._path: Path | None = None
        self._source: Hashable = None
        self._pixels_id = 0  # which pixels: 0 as opened, then one number per edit (undo restores it)
        self._blurmap: BlurMap | None = None
        self._selection: np.ndarray | None = None
        self.edit_generation = 0  # grows with every change of pixels (open, edit, undo, redo)
        self._edits = itertools.count(1)
        self.history = History(history_budget)
        self.opened = Event()  # another photo was opened, or the photo was closed
        self.photo_changed = Event()  # the pixels changed: open, close, edit, undo, redo
        self.blurmap_changed = Event()
        self.selection_changed = Event()

    @property
    def photo(self) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB, or None when no photo is open. Never changed in place."""
        return self._photo

    @property
    def original(self) -> np.ndarray | None:
        """The pixels as opened, whatever edits followed (the before/after comparison shows them)."""
        return self._original

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def blurmap(self) -> BlurMap | None:
        return self._blurmap

    @property
    def selection(self) -> np.ndarray | None:
        """float32 (H, W) alpha in [0, 1] aligned with the photo, or None."""
        return self._selection

    def content_key(self) -> Hashable:
        """Identifies the pixels, e.g. for a cache of detection results: the same for the same file
        as opened (its `source` key), and a different one for each edited state of it."""
        return (self._source,) if self._pixels_id == 0 else (self._source, "edited", self._pixels_id)

    def open(self, photo: np.ndarray, path: str | Path | None = None, source: Hashable = None,
             metadata: PhotoMetadata = PhotoMetadata()) -> None:
        """Take a new photo: the blur map, the selection and the history are cleared. `source`
        identifies the file version (e.g. path, modification time and size); without one, this
        photo counts as different from every other. `metadata`: the file's, for saving."""
        source = source if source is not None else ("unsaved", next(_unsaved))
        self._set(photo, Path(path) if path is not None else None, source, metadata)

    def close(self) -> None:
        self._set(None, None, None, PhotoMetadata())

    def _set(self, photo: np.ndarray | None, path: Path | None, source: Hashable, metadata: PhotoMetadata) -> None:
        self._photo, self._original, self._path, self._source = photo, photo, path, source
        self.metadata = metadata
        self._pixels_id = 0
        self._blurmap = None
        self._selection = None
        self.edit_generation += 1
        self.history.clear()
        self.opened.emit()
        self.photo_changed.emit()
        self.blurmap_changed.emit()
        self.selection_changed.emit()

    def set_blurmap(self, blurmap: BlurMap | None) -> None:
        if blurmap is not None and self._photo is not None and blurmap.shape != self._photo.shape[:2]:
            raise ValueError(f"blur map of size {blurmap.shape} does not match the photo {self._photo.shape[:2]}")
        self._blurmap = blurmap
        self.blurmap_changed.emit()

    def set_selection(self, alpha: np.ndarray | None) -> None:
        """Set the selection: float32 (H, W) in [0, 1] aligned with the photo, or None for no selection."""
        if alpha is not None:
            alpha = np.asarray(alpha, dtype=np.float32)
            if self._photo is None or alpha.shape != self._photo.shape[:2]:
                shape = None if self._photo is None else self._photo.shape[:2]
                raise ValueError(f"selection of shape {alpha.shape} does not match the photo {shape}")
        self._selection = alpha
        self.selection_changed.emit()

    def apply_edit(self, new_photo: np.ndarray, description: str) -> None:
        """Replace the pixels as one undoable step; the blur map and the selection are kept."""
        if self._photo is None:
            raise ValueError("no photo is open")
        new_photo = np.ascontiguousarray(new_photo)
        if new_photo.dtype != np.uint8 or new_photo.shape != self._photo.shape:
            raise ValueError(
                f"an edit must keep the photo's size and type {self._photo.shape} uint8, got {new_photo.shape} {new_photo.dtype}"
            )
        old, old_id, new_id = self._photo, self._pixels_id, next(self._edits)
        self._set_pixels(new_photo, new_id)
        # The step alone keeps `old` alive; `new` is the photo, or the step after this one's `old`.
        self.history.push(Step(description, lambda: self._set_pixels(old, old_id), lambda: self._set_pixels(new_photo, new_id), old.nbytes))

    def _set_pixels(self, photo: np.ndarray, pixels_id: int) -> None:
        self._photo, self._pixels_id = photo, pixels_id
        self.edit_generation += 1
        self.photo_changed.emit()
