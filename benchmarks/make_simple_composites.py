"""A second, deliberately different blur-composite generator, for checking generalisation.

The trainer's generator (trainer/synth) blurs in linear light with disk, polygon and Gaussian PSFs,
curved shake paths and premultiplied layers. A detector can fit one generator's habits, so this one
does things the plain way many published sets were made: sRGB-space blur, OpenCV box / Gaussian /
line kernels, a moving object blended by its blurred mask over the untouched photo (no inpainting),
half-plane "tilt-shift" regions, and every blurred pixel labelled blurred however small the blur.
It uses only the held-out (validation) photos of ../shared/data at their native size.

    python benchmarks/make_simple_composites.py --out /tmp/simple --count 60
    python benchmarks/bench_vs_hifst.py --data /tmp/simple --layout kim --count 60
    python -m trainer.evaluate --weights resources/weights/compact.pt --data /tmp/simple --layout kim

Writes OUT/image/*.jpg and OUT/gt/*.png (0 sharp, 100 motion, 200 defocus).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from trainer.synth.sources import load_sources


def line_kernel(length: float, angle: float) -> np.ndarray:
    n = int(np.ceil(length)) | 1
    k = np.zeros((n, n), np.float32)
    c, d = n // 2, (length - 1) / 2
    dx, dy = d * np.cos(np.radians(angle)), d * np.sin(np.radians(angle))
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return k / k.sum()


def defocus(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.5:
        return cv2.GaussianBlur(img, (0, 0), rng.uniform(1.5, 5.0))
    n = 2 * int(rng.integers(2, 7)) + 1
    return cv2.blur(img, (n, n))


def half_plane(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[:h, :w].astype(np.float32)
    t = (x - w / 2) * np.cos(a) + (y - h / 2) * np.sin(a)
    return (t > np.quantile(t, rng.uniform(0.3, 0.7))).astype(np.float32)


def composite(photo: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    img = photo.astype(np.float32)
    h, w = mask.shape if mask is not None else photo.shape[:2]
    labels = np.zeros((h, w), np.uint8)
    kind = rng.choice(["bokeh", "moving", "tilt", "shake", "sharp"], p=[0.3, 0.3, 0.25, 0.1, 0.05])
    if mask is None and kind in ("bokeh", "moving"):
        kind = "tilt"
    if kind == "bokeh":  # the subject in focus, the background defocused
        m = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 0.8)[..., None]
        img = m * img + (1 - m) * defocus(img, rng)
        labels[m[..., 0] < 0.5] = 200
    elif kind == "moving":  # the subject moved during the exposure
        k = line_kernel(rng.uniform(9, 31), rng.uniform(0, 180))
        mb = cv2.filter2D(mask.astype(np.float32) / 255, -1, k)[..., None]
        img = mb * cv2.filter2D(img, -1, k) + (1 - mb) * img
        labels[mb[..., 0] >= 0.5] = 100
    elif kind == "tilt":  # a plane of focus: one side of the frame defocused
        region = half_plane(h, w, rng)
        m = cv2.GaussianBlur(region, (0, 0), 2.0)[..., None]
        img = m * defocus(img, rng) + (1 - m) * img
        labels[region > 0.5] = 200
    elif kind == "shake":
        img = cv2.filter2D(img, -1, line_kernel(rng.uniform(8, 25), rng.uniform(0, 180)))
        labels[:] = 100
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), labels


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    data = ROOT.parent / "shared" / "data"
    src = load_sources([data / "bsds500_test"], [data / "bsds_sod_train"], [], split="val")
    with_masks = {id(img): mask for img, mask in src.objects}
    rng = np.random.default_rng(args.seed)
    (args.out / "image").mkdir(parents=True, exist_ok=True)
    (args.out / "gt").mkdir(parents=True, exist_ok=True)
    order = rng.permutation(len(src.photos))
    for i in range(args.count):
        photo = src.photos[order[i % len(order)]]
        img, labels = composite(photo, with_masks.get(id(photo)), rng)
        cv2.imwrite(str(args.out / "image" / f"{i:03d}.jpg"), img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(args.out / "gt" / f"{i:03d}.png"), labels)
    print(f"wrote {args.count} composites from {len(src.photos)} held-out photos to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
