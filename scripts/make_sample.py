"""Build resources/samples/sample.jpg: a photo with sharp, motion-blurred and defocused regions.

Sources (all free of copyright restrictions, shipped with scikit-image, needed only to run this):
coffee (CC0, Rachel Michetti): the cup stays sharp, the table is defocused; chelsea the cat
(CC0, Stefan van der Walt): her head passes through the frame with motion blur.
Blur is applied in linear light with the trainer's kernels; the ground truth is written beside it.

    pip install scikit-image && python scripts/make_sample.py
"""

from pathlib import Path

import cv2
import numpy as np
import skimage.data

from trainer.synth.generate import convolve, to_linear, to_srgb
from trainer.synth.kernels import disk_kernel, linear_motion_kernel

OUT = Path(__file__).resolve().parents[1] / "resources" / "samples"


def grabcut(img: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros(img.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(img[..., ::-1].copy(), mask, rect, bgd, fgd, 8, cv2.GC_INIT_WITH_RECT)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(fg)
    keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if n > 1 else 1
    return cv2.GaussianBlur((lab == keep).astype(np.float32), (0, 0), 0.7)


def paste(canvas, alpha_canvas, img, alpha, x, y):
    h, w = alpha.shape
    canvas[y : y + h, x : x + w] = img
    alpha_canvas[y : y + h, x : x + w] = alpha


def main() -> None:
    W, H = 900, 600
    scene = cv2.resize(skimage.data.coffee(), (W, H), interpolation=cv2.INTER_CUBIC)
    # In focus: the cup and saucer. Out of focus: the table, with the cup inpainted away behind it
    # so its colours do not leak into the background blur.
    cup_a = grabcut(scene, (150, 20, 600, 560))
    hole = cv2.dilate((cup_a > 0.05).astype(np.uint8), np.ones((15, 15), np.uint8))
    table = cv2.inpaint(scene, hole, 9, cv2.INPAINT_TELEA)
    lin = convolve(to_linear(table), disk_kernel(8.0))
    lin = to_linear(scene) * cup_a[..., None] + (1 - cup_a[..., None]) * lin

    # Moving through the frame: the cat's head, blurred along its path (horizontal, 36 px),
    # as a premultiplied layer so its edges streak as a camera records them.
    cat = skimage.data.chelsea()[10:290, 70:390]  # the cat's head, cut with a soft ellipse
    cat_a = np.zeros(cat.shape[:2], np.float32)
    cv2.ellipse(cat_a, (160, 140), (150, 130), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    cat_a = cv2.GaussianBlur(cat_a, (0, 0), 2.0)
    layer, la = np.zeros((H, W, 3), np.float32), np.zeros((H, W), np.float32)
    paste(layer, la, to_linear(cat), cat_a, W - 340, 10)
    k = linear_motion_kernel(36, 0)
    moving = convolve(layer * la[..., None], k)
    la_m = convolve(la, k)
    lin = moving + (1 - la_m[..., None]) * lin

    labels = np.full((H, W), 200, np.uint8)
    labels[cup_a >= 0.5] = 0
    labels[la_m >= 0.5] = 100
    OUT.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUT / "sample.jpg"), to_srgb(lin)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 93])
    cv2.imwrite(str(OUT / "sample_labels.png"), labels)
    print(f"wrote {OUT / 'sample.jpg'} and sample_labels.png")


if __name__ == "__main__":
    main()
