"""The one check of a photo and of a blur map handed to the engine; raises InputError naming what is wrong."""

from __future__ import annotations

import numpy as np

from ..blurmap import BlurMap
from ..errors import InputError


def check_photo(image: np.ndarray, grey: bool = False, min_side: int = 1) -> np.ndarray:
    """`image` as an array, checked to be an (H, W, 3) uint8 RGB photo (or an (H, W) grey one when
    `grey`) with at least `min_side` pixels on each side."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or not (a.ndim == 3 and a.shape[2] == 3 or grey and a.ndim == 2):
        shape = "(H, W, 3) or (H, W)" if grey else "(H, W, 3)"
        raise InputError(f"expected an {shape} uint8 RGB photo, got a {a.dtype} array of shape {a.shape}")
    if min(a.shape[:2]) < max(min_side, 1):
        raise InputError(f"photo of size {a.shape[:2]} is too small" if a.size else "the photo has no pixels")
    return a


def to_photo(image: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 RGB photo, C-contiguous, from grey, RGB or RGBA, uint8 or floats in [0, 1]."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    if a.dtype != np.uint8 and np.issubdtype(a.dtype, np.floating):
        a = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(check_photo(a))


def check_probs(blurmap: BlurMap | np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The (3, H, W) class probabilities of a BlurMap (or of a bare array of them), checked to be
    aligned with a photo of `shape` (H, W)."""
    probs = blurmap.probs if isinstance(blurmap, BlurMap) else np.asarray(blurmap, np.float32)
    if probs.ndim != 3 or probs.shape[0] != 3:
        raise InputError(f"blur map probabilities must have shape (3, H, W), got {probs.shape}")
    if probs.shape[1:] != tuple(shape[:2]):
        raise InputError(f"blur map of size {probs.shape[1:]} does not match the photo {tuple(shape[:2])}")
    return probs
