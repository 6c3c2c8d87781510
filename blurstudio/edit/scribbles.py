"""The user's brush strokes over a selection: one code per photo pixel (an (H, W) uint8 array).

A stroke overrides the blur map in the trimap (`apply_scribbles`); inside and outside strokes are
also exact in the full-resolution alpha. NumPy in, NumPy out; no Qt.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError

SCRIBBLE_NONE = 0  # no stroke: the blur map decides
SCRIBBLE_INSIDE = 1  # surely selected (alpha 1)
SCRIBBLE_OUTSIDE = 2  # surely not selected (alpha 0)
SCRIBBLE_UNKNOWN = 3  # let the matting solver decide (hair, fur, semi-transparent edges)
SCRIBBLE_CODES = (SCRIBBLE_NONE, SCRIBBLE_INSIDE, SCRIBBLE_OUTSIDE, SCRIBBLE_UNKNOWN)
SCRIBBLE_COLOURS = {SCRIBBLE_INSIDE: (0, 220, 90), SCRIBBLE_OUTSIDE: (230, 30, 200), SCRIBBLE_UNKNOWN: (255, 220, 0)}

# Trimap values (pymatting's convention).
OUTSIDE, UNKNOWN, INSIDE = 0.0, 0.5, 1.0


def check_scribbles(scribbles: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Validate a scribble array (integer codes SCRIBBLE_*, same (H, W) as the photo); returns uint8."""
    s = np.asarray(scribbles)
    if s.shape != tuple(shape):
        raise InputError(f"scribbles of shape {s.shape} do not match the photo size {tuple(shape)}")
    if not (np.issubdtype(s.dtype, np.integer) or s.dtype == bool):
        raise InputError(f"scribbles must be an integer array of codes 0-3, got {s.dtype}")
    if s.size and (s.min() < 0 or s.max() > SCRIBBLE_UNKNOWN):
        raise InputError(f"scribble codes must be 0 none, 1 inside, 2 outside, 3 unknown; got values {s.min()}..{s.max()}")
    return s.astype(np.uint8, copy=False)


def resize_scribbles(scribbles: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scribbles at another size (h, w). A working pixel takes a code if any full-resolution pixel
    under it has it (thin strokes survive); where codes meet, inside beats outside beats unknown."""
    s = np.asarray(scribbles, dtype=np.uint8)
    if s.shape == tuple(size):
        return s.copy()
    out = np.zeros(size, np.uint8)
    for code in (SCRIBBLE_UNKNOWN, SCRIBBLE_OUTSIDE, SCRIBBLE_INSIDE):
        hit = s == code
        if hit.any():
            cover = cv2.resize(hit.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_AREA)
            out[cover > 0] = code
    return out


def apply_scribbles(trimap: np.ndarray, scribbles: np.ndarray | None) -> np.ndarray:
    """A copy of the trimap with the strokes applied (same size as the trimap)."""
    trimap = np.array(trimap, dtype=np.float32)
    if scribbles is None:
        return trimap
    s = check_scribbles(scribbles, trimap.shape)
    trimap[s == SCRIBBLE_UNKNOWN] = UNKNOWN
    trimap[s == SCRIBBLE_OUTSIDE] = OUTSIDE
    trimap[s == SCRIBBLE_INSIDE] = INSIDE
    return trimap


def draw_stroke(
    scribbles: np.ndarray, start: tuple[float, float], end: tuple[float, float], radius: float, code: int
) -> tuple[int, int, int, int]:
    """Paint a round brush segment from start (x, y) to end (x, y), in place, with `code`
    (SCRIBBLE_NONE erases). Returns the touched box (y0, y1, x0, x1), clipped to the array."""
    if code not in SCRIBBLE_CODES:
        raise InputError(f"scribble code must be one of {SCRIBBLE_CODES}, got {code}")
    if scribbles.dtype != np.uint8 or scribbles.ndim != 2:
        raise InputError(f"scribbles must be a (H, W) uint8 array, got {scribbles.dtype} {scribbles.shape}")
    r = max(0.5, float(radius))
    shift = 4  # sub-pixel precision of the stroke's end points (1/16 pixel)
    p0 = (int(round(start[0] * 16)), int(round(start[1] * 16)))
    p1 = (int(round(end[0] * 16)), int(round(end[1] * 16)))
    thickness = max(1, int(round(2 * r)))
    cv2.line(scribbles, p0, p1, int(code), thickness=thickness, lineType=cv2.LINE_8, shift=shift)
    if p0 == p1:
        cv2.circle(scribbles, p0, int(round(r * 16)), int(code), thickness=-1, lineType=cv2.LINE_8, shift=shift)
    H, W = scribbles.shape
    pad = int(np.ceil(r)) + 1
    x0 = max(0, int(np.floor(min(start[0], end[0]))) - pad)
    x1 = min(W, int(np.ceil(max(start[0], end[0]))) + pad + 1)
    y0 = max(0, int(np.floor(min(start[1], end[1]))) - pad)
    y1 = min(H, int(np.ceil(max(start[1], end[1]))) + pad + 1)
    return y0, max(y0, y1), x0, max(x0, x1)

