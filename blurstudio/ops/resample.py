"""Sizes for a pixel budget, resizing, and rows of an enlarged image made strip by strip (so no
full-resolution copy of a small image need ever be held)."""

from __future__ import annotations

import cv2
import numpy as np

STRIP_PIXELS = 2_000_000  # full-resolution pixels per strip where a step runs strip by strip


def scaled_size(shape: tuple[int, ...], max_pixels: int | None, min_side: int = 1) -> tuple[tuple[int, int], float]:
    """The size (h, w) of `shape`'s (H, W) scaled to at most about `max_pixels` (never up; None =
    unchanged), each side at least `min_side`, and its scale (<= 1)."""
    h, w = int(shape[0]), int(shape[1])
    if max_pixels is None or h * w <= max_pixels:
        return (h, w), 1.0
    s = (max_pixels / float(h * w)) ** 0.5
    return (max(min_side, int(round(h * s))), max(min_side, int(round(w * s)))), s


def resize(a: np.ndarray, size: tuple[int, int], interpolation: int | None = None) -> np.ndarray:
    """cv2.resize to `size` (h, w); INTER_AREA when shrinking, linear when enlarging by default.
    Returns `a` itself when it has that size already."""
    h, w = size
    if a.shape[:2] == (h, w):
        return a
    if interpolation is None:
        interpolation = cv2.INTER_AREA if h < a.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(a, (w, h), interpolation=interpolation)


def strip_rows(width: int, strip_pixels: int = STRIP_PIXELS) -> int:
    """Rows per strip of an image `width` pixels wide (at least 8)."""
    return max(8, strip_pixels // max(width, 1))


def resize_rows(small: np.ndarray, size: tuple[int, int], y0: int, y1: int) -> np.ndarray:
    """Rows y0:y1 of `small` bilinearly resized to `size` (H, W), as cv2.resize would
    (half-pixel centres), without making the whole resized array. Any number of channels."""
    H, W = size
    h, w = small.shape[:2]
    if (h, w) == (H, W):
        return small[y0:y1]
    if small.ndim == 3 and small.shape[2] > 4:  # cv2.warpAffine takes up to 4 channels
        return np.dstack([resize_rows(small[..., c : c + 4], size, y0, y1) for c in range(0, small.shape[2], 4)])
    sx, sy = w / W, h / H
    m = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, (y0 + 0.5) * sy - 0.5]], np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(np.ascontiguousarray(small), m, (W, y1 - y0), flags=flags, borderMode=cv2.BORDER_REPLICATE)
