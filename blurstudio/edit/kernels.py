"""Blur kernels: their estimation from the power spectrum of a blurred region of a photo (the models,
a defocus disk and a linear motion streak, and their pictures are in psf.py); NumPy in, NumPy out.

For each blurred region (motion / defocus, from the blur map) windowed patches inside it are picked
and their power spectra averaged (Welch). Blur multiplies the spectrum by |H|^2, so the kernel shows
up as dark rings (defocus disk) or parallel dark stripes (linear motion).
- defocus: fit the radial profile with  c * f^-alpha * |H_R(f)|^2 + noise  over disk radii R
  (alpha near 2, as natural scenes); a large blur is measured again at half the scale, and so on;
- motion: the cepstrum of the anisotropic part of the log spectrum has negative peaks at the
  blur vector (length L, angle theta); the candidate whose sinc model fits the 2-D log spectrum
  best (harmonics at 2L, 3L dropped) is refined by a local search.
The user's radius / length / angle replace the estimates (`override_kernels`).

Angles are in degrees, counter-clockwise from the +x axis (image right), in [0, 180).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import cv2
import numpy as np
import scipy.fft as sfft

from ..blurmap import DEFOCUS, MOTION, SHARP, BlurMap
from ..errors import InputError
from ..ops.colour import LUMA, srgb_to_linear
from ..ops.photo import check_photo, check_probs
from .psf import BlurKernel, disk_kernel, kernel_image, kernel_sheet, motion_kernel
from .settings import REGIONS, DeblurSettings

# The kernel models live in psf.py; callers import them from here with the estimation.
__all__ = ["BlurKernel", "MIN_PATCHES", "disk_kernel", "estimate_defocus_radius", "estimate_kernel",
           "estimate_kernels", "estimate_motion_blur", "estimate_noise", "kernel_image", "kernel_sheet",
           "motion_kernel", "override_kernels", "photo_noise", "region_spectrum", "region_weights"]


# ----------------------------------------------------------------------------- spectra

MAX_PATCHES = 96
# Local contrast (std of linear-light luminance over 15 x 15 px) from which a pixel counts as
# textured. Patches of a smooth sky or lawn carry only noise and JPEG blocks at high frequencies,
# which the fit reads as a sharp image: with 0.003 (the old 1e-5 variance) they pulled the estimate
# of real defocused backgrounds to 1-2 px where their structured patches say 5-13 px.
TEXTURE_STD = 0.02
MIN_PATCHES = 4


def _patch_positions(mask: np.ndarray, n: int, valid: np.ndarray) -> list[tuple[int, int]]:
    """Top-left corners of n x n patches lying (>= 90 %) inside `mask` and textured (`valid`)."""
    h, w = mask.shape
    if h < n or w < n:
        return []
    # Integral image: the mask fraction of every candidate patch in O(1).
    ii = cv2.integral(mask.astype(np.uint8))
    iv = cv2.integral(valid.astype(np.uint8))
    step = n // 2
    ys = np.arange(0, h - n + 1, step)
    xs = np.arange(0, w - n + 1, step)
    out = []
    area = float(n * n)
    for y in ys:
        for x in xs:
            inside = ii[y + n, x + n] - ii[y, x + n] - ii[y + n, x] + ii[y, x]
            textured = iv[y + n, x + n] - iv[y, x + n] - iv[y + n, x] + iv[y, x]
            if inside >= 0.9 * area and textured >= 0.2 * area:
                out.append((int(y), int(x)))
    if len(out) > MAX_PATCHES:  # evenly spread subset keeps the cost bounded on big photos
        pick = np.linspace(0, len(out) - 1, MAX_PATCHES).round().astype(int)
        out = [out[i] for i in pick]
    return out


def _textured(gray: np.ndarray) -> np.ndarray:
    """Pixels with some local contrast; flat sky or clipped highlights tell nothing about blur."""
    g = gray.astype(np.float32)
    mean = cv2.blur(g, (15, 15))
    var = cv2.blur(g * g, (15, 15)) - mean * mean
    sat = cv2.blur((g > 0.98).astype(np.float32), (9, 9)) > 0
    return (var > TEXTURE_STD**2) & ~sat


def region_spectrum(gray: np.ndarray, mask: np.ndarray, n: int) -> tuple[np.ndarray | None, int]:
    """Welch power spectrum (n x n, unshifted) of Hann-windowed patches inside `mask`.

    Each patch is normalised by its variance so high-contrast patches do not dominate.
    Returns (None, 0) when too few patches fit in the region."""
    pos = _patch_positions(mask, n, _textured(gray))
    if len(pos) < MIN_PATCHES:
        return None, len(pos)
    win = np.outer(np.hanning(n + 1)[:-1], np.hanning(n + 1)[:-1]).astype(np.float32)  # periodic Hann
    stack = np.stack([gray[y:y + n, x:x + n] for y, x in pos]).astype(np.float32)
    stack -= stack.mean(axis=(1, 2), keepdims=True)
    stack /= np.sqrt(stack.var(axis=(1, 2), keepdims=True) + 1e-12)
    spec = np.abs(sfft.fft2(stack * win, axes=(1, 2))) ** 2
    return spec.mean(axis=0).astype(np.float64), len(pos)


def _freq_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    f = np.fft.fftfreq(n)
    return np.meshgrid(f, f)  # (fx, fy) in cycles per pixel


def _radial_bins(n: int) -> np.ndarray:
    fx, fy = _freq_grid(n)
    return np.round(np.hypot(fx, fy) * n).astype(int)


def _radial_mean(a: np.ndarray, bins: np.ndarray, nbins: int) -> np.ndarray:
    s = np.bincount(bins.ravel(), a.ravel(), minlength=nbins)[:nbins]
    c = np.bincount(bins.ravel(), minlength=nbins)[:nbins]
    return s / np.maximum(c, 1)


def _window_leak(p: np.ndarray) -> np.ndarray:
    """Spread a power spectrum as a periodic Hann window does (power kernel 1/6, 2/3, 1/6 per axis)."""
    p = p * (2 / 3) + (np.roll(p, 1, 0) + np.roll(p, -1, 0)) / 6
    return p * (2 / 3) + (np.roll(p, 1, 1) + np.roll(p, -1, 1)) / 6


def _otf_power(psf: np.ndarray, n: int) -> np.ndarray:
    """|H|^2 of a PSF on the n x n DFT grid (PSF centred on the origin)."""
    pad = np.zeros((n, n), np.float64)
    kh, kw = psf.shape
    pad[:kh, :kw] = psf
    pad = np.roll(pad, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return np.abs(np.fft.fft2(pad)) ** 2


def _fit_log_model(p: np.ndarray, g: np.ndarray) -> tuple[float, np.ndarray]:
    """Fit p ~ c*g + noise (c > 0, noise >= 0) in relative terms; return (log-residual, model)."""
    a, b = g / p, 1.0 / p
    m = np.array([[a @ a, a @ b], [a @ b, b @ b]])
    rhs = np.array([a.sum(), b.sum()])
    try:
        c, noise = np.linalg.solve(m, rhs)
    except np.linalg.LinAlgError:
        c, noise = -1.0, 0.0
    if noise < 0 or c <= 0:
        c, noise = a.sum() / max(a @ a, 1e-300), 0.0
    model = c * g + noise
    return float(np.mean((np.log(p) - np.log(np.maximum(model, 1e-300))) ** 2)), model


# ----------------------------------------------------------------------------- estimation

DEFOCUS_RADII = np.arange(0.5, 15.01, 0.25)
# Power-spectrum slopes of the unblurred scene that the fit may assume. Natural scenes fall off as
# about f^-2 (Field 1987). A wider range (it was 1 to 3.5) lets a steep slope stand in for the blur:
# on real defocused photos, whose disk zeros are washed out by depth changes and JPEG, the fit then
# chose a tiny disk plus a steep slope (0.5-1.5 px where the blur is 5-30 px; bench_deblur.py).
PRIOR_SLOPES = (1.8, 2.0, 2.2)
# Above this radius (px at the working scale) the disk's first zero nears the lowest frequencies of
# a 128 px patch: the region is measured again at half the scale.
COARSER_ABOVE = 7.5
MAX_DOWNSCALE = 8
BORDER = 24  # px of a region's border left out of the measurement


def estimate_defocus_radius(spectrum: np.ndarray) -> tuple[float, float]:
    """Disk radius (px) and a 0-1 score from a Welch spectrum of a defocused region."""
    n = spectrum.shape[0]
    bins = _radial_bins(n)
    nb = n // 2
    p = _radial_mean(spectrum, bins, nb)
    sel = slice(2, nb - 1)  # skip DC leakage and the Nyquist corner
    fx, fy = _freq_grid(n)
    f = np.maximum(np.hypot(fx, fy), 0.5 / n)
    priors = {a: f ** -a for a in PRIOR_SLOPES}
    results = []
    for r in DEFOCUS_RADII:
        h2 = _otf_power(disk_kernel(r), n)
        best = np.inf
        for a, prior in priors.items():
            model = _radial_mean(_window_leak(prior * h2), bins, nb)
            err, _ = _fit_log_model(p[sel], model[sel])
            best = min(best, err)
        results.append(best)
    results = np.array(results)
    i = int(np.argmin(results))
    radius = float(DEFOCUS_RADII[i])
    if 0 < i < len(results) - 1:  # parabolic refinement between grid radii
        y0, y1, y2 = results[i - 1:i + 2]
        den = y0 - 2 * y1 + y2
        if den > 0:
            radius += float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5)) * (DEFOCUS_RADII[1] - DEFOCUS_RADII[0])
    # Score: how much better the best radius fits than the smallest (almost no blur) would.
    score = float(np.clip(1 - results[i] / max(results[0], 1e-12), 0, 1))
    return radius, score


def estimate_motion_blur(spectrum: np.ndarray) -> tuple[float, float, float]:
    """Motion length (px), angle (deg) and a 0-1 score from a Welch spectrum of a motion-blurred region.

    The cepstrum of the anisotropic log spectrum has a negative peak at the blur vector; its few
    deepest local minima are candidates, and the one whose sinc model fits the spectrum best wins."""
    n = spectrum.shape[0]
    fit = _MotionFit(spectrum)
    ceps = np.real(np.fft.ifft2(fit.aniso_full))
    dy, dx = np.meshgrid(np.fft.fftfreq(n) * n, np.fft.fftfreq(n) * n, indexing="ij")
    r = np.hypot(dx, dy)
    search = (r >= 3) & (r <= n / 2 - 2) & ((dy > 0) | ((dy == 0) & (dx > 0)))  # half plane: +-v alike
    neighbours = np.min([np.roll(ceps, (oy, ox), (0, 1)) for oy in (-1, 0, 1) for ox in (-1, 0, 1) if oy or ox], axis=0)
    minima = np.flatnonzero((search & (ceps <= neighbours)).ravel())
    minima = minima[np.argsort(ceps.ravel()[minima])][:MOTION_CANDIDATES]
    if minima.size == 0:
        return 0.0, 0.0, 0.0
    candidates = []
    for flat in minima:
        iy, ix = np.unravel_index(int(flat), ceps.shape)
        px, py = _subpixel_peak(ceps, dx, dy, iy, ix)
        length = float(np.hypot(px, py))
        angle = float(np.rad2deg(np.arctan2(-py, px)) % 180.0)  # rows grow downwards
        candidates.append((fit(length, angle), length, angle))
    score, length, angle = fit.refine(max(_drop_harmonics(candidates)))
    return length, angle, float(np.clip(score, 0.0, 1.0))


def _drop_harmonics(candidates: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """Remove candidates at 2x or 3x the length of a similar-angle candidate that fits nearly as
    well: a kernel of length 2L has every spectral zero of length L, so it fits L's spectrum too."""
    keep = []
    for fit_long, long_, ang_long in candidates:
        harmonic = False
        for fit_short, short, ang_short in candidates:
            d_angle = abs(ang_long - ang_short) % 180
            same_line = min(d_angle, 180 - d_angle) < 8
            for k in (2, 3):
                if same_line and abs(long_ - k * short) < 0.15 * long_ and fit_short >= 0.85 * fit_long:
                    harmonic = True
        if not harmonic:
            keep.append((fit_long, long_, ang_long))
    return keep or candidates


