"""Where synthetic samples get their content: sharp photos, salient objects, blur-region layouts.

With no folders given, everything is procedural (dead-leaves images, random blobs), so tests and
new users need no downloads. Files are split into train / val by a stable hash of the file name,
so validation photos are never seen in training. Photos with real blur of their own (shallow depth
of field, soft focus) are left out, because every pixel the generator does not blur is labelled
sharp: by an edge-blur check, and by name through exclusion lists (`exclude`), for the blurred
backgrounds the edge check cannot see (smooth, so without edges to measure).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
VAL_FRACTION = 0.2
# Source photos must be sharp: everything we do not blur is labelled sharp. Photos whose edges are
# blurred over more than this fraction of their textured area (shallow depth of field, soft focus)
# are left out, so a real defocused background is never taught as "sharp".
MAX_BLURRED_FRACTION = 0.3
# The source entries of a config's [data] table: folders of photos, of objects and of layouts, and
# exclusion list files.
SOURCE_KEYS = ("photos", "objects", "layouts", "exclude")


def split_of(path: Path) -> str:
    """'val' for a stable 20% of file names, else 'train'."""
    h = int(hashlib.sha1(path.name.encode()).hexdigest()[:8], 16)
    return "val" if (h % 1000) < VAL_FRACTION * 1000 else "train"


def _list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"source folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _read_mask(path: Path) -> np.ndarray:
    m = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if m is None:
        raise ValueError(f"cannot read mask {path}")
    return m


def _edge_blur_sigma(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel Gaussian blur sigma of edges, from the ratio of gradients at two scales
    (Zhuo & Sim 2011): for an edge blurred by s, |grad| after smoothing by a scales as
    1 / sqrt(s^2 + a^2). Returns (sigma, edge mask)."""
    s1, s2 = 0.7, 2.5

    def grad(sigma: float) -> np.ndarray:
        b = cv2.GaussianBlur(grey, (0, 0), sigma)
        return np.hypot(cv2.Sobel(b, cv2.CV_32F, 1, 0), cv2.Sobel(b, cv2.CV_32F, 0, 1)) / 8

    g1, g2 = grad(s1), grad(s2)
    r2 = np.clip(g1 / np.maximum(g2, 1e-3), 1.01, None) ** 2
    sigma = np.sqrt(np.clip((s2 * s2 - r2 * s1 * s1) / (r2 - 1), 0, 100))
    edges = (g2 > 4.0) & (g2 >= 0.97 * cv2.dilate(g2, np.ones((3, 3), np.uint8)))  # ridge of strong edges
    return sigma, edges


