"""Weights on real photos, in the literature's protocol, beside the checks that they lose nothing
elsewhere. The full detector (working resolution, scales, mirror, edge-aware upsampling) on:

- real: the held-out 20 % of the real CUHK defocus photos (the trainer's stable file-name split;
  never trained on): in-focus IoU and F-beta (beta^2 = 0.3) per photo at p(sharp) >= 0.5,
  averaged; MAE of the soft map; binary mIoU at 0.5 over all pixels.
- composites: the synthetic validation set of a config (held-out photos): 3-class pixel accuracy.
- false alarms: held-out sharp source photos (bsds500_test, 'val' split, minus the photos on the
  exclusion lists): the share of pixels with blur score >= 0.5.
- whole-frame motion / defocus: the same sharp photos blurred all over with real-size kernels
  (linear motion 8-24 px and shake 20 px at the working size; disks of radius 3-6 px): the share
  called motion resp. defocus (is motion still told from defocus on real photos?).
With --baselines, a local Laplacian-energy detector and HiFST (blur-detector) on the real set.

    pip install --no-deps blur-detector && pip install scikit-image   # only for --baselines
    python benchmarks/bench_real.py --weights compact runs/compact_real/compact_real.pt [--baselines]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from blurstudio.detect import Detector
from blurstudio.images import read_image
from blurstudio.model import WeightsError
from trainer.data import load_labelled_folder
from trainer.metrics import BlurMetrics
from trainer.config import load_config
from trainer.synth import read_exclusion_list
from trainer.synth.generate import convolve, to_linear, to_srgb
from trainer.synth.kernels import disk_kernel, linear_motion_kernel, shake_kernel
from trainer.synth.sources import split_of
from trainer.validation import make_val_set

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CONFIG = ROOT / "trainer" / "configs" / "compact_stage6.toml"  # the same composites as stage 5 validated on


def laplacian_blur_score(rgb: np.ndarray) -> np.ndarray:
    """The 10-line baseline: local energy of the Laplacian; above the photo's median = sharp."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    energy = cv2.blur(cv2.Laplacian(grey, cv2.CV_32F) ** 2, (15, 15))
    energy = cv2.GaussianBlur(energy, (0, 0), 8)
    return (1.0 / (1.0 + energy / max(float(np.median(energy)), 1e-12))).astype(np.float32)  # 0.5 at the median


def hifst_blur_score(rgb: np.ndarray) -> np.ndarray:
    import blur_detector

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    sharpness = blur_detector.detectBlur(grey, downsampling_factor=4, num_scales=4, scale_start=2, show_progress=False)
    return np.clip(1.0 - sharpness, 0.0, 1.0).astype(np.float32)


def sharp_photos(count: int) -> list[tuple[str, np.ndarray]]:
    listed = set().union(*(read_exclusion_list(ROOT / "trainer" / "configs" / f) for f in ("blurry_photos.txt", "marginal_photos.txt")))
    paths = [p for p in sorted((DATA / "bsds500_test").glob("*.jpg")) if split_of(p) == "val" and p.name not in listed]
    return [(p.stem, read_image(p)) for p in paths[:count]]


def whole_frame(photos: list, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Each sharp photo blurred all over by one motion and one defocus kernel of real size."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[np.ndarray]] = {"motion": [], "defocus": []}
    for _, rgb in photos:
        lin = to_linear(rgb)
        k = shake_kernel(20.0, rng) if rng.random() < 0.3 else linear_motion_kernel(rng.uniform(8, 24), rng.uniform(0, 180))
        out["motion"].append(to_srgb(convolve(lin, k)))
        out["defocus"].append(to_srgb(convolve(lin, disk_kernel(rng.uniform(3, 6)))))
    return out


def score_binary(predict, samples: list) -> dict:
    metrics = BlurMetrics()
    for _, img, lab in samples:
        blur = predict(img)
        metrics.update(np.stack([1 - blur, np.zeros_like(blur), blur]), lab)
    return metrics.compute()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", nargs="+", default=["compact"])
    ap.add_argument("--real", default=str(DATA / "cuhk_defocus_train"), help="a cuhk-layout folder")
    ap.add_argument("--composites", type=int, default=160, help="synthetic validation images (0: skip)")
    ap.add_argument("--sharp", type=int, default=30, help="held-out sharp photos (0: skip)")
    ap.add_argument("--baselines", action="store_true", help="also the Laplacian-energy baseline and HiFST on the real set")
    args = ap.parse_args(argv)

    real = load_labelled_folder(args.real, "cuhk", "val")
    composites = []
    if args.composites:
        cfg = load_config(CONFIG)
        dirs = {k: [str(ROOT / p) for p in v] for k, v in cfg.data.sources().items()}
        composites = make_val_set(dirs, cfg.val_synth, args.composites)
    sharp = sharp_photos(args.sharp) if args.sharp else []
    blurred = whole_frame(sharp)
    print(f"real: {len(real)} held-out CUHK defocus photos; composites: {len(composites)}; sharp photos: {len(sharp)}")

    header = (f"{'method':34s} {'IoU_in':>7s} {'F_in':>6s} {'MAE':>6s} {'bmIoU':>6s} | {'comp acc':>8s} "
              f"{'false al.':>9s} {'motion':>7s} {'defocus':>7s} {'s/photo':>7s}")
    print(header)
    for weights in args.weights:
        try:
            detector = Detector(weights, device="cpu")
        except (ValueError, WeightsError) as e:
            raise SystemExit(f"error: {e}") from None
        t0 = time.perf_counter()
        r = BlurMetrics()
        for _, img, lab in real:
            r.update(detector(img).probs, lab)
        secs = (time.perf_counter() - t0) / max(len(real), 1)
        r = r.compute()
        c = BlurMetrics()
        for img, lab in composites:
            c.update(detector(img).probs, lab)
        comp = f"{c.compute()['pixel_accuracy']:8.3f}" if composites else f"{'-':>8s}"
        false_alarm = np.mean([(detector(img).blur >= 0.5).mean() for _, img in sharp]) if sharp else float("nan")
        motion = np.mean([(detector(img).labels == 1).mean() for img in blurred["motion"]]) if sharp else float("nan")
        defocus = np.mean([(detector(img).labels == 2).mean() for img in blurred["defocus"]]) if sharp else float("nan")
        print(f"{Path(str(weights)).name:34s} {r['in_focus_iou']:7.3f} {r['in_focus_f']:6.3f} {r['in_focus_mae']:6.3f} "
              f"{r['binary_miou']:6.3f} | {comp} {false_alarm:9.3f} {motion:7.3f} {defocus:7.3f} {secs:7.2f}")
    if args.baselines:
        for name, fn in (("local Laplacian energy", laplacian_blur_score), ("HiFST (blur-detector)", hifst_blur_score)):
            t0 = time.perf_counter()
            r = score_binary(fn, real)
            secs = (time.perf_counter() - t0) / max(len(real), 1)
            print(f"{name:34s} {r['in_focus_iou']:7.3f} {r['in_focus_f']:6.3f} {r['in_focus_mae']:6.3f} "
                  f"{r['binary_miou']:6.3f} | {'-':>8s} {'-':>9s} {'-':>7s} {'-':>7s} {secs:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
