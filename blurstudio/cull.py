"""A per-photo blur verdict for culling: is this frame a keeper, and if not, why?

One sharpness number per photo (the variance-of-Laplacian scripts, most culling tools) calls a
portrait with a beautifully defocused background "blurry". The three-class blur map tells the cases
apart:

- `sharp`: most of the frame is sharp.
- `shallow focus`: a sharp region that is plausibly the subject (one sizeable connected region, not
  a strip along the frame's edge), the rest defocused: intended.
- `missed focus`: nothing (or only a sliver at the edge) is sharp, and the blur is defocus.
- `camera shake`: the blur is motion blur over most of the frame.
- `subject motion`: a mostly sharp scene with a motion-blurred region.

Two steps, so thresholds can change without re-running the network: `measure` turns the class
probabilities (at any resolution; the detector's working resolution is enough) into a few numbers
(`Measures`), and `decide` turns those into a `Verdict` under a `CullConfig`. The thresholds in
`CullConfig` were set by measurement on a labelled set of composites made from held-out photos
(`python benchmarks/bench_cull.py --tune`; the figures are in docs/culling.md).

NumPy in, NumPy out; no Qt.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np

from .blurmap import DEFOCUS, MOTION, SHARP, BlurMap

VERDICTS = ("sharp", "shallow focus", "subject motion", "missed focus", "camera shake")
KEEPERS = ("sharp", "shallow focus")  # intended results; subject motion may be (panning, sport)
MEASURE_SIDE = 256  # long side at which the map is measured: region shapes, not pixels, matter
BLUR_PIXELS = 160_000  # the blur amount is estimated at about this many pixels (magnify's estimator)
EDGE_BAND = 0.1  # the outer band of the frame, as a fraction of each side, for "where" figures


@dataclass(frozen=True)
class CullConfig:
    """Verdict thresholds. Fractions are of the frame's pixels (by the map's most likely class).

    The defaults were chosen by `benchmarks/bench_cull.py --tune` with the compact model: a grid
    search for the best balanced accuracy on the tuning half of a labelled composite set from
    held-out photos plus half of the real CUHK validation photos (a group of their own); the other
    halves report the accuracy (docs/culling.md). blur_full_scale only shapes scores (not measured).
    """

    sharp_min: float = 0.9  # sharp fraction at or above this: sharp (or subject motion)
    missed_sharp_max: float = 0.005  # largest sharp region at or below this: nothing is in focus
    motion_region_min: float = 0.01  # motion region at or above this: a moving subject in a sharp scene
    shake_share_min: float = 0.5  # motion share of the blurred pixels above this: the blur is motion
    edge_share_max: float = 0.6  # a sharp region with more than this in the frame's edge band is not a subject
    blur_full_scale: float = 4.0  # blur radius (working pixels) at which blurred frames score their lowest

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise ValueError(f"CullConfig.{f.name} must be a number, got {v!r}")
            if f.name != "blur_full_scale" and not 0.0 <= v <= 1.0:
                raise ValueError(f"CullConfig.{f.name} is a fraction (0 to 1), got {v!r}")
        if self.blur_full_scale <= 0:
            raise ValueError(f"CullConfig.blur_full_scale must be positive, got {self.blur_full_scale!r}")
        if self.missed_sharp_max >= self.sharp_min:
            raise ValueError(f"CullConfig.missed_sharp_max ({self.missed_sharp_max}) must be below "
                             f"sharp_min ({self.sharp_min})")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Measures:
    """What a verdict rests on; everything is resolution-independent except where named.

    sharp, motion, defocus: fractions of the frame by most likely class.
    subject: fraction of the frame in the largest connected sharp region.
    subject_box: that region's bounding box (x0, y0, x1, y1) as fractions of width and height.
    subject_centre: its centroid (x, y) as fractions; (0.5, 0.5) is the frame's centre.
    subject_edge_share: the share of that region lying in the frame's outer band (EDGE_BAND).
    motion_region: fraction of the frame in the largest connected motion region.
    blur_radius: median blur (radius of an equivalent lens disk) over the blurred pixels, in pixels
    at the working resolution measured; blur_px: the same in pixels of the full-size photo.
    """

    sharp: float
    motion: float
    defocus: float
    subject: float
    subject_box: tuple[float, float, float, float]
    subject_centre: tuple[float, float]
    subject_edge_share: float
    motion_region: float
    blur_radius: float
    blur_px: float

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: [round(x, 4) for x in v] if isinstance(v, tuple) else round(float(v), 4) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> Measures:
        return cls(**{f.name: tuple(d[f.name]) if isinstance(d[f.name], list) else float(d[f.name]) for f in fields(cls)})


@dataclass(frozen=True)
class Verdict:
    verdict: str  # one of VERDICTS
    score: int  # 0-100 keeper score: higher is more worth keeping
    reason: str  # one sentence a photographer can read
    measures: Measures

    @property
    def rating(self) -> int:
        """Stars 1-5 from the score (0-19 -> 1, ..., 80-100 -> 5)."""
        return max(1, min(5, 1 + self.score // 20))

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "score": self.score, "rating": self.rating, "reason": self.reason,
                **self.measures.to_dict()}


def _shrink(probs: np.ndarray, side: int) -> np.ndarray:
    h, w = probs.shape[1:]
    s = side / max(h, w)
    if s >= 1:
        return probs
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.stack([cv2.resize(np.ascontiguousarray(c), size, interpolation=cv2.INTER_AREA) for c in probs])


def _largest_region(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected region of a boolean mask, after a small opening that drops speckle."""
    m = mask.astype(np.uint8)
    if min(m.shape) >= 9:
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return lab == k


