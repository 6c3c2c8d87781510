"""Evaluate weights on a labelled folder; the same numbers whatever the layout.

    python -m trainer.evaluate --weights compact --data DIR --layout synth|cuhk|dut|kim [--json]
                               [--split all|train|val] [--max-side N] [--scales 1,0.67] [--device auto]

`--split val` keeps the photos the trainer holds out of real-photo training (the stable file-name
split), e.g. the CUHK defocus photos' validation part. Besides the 3-class and binary figures it prints
the literature's in-focus protocol (IoU and F-beta per photo at 0.5, averaged; see trainer/metrics.py).

Runs the full detector (working resolution, edge-aware upsampling), so the figures are what users get.
"""

from __future__ import annotations

import argparse
import json
import sys

from blurstudio.detect import Detector
from blurstudio.model import WeightsError

from .data import LAYOUTS, SPLITS, load_labelled_folder
from .metrics import BlurMetrics


def evaluate(detector: Detector, samples: list) -> dict:
    metrics = BlurMetrics()
    for _, img, labels in samples:
        metrics.update(detector(img).probs, labels)
    out = metrics.compute()
    out["images"] = len(samples)
    return out


def _scales(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 1,0.67, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="compact", help="bundled model name or .pt path")
    ap.add_argument("--data", required=True)
    ap.add_argument("--layout", required=True, choices=LAYOUTS)
    ap.add_argument("--split", default="all", choices=SPLITS, help="photos of the trainer's stable split only")
    ap.add_argument("--max-side", type=int, help="working resolution (default: the card's)")
    ap.add_argument("--scales", type=_scales, help="comma-separated factors of the working size to average over "
                    "(default: the card's)")
    ap.add_argument("--flip", action=argparse.BooleanOptionalAction,
                    help="also run on the mirror image and average (default: the card's)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        samples = load_labelled_folder(args.data, args.layout, args.split)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        detector = Detector(args.weights, device=args.device, max_side=args.max_side, scales=args.scales, flip=args.flip)
    except (ValueError, WeightsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    m = evaluate(detector, samples)
    if args.json:
        print(json.dumps(m, indent=2))
    else:
        iou = ", ".join(f"{k} {'-' if v is None else f'{v:.3f}'}" for k, v in m["iou"].items())
        print(f"{m['images']} images  pixel accuracy {m['pixel_accuracy']:.3f}  mIoU {m['miou']:.3f} ({iou})")
        print(f"blurred vs sharp: F(0.3) {m['f_measure']:.3f} at {m['f_threshold']:.2f}  MAE {m['mae']:.3f}  "
              f"binary mIoU {m['binary_miou']:.3f}")
        print(f"in-focus region per photo at 0.5: IoU {m['in_focus_iou']:.3f}  F(0.3) {m['in_focus_f']:.3f}  "
              f"MAE {m['in_focus_mae']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
