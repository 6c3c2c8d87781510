"""A window that fits its screen: side panels scroll instead of growing, and the window is kept
within the screen's available area (so the status bar, with progress and Cancel, stays visible)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFrame, QScrollArea, QWidget

COMBO_CHARACTERS = 14  # a list in a side panel is at least this wide; longer entries are cut in the closed box


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a scroll area: a tall panel scrolls instead of making the window taller than the
    screen (opening the Deblur tab made it 1055 px tall on a 1000 px screen). The area is as wide as
    the widget needs once its lists no longer ask for their longest entry's width."""
    for combo in widget.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_CHARACTERS)
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(widget.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


def fit_to_screen(window: QWidget) -> None:
    """Shrink and move `window` into its screen's available area (a size restored from a bigger screen,
    or contents that grew); nothing happens when it fits."""
    screen = window.screen()
    if screen is None:
        return
    area = screen.availableGeometry()
    frame = window.frameGeometry()
    border = frame.size() - window.size()  # title bar and borders
    width = min(window.width(), area.width() - border.width())
    height = min(window.height(), area.height() - border.height())
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
        frame = window.frameGeometry()
    if not area.contains(frame):
        window.move(max(area.left(), min(frame.left(), area.right() + 1 - frame.width())),
                    max(area.top(), min(frame.top(), area.bottom() + 1 - frame.height())))
