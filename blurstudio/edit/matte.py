"""What a selection's alpha becomes: a greyscale matte, a cut-out with clean foreground colours, and
the previews the GUI shows. NumPy in, NumPy out; no Qt.

pymatting is imported lazily (its first import compiles numba kernels).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from ..errors import InputError
from ..ops.photo import check_photo
from ..ops.resample import STRIP_PIXELS, resize_rows, scaled_size, strip_rows
from .scribbles import SCRIBBLE_COLOURS, check_scribbles

# pymatting's import and its kernels' first calls compile numba code. Two threads doing that at once
# can deadlock (one holds importlib's module lock and waits for numba's compiler lock, the other the
# reverse: seen with the selection's warm-up and a solve started together on a fresh install), so
# every use of pymatting holds this lock.
PYMATTING = threading.Lock()

PREVIEW_MODES = ("overlay", "black", "white", "checkerboard", "alpha")
FOREGROUND_PIXELS = 1_000_000  # the multilevel foreground estimate runs at about this size


def estimate_foreground(
    photo: np.ndarray,
    alpha: np.ndarray,
    working_pixels: int = FOREGROUND_PIXELS,
    strip_pixels: int = STRIP_PIXELS,
) -> np.ndarray:
    """Foreground colours (H, W, 3) uint8 for a clean cut-out (no background colour fringes).

    pymatting's multilevel estimate (Germer et al. 2020) gives foreground F and background B colours;
    on large photos it runs at about `working_pixels` (on a whole 12 MP photo it took ~15 s). At full
    resolution, where alpha is fractional, F comes from the compositing equation I = aF + (1 - a)B
    with the upsampled (smooth) B, which keeps the photo's fine detail; where alpha is 1, F = I.
    The composite's error aF - aF_true = (1 - a)(B_true - B) stays bounded as alpha goes to 0."""
    photo = check_photo(photo)
    alpha = _check_alpha(alpha, photo.shape[:2])
    H, W = alpha.shape
    (h, w), _ = scaled_size((H, W), working_pixels)
    if (h, w) == (H, W):
        image = photo.astype(np.float32) * np.float32(1.0 / 255.0)
        with PYMATTING:
            import pymatting  # lazily: the first import compiles numba kernels

            fg = pymatting.estimate_foreground_ml(image, np.clip(alpha, 0, 1).astype(np.float32))
        fg8 = np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.where((alpha >= 1.0)[..., None], photo, fg8)  # fully selected pixels keep their colour
    small = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1.0 / 255.0)
    alpha_small = np.clip(cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA), 0, 1).astype(np.float32)
    with PYMATTING:
        import pymatting

        fg_small, bg_small = pymatting.estimate_foreground_ml(small, alpha_small, return_background=True)
    fb_small = np.ascontiguousarray(np.dstack([fg_small, bg_small]).astype(np.float32))  # (h, w, 6)
    out = photo.copy()
    soft_rows = np.nonzero(((alpha > 0.0) & (alpha < 1.0)).any(axis=1))[0]
    rows = strip_rows(W, strip_pixels)
    for y0 in range(0, H, rows):
        y1 = min(H, y0 + rows)
        if not ((soft_rows >= y0) & (soft_rows < y1)).any():
            continue  # alpha is 0 or 1 on all these rows: F = I will do
        fb = resize_rows(fb_small, (H, W), y0, y1)
        a = alpha[y0:y1, :, None]
        image = photo[y0:y1].astype(np.float32) * np.float32(1.0 / 255.0)
        exact = (image - (1.0 - a) * fb[..., 3:]) / np.maximum(a, 1.0 / 255.0)
        fg = np.where(a >= 1.0 / 255.0, exact, fb[..., :3])
        fg = np.where(a >= 1.0, image, fg)
        out[y0:y1] = np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def alpha_image(alpha: np.ndarray, bits: int = 8) -> np.ndarray:
    """The matte as a greyscale image: (H, W) uint8 (bits=8) or uint16 (bits=16), max = selected."""
    if bits not in (8, 16):
        raise InputError(f"bits must be 8 or 16, got {bits}")
    top = 255.0 if bits == 8 else 65535.0
    a = np.asarray(alpha, np.float32)
    return np.clip(a * top + 0.5, 0, top).astype(np.uint8 if bits == 8 else np.uint16)


