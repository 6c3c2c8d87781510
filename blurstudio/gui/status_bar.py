"""The main window's status bar: messages on the left; on the right, always visible, the photo's
verdict (File > Open Folder), detection progress with its Cancel button, zoom, model, device, time."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton, QWidget

from .canvas import CanvasView
from .context import EditorContext
from .detection_controller import DetectionController


class StatusBar(QStatusBar):
    def __init__(self, context: EditorContext, canvas: CanvasView, detection: DetectionController,
                 cancel_action: QAction, verdict: QWidget) -> None:
        super().__init__()
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(cancel_action)
        self.cancel_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.hide()
        self.zoom_label = QLabel("")
        self.addPermanentWidget(verdict)
        self.addPermanentWidget(detection.progress_bar)
        self.addPermanentWidget(self.cancel_button)
        for label in (self.zoom_label, *detection.status_widgets()):
            label.setContentsMargins(8, 0, 8, 0)
            self.addPermanentWidget(label)
        context.message.connect(self._show)
        canvas.zoom_changed.connect(self._zoom_changed)
        detection.running_changed.connect(self.cancel_button.setVisible)

    # Slots are bound methods, never lambdas capturing widgets: Qt disconnects them when the window goes.
    @Slot(str, int)
    def _show(self, text: str, msecs: int) -> None:
        self.showMessage(text, msecs)

    @Slot(float)
    def _zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")
