"""Does averaging a network's maps over flipped or transposed copies of each image help?

Runs the network alone (one scale, the image's own size) on a labelled folder for each of the 8
flips and transposes of the square, then prints accuracy / mIoU / binary mIoU for the plain map
and for the maps averaged over: the mirror image (the detector's `working_flip`), all four flips,
the transpose, and all eight. Blur itself does not care which way up a photo is, but a network may
have learnt where blur tends to be (backgrounds at the top), so the mirror image is the safe one.

    python -m trainer.synth --config trainer/configs/compact_stage2.toml --out /tmp/val --count 160
    python benchmarks/orientations.py --weights resources/weights/compact.pt --data /tmp/val --layout kim
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from blurstudio.model import WeightsError, load_model, normalise
from trainer.data import LAYOUTS, load_labelled_folder, to_tensor
from trainer.metrics import BlurMetrics

# name: (forward transform of an NCHW batch, its inverse)
ORIENTATIONS = {
    "plain": (lambda x: x, lambda y: y),
    "mirror": (lambda x: x.flip(-1), lambda y: y.flip(-1)),
    "upside down": (lambda x: x.flip(-2), lambda y: y.flip(-2)),
    "rotated 180": (lambda x: x.flip(-1, -2), lambda y: y.flip(-1, -2)),
    "transposed": (lambda x: x.transpose(-1, -2), lambda y: y.transpose(-1, -2)),
    "rotated 90": (lambda x: x.transpose(-1, -2).flip(-1), lambda y: y.flip(-1).transpose(-1, -2)),
    "rotated 270": (lambda x: x.transpose(-1, -2).flip(-2), lambda y: y.flip(-2).transpose(-1, -2)),
    "anti-transposed": (lambda x: x.transpose(-1, -2).flip(-1, -2), lambda y: y.flip(-1, -2).transpose(-1, -2)),
}
AVERAGES = {
    "plain": ["plain"],
    "with the mirror image": ["plain", "mirror"],
    "four flips": ["plain", "mirror", "upside down", "rotated 180"],
    "with the transpose": ["plain", "transposed"],
    "all eight": list(ORIENTATIONS),
}


def orientation_scores(model: torch.nn.Module, data: list) -> dict[str, dict]:
    """Metrics of the network's maps averaged over each set in AVERAGES."""
    metrics = {name: BlurMetrics() for name in AVERAGES}
    with torch.inference_mode():
        for _, img, labels in data:
            x = normalise(to_tensor(img)[None])
            probs = {k: g(torch.softmax(model(f(x))[-1].float(), 1))[0].numpy() for k, (f, g) in ORIENTATIONS.items()}
            for name, keys in AVERAGES.items():
                metrics[name].update(np.mean([probs[k] for k in keys], 0), labels)
    return {name: m.compute() for name, m in metrics.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="compact", help="bundled name or .pt file")
    ap.add_argument("--data", required=True, help="a labelled folder")
    ap.add_argument("--layout", default="kim", choices=sorted(LAYOUTS))
    args = ap.parse_args(argv)
    try:
        model, _ = load_model(args.weights)
    except WeightsError as e:
        raise SystemExit(f"--weights: {e}") from None
    try:
        data = list(load_labelled_folder(args.data, args.layout))
    except (OSError, ValueError) as e:
        raise SystemExit(f"--data: {e}") from None
    print(f"{args.weights} on {len(data)} images of {args.data}, network alone: accuracy / mIoU / binary mIoU")
    for name, r in orientation_scores(model.float().eval(), data).items():
        print(f"  {name:22s} {r['pixel_accuracy']:.4f} / {r['miou']:.4f} / {r['binary_miou']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