def cutout(photo: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 4) uint8 RGBA: the foreground colours (estimated unless given) with alpha (straight, not
    premultiplied, as PNG stores it)."""
    photo = check_photo(photo)
    alpha = _check_alpha(alpha, photo.shape[:2])
    fg = estimate_foreground(photo, alpha) if foreground is None else check_photo(foreground)
    if fg.shape != photo.shape:
        raise InputError(f"foreground of shape {fg.shape} does not match the photo {photo.shape}")
    return np.dstack([fg, alpha_image(alpha, 8)])


def preview(
    photo: np.ndarray,
    alpha: np.ndarray,
    mode: str = "overlay",
    foreground: np.ndarray | None = None,
    tint: tuple[int, int, int] = (255, 40, 40),
    opacity: float = 0.5,
    checker: int | None = None,
    scribbles: np.ndarray | None = None,
    strip_pixels: int = STRIP_PIXELS,
) -> np.ndarray:
    """(H, W, 3) uint8 image showing a selection.

    overlay: the photo with the unselected part tinted (like a quick mask); black / white /
    checkerboard: the selected pixels (foreground colours if given, else the photo) composited over
    black, white or a transparency checkerboard (squares of `checker` pixels); alpha: the matte in grey.
    scribbles (same size, SCRIBBLE_* codes) are drawn over the overlay in SCRIBBLE_COLOURS.
    """
    if mode not in PREVIEW_MODES:
        raise InputError(f"unknown preview mode {mode!r}; choose one of {', '.join(PREVIEW_MODES)}")
    photo = check_photo(photo)
    alpha = _check_alpha(alpha, photo.shape[:2])
    H, W = alpha.shape
    if mode == "alpha":
        return np.repeat(alpha_image(alpha, 8)[..., None], 3, axis=2)
    colours = photo if foreground is None or mode == "overlay" else check_photo(foreground)
    if colours.shape != photo.shape:
        raise InputError(f"foreground of shape {colours.shape} does not match the photo {photo.shape}")
    side = checker or max(8, min(H, W) // 48)
    out = np.empty((H, W, 3), np.uint8)
    rows = strip_rows(W, strip_pixels)
    for y0 in range(0, H, rows):
        y1 = min(H, y0 + rows)
        a = alpha[y0:y1, :, None]
        c = colours[y0:y1].astype(np.float32)
        if mode == "overlay":
            keep = a + (1.0 - a) * (1.0 - opacity)
            mixed = c * keep + np.asarray(tint, np.float32) * ((1.0 - a) * opacity)
        else:
            back = _background(mode, y0, y1, W, side)
            mixed = c * a + back * (1.0 - a)
        out[y0:y1] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    if scribbles is not None and mode == "overlay":
        marks = check_scribbles(scribbles, (H, W))
        for code, colour in SCRIBBLE_COLOURS.items():
            hit = marks == code
            out[hit] = (out[hit] // 2 + np.asarray(colour, np.uint8) // 2).astype(np.uint8)
    return out


def _background(mode: str, y0: int, y1: int, width: int, side: int) -> np.ndarray:
    if mode == "black":
        return np.zeros((1, 1, 1), np.float32)
    if mode == "white":
        return np.full((1, 1, 1), 255.0, np.float32)
    ys = (np.arange(y0, y1) // side)[:, None]
    xs = (np.arange(width) // side)[None, :]
    board = np.where((ys + xs) % 2 == 0, 255.0, 204.0).astype(np.float32)  # white / light grey
    return board[..., None]


def _check_alpha(alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    a = np.asarray(alpha, np.float32)
    if a.shape != tuple(shape):
        raise InputError(f"alpha of shape {a.shape} does not match the photo size {tuple(shape)}")
    return a
