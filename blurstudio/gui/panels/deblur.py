"""The Deblur panel: the estimated blur kernel of each region (radius, length and angle can be set by
hand), a before/after loupe, a whole-photo preview with a before/after toggle, apply with undo.

All numerical work is a `blurstudio.edit.deblur.Deblurrer`, run in workers: made (kernels estimated)
once per photo / blur map / region choice, then a loupe crop per change of the controls or of the
loupe position (stale ones cancelled), optionally the whole photo as a canvas preview, and the
full-resolution Apply.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from blurstudio.edit.deblur import BlurKernel, Cancelled, Deblurrer, kernel_image, loupe_box
from blurstudio.edit.settings import DeblurSettings

from .base import BrushEvent, EditorContext, EditPanel, WorkerJob
from .controls import SettingChoice, SettingSlider

LOUPE_SIZE = 160  # photo pixels shown 1:1 in each half of the loupe
KERNEL_VIEW = 96  # px of a kernel picture
STRENGTH_STEPS = 100  # slider units per 1.0 of strength
SMOOTH_STEPS = 86  # smoothness slider units from its low to its high end (about 10 per doubling)
PREVIEW_DELAY_MS = 80  # coalesce slider drags into one preview
REGIONS = (("Auto (by blur map)", "auto"), ("All blur as motion", "motion"), ("All blur as defocus", "defocus"))
METHOD_LABELS = {"wiener": "Wiener (fast)", "rl": "Richardson-Lucy (fewer halos)"}
# Kernel overrides: slider units per px (or degree), and where a slider rests before an estimate.
OVERRIDES = {"radius": (4, 4.0, "px"), "length": (2, 15.0, "px"), "angle": (1, 90.0, "\N{DEGREE SIGN}")}
ESTIMATED = {"radius": ("defocus", "radius"), "length": ("motion", "length"), "angle": ("motion", "angle")}


class OverrideSlider(SettingSlider):
    """A slider over a kernel parameter whose default (None) means "as estimated": it shows the
    estimate until the user moves it, and `reset` returns it to the estimate."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.manual = False  # moved by the user: the setting is the slider's value, not None
        self.estimate: float | None = None
        steps, self.rest, self.unit = OVERRIDES[name]
        super().__init__(DeblurSettings, name, steps)
        self.valueChanged.connect(self._moved)

    def set_setting(self, value: float | None) -> None:
        if value is None:  # the automatic default: rest at the estimate (or mid-range) without overriding
            self.show_estimate(self.estimate)
            return
        super().set_setting(value)

    def reset(self) -> None:
        self.show_estimate(self.estimate)

    def show_estimate(self, value: float | None) -> None:
        """Back to automatic, the slider resting at the estimate `value` (None: not known yet)."""
        self.estimate = value
        self.blockSignals(True)  # not a user change
        super().set_setting(self.rest if value is None else min(max(value, self.low), self.high))
        self.blockSignals(False)
        self.manual = False

    def _moved(self) -> None:
        self.manual = True

    def override(self) -> float | None:
        return self.setting() if self.manual else None

    def caption(self) -> str:
        if self.manual:
            return f"{self.setting():.1f} {self.unit}".replace(" \N{DEGREE SIGN}", "\N{DEGREE SIGN}")
        if self.estimate is None:
            return "auto"
        return f"auto {self.estimate:.1f} {self.unit}".replace(" \N{DEGREE SIGN}", "\N{DEGREE SIGN}")


def _prepare(photo: np.ndarray, blurmap, region: str) -> tuple[Deblurrer, tuple[int, int]]:
    """The Deblurrer (its kernels and noise level) and the most blurred point (a first loupe
    position), off the GUI thread."""
    deblurrer = Deblurrer(photo, blurmap, region)
    return deblurrer, deblurrer.most_blurred_point()


def _caption(kernel: BlurKernel) -> str:
    if kernel.kind == "defocus":
        text = f"Defocus\nradius {kernel.radius:.1f} px"
    else:
        text = f"Motion\n{kernel.length:.1f} px at {round(kernel.angle) % 180}\N{DEGREE SIGN}"
    return text + (" (set)" if kernel.source == "set" else "")


def _pixmap(array: np.ndarray) -> QPixmap:
    """A QPixmap of an (H, W) or (H, W, 3) uint8 array."""
    a = np.ascontiguousarray(array)
    h, w = a.shape[:2]
    fmt = QImage.Format.Format_Grayscale8 if a.ndim == 2 else QImage.Format.Format_RGB888
    return QPixmap.fromImage(QImage(a.data, w, h, a.strides[0], fmt).copy())  # copy: own the pixels


