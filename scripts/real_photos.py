"""Run the detector on the real photographs that scikit-image and scikit-learn ship and save a
contact sheet (photo | blur-map overlay) so a person can judge the map on real blur.

    pip install scikit-image scikit-learn && python scripts/real_photos.py [--weights compact] [--out docs/real_photos.png]

coffee (in focus but for the far corner of the table), flower (sharp flower,
defocused background), clock_motion (real motion blur), astronaut, chelsea, china (sharp overall).
"""

import argparse
from pathlib import Path

import cv2
import numpy as np

from blurstudio.detect import Detector


def photos() -> dict[str, np.ndarray]:
    import skimage.data
    from sklearn.datasets import load_sample_image

    grey = skimage.data.clock()  # the shipped clock_motion is greyscale
    return {
        "coffee": skimage.data.coffee(),
        "flower": load_sample_image("flower.jpg"),
        "clock (motion)": np.repeat(np.asarray(grey)[..., None], 3, axis=2) if grey.ndim == 2 else grey,
        "astronaut": skimage.data.astronaut(),
        "chelsea": skimage.data.chelsea(),
        "china": load_sample_image("china.jpg"),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default="compact")
    ap.add_argument("--out", default="docs/real_photos.png")
    args = ap.parse_args()
    det = Detector(args.weights, device="cpu")
    rows = []
    for name, img in photos().items():
        bm = det(img)
        scale = 300 / img.shape[0]
        pair = [cv2.resize(x, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for x in (img, bm.overlay(img, 0.6))]
        row = np.concatenate(pair, axis=1)
        fr = bm.fractions()
        text = f"{name}: sharp {fr['sharp']:.0%} motion {fr['motion']:.0%} defocus {fr['defocus']:.0%}"
        cv2.putText(row, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
        rows.append(row)
        print(text)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows]
    sheet = np.concatenate([np.concatenate(rows[i : i + 2], axis=1) if i + 1 < len(rows) else np.pad(rows[i], ((0, 0), (0, width), (0, 0)))
                            for i in range(0, len(rows), 2)], axis=0)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, sheet[..., ::-1])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
