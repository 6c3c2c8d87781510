"""Blur kernels (PSFs): defocus disks and polygons, linear motion, camera-shake trajectories.

Every kernel is float32, non-negative, sums to 1, has odd side lengths and is centred.
"""

from __future__ import annotations

import numpy as np


def _odd(n: float) -> int:
    n = int(np.ceil(n))
    return n + 1 - n % 2


def _supersampled(size: int, inside, ss: int = 4) -> np.ndarray:
    """Area coverage of the region `inside(x, y)` on a size x size grid centred at 0."""
    coords = (np.arange(size * ss) + 0.5) / ss - size / 2.0
    x, y = np.meshgrid(coords, coords)
    cover = inside(x, y).astype(np.float32)
    return cover.reshape(size, ss, size, ss).mean(axis=(1, 3))


def _normalised(k: np.ndarray) -> np.ndarray:
    k = np.maximum(k.astype(np.float32), 0.0)
    s = float(k.sum())
    if s <= 0:
        raise ValueError("empty kernel")
    return k / s


def disk_kernel(radius: float) -> np.ndarray:
    """Defocus PSF of a circular aperture: a uniform disk with anti-aliased edge."""
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    if radius < 0.5:
        return np.ones((1, 1), np.float32)
    size = _odd(2 * radius + 1)
    return _normalised(_supersampled(size, lambda x, y: x * x + y * y <= radius * radius))


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A soft defocus PSF (aberrations, apodised or cheap lenses): an isotropic Gaussian.

    sigma = radius / 2 gives the same RMS extent as a disk of that radius."""
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if sigma < 0.25:
        return np.ones((1, 1), np.float32)
    size = _odd(6 * sigma + 1)
    x = np.arange(size, dtype=np.float32) - (size - 1) / 2
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return _normalised(np.outer(g, g))


def polygon_kernel(radius: float, sides: int = 6, rotation: float = 0.0) -> np.ndarray:
    """Defocus PSF of a polygonal aperture (n blades) with circumradius `radius`."""
    if sides < 3:
        raise ValueError("a polygon needs at least 3 sides")
    if radius < 0.5:
        return np.ones((1, 1), np.float32)
    size = _odd(2 * radius + 1)
    apothem = radius * np.cos(np.pi / sides)

    def inside(x, y):
        ok = np.ones_like(x, dtype=bool)
        for i in range(sides):
            a = rotation + (i + 0.5) * 2 * np.pi / sides
            ok &= x * np.cos(a) + y * np.sin(a) <= apothem
        return ok

    return _normalised(_supersampled(size, inside))


def _splat_path(points: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Render a sampled path (N, 2) of (x, y) offsets into a centred kernel with bilinear splats."""
    if weights is None:
        weights = np.ones(len(points), np.float32)
    points = points - points.mean(axis=0)  # centre of mass at the kernel centre: no image shift
    half = int(np.ceil(np.abs(points).max())) + 1
    size = 2 * half + 1
    k = np.zeros((size, size), np.float32)
    px, py = points[:, 0] + half, points[:, 1] + half
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    fx, fy = px - x0, py - y0
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(k, (y0 + dy, x0 + dx), w * weights)
    return _normalised(k)


def linear_motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """Uniform linear motion of `length` pixels at `angle_deg` (0 = horizontal, counter-clockwise)."""
    if length < 1:
        return np.ones((1, 1), np.float32)
    n = max(int(np.ceil(length * 4)), 2)
    t = np.linspace(-length / 2, length / 2, n)
    a = np.deg2rad(angle_deg)
    pts = np.stack([t * np.cos(a), -t * np.sin(a)], axis=1)  # image y points down
    return _splat_path(pts)


def shake_kernel(length: float, rng: np.random.Generator, curviness: float = 0.6) -> np.ndarray:
    """A smooth random camera-shake trajectory of about `length` pixels of path.

    A random walk with momentum (in the spirit of Boracchi & Foi 2012): direction changes
    smoothly, speed varies, so the PSF has the uneven intensity of real shake.
    """
    if length < 1:
        return np.ones((1, 1), np.float32)
    steps = max(int(length * 3), 8)
    heading = rng.uniform(0, 2 * np.pi)
    turn = rng.normal(0, curviness, steps).cumsum() / np.sqrt(steps)
    speed = np.clip(1 + 0.5 * rng.normal(0, 1, steps).cumsum() / np.sqrt(steps), 0.2, 2.0)
    ang = heading + turn
    d = np.stack([np.cos(ang), np.sin(ang)], axis=1) * speed[:, None]
    d *= length / np.sum(np.linalg.norm(d, axis=1))
    pts = np.concatenate([[[0.0, 0.0]], np.cumsum(d, axis=0)])
    # Exposure time per step is inversely proportional to speed: slow parts are brighter.
    w = np.concatenate([[1.0 / speed[0]], 1.0 / speed]).astype(np.float32)
    return _splat_path(pts, w)


def kernel_extent(kernel: np.ndarray) -> float:
    """Spread of a kernel: twice the RMS radius of its mass (about the visible blur width)."""
    h, w = kernel.shape
    y, x = np.mgrid[:h, :w]
    cx, cy = (kernel * x).sum(), (kernel * y).sum()
    return float(2 * np.sqrt((kernel * ((x - cx) ** 2 + (y - cy) ** 2)).sum()))
