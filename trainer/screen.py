"""List source photos that a detector finds blurred, as candidates for an exclusion list.

    python -m trainer.screen DIR ... [--weights compact] [--threshold 0.2] [--out FILE]

The generator labels every pixel it does not blur "sharp", so a source photo with a real blurred
background teaches the network that blur is sharp. The edge-blur check in trainer/synth/sources.py
misses smooth out-of-focus backgrounds, which have no edges to measure; a trained detector sees
them. Prints one line per photo whose detected blurred fraction exceeds the threshold, most blurred
first, in the exclusion-list format (name, then the fraction as a comment). Look at the photos
before committing a list: the detector is a screen, not a judge.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from blurstudio.detect import Detector
from blurstudio.images import ImageError, read_image
from blurstudio.model import WeightsError

from .synth.sources import IMAGE_SUFFIXES


def detected_blur_fraction(detector: Detector, image: np.ndarray) -> float:
    """Fraction of the photo's pixels whose most likely class is motion or defocus."""
    return float((detector(image).probs.argmax(0) != 0).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", type=Path, help="folders of source photos")
    ap.add_argument("--weights", default="compact")
    ap.add_argument("--threshold", type=float, default=0.2, help="list photos detected blurred over more than this fraction")
    ap.add_argument("--out", type=Path, help="write the list here (a new file) instead of printing it")
    args = ap.parse_args(argv)
    if not 0.0 <= args.threshold < 1.0:
        ap.error("--threshold must be in [0, 1)")
    if args.out and args.out.exists():
        ap.error(f"{args.out} exists; give a new file (nothing is overwritten)")
    if args.out and not args.out.parent.is_dir():  # checked now, not after screening every photo
        ap.error(f"{args.out.parent} is not a folder")
    photos = []
    for d in args.folders:
        if not d.is_dir():
            ap.error(f"{d} is not a folder")
        photos += sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        ap.error("no photos in the given folders")

    try:
        detector = Detector(args.weights)
    except WeightsError as e:
        ap.error(str(e))
    found = []
    for i, p in enumerate(photos):
        try:
            frac = detected_blur_fraction(detector, read_image(p))
        except ImageError as e:
            print(f"skipped: {e}", file=sys.stderr)
            continue
        if frac > args.threshold:
            found.append((frac, p.name))
        print(f"\r{i + 1}/{len(photos)} screened", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    lines = [f"# detected blurred over more than {args.threshold:g} of the photo by {detector.model_name}"]
    lines += [f"{name}  # {frac:.2f}" for frac, name in sorted(found, reverse=True)]
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
        print(f"{len(found)} of {len(photos)} photos listed in {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
