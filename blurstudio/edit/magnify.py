"""Blur magnification: make the defocused background of a photo blurrier, as a wider aperture would.

In the spirit of Bae & Durand, "Defocus Magnification" (2007), the application shown by Kim et al. 2018.

1. `estimate_blur_radius` (defocus.py): how defocused every pixel already is, as the radius (in
   pixels) of an equivalent disk-shaped lens blur; sharp pixels (and motion-blurred ones, unless
   `include_motion`) get 0.
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

import cv2
import numpy as np

from ..blurmap import SHARP, BlurMap
from ..errors import Cancelled, InputError
from ..ops.colour import LUMA, SRGB_TO_LINEAR, grey, srgb_encode
from ..ops.guided import fast_guided_filter
from ..ops.photo import check_photo, check_probs
from ..ops.resample import resize, resize_rows, scaled_size
from ..progress import Cancel, Progress, Reporter
from .defocus import (
    WORK_PIXELS,
    push_pull_premultiplied,
    aperture_kernel,
    colorize_blur_radius,
    estimate_blur_radius,
    estimate_small,
    push_pull,
)
from .settings import BOKEH_SHAPES, MagnifySettings

# The names a caller of magnify needs, from here and from defocus.py.
__all__ = [
    "BOKEH_SHAPES", "Cancelled", "MagnifySettings", "Magnifier", "PREVIEW_PIXELS", "aperture_kernel",
    "colorize_blur_radius", "estimate_blur_radius", "magnify", "push_pull", "subject_matte",
]

PREVIEW_PIXELS = 1_000_000

_LAYER_RATIO = 1.4  # consecutive layer radii differ by this factor
_LAYER_KERNEL_RADIUS = 4.0  # a layer is rendered at a scale where its kernel radius is at most this
_GAUSSIAN_LAYER_RADIUS = 2.5  # layers up to this radius use a Gaussian (shape invisible, much cheaper)
_HIGHLIGHT_KNEE = 0.5  # linear-light level above which highlights are boosted (with a 4th power,
# steeply, so that mostly near-white pixels, the light sources, bloom)
_MATTE_HOLE = 0.1  # pixels with matte above this are treated as subject (filled behind) before blurring
_STRIP_ROWS = 256  # even: strips halve exactly

_LUMA = LUMA.reshape(1, 3)  # Rec. 709 luminance of linear RGB, as cv2.transform takes it


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


_SRGB_TO_LINEAR_LUT = SRGB_TO_LINEAR.reshape(256, 1)  # as cv2.LUT takes it
_OUT_LUT_SIZE = 8192
# linear [0, 1] -> sRGB [0, 255], indexed by sqrt(linear) (fine steps in the darks)
_LINEAR_TO_SRGB_LUT = (srgb_encode(np.linspace(0.0, 1.0, _OUT_LUT_SIZE) ** 2) * 255.0).astype(np.float32)


def _linear_rows_to_srgb(lin: np.ndarray) -> np.ndarray:
    """float32 linear light (clipped to [0, 1]) -> float32 sRGB in [0, 255]."""
    idx = cv2.sqrt(np.clip(lin, 0.0, 1.0))
    idx *= _OUT_LUT_SIZE - 1
    idx += 0.5
    return _LINEAR_TO_SRGB_LUT[idx.astype(np.int32)]


# --------------------------------------------------------------------------------------------------
# the subject matte
# --------------------------------------------------------------------------------------------------


def subject_matte(photo: np.ndarray, blurmap: BlurMap, selection: np.ndarray | None = None) -> np.ndarray:
    """(H, W) float32 alpha of what must stay crisp: the selection when given, else p(sharp) snapped to
    the photo's edges (fast guided filter) and given a firm edge."""
    photo = check_photo(photo, min_side=2)
    h, w = photo.shape[:2]
    if selection is not None:
        sel = np.asarray(selection, dtype=np.float32)
        if sel.shape != (h, w):
            raise InputError(f"selection of shape {sel.shape} does not match the photo {(h, w)}")
        return np.clip(sel, 0.0, 1.0)
    check_probs(blurmap, (h, w))
    size, _ = scaled_size((h, w), WORK_PIXELS, min_side=2)
    p_sharp = resize(np.ascontiguousarray(blurmap.probs[SHARP]), size)
    r = max(2, int(round(max(size) / 250)))
    q = fast_guided_filter(grey(photo), p_sharp, r, 1e-3)
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
        self.levels: list[np.ndarray | None] = [None] + push_pull_premultiplied(sums, wts)
        self._cached: tuple[tuple[int, int], np.ndarray] | None = None

    def rows(self, y0: int, y1: int) -> np.ndarray:
        """Rows y0:y1 of the full-resolution level: known pixels as they are, the rest from the half level."""
        if self._cached is not None and self._cached[0] == (y0, y1):
            return self._cached[1]
        rows = _boosted_linear(self.photo[y0:y1], self.boost)
        up = resize_rows(self.levels[1], self.shape, y0, y1)
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
            return resize_rows(self.image, full_hw, y0, y1)
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
    src = resize(levels[level], size, cv2.INTER_AREA)
    kernel = aperture_kernel(round(radius * size[1] / full_w, 2), bokeh)
    return _Layer(image=cv2.filter2D(src, -1, kernel, borderType=cv2.BORDER_REFLECT))


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
        self.photo = check_photo(photo, min_side=2)
        check_probs(blurmap, self.photo.shape)
        self.blurmap = blurmap
        self.include_motion = include_motion
        h, w = self.photo.shape[:2]
        self.matte = subject_matte(self.photo, blurmap, selection)
        if blur_radius is not None:
            blur_radius = np.asarray(blur_radius, dtype=np.float32)
            if blur_radius.shape != (h, w):
                raise InputError(f"blur radius map of shape {blur_radius.shape} does not match the photo {(h, w)}")
            self._radius_small, self._radius_scale = blur_radius, 1.0
            self._render_radius_small = blur_radius
        else:
            spread, region, self._radius_scale = estimate_small(self.photo, blurmap, include_motion, WORK_PIXELS)
            self._radius_small = spread * region
            self._render_radius_small = spread * _blur_weight(region, resize(self.matte, region.shape))
        self._scaled_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def shape(self) -> tuple[int, int]:
        return self.photo.shape[0], self.photo.shape[1]

    def blur_radius(self, max_pixels: int | None = None) -> np.ndarray:
        """The estimated blur radius in pixels of the photo scaled to max_pixels (None: full size)."""
        return self._scaled_radius(self._radius_small, max_pixels)

    def _scaled_radius(self, small: np.ndarray, max_pixels: int | None) -> np.ndarray:
        size, scale = scaled_size(self.shape, max_pixels, min_side=2)
        return resize(small, size, cv2.INTER_LINEAR) * (scale / self._radius_scale)

    @property
    def blur_radius_top(self) -> float:
        """The radius (full-resolution pixels) shown brightest in blur_radius_image: the 99.5th percentile."""
        return float(np.percentile(self._radius_small, 99.5)) / self._radius_scale

    def blur_radius_image(self, max_pixels: int | None = PREVIEW_PIXELS) -> np.ndarray:
        """A colour view of the blur-radius map (see colorize_blur_radius), scaled to blur_radius_top."""
        _, scale = scaled_size(self.shape, max_pixels, min_side=2)
        return colorize_blur_radius(self.blur_radius(max_pixels), vmax=max(self.blur_radius_top * scale, 1e-6))

    def _inputs(self, max_pixels: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Photo, matte and blur radius at the render scale (cached: previews reuse them)."""
        size, _ = scaled_size(self.shape, max_pixels, min_side=2)
        item = self._scaled_cache.get(size)
        if item is None:
            if size == self.shape:
                item = (self.photo, self.matte, self._scaled_radius(self._render_radius_small, None))
            else:
                radius = self._scaled_radius(self._render_radius_small, max_pixels)
                item = (resize(self.photo, size), resize(self.matte, size), radius)
                self._scaled_cache = {size: item}  # the preview scale only (memory); renders may run in threads
        return item

    def render(self, settings: MagnifySettings, max_pixels: int | None = None, progress: Progress | None = None,
               cancel: Cancel | None = None) -> np.ndarray:
        """The magnified photo, (H, W, 3) uint8 (scaled to at most max_pixels when given).

        settings.amount: total blur as a multiple of the existing blur (1 = unchanged, 2 = twice as
        blurry); bokeh: the aperture's shape; highlight_boost: 0 = none; >0 makes bright points bloom
        (linear-light white is made 1 + boost times brighter before blurring, then mapped back).
        """
        photo, matte, radius = self._inputs(max_pixels)
        amount = settings.amount
        extra = radius * np.float32(np.sqrt(amount * amount - 1.0))  # Gaussian-like addition of blurs
        max_extra = 0.06 * float(max(photo.shape[:2]))  # beyond this layers get costly and look fake
        np.minimum(extra, max_extra, out=extra)
        if amount == 1.0 or float(extra.max()) < 0.25:
            return photo.copy()
        return _render(photo, matte, extra, settings.bokeh, settings.highlight_boost, Reporter(progress, cancel, "blur magnification"))

    def preview(self, settings: MagnifySettings, cancel: Cancel | None = None) -> np.ndarray:
        """`render` at about PREVIEW_PIXELS: what the GUI shows while a control moves."""
        return self.render(settings, PREVIEW_PIXELS, cancel=cancel)


def _render(photo: np.ndarray, matte: np.ndarray, extra: np.ndarray, bokeh: str, boost: float, step: Reporter) -> np.ndarray:
    h, w = photo.shape[:2]
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


def magnify(photo: np.ndarray, blurmap: BlurMap, amount: float = MagnifySettings.amount, *, selection: np.ndarray | None = None, include_motion: bool = False,
            blur_radius: np.ndarray | None = None, max_pixels: int | None = None, progress: Progress | None = None,
            cancel: Cancel | None = None, **settings) -> np.ndarray:
    """`Magnifier(...).render(...)` in one call; `settings` are MagnifySettings' fields.

    selection: optional (H, W) alpha of the subject to keep crisp (default: the blur map's sharp pixels).
    blur_radius: optional precomputed estimate_blur_radius map."""
    chosen = MagnifySettings(amount=amount, **settings)
    if chosen.amount == 1.0:  # nothing to estimate
        photo = check_photo(photo, min_side=2)
        check_probs(blurmap, photo.shape)
        return photo.copy() if max_pixels is None else resize(photo, scaled_size(photo.shape, max_pixels, min_side=2)[0])
    m = Magnifier(photo, blurmap, selection=selection, include_motion=include_motion, blur_radius=blur_radius)
    return m.render(chosen, max_pixels, progress, cancel)
