"""The plug-in point for editing panels (selection, magnify, deblur, ...).

How to write a panel
--------------------
1. Subclass `EditPanel` in a module of this package, e.g. `blurstudio/gui/panels/magnify.py`::

       class MagnifyPanel(EditPanel):
           title = "Magnify"

           def __init__(self, context: EditorContext, parent=None):
               super().__init__(context, parent)
               self.amount = QSlider(Qt.Horizontal)
               ...
               context.blurmap_changed.connect(self._refresh)

           def _preview(self):
               ctx = self.context
               if ctx.photo is None or ctx.blurmap is None:
                   return
               # numerical work runs off the GUI thread; callbacks come back on the GUI thread
               ctx.run_in_worker(magnify, ctx.photo, ctx.blurmap, self.amount.value(),
                                 on_result=ctx.show_preview)

           def _apply(self):
               ctx.run_in_worker(magnify, ..., on_result=lambda img: ctx.apply_edit(img, "Magnify blur"))

2. Register it with one line in `panels/__init__.py`: `PANELS.append(MagnifyPanel)`.
   The main window shows every registered panel as a tab in the right-hand "Edit" dock.

What the `EditorContext` gives a panel
--------------------------------------
- `photo` (H, W, 3) uint8 RGB or None, `photo_path`, and `blurmap` (BlurMap aligned with the photo, or None
  while detection has not finished). Signals: `photo_opened` (a different photo was opened: reset your
  state), `photo_changed` (the pixels changed: open, edit, undo or redo), `blurmap_changed`.
- `selection`: float32 (H, W) alpha in [0, 1] or None; `set_selection(alpha)`; signal `selection_changed`.
  The selection panel sets it, other panels (magnify) read it.
- `run_in_worker(fn, *args, on_result=..., on_error=..., **kwargs) -> WorkerJob`: runs `fn(*args, **kwargs)`
  in a thread pool; `on_result(value)` / `on_error(exception)` are called on the GUI thread. Without
  `on_error` the error is shown to the user in a dialog. `job.discard()` drops a stale result.
- `show_preview(image)`: show a processed (H, W, 3) uint8 image on the canvas instead of the photo (the
  before/after split view compares it with the photo); `show_preview(None)` restores the normal view.
- `apply_edit(new_photo, description)`: replace the photo (same size) as one undoable step
  (Edit > Undo, Ctrl+Z / Ctrl+Shift+Z). The blur map is kept; the preview is cleared.
- `begin_brush(callback, radius=None)` / `end_brush()`: while a brush is active, left-button drags on the
  canvas are not panning but call `callback(BrushEvent)` with image coordinates (x right, y down, in photo
  pixels); `erase` is True with Alt held or the right button. `set_brush_radius(r)` resizes the cursor ring.
- `notify(text)`: a short message in the status bar; `report_error(title, text)`: an error dialog.

Rules: no numerical code in panels (put it in `blurstudio.edit.*` with NumPy in and out); never block the
GUI thread with work proportional to the photo size; keep references to jobs only as long as needed.
The window calls `activate()` when the user starts using your panel (selects its tab, or clicks or focuses a
control in it; never at startup, so the blur map shows first) and `deactivate()` when the user leaves it
(another tab, or the Blur map controls); after deactivate() it clears the preview and ends the brush itself.
Show previews only while active.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ..context import BrushEvent, EditorContext, WorkerJob

__all__ = ["BrushEvent", "EditorContext", "EditPanel", "WorkerJob"]


class EditPanel(QWidget):
    """Base class of an editing panel: a widget shown as a tab in the right-hand Edit dock."""

    title: str = "Edit"

    def __init__(self, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context

    def activate(self) -> None:
        """The user started using this panel (chose its tab, or clicked or focused a control in it)."""

    def deactivate(self) -> None:
        """The user left this panel; the window then clears the preview and ends the brush."""
