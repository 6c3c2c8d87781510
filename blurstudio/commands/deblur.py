"""`blurstudio deblur`: estimate the blur kernel of each blurred region and deconvolve it."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..edit.settings import REGIONS, DeblurSettings
from .common import CommandFailed, Edited, add_edit_command, add_edit_options, add_settings, run_edit, settings_from

EXAMPLES = """\
The blur map says where the photo is motion- or defocus-blurred; for each such region the blur
kernel is estimated from the region's spectrum (a disk radius for defocus, a length and angle for
motion) and deconvolved in linear light. Sharp areas keep their exact pixels. The output has the
photo's full size; JPEG (quality --quality) or PNG by the suffix of OUT.

examples:
  blurstudio deblur photo.jpg -o photo_sharp.jpg
  blurstudio deblur photo.jpg --region motion --strength 0.7 -o out.png --kernel-out kernel.png
  blurstudio deblur photo.jpg --method rl --json -o out.jpg > kernels.json
  blurstudio deblur photo.jpg --blurmap photo_probs.npy -o out.jpg     (skip detection)
  blurstudio deblur photo.jpg --radius 6 -o out.jpg           (defocus radius by hand, in px)
  blurstudio deblur photo.jpg --length 20 --angle 30 -o out.jpg   (motion blur by hand)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_edit_command(
        subparsers, "deblur", "estimate motion/defocus blur kernels and sharpen the blurred regions",
        "Estimate the blur kernel of each motion- or defocus-blurred region of a photo and deconvolve it; "
        "sharp regions are left untouched.", EXAMPLES, "output image (.jpg or .png)")
    p.add_argument("--region", choices=REGIONS, default="auto",
                   help="auto: each region by its detected class; motion/defocus: treat every blurred "
                   "pixel as that kind (default: auto)")
    add_settings(p, DeblurSettings)
    p.add_argument("--kernel-out", type=Path, metavar="K.png", help="also write the estimated kernel(s) as an image")
    p.add_argument("--json", action="store_true", help="print the estimated kernel parameters per region as JSON")
    add_edit_options(p, "OUT (and K.png)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    outputs = [(args.output, (".jpg", ".jpeg", ".png"))]
    outputs += [(args.kernel_out, (".png",))] if args.kernel_out is not None else []
    return run_edit(args, outputs, lambda photo, blurmap, _, timings: _deblur(args, photo, blurmap, timings))


def _deblur(args: argparse.Namespace, photo, blurmap, timings: dict[str, float]) -> Edited:
    from ..edit.deblur import MIN_PATCHES, Deblurrer, kernel_sheet

    settings = settings_from(args, DeblurSettings)
    t = time.perf_counter()
    deblurrer = Deblurrer(photo, blurmap, args.region)
    kernels = deblurrer.kernels_for(settings)  # estimated, or as --radius / --length / --angle say
    if not kernels:
        fractions = ", ".join(f"{100 * v:.0f}% {k}" for k, v in blurmap.fractions().items())
        raise CommandFailed(f"{args.photo}: no blurred region large and textured enough to measure a kernel "
                            f"({fractions}); nothing written. A kernel needs at least {MIN_PATCHES} textured 64x64-pixel "
                            "patches inside a region the map calls motion or defocus (p > 0.5), i.e. a blurred, "
                            "detailed area of at least about 130x130 pixels; a photo smaller than that, or blur on "
                            "flat areas only, cannot be measured; --radius (defocus) or --length (motion) "
                            "sets the kernel by hand")
    timings["estimate"] = time.perf_counter() - t
    t = time.perf_counter()
    result = deblurrer.render(settings)
    timings["deconvolve"] = time.perf_counter() - t
    images = [(args.output, result)] + ([(args.kernel_out, kernel_sheet(kernels))] if args.kernel_out is not None else [])

    def report(timings: dict[str, float], detected_with: str) -> str:
        return json.dumps({
            "input": str(args.photo),
            "output": str(args.output),
            "kernel_image": str(args.kernel_out) if args.kernel_out else None,
            "size": [int(photo.shape[1]), int(photo.shape[0])],
            "blur_map": detected_with,
            "region": args.region,
            "method": settings.method,
            "strength": settings.strength,
            "smoothness": settings.smoothness,
            "noise_sigma_linear": round(deblurrer.noise, 5),
            "kernels": {kind: k.to_dict() for kind, k in kernels.items()},
            "timings": {name.replace(" ", "_"): round(seconds, 3) for name, seconds in timings.items()}
            | {"total": round(sum(timings.values()), 3)},
        }, indent=2)

    summary = f"{'; '.join(k.describe() for k in kernels.values())}, {settings.method}, strength {settings.strength:g}"
    return Edited(images, summary, report if args.json else None)
