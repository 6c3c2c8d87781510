"""Our detector vs the classic hand-crafted HiFST detector (Golestaneh & Karam, CVPR 2017),
side by side on the same labelled images, with the same metrics.

    pip install blur-detector scikit-image   # benchmark-only; blur-detector pulls opencv-python,
                                             # remove it again (keep opencv-python-headless)
    python benchmarks/bench_vs_hifst.py [--weights compact] [--count 40]
    python benchmarks/bench_vs_hifst.py --data DIR --layout cuhk|dut|kim|synth

Default data: the synthetic validation set of the compact stage-2 and stage-3 configs (held-out
photos, objects and layouts never used in training). HiFST gives a sharpness map in [0, 1]; its blur score is 1 - map.
Binary mIoU is reported at threshold 0.5 and at each method's best threshold, since HiFST's map
has no calibrated 0.5.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np


from blurstudio.detect import Detector
from trainer.data import load_labelled_folder
from trainer.metrics import BlurMetrics
from trainer.config import load_config
from trainer.validation import make_val_set


def best_binary_miou(scores: list[np.ndarray], labels: list[np.ndarray]) -> tuple[float, float]:
    """Binary mIoU (blurred / sharp) at the best global threshold."""
    s = np.concatenate([x.ravel() for x in scores])
    b = np.concatenate([(y != 0).ravel() for y in labels])
    best = (0.0, 0.5)
    for t in np.linspace(0.02, 0.98, 49):
        p = s >= t
        tp, fp, fn, tn = np.sum(p & b), np.sum(p & ~b), np.sum(~p & b), np.sum(~p & ~b)
        miou = 0.5 * (tp / max(tp + fp + fn, 1) + tn / max(tn + fn + fp, 1))
        best = max(best, (float(miou), float(t)))
    return best


def hifst_blur_score(rgb: np.ndarray) -> np.ndarray:
    import blur_detector

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    sharpness = blur_detector.detectBlur(grey, downsampling_factor=4, num_scales=4, scale_start=2, show_progress=False)
    return np.clip(1.0 - sharpness, 0.0, 1.0).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="compact")
    ap.add_argument("--data")
    ap.add_argument("--layout", default="synth")
    ap.add_argument("--count", type=int, default=40)
    args = ap.parse_args()

    if args.data:
        samples = [(img, lab) for _, img, lab in load_labelled_folder(args.data, args.layout)][: args.count]
        source = f"{args.data} ({args.layout})"
    else:
        cfg = load_config(Path(__file__).resolve().parents[1] / "trainer" / "configs" / "compact_stage5.toml")
        dirs = {k: [str(Path(__file__).resolve().parents[1] / p) for p in v] for k, v in cfg.data.sources().items()}
        samples = make_val_set(dirs, cfg.val_synth, args.count)
        source = "synthetic validation set (held-out photos)"

    detector = Detector(args.weights, device="cpu")
    rows = []
    for name, predict in (
        (f"Blur Studio ({args.weights})", lambda img: detector(img).probs),
        ("HiFST (blur-detector)", None),
    ):
        metrics, scores, labels = BlurMetrics(), [], []
        t0 = time.perf_counter()
        for img, lab in samples:
            if predict is None:
                blur = hifst_blur_score(img)
                probs = np.stack([1 - blur, np.zeros_like(blur), blur])  # no blur type: binary metrics only
            else:
                probs = predict(img)
            metrics.update(probs, lab)
            scores.append(1 - probs[0])
            labels.append(lab)
        secs = (time.perf_counter() - t0) / len(samples)
        m = metrics.compute()
        best, thr = best_binary_miou(scores, labels)
        rows.append((name, m, best, thr, secs, predict is not None))

    print(f"{len(samples)} images from {source}")
    print(f"{'method':28s} {'F(0.3)':>7s} {'MAE':>6s} {'bIoU@.5':>8s} {'bIoU@best':>10s} {'3-cls mIoU':>10s} {'acc':>6s} {'s/img':>6s}")
    for name, m, best, thr, secs, typed in rows:
        cls = f"{m['miou']:10.3f} {m['pixel_accuracy']:6.3f}" if typed else f"{'-':>10s} {'-':>6s}"
        print(f"{name:28s} {m['f_measure']:7.3f} {m['mae']:6.3f} {m['binary_miou']:8.3f} {best:6.3f}@{thr:.2f} {cls} {secs:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
