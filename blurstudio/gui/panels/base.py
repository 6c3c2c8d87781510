"""The plug-in point for editing panels (selection, magnify, deblur, ...).

How to write a panel
--------------------
1. Subclass `EditPanel` in a module of this package, e.g. `blurstudio/gui/panels/magnify.py`::

       class MagnifyPanel(EditPanel):
           title = "Magnify"

           def __init__(self, context: EditorContext, parent=None):
               super().__init__(context, parent)
               self.amount = QSlider(Qt.Horizontal)
               self.apply_button = QPushButton("Apply")
               ...                                         # layout: your controls and self.status
               self._timer = self.make_preview_timer(60, self._preview)
               self.amount.valueChanged.connect(self._timer.start)
               self.apply_button.clicked.connect(self.apply)
               context.blurmap_changed.connect(self._update_enabled)

           def activate(self):
               super().activate()                          # sets self.active
               self._timer.start()

           def _update_enabled(self):
               self.apply_button.setEnabled(self.inputs_ready() and not self.busy())
               self.show_input_notice()                    # "Open a photo." / "Waiting for the blur map …"

           def _preview(self):
               ctx = self.context
               if not self.active or not self.inputs_ready():
                   return
               # numerical work runs off the GUI thread; callbacks come back on the GUI thread
               ctx.run_in_worker(magnify, ctx.photo, ctx.blurmap, self.amount.value(),
                                 on_result=ctx.show_preview)

           def apply(self):
               return self.apply_in_worker(magnify, ..., status="Rendering…",
                                           description="Magnify blur", error_title="Magnify failed")

2. Register it with one line in `panels/__init__.py`: `PANELS.append(MagnifyPanel)`.
   The main window shows every registered panel as a tab in the right-hand "Edit" dock.

What `EditPanel` gives a panel
------------------------------
- `context` (below); `active` (between `activate()` and `deactivate()`; call `super()` when you override
  them); `status`, a word-wrapped QLabel for the panel's state (put it in your layout).
- Hooks to override: `_update_enabled()` (enable what can be used now; called when a job ends) and
  `_inputs_changed()` (the photo or blur map changed).
- `reset_settings()`: every `SettingSlider` and `choice_box` of the panel back to its default; the window
  calls it when another photo opens (unless the user keeps settings between photos).
- `inputs_ready()`; `show_input_notice()`: the "Open a photo." / "Waiting for the blur map" notice in
  `status`, replaced by "Ready." when the inputs arrive.
- `make_preview_timer(delay_ms, slot)`: a single-shot timer that coalesces a slider drag into one preview.
- `stop_job(job, cancel)`: stop a stale preview job (sets its cancel flag, drops its result).
- `report_failure(title, error)`: clear the status, re-enable the controls, show the error.
- One long job at a time (`full_job`, `busy()`): `apply_in_worker(fn, *args, status=, description=,
  error_title=)` computes the edited photo and applies it as one undoable step;
  `run_file_job(fn, path, *args, ...)` writes a file (never over the photo; status text and a status-bar
  notice when done); `run_full_job(...)` for anything else (Select's copy to the clipboard);
  `ask_save_path(title, suffix, filters)` asks where to save, starting in the photo's folder (then where
  the panel last saved).
- For a panel that previews an edit of the photo: connect `photo_changed` to `_photo_edited` (after
  Apply, Undo or Redo `paused` is set, so the result is not edited again automatically; clear it when a
  control is touched) and the blur map's (or another input's) change to `_inputs_replaced`.

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
- `begin_brush(callback, radius=None, resize=None)` / `end_brush()`: while a brush is active, left-button
  drags on the canvas are not panning but call `callback(BrushEvent)` with image coordinates (x right, y
  down, in photo pixels); `erase` is True with Alt held or the right button. `set_brush_radius(r)` resizes
  the cursor ring; `resize(steps)` is called by the `[` (-1) and `]` (+1) keys. A panel with a brush sets
  `has_brush = True` and overrides `set_brush_on(on)` / `brush_on()`: the `B` key toggles it.
- `push_step(Step(description, undo, redo, nbytes, changes_photo=False))`: record a change the panel made
  (a brush stroke) in the document's one undo history, so Ctrl+Z / Ctrl+Shift+Z undo and redo it.
- `compare_original(on)`: show the photo as opened instead of everything else (a "Hold to compare" button).
- `notify(text)`: a short message in the status bar; `report_error(title, text)`: an error dialog.

Rules: no numerical code in panels (put it in `blurstudio.edit.*` with NumPy in and out); never block the
GUI thread with work proportional to the photo size; keep references to jobs only as long as needed.
The window calls `activate()` when the user starts using your panel (selects its tab, or clicks or focuses a
control in it; never at startup, so the blur map shows first) and `deactivate()` when the user leaves it
(another tab, or the Blur map controls); after deactivate() it clears the preview and ends the brush itself.
Show previews only while active.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from ..context import BrushEvent, EditorContext, Step, WorkerJob
from .controls import SettingChoice, SettingSlider

__all__ = ["BrushEvent", "EditorContext", "EditPanel", "Step", "WorkerJob"]

OPEN_NOTICE = "Open a photo."
WAITING_NOTICE = "Waiting for the blur map (detect blur first)."


class EditPanel(QWidget):
    """Base class of an editing panel: a widget shown as a tab in the right-hand Edit dock."""

    title: str = "Edit"
    has_brush: bool = False  # the panel paints on the photo: the B key turns its brush on and off

    def __init__(self, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.active = False  # between activate() and deactivate(): previews may be shown
        self.paused = False  # see _photo_edited
        self.full_job: WorkerJob | None = None  # the one long job: apply, export, save or copy
        self.export_folder: str | None = None  # where the panel last saved; before that, the photo's folder
        self.status = QLabel()  # the panel's state in a line or two; put it in your layout
        self.status.setWordWrap(True)
        self._prep_job: WorkerJob | None = None  # see prepare_session
        self._prep_generation = 0  # grows with every change of the inputs: older preparations are dropped

    # --- lifecycle ------------------------------------------------------------------------------
    def activate(self) -> None:
        """The user started using this panel (chose its tab, or clicked or focused a control in it)."""
        self.active = True
        self.paused = False

    def deactivate(self) -> None:
        """The user left this panel; the window then clears the preview and ends the brush."""
        self.active = False

    def reset_settings(self) -> None:
        """Every setting control of the panel back to its default (a new photo starts afresh)."""
        for control in [*self.findChildren(SettingSlider), *self.findChildren(SettingChoice)]:
            control.reset()

    def set_brush_on(self, on: bool) -> None:
        """Turn the panel's brush on or off (panels with `has_brush`)."""

    def brush_on(self) -> bool:
        return False

    def _update_enabled(self) -> None:
        """Enable the controls that can be used now; the helpers below call it when a job ends."""

    def _inputs_changed(self) -> None:
        """The photo or the blur map changed: drop what was computed from them."""

    def _photo_edited(self) -> None:
        """Connect `photo_changed` here in a panel that previews an edit of the photo.

        After Apply, Undo or Redo the photo on screen is the result to look at: an automatic preview
        would edit the edited photo again, so `paused` is set until a control is touched."""
        self.paused = True
        if self.active:
            self.context.show_preview(None)
        self._inputs_changed()

    def _inputs_replaced(self) -> None:
        """New inputs of the edit (a new blur map, another subject): automatic previews resume."""
        self.paused = False
        self._inputs_changed()

    # --- helpers --------------------------------------------------------------------------------
    def inputs_ready(self) -> bool:
        """A photo and its blur map are there: the panel can work."""
        return self.context.photo is not None and self.context.blurmap is not None

    def show_input_notice(self) -> None:
        """Say in `status` what the panel waits for, and drop that notice once the inputs are there
        (the map may arrive while the panel is not in use, and then nothing else rewrites the status)."""
        ctx = self.context
        if ctx.photo is None:
            self.status.setText(OPEN_NOTICE)
        elif ctx.blurmap is None:
            self.status.setText(WAITING_NOTICE)
        elif self.status.text() in (OPEN_NOTICE, WAITING_NOTICE):
            self.status.setText("Ready.")

    def make_preview_timer(self, delay_ms: int, slot: Callable[[], None]) -> QTimer:
        """A single-shot timer that calls `slot` once the controls have rested `delay_ms`: `start()` it
        on every change, so that a slider drag starts one preview job instead of dozens."""
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(delay_ms)
        timer.timeout.connect(slot)
        return timer

    @staticmethod
    def stop_job(job: WorkerJob | None, cancel: threading.Event | None) -> None:
        """Stop a stale job: ask it to end early (the flag its `cancel` callback reads) and drop its result."""
        if cancel is not None:
            cancel.set()
        if job is not None:
            job.discard()

    # --- a session prepared once per inputs (Magnifier, Deblurrer): the newest inputs win ---------
    def drop_preparation(self) -> None:
        """The inputs changed: a session being prepared is for the old ones; forget it."""
        self._prep_generation += 1
        if self._prep_job is not None:
            self._prep_job.discard()
            self._prep_job = None

    def ensure_session(self, session: Any, use: Callable[[], None], status: str, fn: Callable[..., Any], *args: Any,
                       on_ready: Callable[[Any], None], on_error: Callable[[BaseException], None], **kwargs: Any) -> None:
        """With the inputs there: `use()` the panel's `session` if it is prepared, else build it as
        `fn(*args, **kwargs)` in a worker (unless that is on its way); `on_ready(session)` runs on the
        GUI thread only if the inputs have not changed meanwhile."""
        if not self.inputs_ready():
            self._update_enabled()
            return
        if session is not None:
            use()
            return
        if self._prep_job is not None and self._prep_job.running:
            return  # a preparation of these inputs is on its way (a change of them drops it)
        self.status.setText(status)
        generation = self._prep_generation
        self._prep_job = self.context.run_in_worker(
            fn, *args, **kwargs, on_error=on_error,
            on_result=lambda session: on_ready(session) if generation == self._prep_generation else None,
        )

    def report_failure(self, title: str, error: BaseException) -> None:
        """A job failed: clear the status, re-enable the controls and show the error to the user."""
        self.status.setText("")
        self._update_enabled()
        self.context.report_error(title, str(error))

    def busy(self) -> bool:
        """The full job is running: the buttons that would start another stay disabled."""
        return self.full_job is not None and self.full_job.running

    def run_full_job(self, fn: Callable[..., Any], *args: Any, status: str, on_result: Callable[[Any], None],
                     error_title: str, **kwargs: Any) -> WorkerJob:
        """Run `fn(*args, **kwargs)` in a worker as the panel's one long job, showing `status` meanwhile;
        then `on_result(value)`, or the error reported under `error_title`. Returns the job (`full_job`)."""
        self.status.setText(status)
        self.full_job = self.context.run_in_worker(
            fn, *args, **kwargs,
            on_result=lambda value: self._full_job_done(value, on_result),
            on_error=lambda error: self._full_job_failed(error, error_title),
        )
        self._update_enabled()
        return self.full_job

    def _full_job_done(self, value: Any, on_result: Callable[[Any], None]) -> None:
        self.full_job = None  # first: the job still counts as running while its result is delivered
        on_result(value)
        self._update_enabled()

    def _full_job_failed(self, error: BaseException, title: str) -> None:
        self.full_job = None
        self.report_failure(title, error)

    def apply_in_worker(self, fn: Callable[..., np.ndarray], *args: Any, status: str, description: str,
                        error_title: str, **kwargs: Any) -> WorkerJob:
        """Compute the edited photo `fn(*args, **kwargs)` as the full job, then replace the photo with it
        as one undoable step named `description`."""
        return self.run_full_job(fn, *args, status=status, error_title=error_title,
                                 on_result=lambda image: self._apply_result(image, description), **kwargs)

    def _apply_result(self, image: np.ndarray, description: str) -> None:
        self.status.setText("")
        if self.context.photo is not None and image.shape == self.context.photo.shape:  # else another photo was opened
            self.context.apply_edit(image, description)
            self.context.notify(f"{description} applied (Ctrl+Z to undo)")

    def ask_save_path(self, title: str, suffix: str, filters: str) -> str:
        """Ask where to save (the dialog asks before replacing a file); starts where the panel last saved,
        else in the photo's folder, with the photo's name plus `suffix`. Returns "" when cancelled."""
        source = self.context.photo_path
        folder = self.export_folder or (str(source.parent) if source is not None else str(Path.home()))
        start = str(Path(folder) / f"{source.stem if source is not None else 'photo'}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, title, start, filters)
        return path

    def run_file_job(self, fn: Callable[..., Path], path: Path, *args: Any, doing: str = "Saving", done: str = "Saved",
                     notice: str = "Saved {path}", error_title: str = "Could not save") -> WorkerJob:
        """Write a file as the full job: `fn(path, *args, protect)` writes it and returns the path written;
        `protect` lists the photo's file, which must never be replaced. The status says "{doing} name…",
        then "{done} name"; `notice` ({path}: the path written) goes to the status bar. The next save
        dialog starts in the same folder."""
        self.export_folder = str(path.parent)
        protect = [self.context.photo_path] if self.context.photo_path is not None else []  # never over the photo
        return self.run_full_job(
            fn, path, *args, protect, status=f"{doing} {path.name}…", error_title=error_title,
            on_result=lambda written: self._file_written(written, done, notice),
        )

    def _file_written(self, path: Path, done: str, notice: str) -> None:
        self.status.setText(f"{done} {path.name}")
        self.context.notify(notice.format(path=path))
