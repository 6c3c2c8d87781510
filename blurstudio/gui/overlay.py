"""The blur-map overlay: which classes are tinted, in which palette, how opaque, the view mode; the
overlay layer rendered in workers; the Blur map dock's controls and the hover readout."""

from __future__ import annotations

import math
from typing import Callable

from PySide6.QtCore import QObject, Signal

from .canvas import CanvasView, ViewMode
from .context import EditorContext
from .imaging import Pyramid, overlay_pyramid
from .overlay_controls import OverlayControls
from .settings import PALETTES, Preferences
from .workers import Latest, WorkerJob

QUICK_OVERLAY_SIDE = 1024  # a subsampled overlay shows first on large photos


class OverlayController(QObject):
    """Owns the overlay state and pushes it to the canvas and the Blur map controls.

    `run` starts display work in a worker (e.g. the window's display pool); `leave_panel` is called
    when the user turns to the blur map, which a panel's preview would hide."""

    changed = Signal()  # the state changed: menus update their checks

    def __init__(self, context: EditorContext, canvas: CanvasView, prefs: Preferences,
                 run: Callable[..., WorkerJob], leave_panel: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context, self.canvas, self.prefs, self._leave_panel = context, canvas, prefs, leave_panel
        self.palette_name = prefs.palette_name()
        self.style = prefs.overlay_style()
        self.visible: tuple[bool, bool, bool] = prefs.visible()
        self.opacity = prefs.opacity()
        try:
            self.view_mode = ViewMode(prefs.view_mode())
        except ValueError:
            self.view_mode = ViewMode.OVERLAY
        self._quick = Latest(run)
        self._full = Latest(run)
        self._full_shown = False

        self.controls = OverlayControls(PALETTES[self.palette_name])
        self.controls.visibility_changed.connect(self.set_class_visible)
        self.controls.opacity_changed.connect(self.set_opacity)
        self.controls.mode_changed.connect(self.set_view_mode)
        canvas.hovered.connect(self.show_hover)
        context.blurmap_changed.connect(self._blurmap_changed)

    # --- user changes -----------------------------------------------------------------------
    def set_class_visible(self, index: int, on: bool) -> None:
        self._leave_panel()  # the overlay is hidden behind a panel's preview
        visible = list(self.visible)
        visible[index] = bool(on)
        self.visible = tuple(visible)  # type: ignore[assignment]
        self.apply_state()
        self._render()

    def set_opacity(self, opacity: float) -> None:
        self._leave_panel()
        self.opacity = max(0.0, min(1.0, round(float(opacity), 2)))
        self.apply_state()  # a painter opacity: no recomputation

    def set_view_mode(self, mode: ViewMode | str) -> None:
        self.view_mode = ViewMode(mode)
        if self.view_mode in (ViewMode.OVERLAY, ViewMode.MAP):  # photo and split also compare previews
            self._leave_panel()
        self.apply_state()

    def set_palette(self, name: str) -> None:
        if name in PALETTES and name != self.palette_name:
            self.palette_name = name
            self.controls.set_palette(PALETTES[name])
            self._render()

    def set_style(self, style: str) -> None:
        """"filled" or "hatched" (settings.OVERLAY_STYLES)."""
        if style != self.style:
            self.style = style
            self.prefs.set_overlay_style(style)
            self._render()

    def save(self) -> None:
        self.prefs.save_overlay(self.opacity, self.visible, self.palette_name, self.view_mode.value)

    def apply_state(self) -> None:
        """Push the state to the canvas and the controls; menus follow `changed`."""
        self.canvas.set_opacity(self.opacity)
        self.canvas.set_mode(self.view_mode)
        self.controls.set_opacity(self.opacity)
        self.controls.set_visible_classes(self.visible)
        self.controls.set_mode(self.view_mode.value)
        self.changed.emit()

    def ready(self) -> bool:
        """True when the overlay on the canvas is the full-resolution one for the current state."""
        return self._full_shown and not self._quick.running() and not self._full.running()

    # --- rendering ----------------------------------------------------------------------------
    def _blurmap_changed(self) -> None:
        if self.context.blurmap is None:
            self._quick.cancel()
            self._full.cancel()
            self.canvas.set_overlay(None)
            self.controls.set_fractions(None)
        else:
            self._render()

    def _render(self) -> None:
        """Recompute the overlay layer in workers: a quick subsampled one first on big photos."""
        self._quick.cancel()
        self._full.cancel()
        blurmap = self.context.blurmap
        if blurmap is None:
            return
        palette = PALETTES[self.palette_name]
        self._full_shown = False
        step = math.ceil(max(blurmap.shape) / QUICK_OVERLAY_SIDE)
        if step > 1:
            self._quick.start(overlay_pyramid, blurmap, self.visible, palette, step, self.style, on_result=self._quick_ready)
        self._full.start(overlay_pyramid, blurmap, self.visible, palette, 1, self.style, on_result=self._full_ready)

    def _quick_ready(self, pyramid: Pyramid) -> None:
        if not self._full_shown:
            self.canvas.set_overlay(pyramid)

    def _full_ready(self, pyramid: Pyramid) -> None:
        self._full_shown = True
        self.canvas.set_overlay(pyramid)

    def show_hover(self, x: int, y: int) -> None:
        """The class probabilities at photo pixel (x, y) in the Blur map dock; x < 0: the pointer left."""
        blurmap = self.context.blurmap
        if x < 0 or blurmap is None or not (0 <= y < blurmap.shape[0] and 0 <= x < blurmap.shape[1]):
            text = "Move the pointer over the photo." if blurmap is not None or x < 0 else "No blur map yet."
            self.controls.set_hover(text)
            return
        p = blurmap.probs[:, y, x]  # three numbers: O(1)
        palette = PALETTES[self.palette_name]
        rows = "".join(
            f"<tr><td><span style='color:rgb{tuple(palette[i])}'>■</span> {name}</td>"
            f"<td align='right'>&nbsp;&nbsp;{p[i] * 100:.0f}%</td></tr>"
            for i, name in enumerate(("Sharp", "Motion", "Defocus"))
        )
        self.controls.set_hover(f"<table>{rows}</table><span style='color:gray'>at x {x}, y {y}</span>")
