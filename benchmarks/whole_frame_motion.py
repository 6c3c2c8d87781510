"""Which class do weights call a photo blurred all over by camera motion, in greyscale?

A check on one failure seen on real photos (scikit-image's clock, taken while moving the camera,
called defocus by some trials): blur sharp photos with the trainer's motion kernels, drop the
colour as the clock has none, and print the fractions called motion and defocus per kernel.

    python benchmarks/make_real_set.py --out /tmp/sharp --sharp
    python benchmarks/whole_frame_motion.py --data /tmp/sharp --weights resources/weights/compact.pt [more.pt ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from blurstudio.detect import Detector
from blurstudio.images import read_image
from blurstudio.model import WeightsError
from trainer.synth.generate import convolve, to_linear, to_srgb
from trainer.synth.kernels import linear_motion_kernel, shake_kernel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="a folder with image/*.jpg of sharp photos")
    ap.add_argument("--weights", nargs="+", default=["compact"])
    args = ap.parse_args(argv)
    photos = sorted((Path(args.data) / "image").glob("*.jpg"))
    if not photos:
        raise SystemExit(f"no image/*.jpg in {args.data}")
    kernels = {f"line {n}px": linear_motion_kernel(n, 0.0) for n in (6, 10, 28)}
    kernels["shake 20px"] = shake_kernel(20, np.random.default_rng(0))
    for weights in args.weights:
        try:
            detector = Detector(weights)
        except (ValueError, WeightsError) as e:
            raise SystemExit(f"error: {e}") from None
        for path in photos:
            rgb = read_image(str(path))
            cells = []
            for name, k in kernels.items():
                grey = cv2.cvtColor(to_srgb(convolve(to_linear(rgb), k)), cv2.COLOR_RGB2GRAY)
                cls = detector(np.repeat(grey[..., None], 3, axis=2)).probs.argmax(0)
                cells.append(f"{name}: motion {(cls == 1).mean():.2f} defocus {(cls == 2).mean():.2f}")
            print(f"{Path(weights).name} {path.stem}: " + "; ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
