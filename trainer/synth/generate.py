"""One synthetic training sample: a photo with known sharp / motion / defocus regions.

The paper's recipe (salient objects pasted with motion blur over photos with defocused regions),
made more physical:
- blur is applied in linear light (sRGB decoded), then re-encoded;
- moving and out-of-focus objects are blurred as a premultiplied layer (colour * alpha and alpha
  together), so their edges become translucent streaks or halos as a camera records them;
- the background behind a pasted-in-place object is inpainted before it is defocused, so the
  object's colours do not leak into the background blur;
- defocus can vary with a smooth depth ramp; camera shake uses curved random trajectories;
- sensor noise, JPEG and exposure / white-balance jitter are applied after blurring, as in a camera.

Label rule (documented contract): a pixel is labelled with the blur of the layer that dominates it
(alpha >= 0.5 for a blurred object's blurred alpha), and only when that blur is visible at the
training scale: kernel extent (twice the RMS radius) >= MIN_VISIBLE_EXTENT pixels; otherwise sharp.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from .kernels import disk_kernel, gaussian_kernel, kernel_extent, linear_motion_kernel, polygon_kernel, shake_kernel
from .sources import Sources, dead_leaves, random_blob

SHARP, MOTION, DEFOCUS = 0, 1, 2
MIN_VISIBLE_EXTENT = 2.0  # pixels; a disk of radius ~1.4, a motion streak of ~3.5 px


@dataclass(frozen=True)
class SynthConfig:
    size: int = 224
    defocus_radius: tuple[float, float] = (1.8, 9.0)
    motion_length: tuple[float, float] = (5.0, 28.0)
    # Scenario probabilities: all sharp, all blurred, blurred layout region, object composite.
    p_sharp: float = 0.08
    p_full: float = 0.12
    p_layout: float = 0.30
    # In object composites over a sharp background: the chance the object is out of focus (else moving).
    p_object_defocus: float = 0.4
    # In object composites over a defocused background: the chance the object moves (else it is
    # sharp). A moving subject before an out-of-focus background mixes both blur types in one photo.
    p_object_motion: float = 0.4
    noise_sigma: tuple[float, float] = (0.0, 4.0)
    p_jpeg: float = 0.5
    jpeg_quality: tuple[int, int] = (60, 95)

    def __post_init__(self) -> None:
        # Checked here, so a bad config fails with its setting named before a worker draws a sample.
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name.startswith("p_") and not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise ValueError(f"[synth] {f.name} is a probability (0 to 1), got {v!r}")
        if self.p_sharp + self.p_full + self.p_layout > 1:
            raise ValueError(f"[synth] p_sharp + p_full + p_layout must be at most 1 (the rest are object "
                             f"composites), got {self.p_sharp + self.p_full + self.p_layout:g}")


def synth_config(overrides: dict, size: int) -> SynthConfig:
    """The generator's settings: its defaults, changed by a training config's [synth] table."""
    known = {f.name for f in dataclasses.fields(SynthConfig)} - {"size"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown [synth] setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return SynthConfig(size=size, **{k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()})


# A 2.2 power, not exact sRGB (blurstudio.ops.colour): every bundled model was trained on it, and
# trainer.recipe reproduces them bit for bit, so the generator keeps its own curve.
_TO_LIN = ((np.arange(256) / 255.0) ** 2.2).astype(np.float32)


def to_linear(img: np.ndarray) -> np.ndarray:
    return _TO_LIN[img]


def to_srgb(lin: np.ndarray) -> np.ndarray:
    return np.clip(np.power(np.clip(lin, 0, 1), 1 / 2.2) * 255 + 0.5, 0, 255).astype(np.uint8)


def convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    # filter2D correlates; flip so asymmetric kernels act as true PSFs.
    return cv2.filter2D(img, -1, kernel[::-1, ::-1].copy(), borderType=cv2.BORDER_REFLECT)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _defocus_kernel(rng: np.random.Generator, radius: float) -> np.ndarray:
    # Hard disks and polygons (bokeh of a clean lens) and Gaussians (soft, aberrated PSFs), so the
    # network does not learn one generator's kernel shape.
    u = rng.random()
    if u < 0.2:
        return polygon_kernel(radius, int(rng.integers(5, 9)), rng.uniform(0, np.pi))
    if u < 0.45:
        return gaussian_kernel(radius / 2)
    return disk_kernel(radius)


def _motion_kernel(rng: np.random.Generator, cfg: SynthConfig, shake: bool) -> np.ndarray:
    length = _log_uniform(rng, *cfg.motion_length)
    if shake:
        return shake_kernel(length, rng)
    return linear_motion_kernel(length, rng.uniform(0, 180))


def _defocus(lin: np.ndarray, rng: np.random.Generator, cfg: SynthConfig) -> tuple[np.ndarray, np.ndarray]:
    """Defocus the whole image; returns (blurred, visible mask). Sometimes blur grows along a depth ramp."""
    r = _log_uniform(rng, *cfg.defocus_radius)
    if rng.random() < 0.7:
        k = _defocus_kernel(rng, r)
        return convolve(lin, k), np.full(lin.shape[:2], kernel_extent(k) >= MIN_VISIBLE_EXTENT)
    # Depth ramp: radius varies linearly from r0 to r along a random direction.
    h, w = lin.shape[:2]
    a = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[:h, :w].astype(np.float32)
    t = (x - w / 2) * np.cos(a) + (y - h / 2) * np.sin(a)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    r0 = rng.uniform(0.0, r * 0.5)
    rmap = r0 + (r - r0) * t
    levels = np.linspace(r0, r, 5)
    stack = [lin if lv < 0.5 else convolve(lin, disk_kernel(lv)) for lv in levels]
    pos = np.clip((rmap - r0) / max(r - r0, 1e-6) * 4, 0, 4 - 1e-6)
    i = pos.astype(int)
    f = (pos - i)[..., None]
    out = np.zeros_like(lin)
    for j in range(4):
        sel = (i == j)[..., None]
        out += np.where(sel, stack[j] * (1 - f) + stack[j + 1] * f, 0)
    visible = rmap * np.sqrt(2) >= MIN_VISIBLE_EXTENT  # extent of a disk = sqrt(2) * radius
    return out, visible


def _crop(img: np.ndarray, size: int, rng: np.random.Generator, scale: float, mask: np.ndarray | None = None):
    """Random scale (downscaling only: upscaling would add blur) and crop to size x size."""
    h, w = img.shape[:2]
    scale = max(scale, size / min(h, w))
    if abs(scale - 1) > 1e-3:
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        if mask is not None:
            mask = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_NEAREST)
    h, w = img.shape[:2]
    y0, x0 = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    flip = rng.random() < 0.5
    img = img[y0 : y0 + size, x0 : x0 + size]
    img = img[:, ::-1] if flip else img
    if mask is not None:
        mask = mask[y0 : y0 + size, x0 : x0 + size]
        mask = mask[:, ::-1] if flip else mask
    return np.ascontiguousarray(img), (None if mask is None else np.ascontiguousarray(mask))


def _background(src: Sources, rng: np.random.Generator, size: int) -> np.ndarray:
    if not src.photos:
        return dead_leaves(size, rng)
    photo = src.photos[int(rng.integers(len(src.photos)))]
    return _crop(photo, size, rng, rng.uniform(0.7, 1.0))[0]


def _layout(src: Sources, rng: np.random.Generator, size: int) -> np.ndarray:
    """A blurred-region layout (float 0/1), from real CUHK shapes when available."""
    if src.layouts and rng.random() < 0.7:
        m = src.layouts[int(rng.integers(len(src.layouts)))]
        m = _crop(m, size, rng, rng.uniform(0.6, 1.0))[0]
    else:
        m = random_blob(size, rng)
    return (m > 127).astype(np.float32)


def _object_layer(src: Sources, rng: np.random.Generator, size: int, background: np.ndarray):
    """Returns (background uint8, object RGB uint8, alpha float32) for a composite.

    Either the background photo's own salient object (kept in place, background inpainted behind
    it) or an object cut from another photo and pasted at a random place and size."""
    if src.objects and rng.random() < 0.5:
        img, mask = src.objects[int(rng.integers(len(src.objects)))]
        crop, m = _crop(img, size, rng, rng.uniform(0.7, 1.0), mask)
        frac = float((m > 0).mean())
        if 0.05 < frac < 0.85:
            hole = cv2.dilate(m, np.ones((7, 7), np.uint8))
            bg = cv2.inpaint(crop, hole, 5, cv2.INPAINT_TELEA)
            return bg, crop, (m > 0).astype(np.float32)
    if src.objects:
        img, mask = src.objects[int(rng.integers(len(src.objects)))]
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            return background, background, np.zeros((size, size), np.float32)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        obj, om = img[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    else:
        obj = dead_leaves(size, rng)
        om = random_blob(size, rng, coverage=rng.uniform(0.3, 0.6))
    target = rng.uniform(0.35, 0.9) * size
    s = min(target / max(obj.shape[:2]), 1.0)
    if s < 1:
        nw, nh = max(1, round(obj.shape[1] * s)), max(1, round(obj.shape[0] * s))
        obj = cv2.resize(obj, (nw, nh), interpolation=cv2.INTER_AREA)
        om = cv2.resize(om, (nw, nh), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        obj, om = obj[:, ::-1], om[:, ::-1]
    oh, ow = om.shape
    cy, cx = rng.uniform(0.2, 0.8) * size, rng.uniform(0.2, 0.8) * size
    ty, tx = int(cy - oh / 2), int(cx - ow / 2)
    fg = background.copy()
    alpha = np.zeros((size, size), np.float32)
    sy0, sx0 = max(0, -ty), max(0, -tx)
    dy0, dx0 = max(0, ty), max(0, tx)
    hh, ww = min(oh - sy0, size - dy0), min(ow - sx0, size - dx0)
    if hh > 0 and ww > 0:
        fg[dy0 : dy0 + hh, dx0 : dx0 + ww] = obj[sy0 : sy0 + hh, sx0 : sx0 + ww]
        alpha[dy0 : dy0 + hh, dx0 : dx0 + ww] = om[sy0 : sy0 + hh, sx0 : sx0 + ww] / 255.0
    return background, fg, alpha


def camera(lin: np.ndarray, rng: np.random.Generator, cfg: SynthConfig) -> np.ndarray:
    """Exposure / white balance jitter, sensor noise and JPEG, applied after the optics."""
    gain = rng.uniform(0.8, 1.25) * rng.uniform(0.93, 1.07, 3).astype(np.float32)
    img = to_srgb(lin * gain)
    sigma = rng.uniform(*cfg.noise_sigma)
    if sigma > 0.2:
        img = np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)
    if rng.random() < cfg.p_jpeg:
        q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(img)


def make_sample(src: Sources, rng: np.random.Generator, cfg: SynthConfig = SynthConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Returns (RGB uint8 (S, S, 3), labels uint8 (S, S) with 0 sharp / 1 motion / 2 defocus)."""
    size = cfg.size
    bg = _background(src, rng, size)
    labels = np.zeros((size, size), np.uint8)
    u = rng.random()
    if u < cfg.p_sharp:
        lin = to_linear(bg)
    elif u < cfg.p_sharp + cfg.p_full:
        lin = to_linear(bg)
        if rng.random() < 0.5:
            lin, vis = _defocus(lin, rng, cfg)
            labels[vis] = DEFOCUS
        else:
            k = _motion_kernel(rng, cfg, shake=rng.random() < 0.6)
            lin = convolve(lin, k)
            labels[:] = MOTION if kernel_extent(k) >= MIN_VISIBLE_EXTENT else SHARP
    elif u < cfg.p_sharp + cfg.p_full + cfg.p_layout:
        lin = to_linear(bg)
        region = _layout(src, rng, size)
        if rng.random() < 0.65:
            blurred, vis = _defocus(lin, rng, cfg)
            cls = DEFOCUS
        else:
            k = _motion_kernel(rng, cfg, shake=rng.random() < 0.5)
            blurred, vis, cls = convolve(lin, k), np.full((size, size), kernel_extent(k) >= MIN_VISIBLE_EXTENT), MOTION
        soft = cv2.GaussianBlur(region, (0, 0), 0.7)[..., None]  # occlusion edges are not pixel-hard
        lin = soft[..., 0:1] * blurred + (1 - soft) * lin
        labels[(region > 0.5) & vis] = cls
    else:
        bg_u8, fg_u8, alpha = _object_layer(src, rng, size, bg)
        bg_lin, fg_lin = to_linear(bg_u8), to_linear(fg_u8)
        bg_mode = rng.choice(["sharp", "defocus", "motion"], p=[0.3, 0.5, 0.2])
        if bg_mode == "sharp":
            # Focus on the background puts a near subject out of focus; without this mode every
            # blurred object in training would be a moving one. (No draw when the mode is off, so
            # p_object_defocus = 0 replays the earlier stream exactly.)
            obj_mode = "defocus" if cfg.p_object_defocus > 0 and rng.random() < cfg.p_object_defocus else "motion"
        elif bg_mode == "defocus":
            obj_mode = rng.choice(["sharp", "motion"], p=[1 - cfg.p_object_motion, cfg.p_object_motion])
        else:
            obj_mode = rng.choice(["sharp", "motion"], p=[0.6, 0.4])
        bg_labels = np.zeros((size, size), np.uint8)
        if bg_mode == "defocus":
            bg_lin, vis = _defocus(bg_lin, rng, cfg)
            bg_labels[vis] = DEFOCUS
        elif bg_mode == "motion":  # a panning shot: the camera follows the subject
            k = _motion_kernel(rng, cfg, shake=rng.random() < 0.3)
            bg_lin = convolve(bg_lin, k)
            bg_labels[:] = MOTION if kernel_extent(k) >= MIN_VISIBLE_EXTENT else SHARP
        a = cv2.GaussianBlur(alpha, (0, 0), 0.5)
        obj_label = SHARP
        if obj_mode == "motion":
            k = _motion_kernel(rng, cfg, shake=False)
            premult = convolve(fg_lin * a[..., None], k)
            a = convolve(a, k)
            obj_label = MOTION if kernel_extent(k) >= MIN_VISIBLE_EXTENT else SHARP
        elif obj_mode == "defocus":
            # Colour and alpha are blurred together (an out-of-focus occluder spreads over what is
            # behind it); a depth ramp can leave part of the object in focus.
            rgba, vis = _defocus(np.dstack([fg_lin * a[..., None], a]), rng, cfg)
            premult, a = rgba[..., :3], np.clip(rgba[..., 3], 0, 1)
            obj_label = np.where(vis, DEFOCUS, SHARP)
        else:
            premult = fg_lin * a[..., None]
        lin = premult + (1 - a[..., None]) * bg_lin
        labels = np.where(a >= 0.5, obj_label, bg_labels).astype(np.uint8)
    return camera(lin, rng, cfg), labels


# Seed of the fixed validation set (the trainer's, and `python -m trainer.synth`'s default).
VAL_SEED = 1_000_003


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The generator for sample `index` of the stream `seed`: samples are independent of order."""
    return np.random.default_rng([seed, index])
