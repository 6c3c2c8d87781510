"""Natural-looking test textures and known-kernel blurring for the deblur tests and benchmark.

Dead-leaves images (occluding disks with a power-law size distribution) share the scale
invariance and edge statistics of real photos, so blur estimators behave on them much as on photos.
"""

from __future__ import annotations

import cv2
import numpy as np

from blurstudio.edit.deblur import linear_to_srgb, srgb_to_linear


def dead_leaves(height: int, width: int, seed: int = 0, rmin: float = 2.0, rmax: float = 120.0) -> np.ndarray:
    """(H, W, 3) uint8 dead-leaves image: random coloured disks, radius density ~ r^-3."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 128, np.uint8)
    covered = np.zeros((height, width), bool)
    # Paint back to front is simplest; enough disks to cover the canvas several times over.
    n = int(12 * height * width / (np.pi * rmin * rmax))
    for _ in range(max(n, 200)):
        u = rng.random()
        r = 1.0 / np.sqrt(u / rmin**2 + (1 - u) / rmax**2)  # inverse CDF of density ~ r^-3
        cx, cy = rng.uniform(-rmax / 2, width + rmax / 2), rng.uniform(-rmax / 2, height + rmax / 2)
        colour = tuple(int(c) for c in rng.integers(20, 236, 3))
        cv2.circle(img, (int(round(cx * 16)), int(round(cy * 16))), int(round(r * 16)), colour, -1, cv2.LINE_AA, 4)
        covered[max(int(cy - r), 0):int(cy + r), max(int(cx - r), 0):int(cx + r)] = True
    # A little fine grain, like sensor texture, so flat leaves are not perfectly flat.
    grain = rng.normal(0, 2.0, (height, width, 1))
    return np.clip(img + grain, 0, 255).astype(np.uint8)


def blur_with(image: np.ndarray, psf: np.ndarray, noise: float = 0.0, seed: int = 1) -> np.ndarray:
    """Blur an sRGB uint8 image with `psf` in linear light, add Gaussian noise (sigma in 8-bit levels)."""
    lin = srgb_to_linear(image)
    out = cv2.filter2D(lin, -1, psf.astype(np.float32), borderType=cv2.BORDER_REFLECT)
    srgb = linear_to_srgb(out, as_uint8=False) * 255.0
    if noise > 0:
        srgb = srgb + np.random.default_rng(seed).normal(0, noise, srgb.shape)
    return np.clip(np.round(srgb), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def camera_composite(sharp: np.ndarray, psf: np.ndarray, noise: float, quality: int | None, seed: int = 1) -> np.ndarray:
    """A sharp sRGB uint8 photo blurred with a known `psf` as a camera records it (as trainer.synth
    does): blur in linear light, then sensor noise (sigma in 8-bit levels), then JPEG at `quality`
    (None: no JPEG)."""
    out = blur_with(sharp, psf, noise=noise, seed=seed)
    if quality is None:
        return out
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(out[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
