"""Where do two weights disagree on photos nobody labelled?

Runs both through the detector (each card's settings) on every photo in the given folders and
prints, per weights, the mean fraction of each photo called sharp / motion / defocus, and the
fraction of pixels whose class differs between the two, listing the photos where more than
--show of the pixels differ. With --split, only the trainer's training (or validation) photos.

It tells whether a trial network's behaviour on real photos could be anchored by teaching it the
bundled weights' predictions on unlabelled real photos: if the two already agree there, such
teaching has nothing to pull on.

    python benchmarks/agreement.py --weights resources/weights/compact.pt runs/X/X.pt \
        --photos ../shared/data/bsds500_test ../shared/data/bsds_sod_train/images --split train --every 4
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from blurstudio.detect import Detector
from blurstudio.images import ImageError, is_image_path, read_image
from blurstudio.model import WeightsError
from trainer.synth.sources import split_of


def classes(detector: Detector, img: np.ndarray) -> np.ndarray:
    """The class map (H, W) of the detector's probabilities."""
    return detector(img).probs.argmax(0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", nargs=2, required=True, metavar=("A", "B"))
    ap.add_argument("--photos", nargs="+", required=True, help="folders of photos")
    ap.add_argument("--split", choices=["train", "val", "all"], default="all", help="the trainer's split of the photos")
    ap.add_argument("--every", type=int, default=1, help="use every N-th photo")
    ap.add_argument("--show", type=float, default=0.15, help="list photos where more than this fraction differs")
    args = ap.parse_args(argv)
    if args.every < 1:
        ap.error("--every must be 1 or more")
    paths = []
    for folder in map(Path, args.photos):
        if not folder.is_dir():
            ap.error(f"--photos: {folder} is not a folder")
        paths += sorted(p for p in folder.iterdir() if is_image_path(p))
    paths = [p for p in paths if args.split == "all" or split_of(p) == args.split][:: args.every]
    if not paths:
        ap.error("no photos in those folders (for that split)")
    try:
        a, b = (Detector(w) for w in args.weights)
    except WeightsError as e:
        raise SystemExit(f"--weights: {e}") from None
    fractions, differ = np.zeros((2, 3)), []
    for p in paths:
        try:
            img = read_image(p)
        except ImageError as e:
            print(f"skipped {p.name}: {e}")
            continue
        ca, cb = classes(a, img), classes(b, img)
        fa, fb = np.bincount(ca.ravel(), minlength=3) / ca.size, np.bincount(cb.ravel(), minlength=3) / cb.size
        fractions += [fa, fb]
        differ.append(float((ca != cb).mean()))
        if differ[-1] > args.show:
            print(f"{p.name:16s} A {fa[0]:.2f}/{fa[1]:.2f}/{fa[2]:.2f}  B {fb[0]:.2f}/{fb[1]:.2f}/{fb[2]:.2f}  differ {differ[-1]:.2f}")
    n = len(differ)
    if not n:
        raise SystemExit("none of the photos could be read")
    for name, f in zip(args.weights, fractions / n):
        print(f"{name}: sharp / motion / defocus {f[0]:.3f} / {f[1]:.3f} / {f[2]:.3f} (mean over {n} photos)")
    print(f"pixels whose class differs: {np.mean(differ):.3f} on average, {np.max(differ):.3f} at most")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