def blurred_fraction(img: np.ndarray, cell: int = 32) -> float:
    """Fraction of the textured 32x32 cells of an RGB photo whose edges look blurred (median sigma > 1.6 px)."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    sigma, edges = _edge_blur_sigma(grey)
    h, w = grey.shape
    blurred = textured = 0
    for y in range(0, h - cell + 1, cell):
        for x in range(0, w - cell + 1, cell):
            e = edges[y : y + cell, x : x + cell]
            if e.sum() >= 12:
                textured += 1
                blurred += float(np.median(sigma[y : y + cell, x : x + cell][e])) > 1.6
    return blurred / textured if textured else 0.0


def dead_leaves(size: int, rng: np.random.Generator) -> np.ndarray:
    """A dead-leaves image: occluding discs with power-law radii, textured so blur is visible."""
    img = np.empty((size, size, 3), np.uint8)
    img[:] = rng.integers(0, 256, 3)
    rmin, rmax = 2.0, size / 3
    for _ in range(int(size * size / 60)):
        u = rng.random()
        r = (rmin ** -2 + u * (rmax ** -2 - rmin ** -2)) ** -0.5  # p(r) ~ r^-3
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.circle(img, (int(rng.integers(0, size)), int(rng.integers(0, size))), int(r), c, -1, cv2.LINE_AA)
    noise = rng.normal(0, 10, (size, size, 1)).astype(np.float32)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def random_blob(size: int, rng: np.random.Generator, coverage: float | None = None) -> np.ndarray:
    """A smooth random region (uint8 0/255) covering about `coverage` of the image."""
    coverage = rng.uniform(0.2, 0.7) if coverage is None else coverage
    noise = rng.normal(0, 1, (size // 8 + 1, size // 8 + 1)).astype(np.float32)
    field_ = cv2.resize(cv2.GaussianBlur(noise, (0, 0), 1.5), (size, size), interpolation=cv2.INTER_CUBIC)
    thr = np.quantile(field_, 1 - coverage)
    return np.where(field_ > thr, 255, 0).astype(np.uint8)


@dataclass
class Sources:
    """Loaded content for one split. Empty lists mean 'use procedural content'."""

    photos: list[np.ndarray] = field(default_factory=list)
    objects: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (RGB, mask 0/255)
    layouts: list[np.ndarray] = field(default_factory=list)  # 255 = blurred region
    left_out_blurry: list[str] = field(default_factory=list)  # file names failing the sharpness check
    left_out_listed: list[str] = field(default_factory=list)  # file names on an exclusion list

    def describe(self) -> dict:
        return {"photos": len(self.photos), "objects": len(self.objects), "layouts": len(self.layouts),
                "left_out_blurry": len(self.left_out_blurry), "left_out_listed": len(self.left_out_listed)}


def read_exclusion_list(path: str | Path) -> set[str]:
    """File names, one per line; '#' starts a comment."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise FileNotFoundError(f"cannot read exclusion list {path}: {e.strerror}") from None
    return {line.split("#", 1)[0].strip() for line in lines} - {""}


def load_sources(
    photo_dirs: list[str | Path] = (),
    object_dirs: list[str | Path] = (),
    layout_dirs: list[str | Path] = (),
    split: str = "train",
    exclude: list[str | Path] = (),
) -> Sources:
    """Load photos, salient objects (DIR/images + DIR/masks with the same stems) and layouts.

    Object photos are also used as backgrounds. `split` is 'train', 'val' or 'all'.
    Photos that fail the sharpness check (`blurred_fraction` > MAX_BLURRED_FRACTION) are left out,
    and so are photos whose file name is on one of the `exclude` lists (see `read_exclusion_list`).
    """
    keep = (lambda p: True) if split == "all" else (lambda p: split_of(p) == split)
    listed = set().union(*(read_exclusion_list(f) for f in exclude))
    if listed:  # a misspelt name would silently exclude nothing
        known = {p.name for d in photo_dirs for p in _list_images(Path(d))}
        known |= {p.name for d in object_dirs for p in _list_images(Path(d) / "images")}
        if unknown := sorted(listed - known):
            raise ValueError(f"exclusion list names photos that are not in the source folders: {', '.join(unknown[:5])}"
                             + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""))
    src = Sources()

    def sharp_photo(p: Path) -> np.ndarray | None:
        if p.name in listed:
            src.left_out_listed.append(p.name)
            return None
        img = _read_rgb(p)
        if blurred_fraction(img) > MAX_BLURRED_FRACTION:
            src.left_out_blurry.append(p.name)
            return None
        return img

    for d in photo_dirs:
        for p in _list_images(Path(d)):
            img = sharp_photo(p) if keep(p) else None
            if img is not None:
                src.photos.append(img)
    for d in object_dirs:
        d = Path(d)
        masks = {p.stem: p for p in _list_images(d / "masks")}
        for p in _list_images(d / "images"):
            img = sharp_photo(p) if keep(p) and p.stem in masks else None
            if img is not None:
                mask = _read_mask(masks[p.stem])
                if mask.shape != img.shape[:2]:
                    mask = cv2.resize(mask, img.shape[1::-1], interpolation=cv2.INTER_NEAREST)
                mask = np.where(mask > 127, 255, 0).astype(np.uint8)
                src.objects.append((img, mask))
                src.photos.append(img)
    for d in layout_dirs:
        src.layouts += [np.where(_read_mask(p) > 127, 255, 0).astype(np.uint8) for p in _list_images(Path(d)) if keep(p)]
    return src
