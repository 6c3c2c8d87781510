"""Write a photo's blur masks: labels, blur confidence, overlay (and raw probabilities)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np

from .blurmap import BlurMap
from .images import atomic_write, check_writable, write_image

OVERLAY_STRIP_PIXELS = 4_000_000  # overlay is computed in strips to bound memory on 50 MP photos


def output_paths(outdir: str | os.PathLike, stem: str, probs: bool = False) -> dict[str, Path]:
    """The files export_masks writes for a photo with this stem."""
    outdir = Path(outdir)
    paths = {
        "labels": outdir / f"{stem}_labels.png",
        "blur": outdir / f"{stem}_blur.png",
        "overlay": outdir / f"{stem}_overlay.jpg",
    }
    if probs:
        paths["probs"] = outdir / f"{stem}_probs.npy"
    return paths


def export_masks(
    photo: np.ndarray,
    blurmap: BlurMap,
    outdir: str | os.PathLike,
    stem: str,
    probs: bool = False,
    protect: Iterable[str | os.PathLike] = (),
) -> dict[str, Path]:
    """Write S_labels.png (0/100/200), S_blur.png (255 = blurred), S_overlay.jpg and, with
    probs=True, S_probs.npy (float16, (3, H, W)) into outdir. Never writes over a `protect` path.
    Returns {"labels", "blur", "overlay"[, "probs"]: path}."""
    photo = np.asarray(photo)
    if photo.shape[:2] != blurmap.shape:
        raise ValueError(f"photo of size {photo.shape[:2]} does not match a blur map of size {blurmap.shape}")
    protect = list(protect)
    paths = output_paths(outdir, stem, probs)
    for kind, p in paths.items():  # check all first: a photo's masks are written all or none
        check_writable(p, None if kind == "probs" else blurmap.shape, protect)
    write_image(paths["labels"], blurmap.label_image(), protect=protect)
    write_image(paths["blur"], blurmap.blur_image(), protect=protect)
    write_image(paths["overlay"], overlay_image(photo, blurmap), quality=90, protect=protect)
    if probs:
        _save_npy(paths["probs"], blurmap.probs.astype(np.float16))
    return paths


def overlay_image(photo: np.ndarray, blurmap: BlurMap) -> np.ndarray:
    """BlurMap.overlay with its defaults, computed in horizontal strips (bounded memory)."""
    h, w = blurmap.shape
    out = np.empty((h, w, 3), np.uint8)
    rows = max(1, OVERLAY_STRIP_PIXELS // max(w, 1))
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        out[r0:r1] = BlurMap(blurmap.probs[:, r0:r1]).overlay(photo[r0:r1, :, :3])
    return out


def _save_npy(path: Path, array: np.ndarray) -> None:
    atomic_write(path, lambda f: np.save(f, array))