class DeblurPanel(EditPanel):
    """Region choice, kernels per region, method, strength, smoothness, loupe, whole-photo preview, apply."""

    title = "Deblur"

    def __init__(self, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.deblurrer: Deblurrer | None = None  # of the current photo, blur map and region choice
        self.loupe_centre: tuple[float, float] | None = None
        self.loupe_images: tuple[np.ndarray, np.ndarray] | None = None  # (before, after), for tests
        self._loupe_job: WorkerJob | None = None
        self._loupe_cancel: threading.Event | None = None
        self._canvas_job: WorkerJob | None = None
        self._canvas_cancel: threading.Event | None = None
        self._canvas_image: np.ndarray | None = None  # the last whole-photo preview, for the before/after toggle

        self.region = QComboBox()
        for text, value in REGIONS:
            self.region.addItem(text, value)
        self.region.setToolTip("Auto: a kernel for each blurred class of the blur map; otherwise every "
                               "blurred pixel is treated as that kind of blur")
        self.method = SettingChoice(DeblurSettings, "method", METHOD_LABELS)
        self.strength = SettingSlider(DeblurSettings, "strength", STRENGTH_STEPS)
        self.strength.setToolTip("0% = unchanged, 100% = the full restoration, above = exaggerated")
        self.strength_label = QLabel()
        self.smoothness = SettingSlider(DeblurSettings, "smoothness", SMOOTH_STEPS)
        self.smoothness.setToolTip("Artifact suppression: more = less noise and ringing, less detail")
        self.smoothness_label = QLabel()
        self.radius, self.length, self.angle = (OverrideSlider(name) for name in OVERRIDES)
        self.radius.setToolTip("Defocus disk radius; drag to set it by hand (the estimate is shown until then)")
        self.length.setToolTip("Motion blur length; drag to set it by hand")
        self.angle.setToolTip("Motion blur angle, counter-clockwise from the horizontal; drag to set it by hand")
        self.override_labels = {slider.name: QLabel() for slider in self.overrides}
        self.use_estimates = QPushButton("Use estimates")
        self.use_estimates.setToolTip("Radius, length and angle back to the values measured on the photo")
        self.kernel_box = QGridLayout()
        self.kernel_views: list[tuple[QLabel, QLabel]] = []
        self.before = QLabel()
        self.after = QLabel()
        for label in (self.before, self.after):
            label.setFixedSize(LOUPE_SIZE, LOUPE_SIZE)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("background: #202020;")
        self.follow = QCheckBox("Click the photo to move the loupe")
        self.follow.setChecked(True)
        self.follow.setToolTip("While on, clicks and drags on the photo place the loupe instead of panning")
        self.whole = QCheckBox("Preview on the whole photo")
        self.whole.setToolTip("Deblur the whole photo for the canvas (takes a few seconds on large photos)")
        self.show_before = QPushButton("Show before")
        self.show_before.setCheckable(True)
        self.show_before.setToolTip("Toggle the canvas between the photo as it is and the deblurred preview")
        self.apply_button = QPushButton("Apply")

        form = QFormLayout()
        form.addRow("Region", self.region)
        form.addRow("Method", self.method)
        strength_row = QHBoxLayout()
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self.strength_label)
        form.addRow("Strength", strength_row)
        smooth_row = QHBoxLayout()
        smooth_row.addWidget(self.smoothness, 1)
        smooth_row.addWidget(self.smoothness_label)
        form.addRow("Smoothness", smooth_row)
        for slider, label in zip(self.overrides, ("Radius", "Length", "Angle")):
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(self.override_labels[slider.name])
            form.addRow(label, row)
        form.addRow("", self.use_estimates)
        loupe = QGridLayout()
        loupe.addWidget(QLabel("Before"), 0, 0, Qt.AlignmentFlag.AlignHCenter)
        loupe.addWidget(QLabel("After"), 0, 1, Qt.AlignmentFlag.AlignHCenter)
        loupe.addWidget(self.before, 1, 0)
        loupe.addWidget(self.after, 1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Estimated blur kernels"))
        layout.addLayout(self.kernel_box)
        layout.addLayout(form)
        layout.addLayout(loupe)
        layout.addWidget(self.follow)
        layout.addWidget(self.whole)
        layout.addWidget(self.show_before)
        layout.addWidget(self.apply_button)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self._timer = self.make_preview_timer(PREVIEW_DELAY_MS, self._start_previews)

        self.region.currentIndexChanged.connect(self._inputs_changed)
        self.method.currentIndexChanged.connect(self._settings_changed)
        self.strength.valueChanged.connect(self._settings_changed)
        self.smoothness.valueChanged.connect(self._settings_changed)
        for slider in self.overrides:
            slider.valueChanged.connect(self._settings_changed)
        self.use_estimates.clicked.connect(self._use_estimates)
        self.show_before.toggled.connect(self._show_before_toggled)
        self.whole.toggled.connect(self._whole_toggled)
        self.follow.toggled.connect(self._follow_toggled)
        self.apply_button.clicked.connect(self.apply)
        context.photo_opened.connect(self._photo_opened)
        context.photo_changed.connect(self._photo_edited)
        context.blurmap_changed.connect(self._inputs_replaced)
        self._update_labels()
        self._update_enabled()

    # --- settings -------------------------------------------------------------------------------
    @property
    def kernels(self) -> dict[str, BlurKernel] | None:
        """The estimated kernels by kind (empty: none measurable), or None before the estimate."""
        return None if self.deblurrer is None else self.deblurrer.kernels

    @property
    def overrides(self) -> tuple[OverrideSlider, OverrideSlider, OverrideSlider]:
        return self.radius, self.length, self.angle

    def settings(self) -> DeblurSettings:
        """The deconvolution settings chosen in the panel (radius, length, angle: None = as estimated)."""
        return DeblurSettings(method=self.method.currentData(), strength=self.strength.setting(),
                              smoothness=self.smoothness.setting(), radius=self.radius.override(),
                              length=self.length.override(), angle=self.angle.override())

    def _update_labels(self) -> None:
        s = self.settings()
        self.strength_label.setText(f"{100 * s.strength:.0f}%")
        self.smoothness_label.setText(f"{s.smoothness:.2g}×")
        for slider in self.overrides:
            self.override_labels[slider.name].setText(slider.caption())

    def _show_estimates(self, keep_manual: bool = False) -> None:
        """Rest the override sliders on the estimated kernels (back to automatic); `keep_manual`:
        those the user has set keep their value (a new estimate of the same photo)."""
        kernels = self.kernels or {}
        for slider in self.overrides:
            kind, attribute = ESTIMATED[slider.name]
            value = getattr(kernels[kind], attribute) if kind in kernels else None
            if keep_manual and slider.manual:
                slider.estimate = value
            else:
                slider.show_estimate(value)

    def _use_estimates(self) -> None:
        self._show_estimates()
        self._settings_changed()

    def _update_enabled(self) -> None:
        ready = self.inputs_ready()
        for w in (self.region, self.method, self.strength, self.smoothness, self.whole, self.follow,
                  *self.overrides, self.use_estimates):
            w.setEnabled(ready)
        self.show_before.setEnabled(ready and self.whole.isChecked())
        self.apply_button.setEnabled(ready and bool(self.current_kernels()) and not self.busy())
        self.show_input_notice()

    # --- lifecycle ------------------------------------------------------------------------------
    def activate(self) -> None:
        super().activate()
        self._follow_toggled(self.follow.isChecked())
        self._ensure_kernels()

    def deactivate(self) -> None:
        super().deactivate()
        self._timer.stop()
        self._cancel_previews()

    def _photo_opened(self) -> None:
        self.loupe_centre = None
        for slider in self.overrides:  # another photo: its own blur, as estimated
            slider.show_estimate(None)
        self._inputs_changed()

    def _inputs_changed(self) -> None:
        """Photo, blur map or region choice changed: the kernels must be estimated again."""
        self.deblurrer = None
        self._canvas_image = None
        self.show_before.setChecked(False)
        self.drop_preparation()
        self._cancel_previews()
        self._show_kernels({})
        self._update_enabled()
        if self.active:
            self._ensure_kernels()

    def _ensure_kernels(self) -> None:
        ctx = self.context
        self.ensure_session(self.deblurrer, self._schedule_previews, "Estimating the blur kernels…", _prepare,
                            ctx.photo, ctx.blurmap, self.region.currentData(), on_ready=self._kernels_ready,
                            on_error=self._failed)

    def _kernels_ready(self, result: tuple[Deblurrer, tuple[int, int]]) -> None:
        self.deblurrer, most_blurred = result
        self._show_estimates(keep_manual=True)  # a new photo resets them (reset_settings, _photo_opened)
        self._update_labels()
        self._show_kernels(self.current_kernels())
        if not self.kernels:
            self.status.setText("No blurred region is large and textured enough to measure its blur kernel; "
                                "set a radius (defocus) or length (motion) by hand.")
        else:
            self.status.setText("")
        if self.loupe_centre is None:
            self.loupe_centre = most_blurred
        self._update_enabled()
        self._schedule_previews()

    def current_kernels(self) -> dict[str, BlurKernel]:
        """The kernels deconvolution uses with the panel's settings (estimates or overrides)."""
        return {} if self.deblurrer is None else self.deblurrer.kernels_for(self.settings())

    def _show_kernels(self, kernels: dict[str, BlurKernel]) -> None:
        for picture, caption in self.kernel_views:
            self.kernel_box.removeWidget(picture)
            self.kernel_box.removeWidget(caption)
            picture.deleteLater()
            caption.deleteLater()
        self.kernel_views = []
        for column, kernel in enumerate(kernels.values()):
            picture = QLabel()
            picture.setPixmap(_pixmap(kernel_image(kernel, KERNEL_VIEW)))
            picture.setToolTip(f"{kernel.describe()}; set by hand" if kernel.source == "set" else
                               f"{kernel.describe()}; estimated from {kernel.patches} patches, "
                               f"confidence {kernel.score:.2f}")
            caption = QLabel(_caption(kernel))
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.kernel_box.addWidget(picture, 0, column, Qt.AlignmentFlag.AlignHCenter)
            self.kernel_box.addWidget(caption, 1, column, Qt.AlignmentFlag.AlignHCenter)
            self.kernel_views.append((picture, caption))

    # --- loupe position -------------------------------------------------------------------------
    def _follow_toggled(self, on: bool) -> None:
        if not self.active:
            return
        if on:
            self.context.begin_brush(self._brush, radius=LOUPE_SIZE / 2)
        else:
            self.context.end_brush()

    def _brush(self, event: BrushEvent) -> None:
        self.move_loupe(event.x, event.y)

    def move_loupe(self, x: float, y: float) -> None:
        """Centre the loupe on photo pixel (x, y) and refresh it."""
        self.loupe_centre = (float(x), float(y))
        self.paused = False
        if self.current_kernels():
            self._timer.start()

    # --- previews -------------------------------------------------------------------------------
    def _settings_changed(self) -> None:
        self._update_labels()
        self.paused = False
        if self.deblurrer is not None:
            self._show_kernels(self.current_kernels())
        self._update_enabled()
        self._schedule_previews()

    def _whole_toggled(self, on: bool) -> None:
        if not on:
            self._cancel_canvas()
            self._canvas_image = None
            self.show_before.setChecked(False)
            if self.active:
                self.context.show_preview(None)
        self._settings_changed()

    def _show_before_toggled(self, on: bool) -> None:
        """Before/after of the whole photo on the canvas: the photo as it is, or the deblurred preview."""
        self.show_before.setText("Show after" if on else "Show before")
        if self.active and self.whole.isChecked():
            self.context.show_preview(None if on else self._canvas_image)

    def _schedule_previews(self) -> None:
        if self.active and self.current_kernels():
            self._timer.start()

    def _cancel_canvas(self) -> None:
        self.stop_job(self._canvas_job, self._canvas_cancel)
        self._canvas_job = self._canvas_cancel = None

    def _cancel_previews(self) -> None:
        self.stop_job(self._loupe_job, self._loupe_cancel)
        self._loupe_job = self._loupe_cancel = None
        self._cancel_canvas()

    def _start_previews(self) -> None:
        ctx = self.context
        if not self.active or not self.current_kernels() or not self.inputs_ready():
            return
        self._cancel_previews()
        settings = self.settings()
        if self.loupe_centre is not None:
            box = loupe_box(self.loupe_centre, LOUPE_SIZE, ctx.photo.shape)
            cancel = threading.Event()
            self._loupe_cancel = cancel
            self._loupe_job = ctx.run_in_worker(
                self.deblurrer.preview, settings, box, cancel.is_set, on_result=self._show_loupe, on_error=self._failed,
            )
        if self.whole.isChecked() and not self.paused:
            cancel = threading.Event()
            self._canvas_cancel = cancel
            self.status.setText("Deblurring the whole photo for the preview…")
            self._canvas_job = ctx.run_in_worker(
                self.deblurrer.render, settings, cancel=cancel.is_set, on_result=self._show_canvas, on_error=self._failed,
            )

    def _show_loupe(self, pair: tuple[np.ndarray, np.ndarray]) -> None:
        self.loupe_images = pair
        self.before.setPixmap(_pixmap(pair[0]))
        self.after.setPixmap(_pixmap(pair[1]))

    def _show_canvas(self, image: np.ndarray) -> None:
        self._canvas_job = self._canvas_cancel = None
        self.status.setText("")
        self._canvas_image = image
        if self.active and self.whole.isChecked() and not self.show_before.isChecked():
            self.context.show_preview(image)

    def _failed(self, error: BaseException) -> None:
        if not isinstance(error, Cancelled):  # Cancelled: a stale preview stopped on purpose
            self.report_failure("Deblur failed", error)

    # --- apply ----------------------------------------------------------------------------------
    def apply(self) -> WorkerJob | None:
        """Deblur the whole photo at full resolution and replace it (one undoable step)."""
        kernels = self.current_kernels()
        if not kernels or not self.inputs_ready() or self.busy():
            return None
        settings = self.settings()
        names = ", ".join(k.describe() for k in kernels.values())
        return self.apply_in_worker(
            self.deblurrer.render, settings, status="Deblurring at full resolution…", error_title="Deblur failed",
            description=f"Deblur ({names}, {100 * settings.strength:.0f}%)",
        )


__all__ = ["DeblurPanel", "LOUPE_SIZE"]
