"""Deblurring guided by the blur map: per-region kernel estimation and non-blind deconvolution.

Pipeline (NumPy in, NumPy out, no Qt):
1. For each blurred region (motion / defocus, from the blur map) pick windowed patches inside it and
   average their power spectra (Welch). Blur multiplies the spectrum by |H|^2, so the kernel shows
   up as dark rings (defocus disk) or parallel dark stripes (linear motion).
   - defocus: fit the radial profile with  c * f^-alpha * |H_R(f)|^2 + noise  over disk radii R;
   - motion: the cepstrum of the anisotropic part of the log spectrum has negative peaks at the
     blur vector (length L, angle theta); the candidate whose sinc model fits the 2-D log spectrum
     best (harmonics at 2L, 3L dropped) is refined by a local search.
2. Deconvolve in linear light with that kernel: Wiener (gradient prior, per channel, one FFT pair
   per tile) or Richardson-Lucy (accelerated, damped, total-variation term, on luminance), on
   tiles with wide overlap that are cross-faded, only where the map says blurred. Before the FFT,
   everything the blur model does not describe (tile edges, mirrored padding beyond the photo,
   pixels outside the region) is replaced by its own re-blur, so nothing rings into the region.
   Clipped highlights and their surroundings are left as they are.
3. Blend the restored pixels in by the (feathered) class probability, so sharp regions keep their
   exact original pixels and region borders have no seams.

Angles are in degrees, counter-clockwise from the +x axis (image right), in [0, 180).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Optional

import cv2
import numpy as np
import scipy.fft as sfft

from blurstudio.blurmap import CLASS_NAMES, DEFOCUS, MOTION, SHARP, BlurMap

METHODS = ("wiener", "rl")
REGIONS = ("auto", "motion", "defocus")

ProgressFn = Callable[[float], None]
CancelFn = Callable[[], bool]


class Cancelled(Exception):
    """Raised when the `cancel` callback returns True between tiles."""


class DeblurError(ValueError):
    """Bad input to the deblur functions (message says what is wrong)."""


# ----------------------------------------------------------------------------- colour


_SRGB_LUT = None  # uint8 -> linear float32
_LINEAR_LUT_SIZE = 1 << 16
_LINEAR_LUT = None  # quantised linear -> sRGB uint8


def _srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _srgb_encode(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """uint8 sRGB (any shape) -> float32 linear light in [0, 1] (table look-up)."""
    global _SRGB_LUT
    if _SRGB_LUT is None:
        _SRGB_LUT = _srgb_decode(np.arange(256) / 255.0).astype(np.float32)
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise DeblurError(f"expected a uint8 image, got {image.dtype}")
    return _SRGB_LUT[image]


def linear_to_srgb(linear: np.ndarray, as_uint8: bool = True) -> np.ndarray:
    """float linear light -> sRGB, uint8 (16-bit table look-up) or float in [0, 1]."""
    global _LINEAR_LUT
    linear = np.asarray(linear, dtype=np.float32)
    if not as_uint8:
        return _srgb_encode(linear).astype(np.float32)
    if _LINEAR_LUT is None:
        centres = (np.arange(_LINEAR_LUT_SIZE) + 0.5) / (_LINEAR_LUT_SIZE - 1)
        _LINEAR_LUT = np.clip(np.round(_srgb_encode(centres) * 255.0), 0, 255).astype(np.uint8)
    # nan_to_num keeps a stray NaN from becoming an out-of-range index.
    idx = np.nan_to_num(linear, nan=0.0, posinf=1.0, neginf=0.0)
    idx = np.clip(idx * (_LINEAR_LUT_SIZE - 1), 0, _LINEAR_LUT_SIZE - 1).astype(np.uint16)
    return _LINEAR_LUT[idx]


def _luminance(linear_rgb: np.ndarray) -> np.ndarray:
    return (linear_rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)).astype(np.float32)


# ----------------------------------------------------------------------------- kernels


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

    def psf(self) -> np.ndarray:
        """The kernel as a normalised 2-D array."""
        if self.kind == "defocus":
            return disk_kernel(self.radius)
        if self.kind == "motion":
            return motion_kernel(self.length, self.angle)
        raise DeblurError(f"unknown kernel kind {self.kind!r}")

    @property
    def extent(self) -> int:
        """Half-size in pixels of the kernel's support."""
        return self.psf().shape[0] // 2

    def to_dict(self) -> dict:
        d = asdict(self)
        keep = ("radius",) if self.kind == "defocus" else ("length", "angle")
        out = {"kind": self.kind}
        out.update({k: round(float(d[k]), 2) for k in keep})
        out.update(score=round(float(self.score), 3), patches=int(self.patches), fraction=round(float(self.fraction), 4))
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
        raise DeblurError(f"a kernel must be a 2-D array, got shape {psf.shape}")
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
        raise DeblurError("no kernels to draw")
    tiles = []
    for k in kernels.values():
        caption = np.zeros((28, size), np.uint8)
        text = f"R {k.radius:.1f}px" if k.kind == "defocus" else f"{k.length:.1f}px {round(k.angle) % 180}deg"
        cv2.putText(caption, f"{k.kind[0].upper()} {text}", (4, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
        tiles.append(np.vstack([kernel_image(k, size), caption]))
        tiles.append(np.full((size + 28, 4), 96, np.uint8))  # separator
    return np.hstack(tiles[:-1])


# ----------------------------------------------------------------------------- spectra

MAX_PATCHES = 96
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
    return (var > 1e-5) & ~sat


def region_spectrum(gray: np.ndarray, mask: np.ndarray, n: int) -> tuple[Optional[np.ndarray], int]:
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
PRIOR_SLOPES = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5)


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


class _MotionFit:
    """Correlation between the anisotropic part of the observed log spectrum and of a motion
    kernel's (window-smoothed) log |H|^2: 1 = the stripes match exactly."""

    FLOOR = 1e-3  # zeros of the sinc are filled by noise and leakage in real spectra

    def __init__(self, spectrum: np.ndarray):
        n = self.n = spectrum.shape[0]
        self.bins = _radial_bins(n)
        self.nb = int(self.bins.max()) + 1
        self.keep = (self.bins >= 2) & (self.bins < n // 2)
        logp = np.log(spectrum + 1e-12 * spectrum.max())
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
    if image.ndim == 2:
        return srgb_to_linear(image) if image.dtype == np.uint8 else image.astype(np.float32)
    return _luminance(srgb_to_linear(image))


def estimate_kernel(image: np.ndarray, mask: np.ndarray, kind: str) -> Optional[BlurKernel]:
    """Estimate the kernel of one region (`mask` True inside) of an sRGB uint8 photo.

    kind: "motion" or "defocus". Returns None when the region is too small or too flat to measure
    (fewer than MIN_PATCHES textured 64 x 64 patches)."""
    if kind not in ("motion", "defocus"):
        raise DeblurError(f"kind must be 'motion' or 'defocus', not {kind!r}")
    image = _check_image(image)
    mask = np.asarray(mask, bool)
    if mask.shape != image.shape[:2]:
        raise DeblurError(f"mask of shape {mask.shape} does not match the image {image.shape[:2]}")
    gray = _region_gray(image)
    spectrum, count = None, 0
    for n in (128, 64):  # larger patches resolve big kernels; fall back for small regions
        spectrum, count = region_spectrum(gray, mask, n)
        if spectrum is not None:
            break
    if spectrum is None:
        return None
    fraction = float(mask.mean())
    if kind == "defocus":
        radius, score = estimate_defocus_radius(spectrum)
        return BlurKernel("defocus", radius=radius, score=score, patches=count, fraction=fraction)
    length, angle, score = estimate_motion_blur(spectrum)
    return BlurKernel("motion", length=length, angle=angle, score=score, patches=count, fraction=fraction)


def _probs_of(blurmap: BlurMap | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    probs = blurmap.probs if isinstance(blurmap, BlurMap) else np.asarray(blurmap, np.float32)
    if probs.ndim != 3 or probs.shape[0] != 3:
        raise DeblurError(f"blur map probabilities must have shape (3, H, W), got {probs.shape}")
    if probs.shape[1:] != tuple(shape):
        raise DeblurError(f"blur map of size {probs.shape[1:]} does not match the photo {tuple(shape)}")
    return probs


def region_weights(blurmap: BlurMap | np.ndarray, region: str = "auto") -> dict[str, np.ndarray]:
    """Per-kernel-kind soft weights (H, W) float32 from the blur map.

    auto: motion and defocus regions separately; "motion" / "defocus": every blurred pixel
    (1 - p(sharp)) is treated as that kind."""
    if region not in REGIONS:
        raise DeblurError(f"region must be one of {', '.join(REGIONS)}, not {region!r}")
    probs = blurmap.probs if isinstance(blurmap, BlurMap) else np.asarray(blurmap, np.float32)
    if region == "auto":
        return {"motion": probs[MOTION], "defocus": probs[DEFOCUS]}
    return {region: np.clip(1.0 - probs[SHARP], 0.0, 1.0)}


def estimate_kernels(image: np.ndarray, blurmap: BlurMap | np.ndarray, region: str = "auto") -> dict[str, BlurKernel]:
    """Kernels for the blurred regions of a photo: {"motion": ..., "defocus": ...} (those measurable)."""
    image = _check_image(image)
    _probs_of(blurmap, image.shape[:2])
    out = {}
    for kind, weight in region_weights(blurmap, region).items():
        mask = weight > 0.5
        if mask.mean() < 0.005:
            continue
        k = estimate_kernel(image, mask, kind)
        if k is not None:
            out[kind] = k
    return out


# ----------------------------------------------------------------------------- deconvolution

TILE = 512
SINGLE_TILE = 1536  # up to this side an image is one FFT tile (loupe crops with context: fewer overheads)
MIN_MARGIN = 48
WIENER_FLOOR = 0.3  # constant part of the Wiener regulariser (frequencies where |H| and |D| both vanish)
MARGIN_FACTOR = 10.0  # FFT context in kernel half-sizes: deconvolution tails decay within it
DEFAULT_RL_ITERATIONS = 20


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise DeblurError(f"expected an (H, W, 3) or (H, W) uint8 image, got {image.dtype} {image.shape}")
    if min(image.shape[:2]) < 1:
        raise DeblurError("the image is empty")
    return image


def estimate_noise(gray: np.ndarray) -> float:
    """Noise sigma of a grey image: Immerkaer's (1996) Laplacian-difference estimator, taken over
    16 x 16 blocks and read at the 25th percentile so textured blocks do not count as noise."""
    g = gray.astype(np.float32)
    if min(g.shape) < 18:
        return 0.0
    lap = np.abs(cv2.filter2D(g, -1, np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)))[1:-1, 1:-1]
    blocks = cv2.resize(lap, (lap.shape[1] // 16, lap.shape[0] // 16), interpolation=cv2.INTER_AREA)
    return float(np.percentile(blocks, 25) * np.sqrt(np.pi / 2) / 6.0)


def auto_regularisation(sigma: float, kernel: "BlurKernel") -> float:
    """Wiener gradient-prior weight for a noise sigma (linear light) and a kernel.

    Tuned on dead-leaves images: ~2.5e-3 for clean 8-bit photos, growing with the noise variance;
    long motion kernels have spectral zeros at low frequencies, where the gradient prior is weak,
    so they need proportionally more (about length^2)."""
    lam = 2.5e-3 + 100.0 * float(sigma) ** 2
    if kernel.kind == "motion":
        lam *= max(1.0, (kernel.length / 10.0) ** 2)
    return float(np.clip(lam, 1e-4, 0.2))


def rl_iterations(iterations: int, sigma: float) -> int:
    """Richardson-Lucy iterations for a noise sigma (linear light): RL fits noise as it converges, so
    noisy photos stop earlier (half as many at about 4/255 noise in mid-tones)."""
    return max(4, int(round(iterations * min(1.0, 0.005 / max(float(sigma), 1e-6)))))


def _psf_fft(psf: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """rfft2 of the PSF zero-padded to `shape`, centred on the origin (no shift in the result)."""
    pad = np.zeros(shape, np.float32)
    kh, kw = psf.shape
    pad[:kh, :kw] = psf
    pad = np.roll(pad, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return sfft.rfft2(pad).astype(np.complex64)


def _gradient_power(shape: tuple[int, int]) -> np.ndarray:
    """|D_x|^2 + |D_y|^2 of finite differences on the rfft2 grid."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    return (4 * np.sin(np.pi * fy) ** 2 + 4 * np.sin(np.pi * fx) ** 2).astype(np.float32)


def _cos_ramp(d: np.ndarray, width: float) -> np.ndarray:
    """0 at d <= 0 rising as a raised cosine to 1 at d >= width."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(d / max(width, 1.0), 0.0, 1.0))


def _tile_taper(start: int, size: int, limit: int, margin: int, outside_ramp: float) -> np.ndarray:
    """1-D taper of a padded tile along one axis: 0 at the tile ends (no FFT wrap-around edge) and
    falling to 0 within `outside_ramp` px outside the image (mirrored padding does not match an
    oblique kernel)."""
    i = np.arange(size)
    to_tile_edge = np.minimum(i, size - 1 - i).astype(np.float32)
    pos = start + i  # image coordinate
    outside = np.maximum(-pos, pos - (limit - 1)).astype(np.float32)  # > 0 outside the image
    return (_cos_ramp(to_tile_edge, margin / 2) * (1.0 - _cos_ramp(outside, outside_ramp))).astype(np.float32)


class _Deconvolver:
    """Deconvolves same-size padded tiles with one PSF; FFT filters are built once."""

    def __init__(self, psf: np.ndarray, shape: tuple[int, int], method: str, regularisation: float, iterations: int):
        self.shape = shape
        self.method = method
        self.H = _psf_fft(psf, shape)
        h2 = (self.H.real**2 + self.H.imag**2).astype(np.float32)
        # Gradient (1/f^2 image prior) regularisation, plus a constant where the kernel loses signal
        # (low-frequency zeros of long motion kernels, where the gradient term vanishes). It leaves
        # the DC gain at exactly 1, so flat areas keep their brightness.
        floor = WIENER_FLOOR * np.clip(1.0 - h2, 0.0, 1.0)
        self.wiener = (np.conj(self.H) / (h2 + regularisation * (_gradient_power(shape) + floor))).astype(np.complex64)
        # TV weight follows the Wiener weight, capped so the semi-implicit update stays stable with
        # the 0.01 gradient floor of _tv_divergence (weight * 8 / floor < 0.5).
        self.tv = min(regularisation * 0.2, 6e-4)
        self.iterations = iterations

    def _conv(self, x: np.ndarray, filt: np.ndarray) -> np.ndarray:
        return sfft.irfft2(sfft.rfft2(x, axes=(-2, -1)) * filt, s=self.shape, axes=(-2, -1), workers=-1).astype(np.float32)

    def edge_taper(self, x: np.ndarray, taper: np.ndarray) -> np.ndarray:
        """Blend into the tile's own circular blur where `taper` < 1, so the data there fits the blur
        model: no wrap-around edge for the FFT, no mismatched mirror image beyond the photo."""
        return taper * x + (1 - taper) * self._conv(x, self.H)

    def __call__(self, tile: np.ndarray, taper: np.ndarray) -> np.ndarray:
        """tile: (C, P, P) linear light; taper: (P, P); returns the restored tile."""
        x = self.edge_taper(tile, taper)
        if self.method == "wiener":
            return self._conv(x, self.wiener)
        if x.shape[0] == 1:
            return self._richardson_lucy(x)
        # RL is iterative, so it runs on luminance only (3x faster); the colour difference
        # channels, which carry less detail and are not positive, get the linear Wiener filter.
        luma = np.array([0.2126, 0.7152, 0.0722], np.float32)
        wx = self._conv(x, self.wiener)
        y = np.tensordot(luma, x, axes=1)[None]
        return wx + (self._richardson_lucy(y) - np.tensordot(luma, wx, axes=1)[None])

    def _richardson_lucy(self, g: np.ndarray) -> np.ndarray:
        """Richardson-Lucy, accelerated (Biggs & Andrews 1997), with a damped update and a
        total-variation term (Dey et al. 2006) that keeps noise and ringing down."""
        eps = 1e-3  # offset keeps black regions away from 0/0
        g = np.maximum(g, 0) + eps
        x = g.copy()
        x_prev = step_prev = None
        h_conj = np.conj(self.H)
        for _ in range(self.iterations):
            y = x
            if step_prev is not None and x_prev is not None:
                # Extrapolate along the last step, as far as the last two steps agree.
                alpha = float(np.clip(np.sum(step * step_prev) / (np.sum(step_prev * step_prev) + 1e-12), 0.0, 0.9))
                y = np.clip(x + alpha * (x - x_prev), eps * 0.5, 1.5)
            est = np.maximum(self._conv(y, self.H), 1e-6)
            ratio = np.clip(g / est, 0.5, 2.0)  # damping: no pixel moves more than 2x per step
            x_new = y * self._conv(ratio, h_conj) / np.maximum(1.0 - self.tv * _tv_divergence(y), 0.5)
            x_new = np.clip(x_new, eps * 0.5, 1.5)
            step_prev, step = (step if x_prev is not None else None), x_new - y
            x_prev, x = x, x_new
        return x - eps


def _tv_divergence(u: np.ndarray) -> np.ndarray:
    """div(grad u / |grad u|) per channel (last two axes)."""
    gx = np.diff(u, axis=-1, append=u[..., -1:])
    gy = np.diff(u, axis=-2, append=u[..., -1:, :])
    # The 0.01 floor (about the noise level) keeps float round-off in flat areas from being amplified.
    norm = np.sqrt(gx * gx + gy * gy + 1e-4)
    nx, ny = gx / norm, gy / norm
    return (nx - np.roll(nx, 1, axis=-1)) + (ny - np.roll(ny, 1, axis=-2))


def _feather(weight: np.ndarray, radius: int) -> np.ndarray:
    """Soften region borders so the restored region fades in without a seam."""
    if radius < 1:
        return weight.astype(np.float32)
    k = 2 * radius + 1
    smooth = cv2.blur(weight.astype(np.float32), (k, k), borderType=cv2.BORDER_REFLECT)
    smooth = cv2.blur(smooth, (k, k), borderType=cv2.BORDER_REFLECT)  # twice: a smooth tent, no kinks
    return np.clip((smooth - 0.2) / 0.6, 0.0, 1.0)


def deblur(
    image: np.ndarray,
    blurmap: BlurMap | np.ndarray,
    kernels: Optional[dict[str, BlurKernel]] = None,
    *,
    region: str = "auto",
    method: str = "wiener",
    strength: float = 1.0,
    regularisation: float = 1.0,
    iterations: int = DEFAULT_RL_ITERATIONS,
    noise: Optional[float] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> np.ndarray:
    """Deblur the blurred regions of an sRGB uint8 photo; returns a new uint8 array of the same shape.

    kernels: from `estimate_kernels` (estimated here when None). strength: 0 = unchanged, 1 = the
    full restoration, up to 2 to exaggerate. regularisation: multiplier of the automatic,
    noise-dependent regularisation (larger = smoother, less ringing); method "wiener" (per channel,
    one FFT pair per tile) or "rl" (Richardson-Lucy on luminance, `iterations` on clean photos,
    fewer on noisy ones; colour differences by Wiener); noise: the photo's noise sigma in linear
    light (measured when None; `deblur_preview` passes the whole photo's). Pixels outside every
    blurred region keep their exact original values.
    """
    image = _check_image(image)
    if method not in METHODS:
        raise DeblurError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not (0.0 <= strength <= 2.0) or not np.isfinite(strength):
        raise DeblurError(f"strength must be between 0 and 2, got {strength}")
    if not (regularisation > 0) or not np.isfinite(regularisation):
        raise DeblurError(f"regularisation must be a positive number, got {regularisation}")
    h, w = image.shape[:2]
    _probs_of(blurmap, (h, w))
    if kernels is None:
        kernels = estimate_kernels(image, blurmap, region)
    weights = region_weights(blurmap, region)
    jobs = [(kernels[k], weights[k]) for k in weights if k in kernels]
    out = image.copy()
    if not jobs or strength == 0:
        _report(progress, 1.0)
        return out

    sigma = photo_noise(image) if noise is None else float(noise)
    margin = max(MIN_MARGIN, int(MARGIN_FACTOR * max(k.extent for k, _ in jobs)))
    grid = _TileGrid.plan(h, w, margin)
    regions = [
        _Region(
            solver=_Deconvolver(k.psf(), (grid.padded, grid.padded), method,
                                auto_regularisation(sigma, k) * regularisation, rl_iterations(iterations, sigma)),
            weight=wt,
            blend=_feather(wt, max(4, k.extent)) * strength,
            extent=k.extent,
        )
        for k, wt in jobs
    ]
    starts = grid.starts()
    for i, (y, x) in enumerate(starts):
        if cancel is not None and cancel():
            raise Cancelled("deblur cancelled")
        _deblur_tile(image, out, regions, grid, y, x)
        _report(progress, (i + 1) / len(starts))
    return out


@dataclass
class _Region:
    solver: "_Deconvolver"
    weight: np.ndarray  # raw class weight (H, W): where the blur model holds
    blend: np.ndarray  # feathered weight x strength (H, W): how much of the restoration to use
    extent: int


@dataclass
class _TileGrid:
    """Tiles of `core` px on a regular grid. Each tile writes its core plus `band` px on every side,
    cross-faded with its neighbours (no seams); its FFT window adds `margin` px of context."""

    h: int
    w: int
    core: int
    band: int
    margin: int
    padded: int

    @classmethod
    def plan(cls, h: int, w: int, margin: int) -> "_TileGrid":
        if max(h, w) <= SINGLE_TILE:  # small images and previews: one tile, nothing to blend
            padded = sfft.next_fast_len(max(h, w) + 2 * margin, real=True)
            return cls(h, w, padded - 2 * margin, 0, margin, padded)
        padded = sfft.next_fast_len(TILE + 2 * SEAM_BAND + 2 * margin, real=True)
        return cls(h, w, padded - 2 * margin - 2 * SEAM_BAND, SEAM_BAND, margin, padded)

    def starts(self) -> list[tuple[int, int]]:
        return [(y, x) for y in range(0, self.h, self.core) for x in range(0, self.w, self.core)]

    def window(self, start: int, limit: int) -> slice:
        """Image rows (or columns) that the tile starting at `start` writes."""
        return slice(max(start - self.band, 0), min(start + self.core + self.band, limit))

    def fade(self, start: int, window: slice) -> np.ndarray:
        """Weight of this tile over its window: rising across the band it shares with the previous
        tile (which has already written there), 1 elsewhere."""
        i = np.arange(window.start, window.stop, dtype=np.float32)
        if start == 0 or self.band == 0:
            return np.ones(i.shape, np.float32)
        return np.clip((i - (start - self.band) + 0.5) / (2 * self.band), 0.0, 1.0)


OUTSIDE_RAMP = 4.0  # px beyond the photo edge over which the mirrored padding gives way to its re-blur
SEAM_BAND = 32  # px each side of a tile border over which neighbouring tiles are cross-faded
SATURATED = 250  # sRGB level from which a pixel counts as clipped


def _deblur_tile(image: np.ndarray, out: np.ndarray, regions: list[_Region], grid: _TileGrid, y: int, x: int) -> None:
    """Restore one tile of `out` (in place) from its padded neighbourhood in `image`."""
    h, w = image.shape[:2]
    ys, xs = grid.window(y, h), grid.window(x, w)
    blends = [r.blend[ys, xs] for r in regions]
    if max(float(b.max()) for b in blends) <= 0:
        return
    y0, x0 = y - grid.band - grid.margin, x - grid.band - grid.margin  # FFT window origin
    src = _padded_tile(image, y0, x0, grid.padded)
    colour = image.ndim == 3
    lin = srgb_to_linear(src)
    lin = np.moveaxis(lin, -1, 0) if colour else lin[None]
    inner = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
    base = lin[(slice(None),) + inner]
    ramp = OUTSIDE_RAMP
    taper = np.outer(_tile_taper(y0, grid.padded, h, grid.margin, ramp), _tile_taper(x0, grid.padded, w, grid.margin, ramp))
    clipped = (src.max(axis=-1) if colour else src) >= SATURATED
    result = base.copy()
    for region, blend in zip(regions, blends):
        if blend.max() <= 0:
            continue
        # Outside its region the tile is replaced by its own blur (as at the tile edges): sharp
        # neighbours then fit the blur model and do not ring into the region. (A smooth
        # continuation of the region instead was tried: it rings where blur from the sharp side
        # has spread into the region, as it does when a scene is blurred as a whole.)
        inside = _padded_tile(region.weight, y0, x0, grid.padded)
        restored = region.solver(lin, taper * inside)[(slice(None),) + inner]
        restored = _limit_overshoot(restored, lin, inner, region.extent)
        result += (blend * _highlight_guard(clipped, region.extent)[inner])[None] * (restored - base)
    result = np.clip(np.nan_to_num(result, nan=0.0), 0.0, 1.0)
    new = linear_to_srgb(np.moveaxis(result, 0, -1) if colour else result[0])
    touched = sum(blends) > 0
    fade_y, fade_x = grid.fade(y, ys), grid.fade(x, xs)
    old = out[ys, xs]
    if fade_y.min() < 1.0 or fade_x.min() < 1.0:  # cross-fade with the tiles written before
        fade = np.outer(fade_y, fade_x)
        if colour:
            fade = fade[..., None]
        new = np.where(fade >= 1.0, new, np.round(old * (1.0 - fade) + new * fade)).astype(np.uint8)
    old[touched] = new[touched]


OVERSHOOT = 0.1  # restored values may leave the blurred neighbourhood's range by this share of it


def _limit_overshoot(restored: np.ndarray, lin: np.ndarray, inner: tuple[slice, slice], extent: int) -> np.ndarray:
    """Clamp the restoration to the min-max range of the blurred input over the kernel's footprint
    (plus OVERSHOOT of that range). A sharp pixel's value lies in that range, so values far outside
    are ringing, which this removes in flat areas near strong edges, where it shows most."""
    size = 2 * extent + 1
    box = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    out = np.empty_like(restored)
    for c in range(lin.shape[0]):
        lo = cv2.erode(lin[c], box)[inner]
        hi = cv2.dilate(lin[c], box)[inner]
        slack = OVERSHOOT * (hi - lo)
        out[c] = np.clip(restored[c], lo - slack, hi + slack)
    return out


def _highlight_guard(clipped: np.ndarray, extent: int) -> np.ndarray:
    """1 where deconvolution may act, fading to 0 around clipped highlights: they break the blur
    model (their true brightness is unknown) and would ring dark."""
    if not clipped.any():
        return np.ones(clipped.shape, np.float32)
    size = 4 * extent + 1
    near = cv2.dilate(clipped.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return 1.0 - _feather(near.astype(np.float32), max(2, extent))


def photo_noise(image: np.ndarray) -> float:
    """Noise sigma (linear light) of a photo, from a central crop of at most 1024 x 1024."""
    image = _check_image(image)
    h, w = image.shape[:2]
    y0, x0 = max(0, (h - 1024) // 2), max(0, (w - 1024) // 2)
    return estimate_noise(_region_gray(image[y0:y0 + 1024, x0:x0 + 1024]))


def _padded_tile(image: np.ndarray, y0: int, x0: int, size: int) -> np.ndarray:
    """size x size window with top-left corner (y0, x0), mirrored where it leaves the image."""
    h, w = image.shape[:2]
    ya, xa = max(y0, 0), max(x0, 0)
    yb, xb = min(y0 + size, h), min(x0 + size, w)
    tile = image[ya:yb, xa:xb]
    pads = [(ya - y0, y0 + size - yb), (xa - x0, x0 + size - xb)] + [(0, 0)] * (image.ndim - 2)
    if any(p for pair in pads for p in pair):
        tile = np.pad(tile, pads, mode="symmetric")  # NumPy mirrors repeatedly if the tile is small
    return tile


def deblur_preview(
    image: np.ndarray,
    blurmap: BlurMap | np.ndarray,
    box: tuple[int, int, int, int],
    kernels: dict[str, BlurKernel],
    **options,
) -> tuple[np.ndarray, np.ndarray]:
    """(before, after) of the crop box = (x, y, width, height) for a loupe; same options as `deblur`.

    Works on the crop plus a margin of context, so the result matches a full apply."""
    image = _check_image(image)
    h, w = image.shape[:2]
    x, y, bw, bh = (int(v) for v in box)
    x, y = min(max(x, 0), w - 1), min(max(y, 0), h - 1)
    bw, bh = max(1, min(bw, w - x)), max(1, min(bh, h - y))
    extent = max([k.extent for k in kernels.values()] + [4])
    m = max(MIN_MARGIN, int(MARGIN_FACTOR * extent)) + SEAM_BAND  # the context a full apply's tiles see
    ya, yb, xa, xb = max(y - m, 0), min(y + bh + m, h), max(x - m, 0), min(x + bw + m, w)
    probs = _probs_of(blurmap, (h, w))[:, ya:yb, xa:xb]
    # Regularisation is a property of the photo, not the crop: fix it from the full image.
    options.setdefault("noise", photo_noise(image))
    after = deblur(image[ya:yb, xa:xb], probs, kernels, **options)
    crop = (slice(y - ya, y - ya + bh), slice(x - xa, x - xa + bw))
    return image[y:y + bh, x:x + bw].copy(), after[crop]


def loupe_box(centre: tuple[float, float], size: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x, y, width, height) of a size x size crop centred on `centre` = (x, y), kept inside a photo
    of `shape` = (H, W)."""
    h, w = shape[:2]
    bw, bh = min(size, w), min(size, h)
    x = int(round(centre[0] - bw / 2))
    y = int(round(centre[1] - bh / 2))
    return min(max(x, 0), w - bw), min(max(y, 0), h - bh), bw, bh


def most_blurred_point(blurmap: BlurMap | np.ndarray, region: str = "auto", kinds: Optional[list[str]] = None) -> tuple[int, int]:
    """(x, y) at the heart of the largest blurred area, where a loupe shows the most: the point of
    the blurred mask farthest from its border and from the photo's edges (on a coarse grid)."""
    weights = region_weights(blurmap, region)
    h, w = weights[next(iter(weights))].shape
    step = max(1, int(max(h, w) / 256))  # a coarse grid is plenty and keeps this instant
    total = sum(weights[k][::step, ::step] for k in (kinds or list(weights)) if k in weights)
    mask = np.pad(np.asarray(total) > 0.5, 1).astype(np.uint8)  # the photo's edge counts as a border
    if not mask.any():
        return w // 2, h // 2
    depth = cv2.distanceTransform(mask, cv2.DIST_L2, 5)[1:-1, 1:-1]
    iy, ix = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(min(ix * step + step // 2, w - 1)), int(min(iy * step + step // 2, h - 1))


def _report(progress: Optional[ProgressFn], fraction: float) -> None:
    if progress is not None:
        progress(float(fraction))


__all__ = [
    "BlurKernel", "Cancelled", "DeblurError", "METHODS", "REGIONS", "CLASS_NAMES",
    "disk_kernel", "motion_kernel", "kernel_image", "kernel_sheet", "photo_noise", "estimate_kernel", "estimate_kernels",
    "estimate_defocus_radius", "estimate_motion_blur", "region_spectrum", "region_weights",
    "deblur", "deblur_preview", "loupe_box", "most_blurred_point", "srgb_to_linear", "linear_to_srgb", "estimate_noise",
]
