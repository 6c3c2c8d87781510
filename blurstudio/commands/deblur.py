"""`blurstudio deblur`: estimate the blur kernel of each blurred region and deconvolve it."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .common import CommandFailed, blur_map_for, check_outputs, command_inputs, fail, number_in_range

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
"""


strength_value = number_in_range(0.0, 2.0)
regularisation_value = number_in_range(0.05, 20.0)
quality_value = number_in_range(1, 100, integer=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "deblur",
        help="estimate motion/defocus blur kernels and sharpen the blurred regions",
        description="Estimate the blur kernel of each motion- or defocus-blurred region of a photo "
        "and deconvolve it; sharp regions are left untouched.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("photo", type=Path, metavar="PHOTO", help="the photo to deblur")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output image (.jpg or .png)")
    p.add_argument("--region", choices=("auto", "motion", "defocus"), default="auto",
                   help="auto: each region by its detected class; motion/defocus: treat every blurred "
                   "pixel as that kind (default: auto)")
    p.add_argument("--strength", type=strength_value, default=1.0, metavar="S",
                   help="0 (unchanged) to 2 (exaggerated); 1 = the full restoration (default: 1)")
    p.add_argument("--method", choices=("wiener", "rl"), default="wiener",
                   help="wiener (fast) or rl (Richardson-Lucy, slower, less ringing on edges) (default: wiener)")
    p.add_argument("--smoothness", type=regularisation_value, default=1.0, metavar="X",
                   help="multiplier of the automatic, noise-dependent regularisation: more = less noise "
                   "and ringing, less detail (0.05-20, default: 1)")
    p.add_argument("--kernel-out", type=Path, metavar="K.png", help="also write the estimated kernel(s) as an image")
    p.add_argument("--json", action="store_true", help="print the estimated kernel parameters per region as JSON")
    p.add_argument("--blurmap", type=Path, metavar="NPZ|NPY", help="a saved blur map (skips detection)")
    p.add_argument("--quality", type=quality_value, default=95, help="JPEG quality (default: 95)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT (and K.png) if they exist")
    p.add_argument("--model", default="compact", metavar="NAME|PATH", help="bundled model name or .pt file (default: compact)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="default: auto (CUDA, MPS, then CPU)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that `blurstudio --help` does not wait for torch.
    import numpy as np

    try:
        inputs = command_inputs(args)
        outputs = [(args.output, (".jpg", ".jpeg", ".png"))]
        outputs += [(args.kernel_out, (".png",))] if args.kernel_out is not None else []
        check_outputs(outputs, inputs, args.overwrite)
    except CommandFailed as e:
        return fail(args, e.message, e.code)
    from ..edit.deblur import MIN_PATCHES, DeblurError, deblur, estimate_kernels, kernel_sheet, photo_noise
    from ..images import ImageError, check_writable, read_image, write_image

    out: Path = args.output

    t0 = time.perf_counter()
    try:
        photo = read_image(args.photo)
    except (ImageError, ValueError) as e:
        return fail(args, str(e))

    t1 = time.perf_counter()
    try:
        blurmap, detected_with = blur_map_for(args, photo)
    except CommandFailed as e:
        return fail(args, e.message, e.code)

    t2 = time.perf_counter()
    try:
        kernels = estimate_kernels(photo, blurmap, args.region)
    except (DeblurError, MemoryError) as e:
        return fail(args, f"{args.photo}: {e}")
    if not kernels:
        fractions = ", ".join(f"{100 * v:.0f}% {k}" for k, v in blurmap.fractions().items())
        return fail(args, f"{args.photo}: no blurred region large and textured enough to measure a kernel "
                    f"({fractions}); nothing written. A kernel needs at least {MIN_PATCHES} textured 64x64-pixel "
                    "patches inside a region the map calls motion or defocus (p > 0.5), i.e. a blurred, "
                    "detailed area of at least about 130x130 pixels; a photo smaller than that, or blur on "
                    "flat areas only, cannot be measured")
    t3 = time.perf_counter()
    noise = photo_noise(photo)
    try:
        result = deblur(photo, blurmap, kernels, region=args.region, method=args.method,
                        strength=args.strength, regularisation=args.smoothness, noise=noise)
    except (DeblurError, MemoryError) as e:
        return fail(args, f"{args.photo}: {e}")
    t4 = time.perf_counter()
    try:
        check_writable(out, result.shape[:2], inputs)
        write_image(out, np.ascontiguousarray(result), quality=args.quality, protect=inputs)
        if args.kernel_out is not None:
            write_image(args.kernel_out, kernel_sheet(kernels), protect=[*inputs, out])
    except ImageError as e:
        return fail(args, str(e))
    t5 = time.perf_counter()

    if args.json:
        report = {
            "input": str(args.photo),
            "output": str(out),
            "kernel_image": str(args.kernel_out) if args.kernel_out else None,
            "size": [int(photo.shape[1]), int(photo.shape[0])],
            "blur_map": detected_with,
            "region": args.region,
            "method": args.method,
            "strength": args.strength,
            "smoothness": args.smoothness,
            "noise_sigma_linear": round(noise, 5),
            "kernels": {kind: k.to_dict() for kind, k in kernels.items()},
            "timings": {"read": round(t1 - t0, 3), "blur_map": round(t2 - t1, 3), "estimate": round(t3 - t2, 3),
                        "deconvolve": round(t4 - t3, 3), "write": round(t5 - t4, 3), "total": round(t5 - t0, 3)},
        }
        print(json.dumps(report, indent=2))
    else:
        found = "; ".join(k.describe() for k in kernels.values())
        print(
            f"{args.photo} -> {out}: {found}, {args.method}, strength {args.strength:g} "
            f"(read {t1 - t0:.1f} s, blur map {t2 - t1:.1f} s [{detected_with}], estimate {t3 - t2:.1f} s, "
            f"deconvolve {t4 - t3:.1f} s, write {t5 - t4:.1f} s)",
            flush=True,
        )
    return 0
