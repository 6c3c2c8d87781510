"""Select one blur class (the sharp subject, the motion- or defocus-blurred parts) with a soft matted edge.

The pipeline (NumPy in, NumPy out, no Qt):

1. `target_probability`: the probability of the chosen target per pixel, read from the BlurMap.
2. `make_trimap`: confident inside (1) / outside (0) and an unknown band (0.5) along the thresholded
   boundary, whose width scales with the photo size; specks and pin holes are removed first.
3. `apply_scribbles`: the user's brush strokes override the trimap (see the SCRIBBLE_* codes).
4. `estimate_alpha`: a pymatting solver (closed-form matting by default) fills the unknown band.
5. `guided_upsample`: steps 2-4 run at a reduced working scale (about WORKING_PIXELS pixels, so a
   12 MP photo takes a few seconds); the alpha is brought back to full resolution with a fast guided
   filter (He & Sun 2015) whose guide is the full-resolution photo, so the matte follows fine edges.
   The full-resolution step runs in horizontal strips, so memory stays bounded.

`select` runs all of it. `estimate_foreground` (pymatting's multilevel foreground estimation at about
1 MP, then the compositing equation at full resolution), `cutout`, `alpha_image` and `preview` turn
an alpha into outputs; `reduce_inputs` and `draw_stroke` serve the GUI's quick previews and brush.

pymatting compiles its numba kernels the first time it is imported on a machine (tens of seconds,
then cached on disk); it is imported lazily here so that importing this module stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from ..blurmap import CLASS_NAMES, SHARP, BlurMap
from ..progress import Cancel, Progress, Reporter

TARGETS = ("sharp", "motion", "defocus", "blurred")  # "blurred" = motion or defocus = 1 - p(sharp)

# Scribble codes: an int8/uint8 (H, W) array aligned with the photo, one code per pixel.
SCRIBBLE_NONE = 0  # no stroke: the blur map decides
SCRIBBLE_INSIDE = 1  # surely selected (alpha 1)
SCRIBBLE_OUTSIDE = 2  # surely not selected (alpha 0)
SCRIBBLE_UNKNOWN = 3  # let the matting solver decide (hair, fur, semi-transparent edges)
SCRIBBLE_CODES = (SCRIBBLE_NONE, SCRIBBLE_INSIDE, SCRIBBLE_OUTSIDE, SCRIBBLE_UNKNOWN)
SCRIBBLE_COLOURS = {SCRIBBLE_INSIDE: (0, 220, 90), SCRIBBLE_OUTSIDE: (230, 30, 200), SCRIBBLE_UNKNOWN: (255, 220, 0)}

# Trimap values (pymatting's convention).
OUTSIDE, UNKNOWN, INSIDE = 0.0, 0.5, 1.0

# pymatting's alpha solvers: name -> description. The function is pymatting.estimate_alpha_<name>.
SOLVERS = {
    "cf": "closed-form matting (Levin et al. 2008)",
    "knn": "KNN matting (Chen et al. 2013)",
    "lkm": "large-kernel matting (He et al. 2010)",
    "lbdm": "learning-based matting (Zheng & Kambhamettu 2009)",
    "rw": "random-walk matting (Grady et al. 2005)",
    "sm": "shared matting (Gastal & Oliveira 2010)",
}

PREVIEW_MODES = ("overlay", "black", "white", "checkerboard", "alpha")

WORKING_PIXELS = 350_000  # pixels of the working image the solver sees (12 MP -> scale ~0.17)
EDGE_WIDTH = 0.03  # half-width of the unknown band, as a fraction of sqrt(photo area)
SPECK_FRACTION = 0.001  # islands and holes smaller than this fraction of the photo are removed
GUIDE_RADIUS = 2  # guided-filter radius at the working scale (pixels)
GUIDE_EPS = 1e-4  # guided-filter regularisation (colours in [0, 1]); smaller follows edges more closely
FOREGROUND_PIXELS = 1_000_000  # the multilevel foreground estimate runs at about this size
STRIP_PIXELS = 2_000_000  # full-resolution pixels per strip in the upsampling and preview steps
# Conjugate-gradient stopping rule. pymatting's default (rtol 1e-7, 10000 iterations) is far tighter
# than an 8-bit matte needs and made the large-kernel and random-walk solvers take 5-15 s.
CG_KWARGS = {"rtol": 1e-5, "maxiter": 2000}
ICHOL_SHIFTS = [1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]
# Closed-form regularisation. pymatting's 1e-7 lets alpha follow smooth colour gradients of a blurred
# background (haze in the band); 1e-5 measured better edges on the test composites and less haze.
CF_EPSILON = 1e-5
MIN_SOLVE_SIDE = 4  # below this (working pixels) the matting solvers are not used



class SelectionCancelled(Exception):
    """Raised when the cancel callable returned True."""


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
    import pymatting  # noqa: F401


# --- 1. target probability ---------------------------------------------------------------


def target_probability(blurmap: BlurMap, target: str = "sharp", size: tuple[int, int] | None = None) -> np.ndarray:
    """(h, w) float32 probability that a pixel belongs to `target`, resized (area average) to `size`
    = (h, w) when given. Only one channel is resized, so no full-resolution temporaries are made."""
    _check_target(target)
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
        raise ValueError(f"probability map must be (H, W), got shape {prob.shape}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
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


# --- 3. scribbles ------------------------------------------------------------------------


def check_scribbles(scribbles: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Validate a scribble array (integer codes SCRIBBLE_*, same (H, W) as the photo); returns uint8."""
    s = np.asarray(scribbles)
    if s.shape != tuple(shape):
        raise ValueError(f"scribbles of shape {s.shape} do not match the photo size {tuple(shape)}")
    if not (np.issubdtype(s.dtype, np.integer) or s.dtype == bool):
        raise ValueError(f"scribbles must be an integer array of codes 0-3, got {s.dtype}")
    if s.size and (s.min() < 0 or s.max() > SCRIBBLE_UNKNOWN):
        raise ValueError(f"scribble codes must be 0 none, 1 inside, 2 outside, 3 unknown; got values {s.min()}..{s.max()}")
    return s.astype(np.uint8, copy=False)


