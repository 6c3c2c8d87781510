"""How defocused each pixel of a photo already is: the blur radius of an equivalent lens (disk) blur.

Blur is measured at edges with the re-blur gradient ratio of Zhuo & Sim 2011, in a small scale space
(each scale pre-smooths to suppress noise and measures larger blurs), calibrated on a disk-blurred
step edge. The sparse edge measurements are spread over the blurred region by push-pull normalised
convolution and masked by p(defocus), which is first snapped to the photo's edges with a guided
filter. Sharp pixels get 0; motion-blurred pixels get 0 unless `include_motion`. magnify.py uses it.

NumPy in, NumPy out; no Qt.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from ..blurmap import DEFOCUS, MOTION, BlurMap
from ..errors import InputError
from ..ops.colour import grey
from ..ops.guided import guided_filter
from ..ops.photo import check_photo, check_probs
from ..ops.resample import resize, scaled_size
from .settings import BOKEH_SHAPES

WORK_PIXELS = 1_000_000  # blur amount is estimated at about this many pixels (it varies slowly)
# Scale space of the re-blur ratio: (pre-smoothing sigma, re-blur sigma) in working pixels.
_RATIO_SCALES = ((0.0, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0))
_FINER_SCALE_BIAS = 0.7  # per scale step: finer scales resolve nearby edges better, so prefer them


def _gaussian(a: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return a
    return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)



def push_pull(values: np.ndarray, weights: np.ndarray) -> list[np.ndarray]:
    """Fill unknown pixels from known ones (Gortler et al.'s push-pull normalised convolution).

    values: (H, W) or (H, W, C) float32; weights: (H, W) in [0, 1], 1 = known. Returns the filled image at
    every pyramid level, finest first: level 0 keeps known pixels (blended by weight) and fills the rest
    smoothly from ever coarser averages of known pixels.
    """
    w = np.clip(weights.astype(np.float32, copy=False), 0.0, 1.0)
    premultiplied = values.astype(np.float32) * (w[..., None] if values.ndim == 3 else w)
    return push_pull_premultiplied(premultiplied, w)


def push_pull_premultiplied(sums0: np.ndarray, w0: np.ndarray) -> list[np.ndarray]:
    """push_pull given the finest level as weight * value (float32) and its weights."""
    expand = (lambda x: x[..., None]) if sums0.ndim == 3 else (lambda x: x)
    sums, wts = [sums0], [w0]
    while min(sums[-1].shape[:2]) > 2:  # push: premultiplied averages
        h, wd = sums[-1].shape[:2]
        size = ((h + 1) // 2, (wd + 1) // 2)
        sums.append(resize(sums[-1], size, cv2.INTER_AREA))
        wts.append(resize(wts[-1], size, cv2.INTER_AREA))
    top_w = wts[-1]
    if float(top_w.max()) <= 0.0:
        raise InputError("nothing to fill from: every weight is zero")
    filled = sums[-1] / expand(np.maximum(top_w, 1e-12))
    # Cells with no known pixel at the top take the global mean.
    mean = sums[-1].reshape(-1, *sums[-1].shape[2:]).sum(0) / top_w.sum()
    filled[top_w <= 1e-12] = mean
    out = [filled]
    for i in range(len(sums) - 2, -1, -1):
        # pull: wt * (own average) + (1 - wt) * (coarser estimate), where wt * own average = sums[i]
        up = resize(out[-1], sums[i].shape[:2], cv2.INTER_LINEAR)
        up *= expand(1.0 - wts[i])
        up += sums[i]
        out.append(up)
    return out[::-1]



_HEXAGON_SCALE = float(np.sqrt(np.pi / (1.5 * np.sqrt(3.0))))  # circumradius of the hexagon with a disk's area


@functools.lru_cache(maxsize=256)
def aperture_kernel(radius: float, shape: str = "circle") -> np.ndarray:
    """Normalised (k, k) float32 kernel of an anti-aliased aperture: a disk of `radius` pixels, or a
    flat-topped regular hexagon of the same area (so both shapes blur equally much)."""
    if shape not in BOKEH_SHAPES:
        raise InputError(f"unknown bokeh shape {shape!r}; choose one of {', '.join(BOKEH_SHAPES)}")
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
    return np.clip(resize(np.ascontiguousarray(region, dtype=np.float32), size_hw), 0.0, 1.0)


def _estimate_working(photo_small: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Blur radius in working pixels over the whole working image (before masking by region)."""
    gray = grey(photo_small)
    num, den = _edge_samples(gray, region)
    if float(den.sum()) < 1.0:  # fewer than about one fully trusted edge pixel
        # no usable edge: assume a mild blur, proportional to the image size
        return np.full(gray.shape, 0.004 * float(np.hypot(*gray.shape)), np.float32)
    # Spread smoothly: take the push-pull estimate at a level about 1/32 of the image, then upsample.
    levels = push_pull(num / np.maximum(den, 1e-12), np.clip(den, 0.0, 1.0))
    coarse_side = max(gray.shape) / 32.0
    level = next((lv for lv in levels if max(lv.shape) <= max(coarse_side, 8)), levels[-1])
    return resize(level, gray.shape, cv2.INTER_CUBIC).clip(0.0, None).astype(np.float32)


def _refined_region(photo_small: np.ndarray, region: np.ndarray) -> np.ndarray:
    """p(blurred region) snapped to the photo's edges with a guided filter."""
    r = max(2, int(round(max(region.shape) / 200)))
    return np.clip(guided_filter(grey(photo_small), region, r, 1e-3), 0.0, 1.0)


def estimate_blur_radius(
    photo: np.ndarray,
    blurmap: BlurMap,
    include_motion: bool = False,
    max_pixels: int = WORK_PIXELS,
) -> np.ndarray:
    """(H, W) float32: the existing blur of each pixel as the radius in pixels of an equivalent disk
    (lens) blur. 0 on sharp pixels, and on motion-blurred pixels unless include_motion."""
    photo = check_photo(photo, min_side=2)
    check_probs(blurmap, photo.shape)
    spread, region, scale = estimate_small(photo, blurmap, include_motion, max_pixels)
    return resize(spread * region, photo.shape[:2], cv2.INTER_LINEAR) * (1.0 / scale)


def estimate_small(
    photo: np.ndarray, blurmap: BlurMap, include_motion: bool, max_pixels: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """At the working scale: the blur radius spread over the whole image, the refined blurred region
    (their product is the estimate), and the working scale."""
    size, scale = scaled_size(photo.shape, max_pixels, min_side=2)
    small = resize(photo, size)
    region = _region_weight(blurmap, size, include_motion)
    return _estimate_working(small, region), _refined_region(small, region).astype(np.float32), scale


def colorize_blur_radius(radius: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """(H, W, 3) uint8 view of a blur-radius map: black = sharp, through purple and orange to yellow
    (the 'inferno' colour map, perceptually ordered and readable without colour vision)."""
    radius = np.asarray(radius, dtype=np.float32)
    if radius.ndim != 2:
        raise InputError(f"blur radius map must be (H, W), got {radius.shape}")
    top = float(vmax) if vmax else max(float(np.percentile(radius, 99.5)), 1e-6)
    v = np.clip(radius / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(v, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)

