"""Blur magnification: make the defocused background of a photo blurrier, as a wider aperture would.

In the spirit of Bae & Durand, "Defocus Magnification" (2007), the application shown by Kim et al. 2018.

1. `estimate_blur_radius`: how defocused every pixel already is, as the radius (in pixels) of an
   equivalent disk-shaped lens blur. Blur is measured at edges with the re-blur gradient ratio of
   Zhuo & Sim 2011, in a small scale space (each scale pre-smooths to suppress noise and measures
   larger blurs), calibrated on a disk-blurred step edge. The sparse edge measurements are spread
   over the blurred region by push-pull normalised convolution and masked by p(defocus), which is
   first snapped to the photo's edges with a guided filter. Sharp pixels get 0; motion-blurred pixels
   get 0 unless `include_motion`.
2. `Magnifier.render`: a spatially varying lens blur of extra radius r * sqrt(amount^2 - 1), so that
   (adding blurs as Gaussians do) the total blur is `amount` times the existing one. It runs in linear
   light with a highlight boost (bright points bloom into bokeh discs), with a disk or hexagon aperture.
   It is a layered blur: a few discrete radii, each rendered at a reduced scale (blurred content is
   low-frequency) and upsampled strip by strip while compositing, interpolating between neighbouring
   radii. Before blurring, the subject is removed and the hole filled from background pixels
   (push-pull, weighted by 1 - matte), so the subject never smears into the background (no halo);
   the subject is composited back with its matte at full resolution.

NumPy in, NumPy out; no Qt.
"""

from __future__ import annotations

import functools
from typing import Callable

import cv2
import numpy as np

from blurstudio.blurmap import DEFOCUS, MOTION, SHARP, BlurMap

BOKEH_SHAPES = ("circle", "hexagon")
MAX_AMOUNT = 8.0
WORK_PIXELS = 1_000_000  # blur amount is estimated at about this many pixels (it varies slowly)
PREVIEW_PIXELS = 1_000_000

# Scale space of the re-blur ratio: (pre-smoothing sigma, re-blur sigma) in working pixels.
_RATIO_SCALES = ((0.0, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0))
_FINER_SCALE_BIAS = 0.7  # per scale step: finer scales resolve nearby edges better, so prefer them
_LAYER_RATIO = 1.4  # consecutive layer radii differ by this factor
_LAYER_KERNEL_RADIUS = 4.0  # a layer is rendered at a scale where its kernel radius is at most this
_GAUSSIAN_LAYER_RADIUS = 2.5  # layers up to this radius use a Gaussian (shape invisible, much cheaper)
_HIGHLIGHT_KNEE = 0.5  # linear-light level above which highlights are boosted (with a 4th power,
# steeply, so that mostly near-white pixels, the light sources, bloom)
_MATTE_HOLE = 0.1  # pixels with matte above this are treated as subject (filled behind) before blurring
_STRIP_ROWS = 256  # even: strips halve exactly

ProgressFn = Callable[[float], None]
CancelFn = Callable[[], bool]


class Cancelled(Exception):
    """The caller's cancel() returned True."""


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------


def _check_photo(photo: np.ndarray) -> np.ndarray:
    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise ValueError(f"photo must be an (H, W, 3) uint8 RGB array, got {photo.dtype} {photo.shape}")
    if min(photo.shape[:2]) < 2:
        raise ValueError(f"photo of size {photo.shape[:2]} is too small")
    return np.ascontiguousarray(photo)


def _check_blurmap(blurmap: BlurMap, shape: tuple[int, int]) -> None:
    if not isinstance(blurmap, BlurMap):
        raise TypeError(f"expected a BlurMap, got {type(blurmap).__name__}")
    if blurmap.shape != tuple(shape):
        raise ValueError(f"blur map of size {blurmap.shape} does not match the photo {tuple(shape)}")


def _resize(a: np.ndarray, size_hw: tuple[int, int], interpolation: int | None = None) -> np.ndarray:
    """cv2.resize with (H, W) order; INTER_AREA when shrinking, linear when enlarging."""
    h, w = size_hw
    if a.shape[:2] == (h, w):
        return a
    if interpolation is None:
        interpolation = cv2.INTER_AREA if h < a.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(a, (w, h), interpolation=interpolation)


def _scaled_size(shape: tuple[int, int], max_pixels: int | None) -> tuple[tuple[int, int], float]:
    """Size no larger than max_pixels with the same aspect, and its scale (<= 1)."""
    h, w = shape
    if max_pixels is None or h * w <= max_pixels:
        return (h, w), 1.0
    s = (max_pixels / float(h * w)) ** 0.5
    return (max(2, int(round(h * s))), max(2, int(round(w * s)))), s


def _gray(photo: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32) * (1.0 / 255.0)


