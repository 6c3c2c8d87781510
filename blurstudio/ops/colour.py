"""The sRGB transfer functions (IEC 61966-2-1): photos are stored in sRGB, but blur (a lens, a
moving camera) mixes light linearly, so blurring and deblurring are done in linear light."""

from __future__ import annotations

import cv2
import numpy as np

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709 luminance weights of linear RGB


def srgb_decode(v: np.ndarray) -> np.ndarray:
    """sRGB values in [0, 1] -> linear light in [0, 1]."""
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def srgb_encode(v: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB values, both in [0, 1] (clipped first)."""
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)


SRGB_TO_LINEAR = srgb_decode(np.arange(256) / 255.0).astype(np.float32)  # uint8 sRGB -> linear light
SRGB_TO_LINEAR.setflags(write=False)
_LINEAR_LUT_SIZE = 1 << 16
_LINEAR_TO_SRGB8: np.ndarray | None = None  # quantised linear light -> uint8 sRGB, made on first use


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """uint8 sRGB (any shape) -> float32 linear light in [0, 1] (a table look-up)."""
    return SRGB_TO_LINEAR[image]


def linear_to_srgb(linear: np.ndarray, as_uint8: bool = True) -> np.ndarray:
    """Linear light -> sRGB: uint8 (a 16-bit table look-up), or float32 in [0, 1]."""
    global _LINEAR_TO_SRGB8
    linear = np.asarray(linear, dtype=np.float32)
    if not as_uint8:
        return srgb_encode(linear).astype(np.float32)
    if _LINEAR_TO_SRGB8 is None:
        centres = (np.arange(_LINEAR_LUT_SIZE) + 0.5) / (_LINEAR_LUT_SIZE - 1)
        _LINEAR_TO_SRGB8 = np.clip(np.round(srgb_encode(centres) * 255.0), 0, 255).astype(np.uint8)
    # nan_to_num keeps a stray NaN from becoming an out-of-range index.
    idx = np.nan_to_num(linear, nan=0.0, posinf=1.0, neginf=0.0)
    idx = np.clip(idx * (_LINEAR_LUT_SIZE - 1), 0, _LINEAR_LUT_SIZE - 1).astype(np.uint16)
    return _LINEAR_TO_SRGB8[idx]


def grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (h, w, 3) -> float32 grey (h, w) in [0, 1], as the eye weighs sRGB (OpenCV's)."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) * (1.0 / 255.0)
