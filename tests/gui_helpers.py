"""Shared pieces of the GUI tests: test photos, a window with temporary settings,
and message boxes that never block."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from blurstudio.gui.detection import DetectionSettings
from blurstudio.gui.settings import Preferences


def make_photo(path: Path, h: int = 96, w: int = 128, seed: int = 0) -> Path:
    """A textured photo (sharp noise on the left, smooth on the right) saved as PNG."""
    from blurstudio.images import write_image

    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[:, w // 2 :] = np.linspace(40, 220, w - w // 2, dtype=np.uint8)[None, :, None]
    write_image(path, img)
    return path


class Dialogs:
    """Records QMessageBox calls instead of showing them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.answer = QMessageBox.StandardButton.Yes

    def install(self, monkeypatch: pytest.MonkeyPatch) -> "Dialogs":
        for kind in ("warning", "critical", "information", "question"):
            monkeypatch.setattr(QMessageBox, kind, staticmethod(self._recorder(kind)))
        return self

    def _recorder(self, kind: str):
        def record(parent, title, text, *args, **kwargs):
            self.calls.append((kind, title, text))
            return self.answer

        return record


def render_canvas(window) -> np.ndarray:
    """What the window's canvas shows over the photo, as an (H, W, 3) array."""
    from PySide6.QtGui import QImage

    canvas = window.canvas
    image = canvas.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    h, width = image.height(), image.width()
    pixels = np.frombuffer(image.constBits(), np.uint8, h * image.bytesPerLine()).reshape(h, image.bytesPerLine())
    pixels = pixels[:, : width * 3].reshape(h, width, 3)
    box = canvas.mapFromScene(canvas.sceneRect()).boundingRect()
    return pixels[max(0, box.top()) : box.bottom(), max(0, box.left()) : box.right()].copy()


def temporary_settings(folder: Path, model: str = "compact", device: str = "cpu") -> QSettings:
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    Preferences(settings).set_detection(DetectionSettings(model=model, device=device, max_side=None))
    return settings
