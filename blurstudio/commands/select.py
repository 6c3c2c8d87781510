"""`blurstudio select`: an alpha matte (and an RGBA cut-out) of the sharp subject or of any blur class."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from ..edit.selection import EDGE_WIDTH, SOLVERS, TARGETS
from .common import CommandFailed, blur_map_for, check_outputs, command_inputs, fail, number_in_range

EXAMPLES = """\
The blur map (from the network, or --blurmap) gives a rough selection of TARGET; image matting
refines its edge so that it follows hair and fine detail. The matte is written at the photo's full
resolution (white = selected); --cutout also writes an RGBA PNG of the selected pixels with
estimated foreground colours (no fringes of the old background).

examples:
  blurstudio select photo.jpg -o photo_matte.png
  blurstudio select photo.jpg -o matte.png --cutout subject.png
  blurstudio select photo.jpg --target defocus -o background.png --bits 16
  blurstudio select photo.jpg --threshold 0.3 --edge-width 0.04 --solver knn -o matte.png
  blurstudio select photo.jpg --blurmap photo_probs.npy -o matte.png     (skip detection)
"""

MATTE_SUFFIXES = (".png", ".tif", ".tiff")


unit_value = number_in_range(0.0, 1.0)
edge_value = number_in_range(0.0, 0.2)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "select",
        help="write an alpha matte (and cut-out) of the sharp subject or a blur class",
        description="Select the sharp subject (or the motion- / defocus-blurred parts) of a photo with a "
        "soft, matted edge and write the alpha matte at full resolution.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("photo", type=Path, metavar="PHOTO", help="the photo")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MATTE",
                   help="alpha matte, greyscale .png or .tif (255 or 65535 = selected)")
    p.add_argument("--target", choices=TARGETS, default="sharp",
                   help="what to select (default: sharp; blurred = motion or defocus)")
    p.add_argument("--cutout", type=Path, metavar="PNG", help="also write the selected pixels as an RGBA .png")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8, help="bits per matte pixel (default: 8)")
    p.add_argument("--threshold", type=unit_value, default=0.5,
                   help="minimum probability of TARGET for the confident selection, 0-1 (default: 0.5; lower selects more)")
    p.add_argument("--edge-width", type=edge_value, default=EDGE_WIDTH, metavar="FRACTION",
                   help=f"half-width of the refined edge band as a fraction of the photo size (default: {EDGE_WIDTH:g}; 0 = hard edge)")
    p.add_argument("--solver", choices=tuple(SOLVERS), default="cf",
                   help="pymatting alpha solver: " + ", ".join(f"{k} = {v}" for k, v in SOLVERS.items()) + " (default: cf)")
    p.add_argument("--blurmap", type=Path, metavar="NPZ|NPY", help="a saved blur map (skips detection)")
    p.add_argument("--overwrite", action="store_true", help="replace MATTE / CUTOUT if they exist")
    p.add_argument("--model", default="compact", metavar="NAME|PATH", help="bundled model name or .pt file (default: compact)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="default: auto (CUDA, MPS, then CPU)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that `blurstudio --help` does not wait for torch.
    import numpy as np

    try:
        inputs = command_inputs(args)
        outputs = [(args.output, MATTE_SUFFIXES)] + ([(args.cutout, (".png",))] if args.cutout is not None else [])
        check_outputs(outputs, inputs, args.overwrite)
    except CommandFailed as e:
        return fail(args, e.message, e.code)
    from ..edit.selection import alpha_image, cutout, select
    from ..images import ImageError, check_writable, read_image, write_image

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
        # pymatting prints solver warnings on stdout; keep stdout for our own report.
        with contextlib.redirect_stdout(sys.stderr):
            sel = select(photo, blurmap, target=args.target, threshold=args.threshold,
                         edge_width=args.edge_width, solver=args.solver)
            rgba = cutout(photo, sel.alpha) if args.cutout is not None else None
    except (ValueError, MemoryError) as e:
        return fail(args, f"{args.photo}: {e}")
    if sel.message:
        print(f"blurstudio select: {args.photo}: {sel.message}", file=sys.stderr)

    t3 = time.perf_counter()
    written = [path for path, _ in outputs]
    try:
        for path in written:  # both can hold the photo's size, or neither is written
            check_writable(path, photo.shape[:2], inputs)
        write_image(args.output, alpha_image(sel.alpha, args.bits), protect=inputs)
        if rgba is not None:
            write_image(args.cutout, np.ascontiguousarray(rgba), protect=inputs)
    except ImageError as e:
        return fail(args, str(e))
    t4 = time.perf_counter()
    print(
        f"{args.photo} -> {', '.join(str(p) for p in written)}: {100 * sel.fraction:.1f}% selected ({args.target}) "
        f"(read {t1 - t0:.1f} s, blur map {t2 - t1:.1f} s [{detected_with}], select {t3 - t2:.1f} s, "
        f"write {t4 - t3:.1f} s)",
        flush=True,
    )
    return 0
