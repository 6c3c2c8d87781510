"""Deblurring guided by the blur map: non-blind deconvolution with the kernels of kernels.py.

Pipeline (NumPy in, NumPy out, no Qt):
1. For each blurred region (motion / defocus, from the blur map) estimate its kernel from the
   region's spectrum (kernels.py).
2. Deconvolve in linear light with that kernel: Wiener (gradient prior, per channel, one FFT pair
   per tile) or Richardson-Lucy (accelerated, damped, total-variation term, on luminance), on
   tiles with wide overlap that are cross-faded, only where the map says blurred. Before the FFT,
   everything the blur model does not describe (tile edges, mirrored padding beyond the photo,
   pixels outside the region) is replaced by its own re-blur, so nothing rings into the region.
   Clipped highlights and their surroundings are left as they are.
3. Blend the restored pixels in by the (feathered) class probability, so sharp regions keep their
   exact original pixels and region borders have no seams.

`Deblurrer(photo, blurmap, region)` estimates the kernels and the noise once; its `preview` (a
loupe crop) and `render` (the whole photo) then take any DeblurSettings. `deblur` is the one-call form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import scipy.fft as sfft

from ..blurmap import CLASS_NAMES, DEFOCUS, MOTION, BlurMap
from ..errors import Cancelled
from ..ops.colour import LUMA, linear_to_srgb, srgb_to_linear
from ..ops.photo import check_photo, check_probs
from ..progress import Cancel, Progress, Reporter
from .kernels import BlurKernel, estimate_kernels, override_kernels, photo_noise, region_weights
from .kernels import MIN_PATCHES, disk_kernel, kernel_image, kernel_sheet, motion_kernel  # for callers of deblur
from .settings import DeblurSettings

# A caller of the deblur engine needs only this module: these names, with those of kernels.py it uses.
__all__ = ["BlurKernel", "Cancelled", "CLASS_NAMES", "DEFOCUS", "MIN_PATCHES", "MOTION", "DeblurSettings", "Deblurrer",
           "deblur", "deblur_preview", "disk_kernel", "estimate_kernels", "kernel_image", "kernel_sheet", "loupe_box",
           "most_blurred_point", "motion_kernel", "photo_noise"]

# ----------------------------------------------------------------------------- deconvolution

TILE = 512
SINGLE_TILE = 1536  # up to this side an image is one FFT tile (loupe crops with context: fewer overheads)
MIN_MARGIN = 48
WIENER_FLOOR = 0.3  # constant part of the Wiener regulariser (frequencies where |H| and |D| both vanish)
MARGIN_FACTOR = 10.0  # FFT context in kernel half-sizes: deconvolution tails decay within it
DEFAULT_RL_ITERATIONS = 20
REAL_PHOTO_FLOOR = 7.5e-3  # base of auto_regularisation, see there


def auto_regularisation(sigma: float, kernel: "BlurKernel") -> float:
    """Wiener gradient-prior weight for a noise sigma (linear light) and a kernel.

    Tuned on dead-leaves images: 2.5e-3 for clean 8-bit photos, growing with the noise variance;
    long motion kernels have spectral zeros at low frequencies, where the gradient prior is weak,
    so they need proportionally more (about length^2). Real photos carry errors the noise
    estimate does not see (JPEG, a blur that is not exactly one disk): on real photos blurred with
    known disks, JPEG q 80, the PSNR gain peaked at 3x the dead-leaves weight (+1.3 dB vs +1.2 dB at
    1x; +0.85 vs +0.54 dB where the radius varies by +-25 % across the photo), so the base is 3x."""
    lam = REAL_PHOTO_FLOOR + 100.0 * float(sigma) ** 2
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
        wx = self._conv(x, self.wiener)
        y = np.tensordot(LUMA, x, axes=1)[None]
        return wx + (self._richardson_lucy(y) - np.tensordot(LUMA, wx, axes=1)[None])

    def _richardson_lucy(self, g: np.ndarray) -> np.ndarray:
        """Richardson-Lucy, accelerated (Biggs & Andrews 1997), with a damped update and a
        total-variation term (Dey et al. 2006) that keeps noise and ringing down."""
        eps = 1e-3  # offset keeps black regions away from 0/0
        g = np.maximum(g, 0) + eps
        x = g.copy()
        x_prev = step = step_prev = None
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
    kernels: dict[str, BlurKernel] | None = None,
    *,
    region: str = "auto",
    iterations: int = DEFAULT_RL_ITERATIONS,
    noise: float | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    **settings,
) -> np.ndarray:
    """Deblur the blurred regions of an sRGB uint8 photo; returns a new uint8 array of the same shape.

    kernels: from `estimate_kernels` (estimated here when None); settings: DeblurSettings' fields
    (method, strength, smoothness, and radius / length / angle overriding the kernels' own). Richardson-Lucy runs `iterations` on clean photos, fewer on
    noisy ones (colour differences by Wiener); noise: the photo's noise sigma in linear light
    (measured when None; a crop passes the whole photo's). Pixels outside every blurred region keep
    their exact original values. `Deblurrer` is the same for several settings of one photo."""
    chosen = DeblurSettings(**settings)
    report = Reporter(progress, cancel, "deblur")
    image = check_photo(image, grey=True)
    h, w = image.shape[:2]
    check_probs(blurmap, (h, w))
    if kernels is None:
        kernels = estimate_kernels(image, blurmap, region)
    weights = region_weights(blurmap, region)
    kernels = override_kernels(kernels, chosen, weights)  # the user's radius / length / angle, if set
    jobs = [(kernels[k], weights[k]) for k in weights if k in kernels]
    out = image.copy()
    if not jobs or chosen.strength == 0:
        report(1.0, check=False)
        return out

    sigma = photo_noise(image) if noise is None else float(noise)
    margin = max(MIN_MARGIN, int(MARGIN_FACTOR * max(k.extent for k, _ in jobs)))
    grid = _TileGrid.plan(h, w, margin)
    regions = [
        _Region(
            solver=_Deconvolver(k.psf(), (grid.padded, grid.padded), chosen.method,
                                auto_regularisation(sigma, k) * chosen.smoothness, rl_iterations(iterations, sigma)),
            weight=wt,
            blend=_feather(wt, max(4, k.extent)) * chosen.strength,
            extent=k.extent,
        )
        for k, wt in jobs
    ]
    starts = grid.starts()
    for i, (y, x) in enumerate(starts):
        report(i / len(starts))
        _deblur_tile(image, out, regions, grid, y, x)
    report(1.0, check=False)
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


class Deblurrer:
    """Holds a photo, its blur map and what is estimated from them once (the kernels of the blurred
    regions, as `region` reads the map, and the photo's noise); deblurs a loupe crop (`preview`)
    or the whole photo (`render`) with any DeblurSettings.

    >>> d = Deblurrer(photo, blurmap)                                   # doctest: +SKIP
    >>> before, after = d.preview(DeblurSettings(strength=0.8), loupe_box(d.most_blurred_point(), 160, photo.shape))
    >>> sharper = d.render(DeblurSettings(strength=0.8))
    """

    def __init__(self, photo: np.ndarray, blurmap: BlurMap, region: str = "auto") -> None:
        self.photo = check_photo(photo, grey=True)
        check_probs(blurmap, self.photo.shape)
        self.blurmap, self.region = blurmap, region
        self.kernels: dict[str, BlurKernel] = estimate_kernels(self.photo, blurmap, region)
        # The regularisation follows the photo's noise, not a crop's: measured once on the photo.
        self.noise: float = photo_noise(self.photo)

    def kernels_for(self, settings: DeblurSettings) -> dict[str, BlurKernel]:
        """The kernels `render` uses with these settings: the estimates, with the settings' radius,
        length and angle (those not None) in their place."""
        return override_kernels(self.kernels, settings, region_weights(self.blurmap, self.region))

    def most_blurred_point(self) -> tuple[int, int]:
        """(x, y) where a loupe shows the most (see `most_blurred_point`)."""
        return most_blurred_point(self.blurmap, self.region, list(self.kernels) or None)

    def preview(self, settings: DeblurSettings, box: tuple[int, int, int, int],
                cancel: Cancel | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(before, after) of the crop box = (x, y, width, height), as `render` would make it."""
        return deblur_preview(self.photo, self.blurmap, box, self.kernels, region=self.region, noise=self.noise,
                              cancel=cancel, **asdict(settings))

    def render(self, settings: DeblurSettings, progress: Progress | None = None, cancel: Cancel | None = None) -> np.ndarray:
        """The whole photo deblurred, a new array of its shape."""
        return deblur(self.photo, self.blurmap, self.kernels, region=self.region, noise=self.noise,
                      progress=progress, cancel=cancel, **asdict(settings))


def deblur_preview(
    image: np.ndarray,
    blurmap: BlurMap | np.ndarray,
    box: tuple[int, int, int, int],
    kernels: dict[str, BlurKernel],
    **options,
) -> tuple[np.ndarray, np.ndarray]:
    """(before, after) of the crop box = (x, y, width, height) for a loupe; same options as `deblur`.

    Works on the crop plus a margin of context, so the result matches a full apply."""
    image = check_photo(image, grey=True)
    h, w = image.shape[:2]
    x, y, bw, bh = (int(v) for v in box)
    x, y = min(max(x, 0), w - 1), min(max(y, 0), h - 1)
    bw, bh = max(1, min(bw, w - x)), max(1, min(bh, h - y))
    chosen = DeblurSettings(**{k: v for k, v in options.items() if k in DeblurSettings.__dataclass_fields__})
    kernels = override_kernels(kernels, chosen, region_weights(blurmap, options.get("region", "auto")))
    extent = max([k.extent for k in kernels.values()] + [4])
    m = max(MIN_MARGIN, int(MARGIN_FACTOR * extent)) + SEAM_BAND  # the context a full apply's tiles see
    ya, yb, xa, xb = max(y - m, 0), min(y + bh + m, h), max(x - m, 0), min(x + bw + m, w)
    probs = check_probs(blurmap, (h, w))[:, ya:yb, xa:xb]
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


def most_blurred_point(blurmap: BlurMap | np.ndarray, region: str = "auto", kinds: list[str] | None = None) -> tuple[int, int]:
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
