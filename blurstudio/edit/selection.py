"""Select one blur class (the sharp subject, the motion- or defocus-blurred parts) with a soft matted edge.

The pipeline (NumPy in, NumPy out, no Qt):

1. `target_probability`: the probability of the chosen target per pixel, read from the BlurMap.
2. `make_trimap`: confident inside (1) / outside (0) and an unknown band (0.5) along the thresholded
   boundary, whose width scales with the photo size; specks and pin holes are removed first.
3. `apply_scribbles` (scribbles.py): the user's brush strokes override the trimap.
4. `estimate_alpha`: a pymatting solver (closed-form matting by default) fills the unknown band.
5. `guided_upsample`: steps 2-4 run at a reduced working scale (about WORKING_PIXELS pixels, so a
   12 MP photo takes a few seconds); the alpha is brought back to full resolution with a fast guided
   filter (He & Sun 2015) whose guide is the full-resolution photo, so the matte follows fine edges.
   The full-resolution step runs in horizontal strips, so memory stays bounded.

`Selector(photo, blurmap)` holds the inputs at the working scale and at the quick preview's scale;
its `render(settings, scribbles)` runs all of it, `preview` the same on the small copy. `select` is
the one-call form. matte.py turns an alpha into outputs (matte, cut-out, previews).

pymatting compiles its numba kernels the first time it is imported on a machine (tens of seconds,
then cached on disk); it is imported lazily here so that importing this module stays fast.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..blurmap import CLASS_NAMES, SHARP, BlurMap
from ..errors import Cancelled, InputError
from ..ops.guided import colour_guided_coefficients
from ..ops.photo import check_photo, check_probs
from .matte import PYMATTING
from ..ops.resample import STRIP_PIXELS, resize_rows, scaled_size, strip_rows
from ..progress import Cancel, Progress, Reporter
from .scribbles import (
    INSIDE,
    OUTSIDE,
    SCRIBBLE_INSIDE,
    SCRIBBLE_OUTSIDE,
    UNKNOWN,
    apply_scribbles,
    check_scribbles,
    resize_scribbles,
)
from .settings import SOLVERS, TARGETS, SelectSettings

__all__ = ["Cancelled", "SOLVERS", "Selection", "SelectSettings", "Selector", "UNKNOWN", "select"]

WORKING_PIXELS = 350_000  # pixels of the working image the solver sees (12 MP -> scale ~0.17)
PREVIEW_PIXELS = 250_000  # the quick preview's size (photo pixels)
PREVIEW_WORKING_PIXELS = 120_000  # the quick preview's solver size
SPECK_FRACTION = 0.001  # islands and holes smaller than this fraction of the photo are removed
GUIDE_RADIUS = 2  # guided-filter radius at the working scale (pixels)
GUIDE_EPS = 1e-4  # guided-filter regularisation (colours in [0, 1]); smaller follows edges more closely
# Conjugate-gradient stopping rule. pymatting's default (rtol 1e-7, 10000 iterations) is far tighter
# than an 8-bit matte needs and made the large-kernel and random-walk solvers take 5-15 s.
CG_KWARGS = {"rtol": 1e-5, "maxiter": 2000}
ICHOL_SHIFTS = [1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]
# Closed-form regularisation. pymatting's 1e-7 lets alpha follow smooth colour gradients of a blurred
# background (haze in the band); 1e-5 measured better edges on the test composites and less haze.
CF_EPSILON = 1e-5
MIN_SOLVE_SIDE = 4  # below this (working pixels) the matting solvers are not used


@dataclass
class Selection:
    """The result of `select`."""

    alpha: np.ndarray  # float32 (H, W) in [0, 1], 1 = selected, full photo resolution
    trimap: np.ndarray  # float32 (h, w) 0 / 0.5 / 1 at the working scale (what the solver saw)
    scale: float  # working scale (working side / photo side)
    message: str = ""  # non-empty for degenerate cases (nothing / everything selected, solver fallback)
    timings: dict = field(default_factory=dict)  # seconds per step

    @property
    def fraction(self) -> float:
        """Selected share of the photo (mean alpha)."""
        return float(self.alpha.mean()) if self.alpha.size else 0.0


def warm_up() -> None:
    """Import pymatting (loads, or on a fresh install compiles, its numba kernels: seconds to a minute).
    Call it early in a background thread so that the first selection does not wait for it."""
    with PYMATTING:
        import pymatting  # noqa: F401


# --- 1. target probability ---------------------------------------------------------------


def target_probability(blurmap: BlurMap, target: str = "sharp", size: tuple[int, int] | None = None) -> np.ndarray:
    """(h, w) float32 probability that a pixel belongs to `target`, resized (area average) to `size`
    = (h, w) when given. Only one channel is resized, so no full-resolution temporaries are made."""
    if target not in TARGETS:
        raise InputError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    index = SHARP if target == "blurred" else CLASS_NAMES.index(target)
    channel = blurmap.probs[index]
    if size is not None and tuple(size) != channel.shape:
        channel = cv2.resize(channel, (int(size[1]), int(size[0])), interpolation=cv2.INTER_AREA)
    prob = 1.0 - channel if target == "blurred" else channel.copy()
    return np.clip(prob, 0.0, 1.0).astype(np.float32, copy=False)


# --- 2. trimap ---------------------------------------------------------------------------


def remove_specks(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Drop islands of True smaller than min_area pixels, then fill holes smaller than min_area."""
    mask = np.asarray(mask, dtype=bool)
    if min_area <= 1:
        return mask.copy()
    mask = _drop_small_components(mask, min_area)
    return ~_drop_small_components(~mask, min_area)


