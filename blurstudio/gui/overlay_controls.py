"""The "Blur map" dock: legend with per-class toggles and fractions, opacity, view mode, and the
probabilities under the cursor."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QPainter
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .canvas import ViewMode

CLASS_LABELS = ("Sharp", "Motion blur", "Defocus blur")
VIEW_MODE_LABELS = {
    ViewMode.OVERLAY: "Overlay",
    ViewMode.MAP: "Map",
    ViewMode.PHOTO: "Photo",
    ViewMode.SPLIT: "Split",
}


class Swatch(QWidget):
    """A small rounded colour square."""

    def __init__(self, color: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.color = color
        self.setFixedSize(16, 16)

    def set_color(self, color: QColor) -> None:
        self.color = color
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QColor(0, 0, 0, 90))
        p.setBrush(self.color)
        p.drawRoundedRect(1, 1, 14, 14, 3, 3)


class FractionBar(QWidget):
    """A thin horizontal bar showing a fraction in a class colour."""

    def __init__(self, color: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.color, self.value = color, None
        self.setFixedHeight(5)

    def set_value(self, value: float | None, color: QColor | None = None) -> None:
        self.value = value
        if color is not None:
            self.color = color
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(128, 128, 128, 60))
        p.drawRoundedRect(self.rect(), 2, 2)
        if self.value:
            r = self.rect()
            r.setWidth(max(2, round(r.width() * self.value)))
            p.setBrush(self.color)
            p.drawRoundedRect(r, 2, 2)


class OverlayControls(QWidget):
    """Emits what the user chose; the main window owns the state and persists it."""

    visibility_changed = Signal(int, bool)
    opacity_changed = Signal(float)
    mode_changed = Signal(str)

    def __init__(self, palette: tuple, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(8)

        layout.addWidget(self._heading("Classes"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self.swatches: list[Swatch] = []
        self.checks: list[QCheckBox] = []
        self.percent_labels: list[QLabel] = []
        self.bars: list[FractionBar] = []
        for i, name in enumerate(CLASS_LABELS):
            color = QColor(*palette[i])
            swatch, check = Swatch(color), QCheckBox(name)
            check.setToolTip(f"Show {name.lower()} in the overlay (Alt+{i + 1})")
            check.toggled.connect(lambda on, i=i: self.visibility_changed.emit(i, on))
            percent = QLabel("–")
            percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            percent.setMinimumWidth(44)
            bar = FractionBar(color)
            grid.addWidget(swatch, 2 * i, 0)
            grid.addWidget(check, 2 * i, 1)
            grid.addWidget(percent, 2 * i, 2)
            grid.addWidget(bar, 2 * i + 1, 1, 1, 2)
            self.swatches.append(swatch)
            self.checks.append(check)
            self.percent_labels.append(percent)
            self.bars.append(bar)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        self.fraction_note = QLabel("Share of the photo in each class.")
        self.fraction_note.setObjectName("hint")
        self.fraction_note.setWordWrap(True)
        layout.addWidget(self.fraction_note)

        layout.addWidget(self._separator())
        layout.addWidget(self._heading("Overlay"))
        row = QHBoxLayout()
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Overlay opacity ([ and ])")
        self.opacity_slider.valueChanged.connect(self._opacity_moved)
        self.opacity_label = QLabel("55%")
        self.opacity_label.setMinimumWidth(36)
        self.opacity_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity_slider, 1)
        row.addWidget(self.opacity_label)
        layout.addLayout(row)

        modes = QHBoxLayout()
        modes.setSpacing(0)
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QToolButton] = {}
        for mode, label in VIEW_MODE_LABELS.items():
            button = QToolButton()
            button.setCheckable(True)
            button.setText(label)
            button.setSizePolicy(button.sizePolicy().horizontalPolicy().Expanding, button.sizePolicy().verticalPolicy())
            button.clicked.connect(lambda _=False, m=mode.value: self.mode_changed.emit(m))
            self.mode_group.addButton(button)
            self.mode_buttons[mode.value] = button
            modes.addWidget(button)
        layout.addLayout(modes)

        layout.addWidget(self._separator())
        layout.addWidget(self._heading("Under the cursor"))
        self.hover_label = QLabel("Move the pointer over the photo.")
        self.hover_label.setObjectName("hint")
        self.hover_label.setWordWrap(True)
        self.hover_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.hover_label)
        layout.addStretch(1)

    # --- set from the window (without echoing signals) ---------------------------------------
    def set_visible_classes(self, visible: tuple[bool, bool, bool]) -> None:
        for check, on in zip(self.checks, visible):
            check.blockSignals(True)
            check.setChecked(on)
            check.blockSignals(False)

    def set_opacity(self, opacity: float) -> None:
        self.opacity_slider.blockSignals(True)
        self.opacity_slider.setValue(round(opacity * 100))
        self.opacity_slider.blockSignals(False)
        self.opacity_label.setText(f"{round(opacity * 100)}%")

    def set_mode(self, mode: str) -> None:
        if mode in self.mode_buttons:
            self.mode_buttons[mode].setChecked(True)

    def set_palette(self, palette: tuple) -> None:
        for i, (swatch, bar) in enumerate(zip(self.swatches, self.bars)):
            swatch.set_color(QColor(*palette[i]))
            bar.set_value(bar.value, QColor(*palette[i]))

    def set_fractions(self, fractions: dict[str, float] | None) -> None:
        names = ("sharp", "motion", "defocus")
        for label, bar, name in zip(self.percent_labels, self.bars, names):
            value = None if fractions is None else fractions.get(name, 0.0)
            label.setText("–" if value is None else f"{value * 100:.1f}%")
            bar.set_value(value)

    def set_hover(self, html: str) -> None:
        self.hover_label.setText(html)

    def _opacity_moved(self, value: int) -> None:
        self.opacity_label.setText(f"{value}%")
        self.opacity_changed.emit(value / 100.0)

    @staticmethod
    def _heading(text: str) -> QLabel:
        label = QLabel(text.upper())
        label.setObjectName("heading")
        return label

    @staticmethod
    def _separator() -> QFrame:
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setObjectName("separator")
        return line


def action_tooltip(action: QAction) -> str:
    """'Text (Shortcut)' for tool buttons."""
    text = action.text().replace("&", "").rstrip(".…")
    keys = action.shortcut().toString()
    return f"{text} ({keys})" if keys else text