MOTION_CANDIDATES = 6


def _subpixel_peak(ceps: np.ndarray, dx: np.ndarray, dy: np.ndarray, iy: int, ix: int) -> tuple[float, float]:
    """Centroid of the negative cepstrum in the 3 x 3 neighbourhood of a minimum."""
    n = ceps.shape[0]
    wsum = vx = vy = 0.0
    for oy in (-1, 0, 1):
        for ox in (-1, 0, 1):
            v = -ceps[(iy + oy) % n, (ix + ox) % n]
            if v > 0:
                wsum += v
                vx += v * (dx[iy, ix] + ox)
                vy += v * (dy[iy, ix] + oy)
    if wsum <= 0:
        return float(dx[iy, ix]), float(dy[iy, ix])
    return vx / wsum, vy / wsum


def _without_jpeg_grid(spectrum: np.ndarray) -> np.ndarray:
    """The spectrum with the rows and columns at multiples of 1/8 cycle/px (JPEG's 8 x 8 block grid,
    and the window's leak next to them) replaced by the mean of their outer neighbours: the block
    edges are horizontal and vertical stripes in the spectrum, which read as a short motion along an
    axis (8 px at 20 deg was read at 12 deg, 24 px at 150 deg as 9.6 px, on JPEG q 80)."""
    n = spectrum.shape[0]
    out = spectrum.copy()
    if n % 8:
        return out
    for axis in (0, 1):
        for k in range(1, 8):
            c = k * n // 8
            lo, hi = (c - 2) % n, (c + 2) % n
            fill = 0.5 * (np.take(out, lo, axis) + np.take(out, hi, axis))
            for i in (c - 1, c, c + 1):
                idx = [slice(None), slice(None)]
                idx[axis] = i % n
                out[tuple(idx)] = fill
    return out