def _gaussian(a: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return a
    return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _box(a: np.ndarray, radius: int) -> np.ndarray:
    return cv2.blur(a, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def _guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Box-averaged linear coefficients (a, b) of He et al.'s guided filter: output = a * guide + b."""
    mean_i, mean_p = _box(guide, radius), _box(src, radius)
    cov_ip = _box(guide * src, radius) - mean_i * mean_p
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return _box(a, radius), _box(b, radius)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a grey guide: `src` smoothed but following the edges of `guide`."""
    guide = guide.astype(np.float32, copy=False)
    a, b = _guided_coefficients(guide, src.astype(np.float32, copy=False), radius, eps)
    return a * guide + b


def _fast_guided_filter(guide_full: np.ndarray, src_small: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Guided filter whose coefficients are computed at src_small's scale and applied at full scale
    (He & Sun 2015): edge-accurate at full resolution for the cost of a small filter."""
    a, b = _guided_coefficients(_resize(guide_full, src_small.shape[:2]), src_small, radius, eps)
    full = guide_full.shape[:2]
    return _resize(a, full, cv2.INTER_LINEAR) * guide_full + _resize(b, full, cv2.INTER_LINEAR)


def push_pull(values: np.ndarray, weights: np.ndarray) -> list[np.ndarray]:
    """Fill unknown pixels from known ones (Gortler et al.'s push-pull normalised convolution).

    values: (H, W) or (H, W, C) float32; weights: (H, W) in [0, 1], 1 = known. Returns the filled image at
    every pyramid level, finest first: level 0 keeps known pixels (blended by weight) and fills the rest
    smoothly from ever coarser averages of known pixels.
    """
    w = np.clip(weights.astype(np.float32, copy=False), 0.0, 1.0)
    premultiplied = values.astype(np.float32) * (w[..., None] if values.ndim == 3 else w)
    return _push_pull_premultiplied(premultiplied, w)


def _push_pull_premultiplied(sums0: np.ndarray, w0: np.ndarray) -> list[np.ndarray]:
    """push_pull given the finest level as weight * value (float32) and its weights."""
    expand = (lambda x: x[..., None]) if sums0.ndim == 3 else (lambda x: x)
    sums, wts = [sums0], [w0]
    while min(sums[-1].shape[:2]) > 2:  # push: premultiplied averages
        h, wd = sums[-1].shape[:2]
        size = ((h + 1) // 2, (wd + 1) // 2)
        sums.append(_resize(sums[-1], size, cv2.INTER_AREA))
        wts.append(_resize(wts[-1], size, cv2.INTER_AREA))
    top_w = wts[-1]
    if float(top_w.max()) <= 0.0:
        raise ValueError("nothing to fill from: every weight is zero")
    filled = sums[-1] / expand(np.maximum(top_w, 1e-12))
    # Cells with no known pixel at the top take the global mean.
    mean = sums[-1].reshape(-1, *sums[-1].shape[2:]).sum(0) / top_w.sum()
    filled[top_w <= 1e-12] = mean
    out = [filled]
    for i in range(len(sums) - 2, -1, -1):
        # pull: wt * (own average) + (1 - wt) * (coarser estimate), where wt * own average = sums[i]
        up = _resize(out[-1], sums[i].shape[:2], cv2.INTER_LINEAR)
        up *= expand(1.0 - wts[i])
        up += sums[i]
        out.append(up)
    return out[::-1]


# --------------------------------------------------------------------------------------------------
# apertures, tone curves
# --------------------------------------------------------------------------------------------------


_HEXAGON_SCALE = float(np.sqrt(np.pi / (1.5 * np.sqrt(3.0))))  # circumradius of the hexagon with a disk's area


@functools.lru_cache(maxsize=256)
def aperture_kernel(radius: float, shape: str = "circle") -> np.ndarray:
    """Normalised (k, k) float32 kernel of an anti-aliased aperture: a disk of `radius` pixels, or a
    flat-topped regular hexagon of the same area (so both shapes blur equally much)."""
    if shape not in BOKEH_SHAPES:
        raise ValueError(f"unknown bokeh shape {shape!r}; choose one of {', '.join(BOKEH_SHAPES)}")
    radius = max(float(radius), 0.0)
    if radius == 0.0:
        return np.ones((1, 1), np.float32)
    outer = radius * (_HEXAGON_SCALE if shape == "hexagon" else 1.0)
    half = max(1, int(np.ceil(outer - 0.5)))
    n = 2 * half + 1
    sub = 8  # supersampling per pixel side for the anti-aliased edge
    c = (np.arange(n * sub) + 0.5) / sub - (n / 2.0)
    y, x = np.meshgrid(c, c, indexing="ij")
    if shape == "circle":
        inside = x * x + y * y <= outer * outer
    else:
        apothem = outer * np.sqrt(3.0) / 2.0
        ax, ay = np.abs(x), np.abs(y)
        inside = (ay <= apothem) & (ay * 0.5 + ax * (np.sqrt(3.0) / 2.0) <= apothem)
    k = inside.reshape(n, sub, n, sub).mean(axis=(1, 3)).astype(np.float32)
    if k.sum() <= 0:  # a radius far below a pixel
        return np.ones((1, 1), np.float32)
    k /= k.sum()
    k.setflags(write=False)
    return k


@functools.lru_cache(maxsize=1)
def _srgb_to_linear_table() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)


_LUMA = np.array([[0.2126, 0.7152, 0.0722]], np.float32)  # Rec. 709 luminance of linear RGB


def _boost(v: np.ndarray, boost: float) -> np.ndarray:
    """Highlight boost of a linear luminance: identity below the knee, then a steep rise so that mostly
    near-white (clipped) pixels get brighter, as the light sources they stand for are; f(1) = 1 + boost."""
    u = np.maximum(v - _HIGHLIGHT_KNEE, 0.0)
    u *= 1.0 / (1.0 - _HIGHLIGHT_KNEE)
    u *= u
    u *= u  # the 4th power, without a slow pow()
    u *= boost
    u += v
    return u


@functools.lru_cache(maxsize=8)
def _unboost_table(boost: float) -> tuple[np.ndarray, np.ndarray]:
    grid = np.linspace(0.0, 1.0, 1 << 14)
    return _boost(grid, boost), grid


def _unboost(y: np.ndarray, boost: float) -> np.ndarray:
    """Inverse of _boost (monotonic), by interpolation on a fine grid."""
    if boost <= 0:
        return np.asarray(y)
    boosted, grid = _unboost_table(boost)
    return np.interp(y, boosted, grid).astype(np.float32)


_RATIO_LUT_SIZE = 4096


@functools.lru_cache(maxsize=8)
def _unboost_ratio_lut(boost: float) -> np.ndarray:
    """unboost(y) / y for y = top * (i / (n - 1)) ** 2 (sqrt-spaced: fine where the curve bends)."""
    top = 1.0 + boost
    y = top * np.linspace(0.0, 1.0, _RATIO_LUT_SIZE) ** 2
    ratio = np.ones_like(y)
    ratio[1:] = _unboost(y[1:], boost) / y[1:]
    return ratio.astype(np.float32)


def _boosted_linear(photo: np.ndarray, boost: float) -> np.ndarray:
    """uint8 sRGB -> float32 linear light, each pixel scaled by boost(luminance) / luminance (the hue
    stays: a warm-white light blooms warm white, not orange)."""
    lin = cv2.LUT(photo, _SRGB_TO_LINEAR_LUT)
    if boost > 0:
        luma = cv2.transform(lin, _LUMA)
        gain = _boost(luma, boost)
        gain /= np.maximum(luma, 1e-6)
        lin *= gain[..., None]
    return lin


def _unboost_rows(acc: np.ndarray, boost: float) -> np.ndarray:
    """Inverse of _boosted_linear for blurred rows (in place): luminance mapped back by the inverse
    curve, colour kept. Exact on flat areas; a bright point spread out keeps its extra light."""
    if boost > 0:
        luma = cv2.transform(acc, _LUMA)
        idx = cv2.sqrt(np.clip(luma, 0.0, 1.0 + boost) * (1.0 / (1.0 + boost)))
        idx *= _RATIO_LUT_SIZE - 1
        idx += 0.5
        acc *= _unboost_ratio_lut(boost)[idx.astype(np.int32)][..., None]
    return acc


_SRGB_TO_LINEAR_LUT = _srgb_to_linear_table().astype(np.float32).reshape(256, 1)
_OUT_LUT_SIZE = 8192
# linear [0, 1] -> sRGB [0, 255], indexed by sqrt(linear) (fine steps in the darks)
_LINEAR_TO_SRGB_LUT = (_linear_to_srgb(np.linspace(0.0, 1.0, _OUT_LUT_SIZE) ** 2) * 255.0).astype(np.float32)


def _linear_rows_to_srgb(lin: np.ndarray) -> np.ndarray:
    """float32 linear light (clipped to [0, 1]) -> float32 sRGB in [0, 255]."""
    idx = cv2.sqrt(np.clip(lin, 0.0, 1.0))
    idx *= _OUT_LUT_SIZE - 1
    idx += 0.5
    return _LINEAR_TO_SRGB_LUT[idx.astype(np.int32)]


# --------------------------------------------------------------------------------------------------
# blur-amount estimation
# --------------------------------------------------------------------------------------------------


def _gradient_magnitude(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dx = cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
    dy = cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
    return cv2.magnitude(dx, dy), dx, dy


def _ratio_sigma(g_a: np.ndarray, g_b: np.ndarray, a: float, b: float) -> np.ndarray:
    """Gaussian-equivalent edge blur from the gradient ratio of two smoothings (sigmas a < b):
    R = sqrt(s^2 + b^2) / sqrt(s^2 + a^2)  =>  s^2 = (b^2 - R^2 a^2) / (R^2 - 1)."""
    r2 = np.square(g_a / np.maximum(g_b, 1e-12))
    s2 = (b * b - r2 * a * a) / np.maximum(r2 - 1.0, 1e-6)
    return np.sqrt(np.clip(s2, 0.0, (8.0 * b) ** 2))  # beyond 8 b the ratio is too close to 1 to tell


def _step_edge(radius: float, offset: float, length: int) -> np.ndarray:
    """A vertical step edge (0 | 1) at a sub-pixel position, blurred by a disk of `radius`."""
    x = np.arange(length, dtype=np.float64)
    row = np.clip(x - (length / 2.0 + offset) + 0.5, 0.0, 1.0)  # box-integrated edge
    img = np.repeat(row[None, :].astype(np.float32), 16, axis=0)
    if radius > 0:
        img = cv2.filter2D(img, -1, aperture_kernel(radius, "circle"), borderType=cv2.BORDER_REPLICATE)
    return img


@functools.lru_cache(maxsize=1)
def _calibration() -> tuple[np.ndarray, list[np.ndarray]]:
    """For each ratio scale, the measured sigma of a disk-blurred step edge as a function of its radius;
    inverting it turns a measurement into a disk radius (the disk and the operators are not Gaussian).
    Averaged over a few sub-pixel edge positions."""
    radii = np.concatenate([np.arange(0.0, 4.0, 0.25), np.arange(4.0, 12.0, 0.5), np.arange(12.0, 49.0, 2.0)])
    offsets = (0.0, 0.25, 0.5)
    sig = np.zeros((len(_RATIO_SCALES), len(radii), len(offsets)))
    longest_b = max(b for _, b in _RATIO_SCALES)
    for i, r in enumerate(radii):
        for k, off in enumerate(offsets):
            img = _step_edge(r, off, int(8 * longest_b + 4 * r + 40))
            for j, (a, b) in enumerate(_RATIO_SCALES):
                row_a = _gradient_magnitude(_gaussian(img, a))[0][8]
                row_b = _gradient_magnitude(_gaussian(img, b))[0][8]
                c = int(np.argmax(row_a))
                sig[j, i, k] = float(_ratio_sigma(row_a[c : c + 1], row_b[c : c + 1], a, b)[0])
    mean = sig.mean(axis=2)
    tables = [np.maximum.accumulate(t) + np.arange(len(radii)) * 1e-6 for t in mean]  # strictly increasing
    return radii, tables


def _image_noise(gray: np.ndarray) -> float:
    """Standard deviation of the image noise (Immerkaer 1996: a second-difference filter that cancels
    smooth shading; the median of its response resists edges and texture better than a mean)."""
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = np.abs(cv2.filter2D(gray, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT))
    return float(np.median(response)) / (0.6745 * 6.0)


@functools.lru_cache(maxsize=16)
def _gradient_noise_gain(a: float) -> float:
    """Standard deviation of a Sobel gradient component of unit white noise smoothed with sigma a."""
    noise = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    _, dx, dy = _gradient_magnitude(_gaussian(noise, a))
    return float(np.sqrt(0.5 * (dx[16:-16, 16:-16].var() + dy[16:-16, 16:-16].var())))


def _scale_preference(radius: np.ndarray, b: float) -> np.ndarray:
    """How much to trust a measurement of `radius` made with re-blur sigma b (best when r ~ 2b)."""
    r = np.maximum(radius, 0.5)
    return np.exp(-0.5 * np.square(np.log2(r / (2.0 * b)) / 1.25)).astype(np.float32)


def _edge_samples(gray: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sparse blur-radius samples at edges inside `region`: (sum of weight * radius, sum of weight)."""
    radii_table, tables = _calibration()
    noise0 = _image_noise(gray)
    num = np.zeros_like(gray)
    den = np.zeros_like(gray)
    for j, ((a, b), sig_table) in enumerate(zip(_RATIO_SCALES, tables)):
        ia = _gaussian(gray, a)
        g_a, dx, dy = _gradient_magnitude(ia)
        g_b, _, _ = _gradient_magnitude(_gaussian(gray, b))
        # edge pixels: Canny on the pre-smoothed image, threshold above the typical (noise/texture) level
        noise = max(noise0, 0.5 / 255.0) * _gradient_noise_gain(a)  # sigma of each gradient component
        hi = max(3.0 * noise, 0.03 / (1.0 + a))
        scale = 2000.0
        edges = cv2.Canny(
            np.clip(dx * scale, -32767, 32767).astype(np.int16),
            np.clip(dy * scale, -32767, 32767).astype(np.int16),
            0.5 * hi * scale,
            hi * scale,
            L2gradient=True,
        ) > 0
        if not edges.any():
            continue
        ga_e, gb_e = g_a[edges], g_b[edges]
        sig = _ratio_sigma(ga_e, gb_e, a, b)
        r = np.interp(sig, sig_table, radii_table).astype(np.float32)
        unsaturated = sig < 0.95 * float(sig_table[-1])  # beyond this the ratio no longer tells radii apart
        # A large blur makes the ratio close to 1 at fine scales, where noise then decides it: trust a
        # measurement only when the ratio's departure from 1 is well above the gradient noise.
        snr = (ga_e / np.maximum(gb_e, 1e-12) - 1.0) * ga_e / noise
        reliable = np.clip((snr - 2.0) / 6.0, 0.0, 1.0)
        # trust also: inside the region away from its border (border edges belong to the sharp side),
        # the right scale for this radius, and contrast well above the threshold
        k = int(2 * b + 2)
        inner = cv2.erode(region, np.ones((2 * k + 1, 2 * k + 1), np.uint8))[edges]
        contrast = np.clip(ga_e / hi - 1.0, 0.0, 1.0)
        w = inner * _scale_preference(r, b) * contrast * unsaturated * reliable * (_FINER_SCALE_BIAS ** j)
        num[edges] += w * r
        den[edges] += w
    return num, den


def _region_weight(blurmap: BlurMap, size_hw: tuple[int, int], include_motion: bool) -> np.ndarray:
    region = blurmap.probs[DEFOCUS] + (blurmap.probs[MOTION] if include_motion else 0.0)
    return np.clip(_resize(np.ascontiguousarray(region, dtype=np.float32), size_hw), 0.0, 1.0)


def _estimate_working(photo_small: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Blur radius in working pixels over the whole working image (before masking by region)."""
    gray = _gray(photo_small)
    num, den = _edge_samples(gray, region)
    if float(den.sum()) < 1.0:  # fewer than about one fully trusted edge pixel
        # no usable edge: assume a mild blur, proportional to the image size
        return np.full(gray.shape, 0.004 * float(np.hypot(*gray.shape)), np.float32)
    # Spread smoothly: take the push-pull estimate at a level about 1/32 of the image, then upsample.
    levels = push_pull(num / np.maximum(den, 1e-12), np.clip(den, 0.0, 1.0))
    coarse_side = max(gray.shape) / 32.0
    level = next((lv for lv in levels if max(lv.shape) <= max(coarse_side, 8)), levels[-1])
    return _resize(level, gray.shape, cv2.INTER_CUBIC).clip(0.0, None).astype(np.float32)


def _refined_region(photo_small: np.ndarray, region: np.ndarray) -> np.ndarray:
    """p(blurred region) snapped to the photo's edges with a guided filter."""
    r = max(2, int(round(max(region.shape) / 200)))
    return np.clip(guided_filter(_gray(photo_small), region, r, 1e-3), 0.0, 1.0)


def estimate_blur_radius(
    photo: np.ndarray,
    blurmap: BlurMap,
    include_motion: bool = False,
    max_pixels: int = WORK_PIXELS,
) -> np.ndarray:
    """(H, W) float32: the existing blur of each pixel as the radius in pixels of an equivalent disk
    (lens) blur. 0 on sharp pixels, and on motion-blurred pixels unless include_motion."""
    photo = _check_photo(photo)
    _check_blurmap(blurmap, photo.shape[:2])
    spread, region, scale = _estimate_small(photo, blurmap, include_motion, max_pixels)
    return _resize(spread * region, photo.shape[:2], cv2.INTER_LINEAR) * (1.0 / scale)


def _estimate_small(
    photo: np.ndarray, blurmap: BlurMap, include_motion: bool, max_pixels: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """At the working scale: the blur radius spread over the whole image, the refined blurred region
    (their product is the estimate), and the working scale."""
    size, scale = _scaled_size(photo.shape[:2], max_pixels)
    small = _resize(photo, size)
    region = _region_weight(blurmap, size, include_motion)
    return _estimate_working(small, region), _refined_region(small, region).astype(np.float32), scale


def colorize_blur_radius(radius: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """(H, W, 3) uint8 view of a blur-radius map: black = sharp, through purple and orange to yellow
    (the 'inferno' colour map, perceptually ordered and readable without colour vision)."""
    radius = np.asarray(radius, dtype=np.float32)
    if radius.ndim != 2:
        raise ValueError(f"blur radius map must be (H, W), got {radius.shape}")
    top = float(vmax) if vmax else max(float(np.percentile(radius, 99.5)), 1e-6)
    v = np.clip(radius / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(v, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


# --------------------------------------------------------------------------------------------------
# the subject matte
# --------------------------------------------------------------------------------------------------


def subject_matte(photo: np.ndarray, blurmap: BlurMap, selection: np.ndarray | None = None) -> np.ndarray:
    """(H, W) float32 alpha of what must stay crisp: the selection when given, else p(sharp) snapped to
    the photo's edges (fast guided filter) and given a firm edge."""
    photo = _check_photo(photo)
    h, w = photo.shape[:2]
    if selection is not None:
        sel = np.asarray(selection, dtype=np.float32)
        if sel.shape != (h, w):
            raise ValueError(f"selection of shape {sel.shape} does not match the photo {(h, w)}")
        return np.clip(sel, 0.0, 1.0)
    _check_blurmap(blurmap, (h, w))
    size, _ = _scaled_size((h, w), WORK_PIXELS)
    p_sharp = _resize(np.ascontiguousarray(blurmap.probs[SHARP]), size)
    r = max(2, int(round(max(size) / 250)))
    q = _fast_guided_filter(_gray(photo), p_sharp, r, 1e-3)
    return np.clip((q - 0.3) * (1.0 / 0.4), 0.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------------------


def _layer_radii(max_radius: float) -> list[float]:
    """0, 1, 1.4, 1.96, ... up to at least max_radius."""
    radii = [0.0]
    r = 1.0
    while radii[-1] < max_radius:
        radii.append(r)
        r *= _LAYER_RATIO
    return radii


def _layer_coordinate(extra: np.ndarray, n_layers: int) -> np.ndarray:
    """Fractional layer index of each pixel's radius (see _layer_radii): r below 1, else
    1 + log(r) / log(ratio); linear between neighbouring layers near enough for a blend."""
    coord = cv2.log(np.maximum(extra, 1.0))
    coord *= 1.0 / np.log(_LAYER_RATIO)
    coord += np.minimum(extra, 1.0)
    return np.minimum(coord, float(n_layers - 1), out=coord)


def _known_background(matte: np.ndarray) -> np.ndarray:
    """Weight of each pixel as a sample of the background: 0 on the subject and on its edge pixels
    (they carry subject colour), 1 where the matte is 0."""
    known = 1.0 - np.clip(matte * (1.0 / _MATTE_HOLE), 0.0, 1.0)
    known = cv2.erode(known, np.ones((3, 3), np.uint8))
    if float(known.max()) <= 0.0:
        known = np.ones_like(known)  # all subject: nothing behind it to recover, blur what is there
    return known


class _BackgroundSource:
    """The boosted linear photo with the subject removed and its hole filled from the background
    (push-pull weighted by the known-background weight), as a pyramid. The full-resolution level is
    never stored: `rows` makes it on demand from the photo, the weights and the filled half level."""

    def __init__(self, photo: np.ndarray, matte: np.ndarray, boost: float) -> None:
        h, w = photo.shape[:2]
        self.photo, self.boost, self.shape = photo, boost, (h, w)
        self.known = _known_background(matte)
        half = ((h + 1) // 2, (w + 1) // 2)
        sums = np.empty(half + (3,), np.float32)
        wts = np.empty(half, np.float32)
        for y0 in range(0, h, _STRIP_ROWS):  # even strips: their halves tile the half-size level
            y1 = min(h, y0 + _STRIP_ROWS)
            rows = _boosted_linear(photo[y0:y1], boost)
            rows *= self.known[y0:y1, :, None]
            hy0, hy1 = y0 // 2, (y1 + 1) // 2
            sums[hy0:hy1] = cv2.resize(rows, (half[1], hy1 - hy0), interpolation=cv2.INTER_AREA).reshape(hy1 - hy0, half[1], 3)
            wts[hy0:hy1] = cv2.resize(self.known[y0:y1], (half[1], hy1 - hy0), interpolation=cv2.INTER_AREA).reshape(hy1 - hy0, half[1])
        self.levels: list[np.ndarray | None] = [None] + _push_pull_premultiplied(sums, wts)
        self._cached: tuple[tuple[int, int], np.ndarray] | None = None

    def rows(self, y0: int, y1: int) -> np.ndarray:
        """Rows y0:y1 of the full-resolution level: known pixels as they are, the rest from the half level."""
        if self._cached is not None and self._cached[0] == (y0, y1):
            return self._cached[1]
        rows = _boosted_linear(self.photo[y0:y1], self.boost)
        up = _upsampled_rows(self.levels[1], self.shape, y0, y1)
        rows -= up
        rows *= self.known[y0:y1, :, None]
        rows += up
        self._cached = ((y0, y1), rows)
        return rows


def _layer_scale(radius: float) -> float:
    """Scale at which the layer of `radius` (full-res pixels) is rendered. Blurred content is
    low-frequency, so it can be rendered at half size or smaller and enlarged; the kernel keeps a
    radius of at least ~2 px where it can, so the aperture shape survives for large radii."""
    if radius <= _GAUSSIAN_LAYER_RADIUS:
        return 1.0
    kernel_radius = float(np.clip(radius / 2.0, 2.0, _LAYER_KERNEL_RADIUS))
    return min(0.5, kernel_radius / radius)


_GAUSSIAN_MARGIN = int(4 * _GAUSSIAN_LAYER_RADIUS / 2.0) + 2  # rows each side (cv2's float kernel: 4 sigma)


class _Layer:
    """The background blurred with one aperture radius: an image rendered at a reduced scale and
    enlarged strip by strip, or (small radii) a Gaussian of the full-resolution background computed
    strip by strip, so that no full-resolution layer is ever held in memory."""

    def __init__(self, image: np.ndarray | None = None, source: _BackgroundSource | None = None, sigma: float = 0.0):
        self.image, self.source, self.sigma = image, source, sigma

    def rows(self, full_hw: tuple[int, int], y0: int, y1: int) -> np.ndarray:
        if self.image is not None:
            return _upsampled_rows(self.image, full_hw, y0, y1)
        top, bottom = max(0, y0 - _GAUSSIAN_MARGIN), min(full_hw[0], y1 + _GAUSSIAN_MARGIN)
        blurred = cv2.GaussianBlur(self.source.rows(top, bottom), (0, 0), self.sigma, borderType=cv2.BORDER_REFLECT)
        return blurred[y0 - top : y0 - top + (y1 - y0)]


def _render_layer(source: _BackgroundSource, radius: float, bokeh: str) -> _Layer:
    """The background blurred with an aperture of `radius` (full-res pixels), at a reduced scale."""
    if radius <= _GAUSSIAN_LAYER_RADIUS:
        # the aperture shape is invisible at a couple of pixels: a separable Gaussian with the disk's
        # second moment (sigma = r / 2), computed per strip at full resolution
        return _Layer(source=source, sigma=radius / 2.0)
    full_h, full_w = source.shape
    scale = _layer_scale(radius)
    size = (max(1, int(round(full_h * scale))), max(1, int(round(full_w * scale))))
    levels = source.levels
    level = 1  # the smallest stored pyramid level still at least as big as the layer
    while level + 1 < len(levels) and levels[level + 1].shape[0] >= size[0] and levels[level + 1].shape[1] >= size[1]:
        level += 1
    src = _resize(levels[level], size, cv2.INTER_AREA)
    kernel = aperture_kernel(round(radius * size[1] / full_w, 2), bokeh)
    return _Layer(image=cv2.filter2D(src, -1, kernel, borderType=cv2.BORDER_REFLECT))


def _upsampled_rows(layer: np.ndarray, full_hw: tuple[int, int], y0: int, y1: int) -> np.ndarray:
    """Rows y0:y1 of `layer` bilinearly enlarged to full_hw (same geometry as cv2.resize)."""
    full_h, full_w = full_hw
    lh, lw = layer.shape[:2]
    if (lh, lw) == (full_h, full_w):
        return layer[y0:y1]
    sx, sy = lw / full_w, lh / full_h
    m = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, (y0 + 0.5) * sy - 0.5]], np.float64)
    return cv2.warpAffine(
        layer, m, (full_w, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )


def _blur_weight(region: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """Where the background layer gets the full estimated radius: the blurred region, and also behind
    and around the subject (the matte covers it there), so that the background right next to the
    subject is as blurred as the rest (no band of unblurred background around the subject). Other
    sharp (or, unless asked, motion-blurred) pixels keep a weight of 0."""
    grow = max(1, int(round(max(matte.shape) / 150)))  # the region's soft edge reaches a bit past the matte
    grown = cv2.dilate(matte, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return 1.0 - (1.0 - region) * (1.0 - np.clip(grown * 2.0, 0.0, 1.0))


class Magnifier:
    """Holds a photo, its blur map, the estimated blur radius and the subject matte; renders
    magnified versions cheaply (the estimate is made once).

    >>> m = Magnifier(photo, blurmap)          # doctest: +SKIP
    >>> preview = m.render(2.0, max_pixels=1_000_000)
    >>> full = m.render(2.0, bokeh="hexagon", highlight_boost=2.0)
    """

    def __init__(
        self,
        photo: np.ndarray,
        blurmap: BlurMap,
        selection: np.ndarray | None = None,
        include_motion: bool = False,
        blur_radius: np.ndarray | None = None,
    ) -> None:
        self.photo = _check_photo(photo)
        _check_blurmap(blurmap, self.photo.shape[:2])
        self.blurmap = blurmap
        self.include_motion = include_motion
        h, w = self.photo.shape[:2]
        self.matte = subject_matte(self.photo, blurmap, selection)
        if blur_radius is not None:
            blur_radius = np.asarray(blur_radius, dtype=np.float32)
            if blur_radius.shape != (h, w):
                raise ValueError(f"blur radius map of shape {blur_radius.shape} does not match the photo {(h, w)}")
            self._radius_small, self._radius_scale = blur_radius, 1.0
            self._render_radius_small = blur_radius
        else:
            spread, region, self._radius_scale = _estimate_small(self.photo, blurmap, include_motion, WORK_PIXELS)
            self._radius_small = spread * region
            self._render_radius_small = spread * _blur_weight(region, _resize(self.matte, region.shape))
        self._scaled_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def shape(self) -> tuple[int, int]:
        return self.photo.shape[0], self.photo.shape[1]

    def blur_radius(self, max_pixels: int | None = None) -> np.ndarray:
        """The estimated blur radius in pixels of the photo scaled to max_pixels (None: full size)."""
        return self._scaled_radius(self._radius_small, max_pixels)

    def _scaled_radius(self, small: np.ndarray, max_pixels: int | None) -> np.ndarray:
        size, scale = _scaled_size(self.shape, max_pixels)
        return _resize(small, size, cv2.INTER_LINEAR) * (scale / self._radius_scale)

    @property
    def blur_radius_top(self) -> float:
        """The radius (full-resolution pixels) shown brightest in blur_radius_image: the 99.5th percentile."""
        return float(np.percentile(self._radius_small, 99.5)) / self._radius_scale

    def blur_radius_image(self, max_pixels: int | None = PREVIEW_PIXELS) -> np.ndarray:
        """A colour view of the blur-radius map (see colorize_blur_radius), scaled to blur_radius_top."""
        _, scale = _scaled_size(self.shape, max_pixels)
        return colorize_blur_radius(self.blur_radius(max_pixels), vmax=max(self.blur_radius_top * scale, 1e-6))

    def _inputs(self, max_pixels: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Photo, matte and blur radius at the render scale (cached: previews reuse them)."""
        size, _ = _scaled_size(self.shape, max_pixels)
        item = self._scaled_cache.get(size)
        if item is None:
            if size == self.shape:
                item = (self.photo, self.matte, self._scaled_radius(self._render_radius_small, None))
            else:
                radius = self._scaled_radius(self._render_radius_small, max_pixels)
                item = (_resize(self.photo, size), _resize(self.matte, size), radius)
                self._scaled_cache = {size: item}  # the preview scale only (memory); renders may run in threads
        return item

    def render(
        self,
        amount: float,
        bokeh: str = "circle",
        highlight_boost: float = 1.0,
        max_pixels: int | None = None,
        progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
    ) -> np.ndarray:
        """The magnified photo, (H, W, 3) uint8 (scaled to at most max_pixels when given).

        amount: total blur as a multiple of the existing blur (1 = unchanged, 2 = twice as blurry).
        bokeh: "circle" or "hexagon". highlight_boost: 0 = none; >0 makes bright points bloom
        (linear-light white is made 1 + boost times brighter before blurring, then mapped back).
        """
        amount = float(amount)
        if not np.isfinite(amount) or amount < 1.0 or amount > MAX_AMOUNT:
            raise ValueError(f"amount must be between 1 and {MAX_AMOUNT:g}, got {amount:g}")
        if bokeh not in BOKEH_SHAPES:
            raise ValueError(f"unknown bokeh shape {bokeh!r}; choose one of {', '.join(BOKEH_SHAPES)}")
        highlight_boost = float(highlight_boost)
        if not np.isfinite(highlight_boost) or not 0.0 <= highlight_boost <= 20.0:
            raise ValueError(f"highlight boost must be between 0 and 20, got {highlight_boost:g}")
        photo, matte, radius = self._inputs(max_pixels)
        extra = radius * np.float32(np.sqrt(amount * amount - 1.0))  # Gaussian-like addition of blurs
        max_extra = 0.06 * float(max(photo.shape[:2]))  # beyond this layers get costly and look fake
        np.minimum(extra, max_extra, out=extra)
        if amount == 1.0 or float(extra.max()) < 0.25:
            return photo.copy()
        return _render(photo, matte, extra, bokeh, highlight_boost, progress, cancel)


def _render(
    photo: np.ndarray,
    matte: np.ndarray,
    extra: np.ndarray,
    bokeh: str,
    boost: float,
    progress: ProgressFn | None,
    cancel: CancelFn | None,
) -> np.ndarray:
    h, w = photo.shape[:2]

    def step(fraction: float) -> None:
        if cancel is not None and cancel():
            raise Cancelled("blur magnification cancelled")
        if progress is not None:
            progress(fraction)

    step(0.0)
    source = _BackgroundSource(photo, matte, boost)  # linear light, highlights boosted, subject removed
    step(0.2)
    radii = _layer_radii(float(extra.max()))
    layers: list[_Layer | None] = [None]
    for i, r in enumerate(radii[1:], start=1):
        layers.append(_render_layer(source, r, bokeh))
        step(0.2 + 0.4 * i / len(radii))
    del source.levels[2:]  # the half level stays: it makes full-resolution rows for small radii

    out = np.empty_like(photo)
    for y0 in range(0, h, _STRIP_ROWS):
        y1 = min(h, y0 + _STRIP_ROWS)
        _composite_strip(photo[y0:y1], matte[y0:y1], extra[y0:y1], layers, radii, (h, w), y0, boost, out[y0:y1])
        step(0.6 + 0.4 * y1 / h)
    return out


def _composite_strip(
    photo: np.ndarray,
    matte: np.ndarray,
    extra: np.ndarray,
    layers: list["_Layer | None"],
    radii: list[float],
    full_hw: tuple[int, int],
    y0: int,
    boost: float,
    out: np.ndarray,
) -> None:
    """Rows y0:y0+len(photo): interpolate each pixel between the two layers around its radius, map
    back to sRGB, and let the original show through by the subject matte and where no blur is asked.
    (cv2 arithmetic: SIMD and threaded, and no temporaries for broadcasting.)"""
    coord = _layer_coordinate(extra, len(radii))
    # weight of the blurred result: (1 - matte) * (1 - w0), w0 = weight of layer 0 (the original photo)
    blur_w = np.minimum(coord, 1.0)
    blur_w *= 1.0 - matte
    if float(blur_w.max()) <= 0.0:
        out[...] = photo
        return
    acc = np.zeros(photo.shape, np.float32)
    lo, hi = int(np.floor(coord.min())), int(np.ceil(coord.max()))
    for k in range(max(1, lo), min(hi, len(radii) - 1) + 1):
        wk = 1.0 - np.abs(coord - k)
        if k == 1:
            wk[coord < 1.0] = 1.0  # below layer 1 the blurred part is layer 1 alone
        np.maximum(wk, 0.0, out=wk)
        if not wk.any():
            continue
        layer = layers[k].rows(full_hw, y0, y0 + len(photo))
        cv2.accumulateProduct(layer, cv2.merge([wk, wk, wk]), acc)
    blurred = _linear_rows_to_srgb(_unboost_rows(acc, boost))
    orig = photo.astype(np.float32)
    cv2.subtract(blurred, orig, dst=blurred)
    cv2.multiply(blurred, cv2.merge([blur_w, blur_w, blur_w]), dst=blurred)
    cv2.add(blurred, orig, dst=blurred)
    out[...] = cv2.convertScaleAbs(blurred)  # rounds and saturates to uint8


def magnify(
    photo: np.ndarray,
    blurmap: BlurMap,
    amount: float = 2.0,
    bokeh: str = "circle",
    highlight_boost: float = 1.0,
    selection: np.ndarray | None = None,
    include_motion: bool = False,
    blur_radius: np.ndarray | None = None,
    max_pixels: int | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> np.ndarray:
    """Make the defocus blur of `photo` `amount` times stronger; (H, W, 3) uint8 in and out.

    selection: optional (H, W) alpha of the subject to keep crisp (default: the blur map's sharp pixels).
    blur_radius: optional precomputed estimate_blur_radius map. See Magnifier.render for the rest.
    """
    if float(amount) == 1.0:
        photo = _check_photo(photo)
        _check_blurmap(blurmap, photo.shape[:2])
        return photo.copy() if max_pixels is None else _resize(photo, _scaled_size(photo.shape[:2], max_pixels)[0])
    m = Magnifier(photo, blurmap, selection=selection, include_motion=include_motion, blur_radius=blur_radius)
    return m.render(amount, bokeh, highlight_boost, max_pixels=max_pixels, progress=progress, cancel=cancel)
