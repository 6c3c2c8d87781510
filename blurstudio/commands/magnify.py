"""`blurstudio magnify`: make the defocused background of a photo blurrier, like a wider aperture."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..edit.settings import MagnifySettings
from .common import Edited, add_edit_command, add_edit_options, add_settings, run_edit, settings_from

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


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_edit_command(
        subparsers, "magnify", "strengthen the background (defocus) blur of a photo",
        "Make the defocused background of a photo blurrier, as a wider aperture would, keeping the sharp "
        "subject crisp and free of halos.", EXAMPLES, "output image (.jpg or .png)")
    add_settings(p, MagnifySettings)
    p.add_argument("--motion", action="store_true", help="also magnify motion-blurred regions (default: left alone)")
    p.add_argument("--matte", type=Path, metavar="PNG", help="greyscale matte of the subject to keep crisp (white = subject)")
    add_edit_options(p, "OUT")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_edit(args, [(args.output, (".jpg", ".jpeg", ".png"))],
                    lambda photo, blurmap, matte, timings: _magnify(args, photo, blurmap, matte, timings),
                    read_extra=lambda photo: _read_matte(args.matte, photo.shape[:2]) if args.matte else None)


def _magnify(args: argparse.Namespace, photo, blurmap, matte, timings: dict[str, float]) -> Edited:
    from ..edit.magnify import Magnifier

    settings = settings_from(args, MagnifySettings)
    t = time.perf_counter()
    result = Magnifier(photo, blurmap, selection=matte, include_motion=args.motion).render(settings)
    timings["magnify"] = time.perf_counter() - t
    return Edited([(args.output, result)], f"amount {settings.amount:g}, {settings.bokeh} bokeh")


def _read_matte(path: Path, shape: tuple[int, int]):
    """A matte image (white = subject) as float32 (H, W) in [0, 1], checked against the photo size."""
    import numpy as np

    from ..errors import InputError
    from ..images import read_image

    rgb = read_image(path)
    if rgb.shape[:2] != tuple(shape):
        raise InputError(f"{path}: matte of size {rgb.shape[1]}x{rgb.shape[0]} does not match the photo "
                         f"{shape[1]}x{shape[0]}")
    return rgb.mean(axis=2, dtype=np.float32) * (1.0 / 255.0)