def _drop_small_components(mask: np.ndarray, min_area: int) -> np.ndarray:
    if not mask.any():
        return mask.copy()
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False  # label 0 is the background of this mask
    return keep[labels]


def make_trimap(prob: np.ndarray, threshold: float = 0.5, radius: float = 4.0, min_area: int = 0) -> np.ndarray:
    """Trimap (float32: 0 outside, 0.5 unknown, 1 inside) from a target probability map.

    inside = prob >= threshold, cleaned of islands and holes smaller than `min_area` pixels. Pixels
    within `radius` pixels of the inside/outside boundary become unknown. The centre line of parts
    thinner than the band (stalks, gaps between legs) stays known, so they are not lost.
    """
    prob = np.asarray(prob, dtype=np.float32)
    if prob.ndim != 2:
        raise InputError(f"probability map must be (H, W), got shape {prob.shape}")
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold must be in [0, 1], got {threshold}")
    inside = remove_specks(prob >= threshold, int(min_area))
    trimap = np.full(prob.shape, UNKNOWN, np.float32)
    if radius <= 0:
        trimap[:] = inside
        return trimap
    trimap[_core(inside, radius)] = INSIDE
    trimap[_core(~inside, radius)] = OUTSIDE
    return trimap


def _core(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels of mask farther than radius from its edge, plus the ridge (centre line) of thin parts."""
    if not mask.any():
        return mask
    if mask.all():
        return mask
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    ridge = dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))  # local maxima of the distance
    return (dist > radius) | (ridge & (dist >= max(2.0, radius / 2.0)))


# --- 4. alpha ----------------------------------------------------------------------------

def estimate_alpha(image: np.ndarray, trimap: np.ndarray, solver: str = "cf", margin: int = 8) -> np.ndarray:
    """Alpha (float32 (h, w) in [0, 1]) by a pymatting solver, solved only in the bounding box of the
    unknown pixels (plus `margin`). image: (h, w, 3) uint8 or float in [0, 1]; trimap: 0 / 0.5 / 1.
    The trimap must hold both inside and outside pixels (else pymatting raises ValueError)."""
    if solver not in SOLVERS:
        raise InputError(f"unknown matting solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    trimap = np.asarray(trimap, dtype=np.float64)
    image = np.asarray(image)
    image = image / 255.0 if image.dtype == np.uint8 else np.clip(image.astype(np.float64, copy=False), 0.0, 1.0)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"expected an (h, w, 3) RGB image, got shape {image.shape}")
    if image.shape[:2] != trimap.shape:
        raise InputError(f"image {image.shape[:2]} and trimap {trimap.shape} differ in size")
    alpha = np.clip(trimap, 0.0, 1.0).astype(np.float32)
    unknown = (trimap > OUTSIDE) & (trimap < INSIDE)
    if not unknown.any():
        return alpha
    ys, xs = np.nonzero(unknown)
    y0, y1 = max(0, ys.min() - margin), min(trimap.shape[0], ys.max() + 1 + margin)
    x0, x1 = max(0, xs.min() - margin), min(trimap.shape[1], xs.max() + 1 + margin)
    sub = trimap[y0:y1, x0:x1]
    if not ((sub >= INSIDE).any() and (sub <= OUTSIDE).any()):  # the crop lost one side: solve it all
        y0, y1, x0, x1 = 0, trimap.shape[0], 0, trimap.shape[1]
    alpha[y0:y1, x0:x1] = _run_solver(image[y0:y1, x0:x1], trimap[y0:y1, x0:x1], solver)
    return alpha


def _run_solver(image: np.ndarray, trimap: np.ndarray, solver: str) -> np.ndarray:
    with PYMATTING:
        import pymatting  # lazily: the first import compiles numba kernels

        fn = getattr(pymatting, f"estimate_alpha_{solver}")
        if solver == "sm":  # shared matting (no linear system) wants float32 and C-contiguous arrays
            result = fn(np.ascontiguousarray(image, np.float32), np.ascontiguousarray(trimap, np.float32))
        else:
            image64, trimap64 = np.ascontiguousarray(image, np.float64), np.ascontiguousarray(trimap, np.float64)
            kwargs = {"cg_kwargs": dict(CG_KWARGS)}
            if solver == "cf":
                # The matting Laplacian is nearly singular: pymatting's incomplete Cholesky first fails
                # without a diagonal shift (and prints a warning). Starting at a small shift saves ~40%.
                kwargs["preconditioner"] = lambda A: pymatting.ichol(A, shifts=ICHOL_SHIFTS)
                kwargs["laplacian_kwargs"] = {"epsilon": CF_EPSILON}
            result = fn(image64, trimap64, **kwargs)
        result = np.nan_to_num(np.asarray(result, np.float32), nan=0.5)
        return np.clip(result, 0.0, 1.0)


# --- 5. guided upsampling ----------------------------------------------------------------


def guided_upsample(
    coeffs: np.ndarray,
    trimap: np.ndarray,
    photo: np.ndarray,
    progress: Progress | None = None,
    strip_pixels: int = STRIP_PIXELS,
) -> np.ndarray:
    """Full-resolution alpha (float32 (H, W)) from working-scale guided-filter coefficients applied to
    the full-resolution photo, strip by strip. Pixels the working trimap knows stay exactly 0 or 1."""
    H, W = photo.shape[:2]
    out = np.empty((H, W), np.float32)
    rows = strip_rows(W, strip_pixels)
    for y0 in range(0, H, rows):
        y1 = min(H, y0 + rows)
        c = resize_rows(coeffs, (H, W), y0, y1)
        # Bilinear, so that only pixels whose every working neighbour is known get clamped: a
        # nearest-neighbour clamp would print the working pixel grid along the band's border.
        known = resize_rows(trimap, (H, W), y0, y1)
        guide = photo[y0:y1].astype(np.float32) * np.float32(1.0 / 255.0)
        q = c[..., 3] + c[..., 0] * guide[..., 0] + c[..., 1] * guide[..., 1] + c[..., 2] * guide[..., 2]
        q[known >= INSIDE - 1e-6] = 1.0
        q[known <= OUTSIDE + 1e-6] = 0.0
        np.clip(q, 0.0, 1.0, out=out[y0:y1])
        if progress is not None:
            progress(y1 / H)
    return out


def upsample_mask(mask: np.ndarray, size: tuple[int, int], strip_pixels: int = STRIP_PIXELS) -> np.ndarray:
    """A hard 0/1 mask brought to `size` (H, W) with smooth (bilinear, thresholded) edges, not blocks."""
    H, W = size
    small = np.ascontiguousarray(mask, np.float32)
    out = np.empty((H, W), np.float32)
    rows = strip_rows(W, strip_pixels)
    for y0 in range(0, H, rows):
        y1 = min(H, y0 + rows)
        out[y0:y1] = resize_rows(small, (H, W), y0, y1) >= 0.5
    return out


# --- the whole selection -----------------------------------------------------------------


class Selector:
    """Holds a photo and its blur map, and selects in it with any settings and strokes: the inputs
    at the solver's working scale, and a small copy of everything for quick previews, are made once
    (on first use, so that making a Selector costs nothing, on a GUI thread too).

    >>> selector = Selector(photo, blurmap)                       # doctest: +SKIP
    >>> photo_small, strokes_small, quick = selector.preview(SelectSettings(threshold=0.3), strokes)
    >>> selection = selector.render(SelectSettings(threshold=0.3), strokes)
    """

    def __init__(self, photo: np.ndarray, blurmap: BlurMap, working_pixels: int = WORKING_PIXELS,
                 preview_pixels: int | None = PREVIEW_PIXELS) -> None:
        self.photo = check_photo(photo)
        check_probs(blurmap, self.photo.shape)
        if working_pixels < 1:
            raise InputError(f"working_pixels must be positive, got {working_pixels}")
        self.blurmap, self.working_pixels = blurmap, working_pixels
        self.shape: tuple[int, int] = self.photo.shape[:2]
        self.preview_pixels = preview_pixels
        self._small: np.ndarray | None = None
        self._reduced: Selector | None = None

    @property
    def small(self) -> np.ndarray:
        """The photo at the solver's working scale."""
        if self._small is None:
            (h, w), _ = scaled_size(self.shape, self.working_pixels)
            self._small = self.photo if (h, w) == self.shape else cv2.resize(self.photo, (w, h), interpolation=cv2.INTER_AREA)
        return self._small

    def reduced(self) -> "Selector":
        """A Selector of the photo and map scaled down to about `preview_pixels` (never up): it
        selects in a fraction of a second, and as every setting is relative to the photo size, it
        shows what `render` will."""
        if self._reduced is None:
            (h, w), _ = scaled_size(self.shape, self.preview_pixels)
            if (h, w) == self.shape:
                self._reduced = Selector(self.photo, self.blurmap, PREVIEW_WORKING_PIXELS, None)
            else:
                photo = cv2.resize(self.photo, (w, h), interpolation=cv2.INTER_AREA)
                probs = np.stack([cv2.resize(p, (w, h), interpolation=cv2.INTER_AREA) for p in self.blurmap.probs])
                self._reduced = Selector(photo, BlurMap(probs, dict(self.blurmap.meta)), PREVIEW_WORKING_PIXELS, None)
        return self._reduced

    def preview(self, settings: SelectSettings, scribbles: np.ndarray | None = None,
                cancel: Cancel | None = None) -> tuple[np.ndarray, np.ndarray | None, Selection]:
        """A quick selection on the reduced copy: (its photo, the strokes at its size, the Selection)."""
        small = self.reduced()
        if scribbles is not None:
            scribbles = resize_scribbles(check_scribbles(scribbles, self.shape), small.shape)
        return small.photo, scribbles, small.render(settings, scribbles, cancel=cancel)

    def render(self, settings: SelectSettings, scribbles: np.ndarray | None = None,
               progress: Progress | None = None, cancel: Cancel | None = None) -> Selection:
        """Select the pixels of `settings.target` with a matted edge, at the photo's full resolution.

        scribbles: (H, W) codes SCRIBBLE_* (scribbles.py). Degenerate cases never raise: no
        confident target -> empty selection, target everywhere -> full selection, a failing solver
        -> the blur map's edge; `Selection.message` then says what happened."""
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        report = Reporter(progress, cancel, "selection")
        H, W = self.shape
        if scribbles is not None:
            scribbles = check_scribbles(scribbles, (H, W))
        small, target, threshold = self.small, settings.target, settings.threshold
        h, w = small.shape[:2]
        prob = target_probability(self.blurmap, target, (h, w))
        radius = settings.edge_width * np.sqrt(h * w)
        if settings.edge_width > 0:
            radius = max(radius, 1.5)  # at least a 3-pixel band, or the solver has nothing to refine
        trimap = make_trimap(prob, threshold, radius, int(round(SPECK_FRACTION * h * w)))
        if scribbles is not None:
            trimap = apply_scribbles(trimap, resize_scribbles(scribbles, (h, w)))
        timings["trimap"] = time.perf_counter() - t_start
        report(0.1)

        alpha_small, message = _solve_or_fallback(small, trimap, prob >= threshold, target, settings.solver)
        timings["solve"] = time.perf_counter() - t_start - timings["trimap"]
        report(0.6)

        t0 = time.perf_counter()
        if (h, w) == (H, W):
            alpha = alpha_small
        elif _is_constant(alpha_small):  # empty / full: no edges to upsample
            alpha = np.full((H, W), float(alpha_small.flat[0]), np.float32)
        elif message or not ((trimap > OUTSIDE) & (trimap < INSIDE)).any():  # a hard edge, not a matte
            alpha = upsample_mask(alpha_small, (H, W))
        else:
            coeffs = colour_guided_coefficients(small / 255.0, alpha_small, GUIDE_RADIUS, GUIDE_EPS)
            report(0.65)
            alpha = guided_upsample(coeffs, trimap, self.photo, progress=report.part(0.65, 1.0, check=False))
        if scribbles is not None:  # the strokes are exact at full resolution
            alpha[scribbles == SCRIBBLE_INSIDE] = 1.0
            alpha[scribbles == SCRIBBLE_OUTSIDE] = 0.0
        timings["upsample"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - t_start
        report(1.0, check=False)
        return Selection(alpha=alpha, trimap=trimap, scale=w / W, message=message, timings=timings)


def select(photo: np.ndarray, blurmap: BlurMap, target: str = SelectSettings.target, *,
           scribbles: np.ndarray | None = None, working_pixels: int = WORKING_PIXELS,
           progress: Progress | None = None, cancel: Cancel | None = None, **settings) -> Selection:
    """`Selector(photo, blurmap).render(...)` in one call; `settings` are SelectSettings' fields."""
    chosen = SelectSettings(target=target, **settings)
    return Selector(photo, blurmap, working_pixels).render(chosen, scribbles, progress, cancel)


def _solve_or_fallback(
    small: np.ndarray, trimap: np.ndarray, hard: np.ndarray, target: str, solver: str
) -> tuple[np.ndarray, str]:
    """Alpha at the working scale and a message for degenerate cases (empty when all went well)."""
    has_in = bool((trimap >= INSIDE).any())
    has_out = bool((trimap <= OUTSIDE).any())
    unknown = (trimap > OUTSIDE) & (trimap < INSIDE)
    if not has_in and not has_out:
        # Everything marked unknown: nothing anchors the solver; fall back to the blur map.
        return hard.astype(np.float32), f"no confident {target} or non-{target} area to anchor the edge; used the blur map as is"
    if not has_in:
        return np.zeros(trimap.shape, np.float32), f"no confident {target} area found: nothing selected"
    if not has_out:
        return np.ones(trimap.shape, np.float32), f"the whole photo is {target}: everything selected"
    if not unknown.any():
        return (trimap >= INSIDE).astype(np.float32), ""
    if min(trimap.shape) < MIN_SOLVE_SIDE:
        alpha = np.where(unknown, hard, trimap >= INSIDE).astype(np.float32)
        return alpha, "photo too small to matte the edge; used the blur map's edge"
    try:
        return estimate_alpha(small, trimap, solver), ""
    except Exception as e:  # noqa: BLE001 - a solver failure must not lose the selection
        alpha = np.where(unknown, hard, trimap >= INSIDE).astype(np.float32)
        return alpha, f"matting solver {solver!r} failed ({type(e).__name__}: {e}); used the blur map's edge"


def _is_constant(a: np.ndarray) -> bool:
    return a.size == 0 or bool(a.min() == a.max())
