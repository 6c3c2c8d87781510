"""`blurstudio select`: an alpha matte (and an RGBA cut-out) of the sharp subject or of any blur class."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from ..edit.settings import SelectSettings
from .common import Edited, add_edit_command, add_edit_options, add_settings, run_edit, settings_from

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


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_edit_command(
        subparsers, "select", "write an alpha matte (and cut-out) of the sharp subject or a blur class",
        "Select the sharp subject (or the motion- / defocus-blurred parts) of a photo with a soft, matted edge "
        "and write the alpha matte at full resolution.", EXAMPLES,
        "alpha matte, greyscale .png or .tif (255 or 65535 = selected)")
    add_settings(p, SelectSettings)
    p.add_argument("--cutout", type=Path, metavar="PNG", help="also write the selected pixels as an RGBA .png")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8, help="bits per matte pixel (default: 8)")
    add_edit_options(p, "OUT / CUTOUT", quality=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    outputs = [(args.output, MATTE_SUFFIXES)] + ([(args.cutout, (".png",))] if args.cutout is not None else [])
    return run_edit(args, outputs, lambda photo, blurmap, _, timings: _select(args, photo, blurmap, timings))


def _select(args: argparse.Namespace, photo, blurmap, timings: dict[str, float]) -> Edited:
    from ..edit.matte import alpha_image, cutout
    from ..edit.selection import Selector

    settings = settings_from(args, SelectSettings)
    t = time.perf_counter()
    # pymatting prints solver warnings on stdout; keep stdout for our own report.
    with contextlib.redirect_stdout(sys.stderr):
        sel = Selector(photo, blurmap).render(settings)
        images = [(args.output, alpha_image(sel.alpha, args.bits))]
        if args.cutout is not None:
            images.append((args.cutout, cutout(photo, sel.alpha)))
    timings["select"] = time.perf_counter() - t
    if sel.message:
        print(f"blurstudio select: {args.photo}: {sel.message}", file=sys.stderr)
    return Edited(images, f"{100 * sel.fraction:.1f}% selected ({settings.target})")
