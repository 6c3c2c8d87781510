"""`blurstudio magnify`: make the defocused background of a photo blurrier, like a wider aperture."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..edit.magnify import MAX_AMOUNT
from .common import CommandFailed, blur_map_for, check_outputs, command_inputs, fail, number_in_range

EXAMPLES = """\
The existing defocus blur of each region is estimated and multiplied by AMOUNT; sharp areas (or the
subject given by --matte) stay crisp. The output has the photo's size and orientation; JPEG (quality
--quality) or PNG by the suffix of OUT.

examples:
  blurstudio magnify photo.jpg --amount 2 -o photo_magnified.jpg
  blurstudio magnify photo.jpg --amount 3 --bokeh hexagon --highlight-boost 3 -o out.png
  blurstudio magnify photo.jpg --matte photo_matte.png --amount 2.5 -o out.jpg
  blurstudio magnify photo.jpg --blurmap photo_probs.npy -o out.jpg     (skip detection)
"""


amount_value = number_in_range(1.0, MAX_AMOUNT)
boost_value = number_in_range(0.0, 20.0)
quality_value = number_in_range(1, 100, integer=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "magnify",
        help="strengthen the background (defocus) blur of a photo",
        description="Make the defocused background of a photo blurrier, as a wider aperture would, "
        "keeping the sharp subject crisp and free of halos.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("photo", type=Path, metavar="PHOTO", help="the photo to edit")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output image (.jpg or .png)")
    p.add_argument("--amount", type=amount_value, default=2.0, help="blur multiplier, 1 (unchanged) to 8 (default: 2)")
    p.add_argument("--bokeh", choices=("circle", "hexagon"), default="circle", help="aperture shape (default: circle)")
    p.add_argument("--highlight-boost", type=boost_value, default=1.0, metavar="X",
                   help="how much bright points bloom, 0 (none) to 20 (default: 1)")
    p.add_argument("--motion", action="store_true", help="also magnify motion-blurred regions (default: left alone)")
    p.add_argument("--matte", type=Path, metavar="PNG", help="greyscale matte of the subject to keep crisp (white = subject)")
    p.add_argument("--blurmap", type=Path, metavar="NPZ|NPY", help="a saved blur map (skips detection)")
    p.add_argument("--quality", type=quality_value, default=95, help="JPEG quality (default: 95)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--model", default="compact", metavar="NAME|PATH", help="bundled model name or .pt file (default: compact)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="default: auto (CUDA, MPS, then CPU)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that `blurstudio --help` does not wait for torch.
    import numpy as np

    try:
        inputs = command_inputs(args)
        check_outputs([(args.output, (".jpg", ".jpeg", ".png"))], inputs, args.overwrite)
    except CommandFailed as e:
        return fail(args, e.message, e.code)
    from ..edit.magnify import magnify
    from ..images import ImageError, read_image, write_image

    out: Path = args.output
    t0 = time.perf_counter()
    try:
        photo = read_image(args.photo)
        matte = _read_matte(args.matte, photo.shape[:2], read_image) if args.matte else None
    except (ImageError, ValueError) as e:
        return fail(args, str(e))

    t1 = time.perf_counter()
    try:
        blurmap, detected_with = blur_map_for(args, photo)
    except CommandFailed as e:
        return fail(args, e.message, e.code)

    t2 = time.perf_counter()
    try:
        result = magnify(
            photo,
            blurmap,
            amount=args.amount,
            bokeh=args.bokeh,
            highlight_boost=args.highlight_boost,
            selection=matte,
            include_motion=args.motion,
        )
    except (ValueError, MemoryError) as e:
        return fail(args, f"{args.photo}: {e}")
    t3 = time.perf_counter()
    try:
        write_image(out, np.ascontiguousarray(result), quality=args.quality, protect=inputs)
    except ImageError as e:
        return fail(args, str(e))
    t4 = time.perf_counter()
    print(
        f"{args.photo} -> {out}: amount {args.amount:g}, {args.bokeh} bokeh "
        f"(read {t1 - t0:.1f} s, blur map {t2 - t1:.1f} s [{detected_with}], magnify {t3 - t2:.1f} s, "
        f"write {t4 - t3:.1f} s)",
        flush=True,
    )
    return 0


def _read_matte(path: Path, shape: tuple[int, int], read_image) -> "np.ndarray":
    """A matte image (white = subject) as float32 (H, W) in [0, 1], checked against the photo size."""
    import numpy as np

    rgb = read_image(path)
    if rgb.shape[:2] != tuple(shape):
        raise ValueError(f"{path}: matte of size {rgb.shape[1]}x{rgb.shape[0]} does not match the photo "
                         f"{shape[1]}x{shape[0]}")
    return rgb.mean(axis=2, dtype=np.float32) * (1.0 / 255.0)