def resize_scribbles(scribbles: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scribbles at another size (h, w). A working pixel takes a code if any full-resolution pixel
    under it has it (thin strokes survive); where codes meet, inside beats outside beats unknown."""
    s = np.asarray(scribbles, dtype=np.uint8)
    if s.shape == tuple(size):
        return s.copy()
    out = np.zeros(size, np.uint8)
    for code in (SCRIBBLE_UNKNOWN, SCRIBBLE_OUTSIDE, SCRIBBLE_INSIDE):
        hit = s == code
        if hit.any():
            cover = cv2.resize(hit.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_AREA)
            out[cover > 0] = code
    return out


def apply_scribbles(trimap: np.ndarray, scribbles: np.ndarray | None) -> np.ndarray:
    """A copy of the trimap with the strokes applied (same size as the trimap)."""
    trimap = np.array(trimap, dtype=np.float32)
    if scribbles is None:
        return trimap
    s = check_scribbles(scribbles, trimap.shape)
    trimap[s == SCRIBBLE_UNKNOWN] = UNKNOWN
    trimap[s == SCRIBBLE_OUTSIDE] = OUTSIDE
    trimap[s == SCRIBBLE_INSIDE] = INSIDE
    return trimap


def draw_stroke(
    scribbles: np.ndarray, start: tuple[float, float], end: tuple[float, float], radius: float, code: int
) -> tuple[int, int, int, int]:
    """Paint a round brush segment from start (x, y) to end (x, y), in place, with `code`
    (SCRIBBLE_NONE erases). Returns the touched box (y0, y1, x0, x1), clipped to the array."""
    if code not in SCRIBBLE_CODES:
        raise ValueError(f"scribble code must be one of {SCRIBBLE_CODES}, got {code}")
    if scribbles.dtype != np.uint8 or scribbles.ndim != 2:
        raise ValueError(f"scribbles must be a (H, W) uint8 array, got {scribbles.dtype} {scribbles.shape}")
    r = max(0.5, float(radius))
    shift = 4  # sub-pixel precision of the stroke's end points (1/16 pixel)
    p0 = (int(round(start[0] * 16)), int(round(start[1] * 16)))
    p1 = (int(round(end[0] * 16)), int(round(end[1] * 16)))
    thickness = max(1, int(round(2 * r)))
    cv2.line(scribbles, p0, p1, int(code), thickness=thickness, lineType=cv2.LINE_8, shift=shift)
    if p0 == p1:
        cv2.circle(scribbles, p0, int(round(r * 16)), int(code), thickness=-1, lineType=cv2.LINE_8, shift=shift)
    H, W = scribbles.shape
    pad = int(np.ceil(r)) + 1
    x0 = max(0, int(np.floor(min(start[0], end[0]))) - pad)
    x1 = min(W, int(np.ceil(max(start[0], end[0]))) + pad + 1)
    y0 = max(0, int(np.floor(min(start[1], end[1]))) - pad)
    y1 = min(H, int(np.ceil(max(start[1], end[1]))) + pad + 1)
    return y0, max(y0, y1), x0, max(x0, x1)


# --- 4. alpha ----------------------------------------------------------------------------


def estimate_alpha(image: np.ndarray, trimap: np.ndarray, solver: str = "cf", margin: int = 8) -> np.ndarray:
    """Alpha (float32 (h, w) in [0, 1]) by a pymatting solver, solved only in the bounding box of the
    unknown pixels (plus `margin`). image: (h, w, 3) uint8 or float in [0, 1]; trimap: 0 / 0.5 / 1.
    The trimap must hold both inside and outside pixels (else pymatting raises ValueError)."""
    _check_solver(solver)
    trimap = np.asarray(trimap, dtype=np.float64)
    image = _as_float_image(image)
    if image.shape[:2] != trimap.shape:
        raise ValueError(f"image {image.shape[:2]} and trimap {trimap.shape} differ in size")
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


def _box(a: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(a, -1, (2 * r + 1, 2 * r + 1), normalize=True, borderType=cv2.BORDER_REFLECT)


def guided_coefficients(image: np.ndarray, alpha: np.ndarray, radius: int = GUIDE_RADIUS, eps: float = GUIDE_EPS) -> np.ndarray:
    """Colour guided filter (He et al. 2013) of `alpha` guided by `image` (h, w, 3) in [0, 1]: the
    box-averaged linear coefficients as one (h, w, 4) float32 array (a_r, a_g, a_b, b), so that
    alpha ~ a . colour + b holds locally. Applying them to a larger image upsamples edge-aware."""
    image = _as_float_image(image).astype(np.float32)
    p = np.asarray(alpha, np.float32)
    h, w = p.shape
    r = int(max(1, min(radius, (min(h, w) - 1) // 2))) if min(h, w) >= 3 else 0
    if r == 0:  # too small to filter: identity (a = 0, b = alpha)
        return np.dstack([np.zeros((h, w, 3), np.float32), p]).astype(np.float32)
    mean_i = _box(image, r)
    mean_p = _box(p, r)
    cov_ip = _box(image * p[..., None], r) - mean_i * mean_p[..., None]
    sigma = np.empty((h, w, 3, 3), np.float64)
    for i in range(3):
        for j in range(i, 3):
            v = _box(image[..., i] * image[..., j], r) - mean_i[..., i] * mean_i[..., j]
            sigma[..., i, j] = v
            sigma[..., j, i] = v
    sigma += eps * np.eye(3)
    a = np.linalg.solve(sigma, cov_ip[..., None].astype(np.float64))[..., 0].astype(np.float32)
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return np.dstack([_box(a, r), _box(b, r)]).astype(np.float32)


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
    rows = max(8, strip_pixels // max(W, 1))
    for y0 in range(0, H, rows):
        y1 = min(H, y0 + rows)
        c = _resize_rows(coeffs, H, W, y0, y1)
        # Bilinear, so that only pixels whose every working neighbour is known get clamped: a
        # nearest-neighbour clamp would print the working pixel grid along the band's border.
        known = _resize_rows(trimap, H, W, y0, y1)
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
    rows = max(8, strip_pixels // max(W, 1))
    for y0 in range(0, H, rows):
        y1 = min(H, y0 + rows)
        out[y0:y1] = _resize_rows(small, H, W, y0, y1) >= 0.5
    return out


# --- the whole selection -----------------------------------------------------------------


def working_size(height: int, width: int, working_pixels: int = WORKING_PIXELS) -> tuple[int, int]:
    """(h, w) of the working image: the photo scaled down to about working_pixels (never up)."""
    scale = min(1.0, float(np.sqrt(working_pixels / max(1, height * width))))
    return max(1, int(round(height * scale))), max(1, int(round(width * scale)))


def select(
    photo: np.ndarray,
    blurmap: BlurMap,
    target: str = "sharp",
    threshold: float = 0.5,
    edge_width: float = EDGE_WIDTH,
    scribbles: np.ndarray | None = None,
    solver: str = "cf",
    working_pixels: int = WORKING_PIXELS,
    speck_fraction: float = SPECK_FRACTION,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Selection:
    """Select the pixels of `target` (sharp | motion | defocus | blurred) with a matted edge.

    photo: (H, W, 3) uint8 RGB; blurmap: aligned with it. threshold: minimum target probability of
    the confident selection (lower = select more). edge_width: half-width of the unknown band as a
    fraction of sqrt(H * W) (0 = a hard edge from the blur map). scribbles: (H, W) codes SCRIBBLE_*.
    solver: a key of SOLVERS. working_pixels: size of the image the solver sees (smaller = faster,
    coarser; the edge detail comes back from the full-resolution photo in the guided upsampling).

    Degenerate cases never raise: no confident target -> empty selection, target everywhere -> full
    selection, a failing solver -> the blur map's edge; `Selection.message` then says what happened.
    """
    import time

    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    report = Reporter(progress, cancel, SelectionCancelled("selection was cancelled"))
    photo = _as_rgb8(photo)
    H, W = photo.shape[:2]
    if blurmap.shape != (H, W):
        raise ValueError(f"blur map of size {blurmap.shape} does not match the photo {(H, W)}")
    _check_target(target)
    _check_solver(solver)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    if edge_width < 0:
        raise ValueError(f"edge width must be >= 0, got {edge_width}")
    if working_pixels < 1:
        raise ValueError(f"working_pixels must be positive, got {working_pixels}")
    if scribbles is not None:
        scribbles = check_scribbles(scribbles, (H, W))

    # Working scale: the photo, blur map and strokes brought down to about working_pixels.
    h, w = working_size(H, W, working_pixels)
    scale = w / W
    small = photo if (h, w) == (H, W) else cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
    prob = target_probability(blurmap, target, (h, w))
    radius = edge_width * np.sqrt(h * w)
    if edge_width > 0:
        radius = max(radius, 1.5)  # at least a 3-pixel band, or the solver has nothing to refine
    trimap = make_trimap(prob, threshold, radius, int(round(speck_fraction * h * w)))
    if scribbles is not None:
        trimap = apply_scribbles(trimap, resize_scribbles(scribbles, (h, w)))
    timings["trimap"] = time.perf_counter() - t_start
    report(0.1)

    alpha_small, message = _solve_or_fallback(small, trimap, prob >= threshold, target, solver)
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
        coeffs = guided_coefficients(small, alpha_small)
        report(0.65)
        alpha = guided_upsample(coeffs, trimap, photo, progress=lambda f: report(0.65 + 0.35 * f, check=False))
    if scribbles is not None:  # the strokes are exact at full resolution
        alpha[scribbles == SCRIBBLE_INSIDE] = 1.0
        alpha[scribbles == SCRIBBLE_OUTSIDE] = 0.0
    timings["upsample"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    report(1.0, check=False)
    return Selection(alpha=alpha, trimap=trimap, scale=scale, message=message, timings=timings)


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


def reduce_inputs(
    photo: np.ndarray, blurmap: BlurMap, scribbles: np.ndarray | None, max_pixels: int
) -> tuple[np.ndarray, BlurMap, np.ndarray | None]:
    """The photo, blur map and scribbles scaled down to about max_pixels (never up), for quick
    previews: `select` on them takes a fraction of a second, as every setting is relative to size."""
    photo = _as_rgb8(photo)
    H, W = photo.shape[:2]
    h, w = working_size(H, W, max_pixels)
    if (h, w) == (H, W):
        return photo, blurmap, scribbles
    small = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
    probs = np.stack([cv2.resize(blurmap.probs[c], (w, h), interpolation=cv2.INTER_AREA) for c in range(3)])
    marks = None if scribbles is None else resize_scribbles(check_scribbles(scribbles, (H, W)), (h, w))
    return small, BlurMap(probs, dict(blurmap.meta)), marks


# --- outputs -----------------------------------------------------------------------------


def estimate_foreground(
    photo: np.ndarray,
    alpha: np.ndarray,
    working_pixels: int = FOREGROUND_PIXELS,
    strip_pixels: int = STRIP_PIXELS,
) -> np.ndarray:
    """Foreground colours (H, W, 3) uint8 for a clean cut-out (no background colour fringes).

    pymatting's multilevel estimate (Germer et al. 2020) gives foreground F and background B colours;
    on large photos it runs at about `working_pixels` (on a whole 12 MP photo it took ~15 s). At full
    resolution, where alpha is fractional, F comes from the compositing equation I = aF + (1 - a)B
    with the upsampled (smooth) B, which keeps the photo's fine detail; where alpha is 1, F = I.
    The composite's error aF - aF_true = (1 - a)(B_true - B) stays bounded as alpha goes to 0."""
    import pymatting  # lazily: the first import compiles numba kernels

    photo = _as_rgb8(photo)
    alpha = _check_alpha(alpha, photo.shape[:2])
    H, W = alpha.shape
    h, w = working_size(H, W, working_pixels)
    if (h, w) == (H, W):
        image = photo.astype(np.float32) * np.float32(1.0 / 255.0)
        fg = pymatting.estimate_foreground_ml(image, np.clip(alpha, 0, 1).astype(np.float32))
        fg8 = np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.where((alpha >= 1.0)[..., None], photo, fg8)  # fully selected pixels keep their colour
    small = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1.0 / 255.0)
    alpha_small = np.clip(cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA), 0, 1).astype(np.float32)
    fg_small, bg_small = pymatting.estimate_foreground_ml(small, alpha_small, return_background=True)
    fb_small = np.ascontiguousarray(np.dstack([fg_small, bg_small]).astype(np.float32))  # (h, w, 6)
    out = photo.copy()
    soft_rows = np.nonzero(((alpha > 0.0) & (alpha < 1.0)).any(axis=1))[0]
    rows = max(8, strip_pixels // max(W, 1))
    for y0 in range(0, H, rows):
        y1 = min(H, y0 + rows)
        if not ((soft_rows >= y0) & (soft_rows < y1)).any():
            continue  # alpha is 0 or 1 on all these rows: F = I will do
        fb = _resize_rows(fb_small, H, W, y0, y1)
        a = alpha[y0:y1, :, None]
        image = photo[y0:y1].astype(np.float32) * np.float32(1.0 / 255.0)
        exact = (image - (1.0 - a) * fb[..., 3:]) / np.maximum(a, 1.0 / 255.0)
        fg = np.where(a >= 1.0 / 255.0, exact, fb[..., :3])
        fg = np.where(a >= 1.0, image, fg)
        out[y0:y1] = np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def _resize_rows(small: np.ndarray, H: int, W: int, y0: int, y1: int, nearest: bool = False) -> np.ndarray:
    """Rows y0:y1 of `small` bilinearly resized to (H, W), as cv2.resize would (half-pixel centres),
    without making the whole full-size array. Works for up to 4 channels per call."""
    h, w = small.shape[:2]
    sx, sy = w / W, h / H
    m = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, (y0 + 0.5) * sy - 0.5]], np.float64)
    flags = (cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP
    if small.ndim == 3 and small.shape[2] > 4:
        parts = [_resize_rows(small[..., c : c + 4], H, W, y0, y1, nearest) for c in range(0, small.shape[2], 4)]
        return np.dstack(parts)
    return cv2.warpAffine(np.ascontiguousarray(small), m, (W, y1 - y0), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def alpha_image(alpha: np.ndarray, bits: int = 8) -> np.ndarray:
    """The matte as a greyscale image: (H, W) uint8 (bits=8) or uint16 (bits=16), max = selected."""
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    top = 255.0 if bits == 8 else 65535.0
    a = np.asarray(alpha, np.float32)
    return np.clip(a * top + 0.5, 0, top).astype(np.uint8 if bits == 8 else np.uint16)


def cutout(photo: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 4) uint8 RGBA: the foreground colours (estimated unless given) with alpha (straight, not
    premultiplied, as PNG stores it)."""
    photo = _as_rgb8(photo)
    alpha = _check_alpha(alpha, photo.shape[:2])
    fg = estimate_foreground(photo, alpha) if foreground is None else _as_rgb8(foreground)
    if fg.shape != photo.shape:
        raise ValueError(f"foreground of shape {fg.shape} does not match the photo {photo.shape}")
    return np.dstack([fg, alpha_image(alpha, 8)])


def preview(
    photo: np.ndarray,
    alpha: np.ndarray,
    mode: str = "overlay",
    foreground: np.ndarray | None = None,
    tint: tuple[int, int, int] = (255, 40, 40),
    opacity: float = 0.5,
    checker: int | None = None,
    scribbles: np.ndarray | None = None,
    strip_pixels: int = STRIP_PIXELS,
) -> np.ndarray:
    """(H, W, 3) uint8 image showing a selection.

    overlay: the photo with the unselected part tinted (like a quick mask); black / white /
    checkerboard: the selected pixels (foreground colours if given, else the photo) composited over
    black, white or a transparency checkerboard (squares of `checker` pixels); alpha: the matte in grey.
    scribbles (same size, SCRIBBLE_* codes) are drawn over the overlay in SCRIBBLE_COLOURS.
    """
    if mode not in PREVIEW_MODES:
        raise ValueError(f"unknown preview mode {mode!r}; choose one of {', '.join(PREVIEW_MODES)}")
    photo = _as_rgb8(photo)
    alpha = _check_alpha(alpha, photo.shape[:2])
    H, W = alpha.shape
    if mode == "alpha":
        return np.repeat(alpha_image(alpha, 8)[..., None], 3, axis=2)
    colours = photo if foreground is None or mode == "overlay" else _as_rgb8(foreground)
    if colours.shape != photo.shape:
        raise ValueError(f"foreground of shape {colours.shape} does not match the photo {photo.shape}")
    side = checker or max(8, min(H, W) // 48)
    out = np.empty((H, W, 3), np.uint8)
    rows = max(8, strip_pixels // max(W, 1))
    for y0 in range(0, H, rows):
        y1 = min(H, y0 + rows)
        a = alpha[y0:y1, :, None]
        c = colours[y0:y1].astype(np.float32)
        if mode == "overlay":
            keep = a + (1.0 - a) * (1.0 - opacity)
            mixed = c * keep + np.asarray(tint, np.float32) * ((1.0 - a) * opacity)
        else:
            back = _background(mode, y0, y1, W, side)
            mixed = c * a + back * (1.0 - a)
        out[y0:y1] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    if scribbles is not None and mode == "overlay":
        marks = check_scribbles(scribbles, (H, W))
        for code, colour in SCRIBBLE_COLOURS.items():
            hit = marks == code
            out[hit] = (out[hit] // 2 + np.asarray(colour, np.uint8) // 2).astype(np.uint8)
    return out


def _background(mode: str, y0: int, y1: int, width: int, side: int) -> np.ndarray:
    if mode == "black":
        return np.zeros((1, 1, 1), np.float32)
    if mode == "white":
        return np.full((1, 1, 1), 255.0, np.float32)
    ys = (np.arange(y0, y1) // side)[:, None]
    xs = (np.arange(width) // side)[None, :]
    board = np.where((ys + xs) % 2 == 0, 255.0, 204.0).astype(np.float32)  # white / light grey
    return board[..., None]


# --- helpers -----------------------------------------------------------------------------


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")


def _check_solver(solver: str) -> None:
    if solver not in SOLVERS:
        raise ValueError(f"unknown matting solver {solver!r}; choose one of {', '.join(SOLVERS)}")


def _is_constant(a: np.ndarray) -> bool:
    return a.size == 0 or bool(a.min() == a.max())


def _as_rgb8(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB photo, got an array of shape {a.shape}")
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating):
            a = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)  # floats are taken as [0, 1]
        else:
            raise ValueError(f"expected a uint8 photo, got {a.dtype}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"photo has no pixels (shape {a.shape})")
    return a


def _as_float_image(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an (h, w, 3) RGB image, got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float64) / 255.0
    return np.clip(a.astype(np.float64, copy=False), 0.0, 1.0)


def _check_alpha(alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    a = np.asarray(alpha, np.float32)
    if a.shape != tuple(shape):
        raise ValueError(f"alpha of shape {a.shape} does not match the photo size {tuple(shape)}")
    return a