def _blur_radius(probs: np.ndarray, photo: np.ndarray | None) -> float:
    """Median blur radius over the blurred pixels (working pixels), by magnify's edge-based estimator."""
    if photo is None:
        return 0.0
    from .edit.magnify import (
        estimate_blur_radius,  # imported late: it is the heaviest import here
    )

    blurred = probs[SHARP] < 0.5
    if blurred.mean() < 0.01 or min(photo.shape[:2]) < 8:
        return 0.0
    bm = BlurMap(probs)
    radius = estimate_blur_radius(photo, bm, include_motion=True, max_pixels=BLUR_PIXELS)
    values = radius[blurred]
    values = values[values > 0]
    return float(np.median(values)) if values.size else 0.0


def measure(probs: np.ndarray, photo: np.ndarray | None = None, full_long_side: int | None = None) -> Measures:
    """Measure a blur map. probs: (3, h, w) probabilities (sharp, motion, defocus); photo: the (h, w, 3)
    uint8 photo at the same size, for the blur amount (0 without it); full_long_side: the long side of
    the full-size photo, to state the blur in its pixels."""
    probs = np.asarray(probs, np.float32)
    if probs.ndim != 3 or probs.shape[0] != 3 or min(probs.shape[1:]) < 1:
        raise ValueError(f"expected (3, H, W) probabilities, got shape {probs.shape}")
    if photo is not None and np.asarray(photo).shape[:2] != probs.shape[1:]:
        raise ValueError(f"photo of size {np.asarray(photo).shape[:2]} does not match the map {probs.shape[1:]}")
    small = _shrink(probs, MEASURE_SIDE)
    labels = BlurMap(small).labels
    h, w = labels.shape
    frac = np.bincount(labels.ravel(), minlength=3) / labels.size
    region = _largest_region(labels == SHARP)
    area = int(region.sum())
    if area:
        ys, xs = np.nonzero(region)
        box = (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h)
        centre = ((xs.mean() + 0.5) / w, (ys.mean() + 0.5) / h)
        by, bx = max(1, round(h * EDGE_BAND)), max(1, round(w * EDGE_BAND))
        inner = np.zeros_like(region)
        inner[by : h - by, bx : w - bx] = True
        edge_share = float((region & ~inner).sum()) / area
    else:
        box, centre, edge_share = (0.0, 0.0, 0.0, 0.0), (0.5, 0.5), 0.0
    motion_region = float(_largest_region(labels == MOTION).sum()) / labels.size
    radius = _blur_radius(probs, photo)
    scale = (full_long_side / max(probs.shape[1:])) if full_long_side else 1.0
    return Measures(
        sharp=float(frac[SHARP]), motion=float(frac[MOTION]), defocus=float(frac[DEFOCUS]),
        subject=area / labels.size, subject_box=tuple(float(v) for v in box),
        subject_centre=tuple(float(v) for v in centre), subject_edge_share=edge_share,
        motion_region=motion_region, blur_radius=radius, blur_px=radius * scale,
    )


