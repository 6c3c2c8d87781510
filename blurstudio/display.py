"""Preparing images for on-screen display: 4-channel BGRA pixels and a pyramid of halves.

NumPy/OpenCV only: these functions release the GIL while they work, so a viewer can run them in a
worker thread on a 50 MP photo without stalling its GUI thread (Qt's own QImage conversions and
scaling hold the GIL in PySide6, which froze the window for ~0.1 s per call on 24 MP photos).
"""

from __future__ import annotations

import cv2
import numpy as np

SMALLEST_LEVEL = 512  # stop halving when the long side is at most this


def to_bgra(image: np.ndarray) -> np.ndarray:
    """(H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA uint8 -> (H, W, 4) uint8 in B, G, R, A byte order
    (the memory layout of QImage.Format_RGB32 / ARGB32 on little-endian machines). Alpha is 255 for
    images without one; an RGBA input keeps its alpha (premultiplied or not, as given)."""
    a = np.ascontiguousarray(image)
    if a.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {a.dtype}")
    if a.ndim == 2:
        return cv2.cvtColor(a, cv2.COLOR_GRAY2BGRA)
    if a.ndim == 3 and a.shape[2] == 3:
        return cv2.cvtColor(a, cv2.COLOR_RGB2BGRA)
    if a.ndim == 3 and a.shape[2] == 4:
        return cv2.cvtColor(a, cv2.COLOR_RGBA2BGRA)
    raise ValueError(f"cannot display an image of shape {a.shape}")


def pyramid(image: np.ndarray, smallest: int = SMALLEST_LEVEL) -> list[np.ndarray]:
    """[image, image at 1/2, 1/4, ...] until the long side is at most `smallest`. Area averaging,
    which is also correct for premultiplied alpha."""
    levels = [np.ascontiguousarray(image)]
    while max(levels[-1].shape[:2]) > smallest:
        h, w = levels[-1].shape[:2]
        levels.append(cv2.resize(levels[-1], (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA))
    return levels
