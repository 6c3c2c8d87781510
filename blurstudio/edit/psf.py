"""Blur kernel models: a defocus disk, a linear motion streak, `BlurKernel` (an estimated or
user-set kernel of one region) and pictures of them. NumPy only, no Qt; kernels.py estimates them.

Angles are in degrees, counter-clockwise from the +x axis (image right), in [0, 180).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from ..errors import InputError


def disk_kernel(radius: float) -> np.ndarray:
    """Defocus PSF: a uniform disk of `radius` px with a one-pixel anti-aliased edge, sum 1."""
    r = max(float(radius), 0.0)
    n = int(np.ceil(r + 0.5))
    y, x = np.mgrid[-n:n + 1, -n:n + 1]
    k = np.clip(r + 0.5 - np.hypot(x, y), 0.0, 1.0).astype(np.float32)
    if k.sum() <= 0:
        k[n, n] = 1.0
    return k / k.sum()


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """Linear motion PSF: a segment of `length` px at `angle` degrees (CCW from +x), sub-pixel exact
    ends (bilinear splatting of dense samples), sum 1."""
    length = max(float(length), 1.0)
    theta = np.deg2rad(angle)
    n = int(np.ceil(length / 2)) + 1
    k = np.zeros((2 * n + 1, 2 * n + 1), np.float64)
    t = np.linspace(-(length - 1) / 2, (length - 1) / 2, int(np.ceil(length * 8)) + 1)
    # A segment of `length` px covers `length` pixels: its sample centres span length - 1, plus the
    # bilinear footprint of each sample.
    x = n + t * np.cos(theta)
    y = n - t * np.sin(theta)  # image rows grow downwards
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dy, dx, w in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(k, (y0 + dy, x0 + dx), w)
    return (k / k.sum()).astype(np.float32)


@dataclass
class BlurKernel:
    """An estimated blur kernel for one region of a photo.

    kind: "motion" or "defocus"; radius (defocus, px); length (px) and angle (degrees CCW from +x,
    0-180) for motion; score: 0-1, how clearly the spectrum showed the kernel; patches: how many
    patches the estimate averaged; fraction: the share of the photo in this region.
    """

    kind: str
    radius: float = 0.0
    length: float = 0.0
    angle: float = 0.0
    score: float = 0.0
    patches: int = 0
    fraction: float = 0.0
    source: str = "spectrum"

    def psf(self) -> np.ndarray:
        """The kernel as a normalised 2-D array."""
        if self.kind == "defocus":
            return disk_kernel(self.radius)
        if self.kind == "motion":
            return motion_kernel(self.length, self.angle)
        raise InputError(f"unknown kernel kind {self.kind!r}")

    @property
    def extent(self) -> int:
        """Half-size in pixels of the kernel's support."""
        return self.psf().shape[0] // 2

    def to_dict(self) -> dict:
        d = asdict(self)
        keep = ("radius",) if self.kind == "defocus" else ("length", "angle")
        out = {"kind": self.kind}
        out.update({k: round(float(d[k]), 2) for k in keep})
        out.update(score=round(float(self.score), 3), patches=int(self.patches), fraction=round(float(self.fraction), 4),
                   source=self.source)
        return out

    def describe(self) -> str:
        if self.kind == "defocus":
            return f"defocus disk, radius {self.radius:.1f} px"
        return f"motion {self.length:.1f} px at {round(self.angle) % 180}\N{DEGREE SIGN}"


def kernel_image(kernel: BlurKernel | np.ndarray, size: int = 128) -> np.ndarray:
    """(size, size) uint8 picture of a kernel for display: white on black, peak at 255.

    The kernel is shown in a box of at least 21 px so small and large kernels keep their true
    relative size, enlarged with nearest-neighbour so single pixels stay visible.
    """
    psf = kernel.psf() if isinstance(kernel, BlurKernel) else np.asarray(kernel, np.float32)
    if psf.ndim != 2 or psf.size == 0:
        raise InputError(f"a kernel must be a 2-D array, got shape {psf.shape}")
    box = max(max(psf.shape), 21)
    canvas = np.zeros((box, box), np.float32)
    y0, x0 = (box - psf.shape[0]) // 2, (box - psf.shape[1]) // 2
    canvas[y0:y0 + psf.shape[0], x0:x0 + psf.shape[1]] = psf
    peak = canvas.max()
    if peak > 0:
        canvas /= peak
    img = np.round(canvas * 255).astype(np.uint8)
    return cv2.resize(img, (int(size), int(size)), interpolation=cv2.INTER_NEAREST)


def kernel_sheet(kernels: dict[str, BlurKernel], size: int = 160) -> np.ndarray:
    """(H, W) uint8 image of several kernels side by side, each captioned (for --kernel-out)."""
    if not kernels:
        raise InputError("no kernels to draw")
    tiles = []
    for k in kernels.values():
        caption = np.zeros((28, size), np.uint8)
        text = f"R {k.radius:.1f}px" if k.kind == "defocus" else f"{k.length:.1f}px {round(k.angle) % 180}deg"
        cv2.putText(caption, f"{k.kind[0].upper()} {text}", (4, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
        tiles.append(np.vstack([kernel_image(k, size), caption]))
        tiles.append(np.full((size + 28, 4), 96, np.uint8))  # separator
    return np.hstack(tiles[:-1])
