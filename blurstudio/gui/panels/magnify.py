"""The Magnify panel: strengthen the background blur with one slider, preview live, apply or export.

All numerical work is `blurstudio.edit.magnify.Magnifier` run in workers: the blur estimate once per
photo / blur map / subject, then a reduced-scale render per change of the controls (stale renders are
cancelled), and a full-resolution render for Apply and Export.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from blurstudio.edit.magnify import PREVIEW_PIXELS, Cancelled, Magnifier
from blurstudio.edit.settings import MagnifySettings

from .base import EditorContext, EditPanel, WorkerJob
from .controls import SettingSlider, choice_box

AMOUNT_STEPS = 100  # slider units per 1.0 of amount
BOOST_STEPS = 10  # slider units per 1.0 of highlight boost
PREVIEW_DELAY_MS = 60  # coalesce slider drags into one preview
EXPORT_FILTER = "JPEG (*.jpg *.jpeg);;PNG (*.png)"


def _render_and_write(path: Path, magnifier: Magnifier, settings: MagnifySettings, protect: list[Path]) -> Path:
    from blurstudio.images import write_image

    return write_image(path, magnifier.render(settings), quality=95, protect=protect)


class MagnifyPanel(EditPanel):
    """Amount, bokeh shape, highlight boost, protect subject; live preview; blur-amount view; apply; export."""

    title = "Magnify"

    def __init__(self, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.magnifier: Magnifier | None = None  # of the current photo, blur map and subject
        self._preview_job: WorkerJob | None = None
        self._preview_cancel: threading.Event | None = None

        self.amount = SettingSlider(MagnifySettings, "amount", AMOUNT_STEPS)
        self.amount.setToolTip("How many times blurrier the background becomes (1 = unchanged)")
        self.amount_label = QLabel()
        self.bokeh = choice_box(MagnifySettings, "bokeh", {"circle": "Circle", "hexagon": "Hexagon"})
        self.bokeh.setToolTip("Shape of the lens aperture: the shape of out-of-focus highlights")
        self.boost = SettingSlider(MagnifySettings, "highlight_boost", BOOST_STEPS)
        self.boost.setToolTip("How strongly bright points bloom into bokeh discs")
        self.boost_label = QLabel()
        self.protect = QCheckBox("Protect subject (use the selection)")
        self.protect.setToolTip("Keep the current selection crisp; without it the blur map's sharp areas are kept")
        self.motion = QCheckBox("Also magnify motion blur")
        self.show_amount = QCheckBox("Show estimated blur amount")
        self.show_amount.setToolTip("Black = sharp; brighter = more defocused (the radius in pixels is in the legend)")
        self.compare = QPushButton("Hold to compare")
        self.compare.setToolTip("Shows the photo as opened while held (or press \\); the view's split mode compares side by side")
        self.apply_button = QPushButton("Apply")
        self.export_button = QPushButton("Export…")
        self.legend = QLabel()
        self.legend.setWordWrap(True)

        form = QFormLayout()
        amount_row = QHBoxLayout()
        amount_row.addWidget(self.amount, 1)
        amount_row.addWidget(self.amount_label)
        boost_row = QHBoxLayout()
        boost_row.addWidget(self.boost, 1)
        boost_row.addWidget(self.boost_label)
        form.addRow("Amount", amount_row)
        form.addRow("Bokeh", self.bokeh)
        form.addRow("Highlights", boost_row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        for w in (self.protect, self.motion, self.show_amount, self.legend, self.compare):
            layout.addWidget(w)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self._timer = self.make_preview_timer(PREVIEW_DELAY_MS, self._start_preview)

        self.amount.valueChanged.connect(self._settings_changed)
        self.boost.valueChanged.connect(self._settings_changed)
        self.bokeh.currentIndexChanged.connect(self._settings_changed)
        self.show_amount.toggled.connect(self._settings_changed)
        self.protect.toggled.connect(self._inputs_replaced)
        self.motion.toggled.connect(self._inputs_replaced)
        self.compare.pressed.connect(lambda: self.context.compare_original(True))
        self.compare.released.connect(lambda: self.context.compare_original(False))
        self.apply_button.clicked.connect(self.apply)
        self.export_button.clicked.connect(self._export_clicked)
        context.photo_opened.connect(self._photo_opened)
        context.photo_changed.connect(self._photo_edited)
        context.blurmap_changed.connect(self._inputs_replaced)
        context.selection_changed.connect(self._selection_changed)
        self._update_labels()
        self._update_enabled()

    # --- settings -------------------------------------------------------------------------------
    def settings(self) -> MagnifySettings:
        """The render settings chosen in the panel."""
        return MagnifySettings(amount=self.amount.setting(), bokeh=self.bokeh.currentData(),
                               highlight_boost=self.boost.setting())

    def _update_labels(self) -> None:
        s = self.settings()
        self.amount_label.setText(f"{s.amount:.2f}×")
        self.boost_label.setText(f"{s.highlight_boost:.1f}")

    def _update_enabled(self) -> None:
        ready = self.inputs_ready()
        for w in (self.amount, self.bokeh, self.boost, self.motion, self.show_amount, self.compare):
            w.setEnabled(ready)
        self.protect.setEnabled(ready and self.context.selection is not None)
        busy = self.busy()
        self.apply_button.setEnabled(ready and self.magnifier is not None and not busy)
        self.export_button.setEnabled(ready and self.magnifier is not None and not busy)
        self.show_input_notice()

    # --- lifecycle ------------------------------------------------------------------------------
    def activate(self) -> None:
        super().activate()
        self._ensure_magnifier()

    def deactivate(self) -> None:
        super().deactivate()
        self._timer.stop()
        self._cancel_preview()

    def _photo_opened(self) -> None:
        self.protect.setChecked(False)
        self._inputs_changed()

    def _selection_changed(self) -> None:
        if self.context.selection is None and self.protect.isChecked():
            self.protect.setChecked(False)  # triggers _inputs_changed
        elif self.protect.isChecked():
            self._inputs_changed()
        self._update_enabled()

    def _inputs_changed(self) -> None:
        """Photo, blur map, subject or motion choice changed: the estimate must be redone."""
        self.magnifier = None
        self.drop_preparation()
        self._cancel_preview()
        self._update_enabled()
        if self.active:
            self._ensure_magnifier()

    def _ensure_magnifier(self) -> None:
        ctx = self.context
        selection = ctx.selection if self.protect.isChecked() else None
        self.ensure_session(self.magnifier, self._schedule_preview, "Estimating the existing blur…", Magnifier,
                            ctx.photo, ctx.blurmap, selection=selection, include_motion=self.motion.isChecked(),
                            on_ready=self._magnifier_ready, on_error=self._failed)

    def _magnifier_ready(self, magnifier: Magnifier) -> None:
        self.magnifier = magnifier
        top = magnifier.blur_radius_top
        self.legend.setText(f"Blur amount: black = sharp … yellow ≈ {top:.1f} px radius (full resolution)")
        if top < 0.25:
            self.status.setText("The blur map shows no defocused area: there is nothing to magnify.")
        else:
            self.status.setText("")
        self._update_enabled()
        self._schedule_preview()

    # --- preview --------------------------------------------------------------------------------
    def _settings_changed(self) -> None:
        self._update_labels()
        self.paused = False
        self._schedule_preview()

    def _schedule_preview(self) -> None:
        if self.active and not self.paused and self.magnifier is not None:
            self._timer.start()

    def _cancel_preview(self) -> None:
        self.stop_job(self._preview_job, self._preview_cancel)
        self._preview_job = self._preview_cancel = None

    def _start_preview(self) -> None:
        if not self.active or self.paused or self.magnifier is None:
            return
        self._cancel_preview()
        if self.show_amount.isChecked():
            self._preview_job = self.context.run_in_worker(
                self.magnifier.blur_radius_image, PREVIEW_PIXELS, on_result=self._show, on_error=self._failed
            )
            return
        cancel = threading.Event()
        self._preview_cancel = cancel
        self._preview_job = self.context.run_in_worker(
            self.magnifier.preview, self.settings(), cancel.is_set, on_result=self._show, on_error=self._failed,
        )

    def _show(self, image) -> None:
        if self.active:
            self.context.show_preview(image)

    def _failed(self, error: BaseException) -> None:
        if not isinstance(error, Cancelled):  # Cancelled: a stale preview stopped on purpose
            self.report_failure("Magnify failed", error)

    # --- apply and export -----------------------------------------------------------------------
    def apply(self) -> WorkerJob | None:
        """Render at full resolution and replace the photo (one undoable step)."""
        if self.magnifier is None or self.busy():
            return None
        settings = self.settings()
        return self.apply_in_worker(
            self.magnifier.render, settings, status="Rendering at full resolution…",
            description=f"Magnify blur ×{settings.amount:.2f}", error_title="Magnify failed",
        )

    def _export_clicked(self) -> None:
        path = self.ask_save_path("Export magnified photo", "_magnified.jpg", EXPORT_FILTER)
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> WorkerJob | None:
        """Render at full resolution and write `path` (JPEG or PNG; atomic; never over the photo)."""
        if self.magnifier is None or self.busy():
            return None
        path = Path(path)
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            path = path.with_suffix(".jpg")
        return self.run_file_job(
            _render_and_write, path, self.magnifier, self.settings(), doing="Exporting", done="Exported",
            notice="Exported the magnified photo to {path}", error_title="Magnify failed",
        )
