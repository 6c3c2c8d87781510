"""`blurstudio detect`: blur masks for photos (labels, blur confidence, overlay, probabilities)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .common import add_detector_options, batch_photos, load_detector, output_folder, progress_bar

EXAMPLES = """\
For each photo S it writes S_labels.png (0 sharp, 100 motion, 200 defocus), S_blur.png
(blur confidence, 255 = blurred), S_overlay.jpg (colour-coded map over the photo) and, with
--probs, S_probs.npy (float16, shape (3, H, W)), all at the photo's full resolution.

examples:
  blurstudio detect photo.jpg
  blurstudio detect a.jpg b.png -o masks/
  blurstudio detect shoot/ --recursive -o masks/ --json > fractions.json
  blurstudio detect "shoot/*.jpg" --model kim2018 --device cuda --max-side 1024
  blurstudio detect photo.jpg --model my_weights.pt --probs
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "detect",
        help="write blur masks (sharp / motion / defocus) for photos",
        description="Label every pixel of each photo as sharp, motion-blurred or defocus-blurred.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photo files, folders or glob patterns")
    p.add_argument("-o", "--outdir", type=Path, help="folder for the masks (created if needed; default: next to each photo)")
    p.add_argument("-r", "--recursive", action="store_true", help="include photos in subfolders of folder inputs")
    add_detector_options(p, max_side=True)
    p.add_argument("--probs", action="store_true", help="also write S_probs.npy (float16 probabilities)")
    p.add_argument("--json", action="store_true", help="print per-photo class fractions and timings as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.outdir is not None:
        output_folder(args.outdir, "output folder")
    photos, failures = batch_photos(args)

    # Imported only now: torch takes seconds to load, and a mistake above is reported at once.
    from tqdm import tqdm

    from ..export import export_masks
    from ..images import ImageError, read_image

    detector = load_detector(args)

    protect = list(photos)  # never write over any input of this batch, nor the weights
    if "/" in args.model or os.sep in args.model or args.model.endswith(".pt"):
        protect += [Path(args.model), Path(args.model).with_suffix(".json")]
    used_stems: set[tuple[Path, str]] = set()
    results, errors = [], [{"input": m.split(":")[0], "error": m} for m in failures]
    bar = progress_bar(len(photos), "detecting")
    for photo_path in photos:
        outdir = args.outdir if args.outdir is not None else photo_path.parent
        stem = _unique_stem(photo_path, outdir, used_stems)
        t0 = time.perf_counter()
        try:
            photo = read_image(photo_path)
            t1 = time.perf_counter()
            blurmap = detector(photo)
            t2 = time.perf_counter()
            written = export_masks(photo, blurmap, outdir, stem, probs=args.probs, protect=protect)
            t3 = time.perf_counter()
        except (ImageError, ValueError, OSError, MemoryError, RuntimeError) as e:
            message = str(e) if str(photo_path) in str(e) else f"{photo_path}: {e}"
            tqdm.write(f"blurstudio detect: {message}", file=sys.stderr)
            errors.append({"input": str(photo_path), "error": message})
            bar.update(1)
            continue
        fractions = blurmap.fractions()
        result = {
            "input": str(photo_path),
            "size": [int(photo.shape[1]), int(photo.shape[0])],
            "fractions": {k: round(v, 4) for k, v in fractions.items()},
            "outputs": {k: str(v) for k, v in written.items()},
            "timings": {
                "read": round(t1 - t0, 3),
                "detect": round(t2 - t1, 3),
                "write": round(t3 - t2, 3),
                "total": round(t3 - t0, 3),
            },
        }
        results.append(result)
        if not args.json:
            shares = ", ".join(f"{100 * v:.0f}% {k}" for k, v in fractions.items())
            tqdm.write(f"{photo_path}: {shares} ({t3 - t0:.1f} s) -> {written['labels'].parent / stem}_*", file=sys.stdout)
        bar.update(1)
    bar.close()

    if args.json:
        report = {
            "model": detector.model_name,
            "device": detector.device_name,
            "max_side": detector.max_side,
            "photos": results,
            "errors": errors,
        }
        print(json.dumps(report, indent=2))
    return 1 if errors else 0


def _unique_stem(photo: Path, outdir: Path, used: set[tuple[Path, str]]) -> str:
    """The photo's stem, made unique within an output folder (a.jpg and a.png -> a, a_png)."""
    folder = outdir.resolve()
    stem = photo.stem
    if (folder, stem) in used:
        stem = f"{photo.stem}_{photo.suffix.lstrip('.').lower() or 'photo'}"
        n = 2
        while (folder, stem) in used:
            stem = f"{photo.stem}_{n}"
            n += 1
    used.add((folder, stem))
    return stem