class _MotionFit:
    """Correlation between the anisotropic part of the observed log spectrum and of a motion
    kernel's (window-smoothed) log |H|^2: 1 = the stripes match exactly."""

    FLOOR = 1e-3  # zeros of the sinc are filled by noise and leakage in real spectra

    def __init__(self, spectrum: np.ndarray):
        n = self.n = spectrum.shape[0]
        self.bins = _radial_bins(n)
        self.nb = int(self.bins.max()) + 1
        self.keep = (self.bins >= 2) & (self.bins < n // 2)
        logp = np.log(_without_jpeg_grid(spectrum) + 1e-12 * spectrum.max())
        # Removing the radial mean leaves only the anisotropic part: the motion stripes.
        self.aniso_full = logp - _radial_mean(logp, self.bins, self.nb)[self.bins]
        self.target = self.aniso_full[self.keep]

    def __call__(self, length: float, angle: float) -> float:
        h2 = _window_leak(_otf_power(motion_kernel(length, angle), self.n))
        lm = np.log(h2 + self.FLOOR)
        model = (lm - _radial_mean(lm, self.bins, self.nb)[self.bins])[self.keep]
        if np.std(model) == 0:
            return -1.0
        return float(np.corrcoef(model, self.target)[0, 1])

    def refine(self, start: tuple[float, float, float]) -> tuple[float, float, float]:
        """Coarse-to-fine local search of (length, angle) around a candidate."""
        best = start
        for scale in (0.1, 0.04):
            _, l0, a0 = best
            for dl in (-2, -1, 0, 1, 2):
                for da in (-2, -1, 0, 1, 2):
                    cand_l = max(l0 * (1 + scale * dl), 2.0)
                    cand_a = (a0 + da * scale * 40) % 180.0
                    s = self(cand_l, cand_a)
                    if s > best[0]:
                        best = (s, cand_l, cand_a)
        return best


def _region_gray(image: np.ndarray) -> np.ndarray:
    """Linear-light luminance of a uint8 sRGB photo (grey or RGB)."""
    return srgb_to_linear(image) if image.ndim == 2 else srgb_to_linear(image) @ LUMA


def estimate_kernel(image: np.ndarray, mask: np.ndarray, kind: str) -> BlurKernel | None:
    """Estimate the kernel of one region (`mask` True inside) of an sRGB uint8 photo.

    kind: "motion" or "defocus". Returns None when the region is too small or too flat to measure
    (fewer than MIN_PATCHES textured 64 x 64 patches)."""
    if kind not in ("motion", "defocus"):
        raise InputError(f"kind must be 'motion' or 'defocus', not {kind!r}")
    image = check_photo(image, grey=True)
    mask = np.asarray(mask, bool)
    if mask.shape != image.shape[:2]:
        raise InputError(f"mask of shape {mask.shape} does not match the image {image.shape[:2]}")
    gray = _region_gray(image)
    fraction = float(mask.mean())
    # Patches at the region's border see the sharp side's edges (a blur map's or a hand-drawn
    # mask's border is never exact): measure inside first, the whole region if too little is left.
    inner = cv2.erode(mask.astype(np.uint8), np.ones((2 * BORDER + 1, 2 * BORDER + 1), np.uint8)) > 0
    measured = _measure(gray, inner, kind) or _measure(gray, mask, kind)
    if measured is None:
        return None
    scale = 1
    # Large defocus blurs are measured at a coarser scale, where they fit the patches; the
    # coarsest scale that still has enough patches and resolves the blur wins.
    while kind == "defocus" and measured[0][0] > COARSER_ABOVE and scale < MAX_DOWNSCALE:
        h, w = gray.shape
        if min(h, w) // 2 < 64:  # not a single patch left
            break
        gray = cv2.resize(gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask.astype(np.uint8), (w // 2, h // 2), interpolation=cv2.INTER_NEAREST) > 0
        inner = cv2.resize(inner.astype(np.uint8), (w // 2, h // 2), interpolation=cv2.INTER_NEAREST) > 0
        coarser = _measure(gray, inner, kind) or _measure(gray, mask, kind)
        if coarser is None:
            break
        measured, scale = coarser, scale * 2
    (value, score), count = measured
    if kind == "defocus":
        return BlurKernel("defocus", radius=value * scale, score=score, patches=count, fraction=fraction)
    length, angle = value
    return BlurKernel("motion", length=length, angle=angle, score=score, patches=count, fraction=fraction)


def _measure(gray: np.ndarray, mask: np.ndarray, kind: str) -> tuple[tuple, int] | None:
    """((radius, score) or ((length, angle), score), patches) of one region at one scale, or None
    when too few textured patches fit."""
    spectrum, count = None, 0
    for n in (128, 64):  # larger patches resolve big kernels; fall back for small regions
        spectrum, count = region_spectrum(gray, mask, n)
        if spectrum is not None:
            break
    if spectrum is None:
        return None
    if kind == "defocus":
        return estimate_defocus_radius(spectrum), count
    length, angle, score = estimate_motion_blur(spectrum)
    return ((length, angle), score), count


def region_weights(blurmap: BlurMap | np.ndarray, region: str = "auto") -> dict[str, np.ndarray]:
    """Per-kernel-kind soft weights (H, W) float32 from the blur map.

    auto: motion and defocus regions separately; "motion" / "defocus": every blurred pixel
    (1 - p(sharp)) is treated as that kind."""
    if region not in REGIONS:
        raise InputError(f"region must be one of {', '.join(REGIONS)}, not {region!r}")
    probs = blurmap.probs if isinstance(blurmap, BlurMap) else np.asarray(blurmap, np.float32)
    if region == "auto":
        return {"motion": probs[MOTION], "defocus": probs[DEFOCUS]}
    return {region: np.clip(1.0 - probs[SHARP], 0.0, 1.0)}


def estimate_kernels(image: np.ndarray, blurmap: BlurMap | np.ndarray, region: str = "auto") -> dict[str, BlurKernel]:
    """Kernels for the blurred regions of a photo: {"motion": ..., "defocus": ...} (those measurable)."""
    image = check_photo(image, grey=True)
    check_probs(blurmap, image.shape)
    out = {}
    for kind, weight in region_weights(blurmap, region).items():
        mask = weight > 0.5
        if mask.mean() < 0.005:
            continue
        k = estimate_kernel(image, mask, kind)
        if k is not None:
            out[kind] = k
    return out


def override_kernels(kernels: dict[str, BlurKernel], settings: DeblurSettings, kinds: Iterable[str]) -> dict[str, BlurKernel]:
    """The kernels with the user's radius / length / angle (those not None) in place of the
    estimates, for the kinds of region present (`kinds`). A region whose kernel could not be
    measured gets one from the overrides alone (motion needs a length for that)."""
    out = dict(kernels)
    kinds = set(kinds)
    if settings.radius is not None and "defocus" in kinds:
        base = out.get("defocus") or BlurKernel("defocus")
        out["defocus"] = replace(base, radius=float(settings.radius), source="set")
    motion = out.get("motion")
    if "motion" in kinds and (settings.length is not None or settings.angle is not None) and (
            motion is not None or settings.length is not None):
        base = motion or BlurKernel("motion")
        out["motion"] = replace(base, source="set",
                                length=float(base.length if settings.length is None else settings.length),
                                angle=float(base.angle if settings.angle is None else settings.angle))
    return out


def estimate_noise(gray: np.ndarray) -> float:
    """Noise sigma of a grey image: Immerkaer's (1996) Laplacian-difference estimator, taken over
    16 x 16 blocks and read at the 25th percentile so textured blocks do not count as noise."""
    g = gray.astype(np.float32)
    if min(g.shape) < 18:
        return 0.0
    lap = np.abs(cv2.filter2D(g, -1, np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)))[1:-1, 1:-1]
    blocks = cv2.resize(lap, (lap.shape[1] // 16, lap.shape[0] // 16), interpolation=cv2.INTER_AREA)
    return float(np.percentile(blocks, 25) * np.sqrt(np.pi / 2) / 6.0)


def photo_noise(image: np.ndarray) -> float:
    """Noise sigma (linear light) of a photo, from a central crop of at most 1024 x 1024."""
    image = check_photo(image, grey=True)
    h, w = image.shape[:2]
    y0, x0 = max(0, (h - 1024) // 2), max(0, (w - 1024) // 2)
    return estimate_noise(_region_gray(image[y0:y0 + 1024, x0:x0 + 1024]))

