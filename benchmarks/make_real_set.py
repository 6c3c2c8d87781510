"""A small real-photo check set from the photos scikit-learn and scikit-image ship: three with real
shallow depth of field (the flower, chelsea the cat, the astronaut before a soft flag and model),
labelled subject = sharp (GrabCut from hand-placed boxes), rest = defocus, and scikit-image's clock,
taken while moving the camera sideways, labelled motion everywhere.
With --sharp it writes three photos that are sharp everywhere instead (scikit-learn's china,
scikit-image's rocket and coffee), labelled sharp, to measure false alarms: their pixel accuracy is
the fraction not called blurred.

    pip install scikit-image scikit-learn
    python benchmarks/make_real_set.py --out /tmp/real [--sharp]
    python -m trainer.evaluate --weights compact --data /tmp/real --layout kim

The labels are rough: GrabCut follows object outlines, and soft, out-of-focus parts of a subject
(the cat's fur at its edges) count as sharp. Read the figures as a sanity check, not a benchmark.
Writes OUT/image/*.jpg, OUT/gt/*.png (0 sharp, 100 motion, 200 defocus) and OUT/labels.png to look at.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

# photo name -> boxes (x0, y0, x1, y1) around the in-focus subject, in pixels of the photo
BOXES = {
    "flower": [(150, 60, 460, 350), (270, 360, 520, 427)],  # the dahlia and the one below it
    "chelsea": [(0, 0, 400, 300)],
    "astronaut": [(15, 0, 370, 512), (270, 330, 512, 512)],  # Eileen Collins and her helmet, before a soft flag and model
}
# Parts of a subject GrabCut would lose (dark, smooth, in focus), given as surely subject
SURE_SUBJECT = {"astronaut": [(305, 375, 490, 512), (135, 200, 295, 280), (175, 165, 255, 200)]}  # helmet, neck ring
CAMERA_MOTION = ["clock"]  # the whole frame moved during the exposure
SHARP = ["china", "rocket", "coffee"]  # in focus throughout (skies and water are smooth, not blurred)


def load(name: str) -> np.ndarray:
    """RGB uint8."""
    if name in ("flower", "china"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    import skimage.data

    img = np.asarray(getattr(skimage.data, name)())
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img  # the clock is greyscale


def subject_mask(rgb: np.ndarray, boxes: list[tuple[int, int, int, int]],
                 sure: list[tuple[int, int, int, int]] = ()) -> np.ndarray:
    """Boolean mask of the subject: GrabCut inside the union of boxes, `sure` boxes fixed as subject;
    deterministic."""
    cv2.setRNGSeed(0)
    mask = np.zeros(rgb.shape[:2], np.uint8)  # GC_BGD outside the boxes
    for x0, y0, x1, y1 in boxes:
        mask[y0:y1, x0:x1] = cv2.GC_PR_FGD
    for x0, y0, x1, y1 in sure:
        mask[y0:y1, x0:x1] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), mask, None, bgd, fgd, 8, cv2.GC_INIT_WITH_MASK)
    return np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="new or empty folder")
    ap.add_argument("--sharp", action="store_true", help="write the photos that are sharp everywhere instead")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SystemExit(f"{out} exists and is not an empty folder; give a new folder")
    names = SHARP if args.sharp else [*BOXES, *CAMERA_MOTION]
    try:  # all photos before any folder, so a missing package leaves nothing behind
        photos = {name: load(name) for name in names}
    except ImportError as e:
        raise SystemExit(f"cannot load the photos ({e}): pip install scikit-image scikit-learn") from None
    (out / "image").mkdir(parents=True, exist_ok=True)
    (out / "gt").mkdir(exist_ok=True)
    sheet = []
    for name, rgb in photos.items():
        if name in SHARP:
            sharp = np.ones(rgb.shape[:2], bool)
            gt = np.zeros(rgb.shape[:2], np.uint8)
        elif name in BOXES:
            sharp = subject_mask(rgb, BOXES[name], SURE_SUBJECT.get(name, ()))
            gt = np.where(sharp, 0, 200).astype(np.uint8)
        else:
            sharp = np.zeros(rgb.shape[:2], bool)
            gt = np.full(rgb.shape[:2], 100, np.uint8)
        cv2.imwrite(str(out / "image" / f"{name}.jpg"), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(str(out / "gt" / f"{name}.png"), gt)
        view = rgb.copy()
        tint = np.array([40, 90, 220] if name in BOXES else [230, 160, 0])  # defocus blue, motion orange
        view[~sharp] = (0.4 * view[~sharp] + 0.6 * tint).astype(np.uint8)
        sheet.append(cv2.resize(view, (round(view.shape[1] * 300 / view.shape[0]), 300)))
        print(f"{name}: {sharp.mean():.0%} sharp")
    cv2.imwrite(str(out / "labels.png"), np.hstack(sheet)[..., ::-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
