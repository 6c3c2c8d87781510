"""NumPy images -> QImage pyramids, built in worker threads (QImage, unlike QPixmap, is thread-safe).

The canvas paints from the pyramid level closest to the zoom, so painting costs scale with the
window size, never with the photo size (a 24 MP photo at "fit" paints from a ~1500 px level).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage

SMALLEST_LEVEL = 512  # stop halving when the long side is below this


@dataclass
class Pyramid:
    """Images of the same picture at full size and successive halves; levels[0] is the largest."""

    levels: list[QImage]
    full_size: QSize  # size of the picture in photo pixels (levels[0] may be smaller, e.g. a quick preview)

    def level_for(self, scale: float) -> tuple[QImage, float]:
        """The smallest level with at least `scale` pixels per photo pixel, and its own scale."""
        best = self.levels[0]
        for level in self.levels:
            if level.width() / self.full_size.width() >= scale:
                best = level
            else:
                break
        return best, best.width() / self.full_size.width()


def array_to_qimage(array: np.ndarray, premultiplied: bool = False) -> QImage:
    """(H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA uint8 -> a QImage that owns its pixels,
    in the format the raster painter draws fastest (RGB32 / ARGB32_Premultiplied)."""
    a = np.ascontiguousarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {a.dtype}")
    h, w = a.shape[:2]
    if a.ndim == 2:
        fmt, target = QImage.Format.Format_Grayscale8, QImage.Format.Format_RGB32
    elif a.shape[2] == 3:
        fmt, target = QImage.Format.Format_RGB888, QImage.Format.Format_RGB32
    elif a.shape[2] == 4:
        fmt = QImage.Format.Format_RGBA8888_Premultiplied if premultiplied else QImage.Format.Format_RGBA8888
        target = QImage.Format.Format_ARGB32_Premultiplied
    else:
        raise ValueError(f"cannot show an image of shape {a.shape}")
    view = QImage(a.data, w, h, a.strides[0], fmt)  # borrows `a`; convertToFormat makes an owned copy
    return view.convertToFormat(target)


def build_pyramid(image: QImage, full_size: QSize | None = None) -> Pyramid:
    """Halve with smooth filtering until the long side is below SMALLEST_LEVEL. Call in a worker."""
    levels = [image]
    current = image
    while max(current.width(), current.height()) > SMALLEST_LEVEL:
        current = current.scaled(
            max(1, current.width() // 2),
            max(1, current.height() // 2),
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        levels.append(current)
    return Pyramid(levels, full_size or image.size())


def pyramid_from_array(array: np.ndarray, premultiplied: bool = False, full_size: QSize | None = None) -> Pyramid:
    """array_to_qimage + build_pyramid, for a worker thread."""
    return build_pyramid(array_to_qimage(array, premultiplied), full_size)
