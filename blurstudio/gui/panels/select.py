"""The Select panel: select the sharp subject (or a blur class) with a matted edge, refine it with a
brush, preview it four ways, save the matte or a cut-out, copy the cut-out to the clipboard.

All numerical work is a `blurstudio.edit.selection.Selector` of the photo and its map, run in workers.
Each change of the controls or of the strokes first solves a quick preview at reduced scale
(`Selector.preview`), then the full-resolution solve follows (`Selector.render`); its alpha becomes the editor's selection (`EditorContext.set_selection`), which other
panels (Magnify) use. Stale jobs are cancelled and their results dropped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from blurstudio.edit import matte
from blurstudio.edit import scribbles as scr
from blurstudio.edit.selection import Cancelled, Selector, warm_up
from blurstudio.edit.settings import SOLVERS, SelectSettings

from .base import BrushEvent, EditorContext, EditPanel, Step, WorkerJob
from .controls import SettingSlider, choice_box

PREVIEW_DELAY_MS = 60  # coalesce slider drags into one quick preview
FULL_DELAY_MS = 400  # the full-resolution solve starts when the controls have rested this long
EDGE_STEPS = 1000  # edge slider units per 1.0 of edge width (fraction of the photo size)
RANGE_STEPS = 100  # range slider units per 1.0 of threshold
BRUSH_FRACTIONS = (0.005, 0.1)  # brush radius range, fraction of the photo's short side
BRUSH_KEY_STEP = 5  # brush-size slider units per press of [ or ]

TARGET_LABELS = {
    "sharp": "Sharp subject",
    "motion": "Motion blur",
    "defocus": "Defocus blur",
    "blurred": "Any blur",
}
PREVIEW_LABELS = {
    "overlay": "Mask over photo",
    "black": "On black",
    "white": "On white",
    "checkerboard": "On checkerboard",
    "alpha": "Matte",
}
BRUSH_MODES = (
    ("Add", scr.SCRIBBLE_INSIDE, "Paint what must be selected"),
    ("Subtract", scr.SCRIBBLE_OUTSIDE, "Paint what must not be selected"),
    ("Refine edge", scr.SCRIBBLE_UNKNOWN, "Paint over hair or fuzzy edges: the matting decides"),
)


@dataclass
class _Result:
    generation: int
    alpha: np.ndarray  # float32 alpha of `photo`
    photo: np.ndarray  # the (possibly reduced) photo it belongs to
    scribbles: np.ndarray | None  # strokes at the same size, for the overlay
    message: str
    full: bool  # full resolution


def _solve(selector: Selector, settings: SelectSettings, scribbles: np.ndarray | None, full: bool, cancel) -> tuple:
    """Worker: (photo used, scribbles used, Selection): the quick preview, or the full resolution."""
    if full:
        return selector.photo, scribbles, selector.render(settings, scribbles, cancel=cancel)
    return selector.preview(settings, scribbles, cancel)


def _write_matte(path: Path, alpha: np.ndarray, bits: int, protect: list[Path]) -> Path:
    from blurstudio.images import write_image

    return write_image(path, matte.alpha_image(alpha, bits), protect=protect)


def _write_cutout(path: Path, photo: np.ndarray, alpha: np.ndarray, protect: list[Path]) -> Path:
    from blurstudio.images import write_image

    return write_image(path, matte.cutout(photo, alpha), protect=protect)


class SelectPanel(EditPanel):
    """Target, range, edge width, solver; brush add / subtract / refine, each stroke a step of the
    document's undo history; four previews; save matte, save cut-out, copy."""

    title = "Select"
    has_brush = True

    def __init__(self, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.scribbles: np.ndarray | None = None  # uint8 (H, W) SCRIBBLE_* codes at full resolution
        self.selector: Selector | None = None  # of the current photo and blur map, made on first use
        self.result: _Result | None = None  # the latest shown result (quick or full)
        self.full: _Result | None = None  # the latest full-resolution result
        self.generation = 0  # grows with every change of inputs or settings
        self._jobs: list[tuple[WorkerJob, threading.Event]] = []
        self._preview_job: WorkerJob | None = None
        self._stroke_before: np.ndarray | None = None
        self._stroke_box: list[int] | None = None
        self._last_point: tuple[float, float] | None = None

        self.target = choice_box(SelectSettings, "target", TARGET_LABELS)
        self.target.setToolTip("What to select: the sharp subject, or the motion- / defocus-blurred parts")
        self.range = SettingSlider(SelectSettings, "threshold", RANGE_STEPS, reverse=True)
        self.range.setToolTip("Range: higher selects more (a lower probability of the target is enough)")
        self.range_label = QLabel()
        self.edge = SettingSlider(SelectSettings, "edge_width", EDGE_STEPS)
        self.edge.setToolTip("Width of the refined edge band (share of the photo size); 0 = the blur map's hard edge")
        self.edge_label = QLabel()
        self.solver = choice_box(SelectSettings, "solver", {k: text[0].upper() + text[1:] for k, text in SOLVERS.items()})
        self.solver.setToolTip("The pymatting algorithm that computes the soft edge (closed-form is fast and good)")
        self.view = QComboBox()
        for key, label in PREVIEW_LABELS.items():
            self.view.addItem(label, key)

        self.brush = QPushButton("Brush")
        self.brush.setCheckable(True)
        self.brush.setToolTip("Paint on the photo (B); Alt or the right button erases strokes; [ and ] change the size; "
                              "Ctrl+Z undoes a stroke")
        self.brush_modes = QButtonGroup(self)
        mode_row = QHBoxLayout()
        for i, (label, code, tip) in enumerate(BRUSH_MODES):
            button = QRadioButton(label)
            button.setToolTip(tip)
            self.brush_modes.addButton(button, code)
            mode_row.addWidget(button)
            if i == 0:
                button.setChecked(True)
        self.brush_size = QSlider(Qt.Orientation.Horizontal)
        self.brush_size.setRange(1, 100)
        self.brush_size.setValue(20)
        self.brush_size.setToolTip("Brush size ([ smaller, ] larger)")
        self.brush_size_label = QLabel()
        self.clear_button = QPushButton("Clear strokes")

        self.bits16 = QCheckBox("16-bit matte")
        self.save_matte_button = QPushButton("Save matte…")
        self.save_cutout_button = QPushButton("Save cut-out…")
        self.copy_button = QPushButton("Copy cut-out")

        form = QFormLayout()
        form.addRow("Select", self.target)
        range_row = QHBoxLayout()
        range_row.addWidget(self.range, 1)
        range_row.addWidget(self.range_label)
        form.addRow("Range", range_row)
        edge_row = QHBoxLayout()
        edge_row.addWidget(self.edge, 1)
        edge_row.addWidget(self.edge_label)
        form.addRow("Edge width", edge_row)
        form.addRow("Matting", self.solver)
        form.addRow("Preview", self.view)
        brush_row = QHBoxLayout()
        brush_row.addWidget(self.brush)
        brush_row.addWidget(self.brush_size, 1)
        brush_row.addWidget(self.brush_size_label)
        history_row = QHBoxLayout()
        history_row.addWidget(self.clear_button)
        history_row.addStretch(1)
        save_row = QHBoxLayout()
        for b in (self.save_matte_button, self.save_cutout_button):
            save_row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(brush_row)
        layout.addLayout(mode_row)
        layout.addLayout(history_row)
        layout.addLayout(save_row)
        copy_row = QHBoxLayout()
        copy_row.addWidget(self.copy_button)
        copy_row.addWidget(self.bits16)
        layout.addLayout(copy_row)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self._quick_timer = self.make_preview_timer(PREVIEW_DELAY_MS, self._start_quick)
        self._full_timer = self.make_preview_timer(FULL_DELAY_MS, self._start_full)

        for slider in (self.range, self.edge):
            slider.valueChanged.connect(self._settings_changed)
        self.target.currentIndexChanged.connect(self._settings_changed)
        self.solver.currentIndexChanged.connect(self._settings_changed)
        self.view.currentIndexChanged.connect(self._show_result)
        self.brush.toggled.connect(self._brush_toggled)
        self.brush_size.valueChanged.connect(self._brush_size_changed)
        self.clear_button.clicked.connect(self.clear_strokes)
        self.save_matte_button.clicked.connect(self._save_matte_clicked)
        self.save_cutout_button.clicked.connect(self._save_cutout_clicked)
        self.copy_button.clicked.connect(self.copy_cutout)
        context.photo_opened.connect(self._photo_opened)
        context.photo_changed.connect(self._inputs_changed)
        context.blurmap_changed.connect(self._inputs_changed)
        self._update_labels()
        self._update_enabled()
        context.run_in_worker(warm_up, on_error=lambda e: None)  # the first solve need not wait for it

    # --- settings -------------------------------------------------------------------------------
    def settings(self) -> SelectSettings:
        """The selection settings chosen in the panel."""
        return SelectSettings(target=self.target.currentData(), threshold=self.range.setting(),
                              edge_width=self.edge.setting(), solver=self.solver.currentData())

    def _update_labels(self) -> None:
        self.range_label.setText(f"{self.range.value()}")
        self.edge_label.setText(f"{100 * self.edge.setting():.1f}%")
        self.brush_size_label.setText(f"{2 * self.brush_radius():.0f} px" if self.context.photo is not None else "")

    def _update_enabled(self) -> None:
        ready = self.inputs_ready()
        for w in (self.target, self.range, self.edge, self.solver, self.view, self.brush, self.brush_size):
            w.setEnabled(ready)
        for b in self.brush_modes.buttons():
            b.setEnabled(ready)
        self.clear_button.setEnabled(ready and self.scribbles is not None and bool(self.scribbles.any()))
        have_full = ready and self.full is not None and self.full.generation == self.generation
        for b in (self.save_matte_button, self.save_cutout_button, self.copy_button):
            b.setEnabled(have_full and not self.busy())
        self.show_input_notice()

    # --- lifecycle ------------------------------------------------------------------------------
    def activate(self) -> None:
        super().activate()
        if self.brush.isChecked():
            self._begin_brush()
        if self.result is not None and self.result.generation == self.generation:
            self._show_result()
        else:
            self._schedule()

    def deactivate(self) -> None:
        super().deactivate()
        self._quick_timer.stop()
        # the full-resolution solve may finish in the background: the selection stays useful

    def _photo_opened(self) -> None:
        photo = self.context.photo
        self.scribbles = None if photo is None else np.zeros(photo.shape[:2], np.uint8)  # the history is cleared too
        self._update_labels()
        self._inputs_changed()

    def _inputs_changed(self) -> None:
        photo = self.context.photo
        self.selector = None
        if photo is not None and (self.scribbles is None or self.scribbles.shape != photo.shape[:2]):
            self.scribbles = np.zeros(photo.shape[:2], np.uint8)
        self._invalidate()

    def _settings_changed(self) -> None:
        self._update_labels()
        self._invalidate()

    def strokes_changed(self) -> None:
        """The scribbles changed (a stroke, undo, redo, clear)."""
        self._invalidate()

    def _invalidate(self) -> None:
        self.generation += 1
        self._cancel_jobs()
        self._update_enabled()
        self._schedule()

    # --- solving --------------------------------------------------------------------------------
    def _schedule(self) -> None:
        # Only while the panel is shown: opening a photo or editing it elsewhere starts no matting.
        # A full-resolution solve already under way finishes when the panel is left.
        if self.inputs_ready() and self.active:
            self._quick_timer.start()
            self._full_timer.start()

    def _cancel_jobs(self) -> None:
        for job, cancel in self._jobs:
            self.stop_job(job, cancel)
        self._jobs = []

    def _run(self, full: bool) -> WorkerJob:
        ctx = self.context
        if self.selector is None:
            self.selector = Selector(ctx.photo, ctx.blurmap)  # cheap: it prepares in the first worker
        cancel = threading.Event()
        generation = self.generation
        scribbles = None if self.scribbles is None or not self.scribbles.any() else self.scribbles.copy()
        job = ctx.run_in_worker(
            _solve, self.selector, self.settings(), scribbles, full, cancel.is_set,
            on_result=lambda r, g=generation: self._solved(r, g, full),
            on_error=self._failed,
        )
        self._jobs.append((job, cancel))
        return job

    def _start_quick(self) -> None:
        if self.inputs_ready() and self.active:
            self.status.setText("Previewing…")
            self._run(full=False)

    def _start_full(self) -> None:
        if self.inputs_ready():
            self.status.setText("Refining at full resolution…")
            self._run(full=True)

    def _solved(self, value: tuple, generation: int, full: bool) -> None:
        photo, scribbles, result = value
        if generation != self.generation:
            return
        if not full and self.full is not None and self.full.generation == generation:
            return  # the full-resolution result came first
        self.result = _Result(generation, result.alpha, photo, scribbles, result.message, full)
        if full:
            self.full = self.result
            self.context.set_selection(result.alpha)
            self.status.setText(result.message or f"{100 * result.fraction:.1f}% of the photo selected.")
        else:
            self.status.setText((result.message + " " if result.message else "") + "Refining at full resolution…")
        self._update_enabled()
        self._show_result()

    def _show_result(self) -> None:
        r = self.result
        if not self.active or r is None:
            return
        if self._preview_job is not None:
            self._preview_job.discard()
        mode = self.view.currentData()
        self._preview_job = self.context.run_in_worker(
            matte.preview, r.photo, r.alpha, mode, scribbles=r.scribbles,
            on_result=lambda image, g=r.generation: self._show(image, g), on_error=self._failed,
        )

    def _show(self, image: np.ndarray, generation: int) -> None:
        if self.active and generation == self.generation:
            self.context.show_preview(image)

    def _failed(self, error: BaseException) -> None:
        if not isinstance(error, Cancelled):  # a stale solve stopped on purpose
            self.report_failure("Selection failed", error)

    # --- brush ----------------------------------------------------------------------------------
    def brush_radius(self) -> float:
        photo = self.context.photo
        if photo is None:
            return 1.0
        lo, hi = BRUSH_FRACTIONS
        fraction = lo + (hi - lo) * (self.brush_size.value() - 1) / 99.0
        return max(1.0, fraction * min(photo.shape[:2]))

    def _brush_toggled(self, on: bool) -> None:
        if on and self.active:
            self._begin_brush()
        elif not on:
            self.context.end_brush()

    def set_brush_on(self, on: bool) -> None:
        """Turn the brush on or off (the window's B key)."""
        self.brush.setChecked(on)

    def brush_on(self) -> bool:
        return self.brush.isChecked()

    def _begin_brush(self) -> None:
        self.context.begin_brush(self.on_brush, self.brush_radius(), resize=self._resize_brush)

    def _resize_brush(self, steps: int) -> None:
        self.brush_size.setValue(self.brush_size.value() + steps * BRUSH_KEY_STEP)
        self.context.notify(f"Brush size {self.brush_size_label.text()}", 1500)

    def _brush_size_changed(self) -> None:
        self._update_labels()
        if self.brush.isChecked():
            self.context.set_brush_radius(self.brush_radius())

    def brush_code(self) -> int:
        return self.brush_modes.checkedId()

    def on_brush(self, event: BrushEvent) -> None:
        """A canvas brush event in photo coordinates: paint the strokes; one undo step per stroke."""
        if self.scribbles is None:
            return
        point = (event.x, event.y)
        if event.phase == "press" or self._stroke_before is None:
            self._stroke_before = self.scribbles.copy()
            self._stroke_box = None
            self._last_point = point
        code = scr.SCRIBBLE_NONE if event.erase else self.brush_code()
        box = scr.draw_stroke(self.scribbles, self._last_point or point, point, self.brush_radius(), code)
        self._last_point = point
        if self._stroke_box is None:
            self._stroke_box = list(box)
        else:
            b = self._stroke_box
            self._stroke_box = [min(b[0], box[0]), max(b[1], box[1]), min(b[2], box[2]), max(b[3], box[3])]
        if event.phase == "release":
            self._finish_stroke()

    def _finish_stroke(self) -> None:
        y0, y1, x0, x1 = self._stroke_box
        before = self._stroke_before[y0:y1, x0:x1].copy()
        after = self.scribbles[y0:y1, x0:x1].copy()
        self._stroke_before = None
        self._last_point = None
        if np.array_equal(before, after):
            return
        self._record("Brush stroke", (y0, y1, x0, x1), before, after)

    def clear_strokes(self) -> None:
        if self.scribbles is None or not self.scribbles.any():
            return
        before = self.scribbles.copy()
        self.scribbles[:] = scr.SCRIBBLE_NONE
        H, W = before.shape
        self._record("Clear strokes", (0, H, 0, W), before, self.scribbles.copy())

    def _record(self, description: str, box: tuple[int, int, int, int], before: np.ndarray, after: np.ndarray) -> None:
        """A change of the strokes already made: one step of the document's undo history (Ctrl+Z)."""
        self.context.push_step(Step(description, lambda: self._put(box, before), lambda: self._put(box, after),
                                    before.nbytes + after.nbytes, changes_photo=False))
        self.strokes_changed()

    def _put(self, box: tuple[int, int, int, int], patch: np.ndarray) -> None:
        y0, y1, x0, x1 = box
        if self.scribbles is not None and self.scribbles[y0:y1, x0:x1].shape == patch.shape:
            self.scribbles[y0:y1, x0:x1] = patch
            self.strokes_changed()

    # --- outputs --------------------------------------------------------------------------------
    def _save_matte_clicked(self) -> None:
        path = self.ask_save_path("Save matte", "_matte.png", "PNG (*.png);;TIFF (*.tif *.tiff)")
        if path:
            self.save_matte_to(path)

    def _save_cutout_clicked(self) -> None:
        path = self.ask_save_path("Save cut-out", "_cutout.png", "PNG (*.png)")
        if path:
            self.save_cutout_to(path)

    def _can_save(self) -> bool:
        return self.full is not None and self.full.generation == self.generation and not self.busy()

    def save_matte_to(self, path: str | Path) -> WorkerJob | None:
        """Write the full-resolution matte (8 or 16 bits) to `path` (.png or .tif; atomic; never over the photo)."""
        if not self._can_save():
            return None
        path = Path(path)
        if path.suffix.lower() not in (".png", ".tif", ".tiff"):
            path = path.with_suffix(".png")
        return self.run_file_job(_write_matte, path, self.full.alpha, 16 if self.bits16.isChecked() else 8)

    def save_cutout_to(self, path: str | Path) -> WorkerJob | None:
        """Write the selected pixels with estimated foreground colours as an RGBA PNG."""
        if not self._can_save():
            return None
        return self.run_file_job(_write_cutout, Path(path).with_suffix(".png"), self.context.photo, self.full.alpha)

    def copy_cutout(self) -> WorkerJob | None:
        """Put the cut-out (RGBA, foreground colours) on the clipboard."""
        if not self._can_save():
            return None
        return self.run_full_job(matte.cutout, self.context.photo, self.full.alpha, status="Copying the cut-out…",
                                 on_result=self._copied, error_title="Could not save")

    def _copied(self, rgba: np.ndarray) -> None:
        rgba = np.ascontiguousarray(rgba)
        h, w = rgba.shape[:2]
        image = QImage(rgba.data, w, h, rgba.strides[0], QImage.Format.Format_RGBA8888).copy()  # own the pixels
        QGuiApplication.clipboard().setImage(image)
        self.status.setText("Cut-out copied to the clipboard.")
        self.context.notify("Cut-out copied to the clipboard")
