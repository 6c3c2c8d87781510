"""The guided filter (He et al. 2013): a smoothing of `src` that follows the edges of a guide image.

Its output is locally linear in the guide (q = a * I + b), so the coefficients computed on a small
image can be enlarged and applied to the full-resolution guide: the fast guided filter (He & Sun
2015), which detection, selection and magnify use to bring a working-scale result back to the photo
with its edges.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from .colour import grey
from .resample import STRIP_PIXELS, resize, strip_rows

PROBS_RADIUS = 4  # radius of the detector's map filter at working resolution (pixels)
PROBS_EPS = 1e-3  # its regularisation (guide intensities in [0, 1])


def box(a: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2 radius + 1)^2 square, edges mirrored."""
    return cv2.boxFilter(a, -1, (2 * radius + 1, 2 * radius + 1), normalize=True, borderType=cv2.BORDER_REFLECT)


def fit_radius(radius: int, shape: tuple[int, ...]) -> int:
    """`radius` reduced to fit an image of `shape` (h, w); 0 when it is too small to filter at all."""
    side = min(shape[:2])
    return int(max(1, min(radius, (side - 1) // 2))) if side >= 3 else 0


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Box-averaged linear coefficients (a, b) of the guided filter with a grey `guide` (h, w):
    output = a * guide + b. `src` is one (h, w) image or a stack (C, h, w); a and b have its shape."""
    mean_i = box(guide, radius)
    var_i = box(guide * guide, radius) - mean_i * mean_i
    planes = src[None] if src.ndim == 2 else src
    a, b = np.empty_like(planes), np.empty_like(planes)
    for k, p in enumerate(planes):
        mean_p = box(p, radius)
        ak = (box(guide * p, radius) - mean_i * mean_p) / (var_i + eps)
        a[k] = box(ak, radius)
        b[k] = box(mean_p - ak * mean_i, radius)
    return (a[0], b[0]) if src.ndim == 2 else (a, b)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """`src` (h, w) smoothed but following the edges of the grey `guide` (h, w)."""
    guide = guide.astype(np.float32, copy=False)
    a, b = guided_coefficients(guide, src.astype(np.float32, copy=False), radius, eps)
    return a * guide + b


def fast_guided_filter(guide: np.ndarray, src_small: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """The guided filter with its coefficients computed at `src_small`'s scale and applied to the
    full-size grey `guide`: edge-accurate at full resolution for the cost of a small filter."""
    a, b = guided_coefficients(resize(guide, src_small.shape[:2]), src_small, radius, eps)
    full = guide.shape[:2]
    return resize(a, full, cv2.INTER_LINEAR) * guide + resize(b, full, cv2.INTER_LINEAR)


def colour_guided_coefficients(image: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Guided-filter coefficients with a colour guide `image` (h, w, 3) in [0, 1]: one (h, w, 4)
    float32 array (a_r, a_g, a_b, b), so that src ~ a . colour + b holds locally. A colour guide
    tells apart edges that a grey one sees as one grey (a red subject before a green background)."""
    image = np.asarray(image, np.float32)
    p = np.asarray(src, np.float32)
    h, w = p.shape
    r = fit_radius(radius, p.shape)
    if r == 0:  # too small to filter: identity (a = 0, b = src)
        return np.dstack([np.zeros((h, w, 3), np.float32), p]).astype(np.float32)
    mean_i = box(image, r)
    mean_p = box(p, r)
    cov_ip = box(image * p[..., None], r) - mean_i * mean_p[..., None]
    sigma = np.empty((h, w, 3, 3), np.float64)
    for i in range(3):
        for j in range(i, 3):
            v = box(image[..., i] * image[..., j], r) - mean_i[..., i] * mean_i[..., j]
            sigma[..., i, j] = v
            sigma[..., j, i] = v
    sigma += eps * np.eye(3)
    a = np.linalg.solve(sigma, cov_ip[..., None].astype(np.float64))[..., 0].astype(np.float32)
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return np.dstack([box(a, r), box(b, r)]).astype(np.float32)


def upsample_probs(probs_small: np.ndarray, small: np.ndarray, image: np.ndarray,
                   progress: Callable[[float], None] | None = None, strip_pixels: int = STRIP_PIXELS) -> np.ndarray:
    """Class probabilities (3, h, w) at working resolution brought to `image`'s size along its edges.

    Fast guided filter: coefficients at working resolution (guide = the downscaled photo),
    bilinearly upsampled and applied with the full-resolution photo as guide, strip by strip.
    Returns (3, H, W) float32 probabilities that sum to 1."""
    h, w = probs_small.shape[1:]
    H, W = image.shape[:2]
    guide_small = grey(small)
    r = fit_radius(PROBS_RADIUS, guide_small.shape)
    if r == 0:  # too small to filter: identity (a = 0, b = p)
        a, b = np.zeros_like(probs_small), probs_small.copy()
    else:
        a, b = guided_coefficients(guide_small, probs_small, r, PROBS_EPS)
    coeffs = np.concatenate([a, b])  # (6, h, w): a for the 3 classes, then b
    out = np.empty((3, H, W), np.float32)
    rows = strip_rows(W, strip_pixels)
    # Bilinear source rows for every output row (half-pixel centres, as cv2.resize).
    sy = np.clip((np.arange(H, dtype=np.float64) + 0.5) * (h / H) - 0.5, 0, h - 1)
    y0 = np.floor(sy).astype(np.int64)
    y1 = np.minimum(y0 + 1, h - 1)
    fy = (sy - y0).astype(np.float32)[:, None]
    for r0 in range(0, H, rows):
        r1 = min(H, r0 + rows)
        n = r1 - r0
        guide = grey(image[r0:r1])
        total = np.zeros((n, W), np.float32)
        for k in range(3):
            planes = []
            for c in (coeffs[k], coeffs[3 + k]):
                rows_c = c[y0[r0:r1]] * (1.0 - fy[r0:r1]) + c[y1[r0:r1]] * fy[r0:r1]  # (n, w): y interpolated
                # Height unchanged, so cv2.resize interpolates along x only.
                planes.append(cv2.resize(rows_c, (W, n), interpolation=cv2.INTER_LINEAR) if w != W else rows_c)
            q = out[k, r0:r1]
            np.multiply(planes[0], guide, out=q)
            q += planes[1]
            np.clip(q, 0.0, 1.0, out=q)
            total += q
        # The filter is linear, so the classes already sum to 1; only clipping disturbs that.
        np.maximum(total, 1e-6, out=total)
        out[:, r0:r1] /= total
        if progress:
            progress(r1 / H)
    return out