def decide(m: Measures, config: CullConfig = CullConfig()) -> Verdict:
    """The verdict and keeper score for measured numbers (see the module docstring for the verdicts).

    Order: a mostly sharp frame is sharp, or subject motion when a motion region is big enough;
    otherwise the blur's type decides between camera shake (motion) and focus (defocus), and a
    sizeable sharp region away from the frame's edge makes defocus intended (shallow focus).
    Scores: sharp 70-100 (by sharp fraction), shallow focus 60-95 (by the subject's size),
    subject motion 35-65 (by sharp fraction), missed focus and camera shake 0-30 (less the more blur).
    """
    c = config
    blurred = m.motion + m.defocus
    motion_share = m.motion / blurred if blurred > 0 else 0.0
    blur = min(1.0, m.blur_radius / c.blur_full_scale)

    def ramp(x: float, lo: float, hi: float) -> float:
        return min(1.0, max(0.0, (x - lo) / (hi - lo))) if hi > lo else 1.0

    if m.sharp >= c.sharp_min:
        if m.motion_region >= c.motion_region_min:
            score = 35 + 30 * m.sharp
            return Verdict("subject motion", round(score), f"sharp scene ({m.sharp:.0%}) with a motion-blurred "
                           f"region ({m.motion_region:.0%} of the frame)", m)
        score = 70 + 30 * ramp(m.sharp, c.sharp_min, 1.0)
        return Verdict("sharp", round(score), f"{m.sharp:.0%} of the frame is sharp", m)
    subject_ok = m.subject > c.missed_sharp_max and m.subject_edge_share <= c.edge_share_max
    if motion_share > c.shake_share_min:
        if subject_ok and m.motion_region >= c.motion_region_min and m.sharp >= 0.5 * c.sharp_min:
            score = 35 + 30 * m.sharp
            return Verdict("subject motion", round(score), f"sharp subject or scene ({m.sharp:.0%}) with "
                           f"motion blur over {m.motion:.0%}", m)
        score = 30 * (1 - blur) * (1 - ramp(m.motion, 0.0, 1.0) * 0.5)
        return Verdict("camera shake", round(score), f"motion blur over {m.motion:.0%} of the frame "
                       f"(about {m.blur_px:.0f} px)", m)
    if subject_ok:
        score = 60 + 35 * ramp(m.subject, c.missed_sharp_max, 0.35)
        return Verdict("shallow focus", round(score), f"sharp region of {m.subject:.0%} at "
                       f"({m.subject_centre[0]:.2f}, {m.subject_centre[1]:.2f}), the rest defocused", m)
    where = "nothing is sharp" if m.subject <= c.missed_sharp_max else "only the frame's edge is sharp"
    score = 30 * (1 - blur) * (1 - ramp(m.defocus, 0.0, 1.0) * 0.5)
    return Verdict("missed focus", round(score), f"{where}; defocus over {m.defocus:.0%} "
                   f"(about {m.blur_px:.0f} px)", m)


def judge(probs: np.ndarray, photo: np.ndarray | None = None, config: CullConfig = CullConfig(),
          full_long_side: int | None = None) -> Verdict:
    """measure + decide in one call: the per-photo unit of culling."""
    return decide(measure(probs, photo, full_long_side), config)


def sharp_outline(probs: np.ndarray, size: tuple[int, int]) -> list[np.ndarray]:
    """Contours (cv2 point arrays in pixels of `size` = (h, w)) around the sharp regions, to draw on
    thumbnails: where the photo is in focus, at a glance."""
    h, w = size
    labels = BlurMap(_shrink(probs, max(h, w))).labels
    mask = cv2.resize((labels == SHARP).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c for c in contours if cv2.contourArea(c) >= 0.002 * h * w]
