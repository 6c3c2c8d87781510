"""Helpers shared by the subcommands: finding input photos, a terminal progress bar, the checks of
inputs and outputs (done before any heavy import or work, so a mistake costs nothing), the one way
a command reports a failure, and the one path of the edit commands (`add_edit_options`, `run_edit`)."""

from __future__ import annotations

import argparse
import dataclasses
import glob
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import ImageError, WeightsError
from ..images import (
    check_name_length,
    check_regular_file,
    check_writable,
    is_image_path,
    same_file,
)
from ..model.card import is_weights_file

# Files that blurstudio itself writes; skipped when scanning folders and globs so a second run
# does not treat the previous run's masks as photos.
OUTPUT_SUFFIXES = ("_labels.png", "_blur.png", "_overlay.jpg", "_probs.npy", "_matte.png", "_cutout.png")
GLOB_CHARS = "*?["


def _is_output(path: Path) -> bool:
    return path.name.endswith(OUTPUT_SUFFIXES)


def collect_inputs(inputs: list[str], recursive: bool = False) -> tuple[list[Path], list[str]]:
    """Expand files, folders (their photos; subfolders too with recursive) and globs.

    Returns (photo paths in order, without duplicates; error messages for inputs that matched nothing).
    Explicitly named files are kept whatever their suffix (reading reports non-images).
    """
    photos: list[Path] = []
    errors: list[str] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            photos.append(p)

    for item in inputs:
        path = Path(item)
        try:
            check_name_length(path)
        except ImageError as e:
            errors.append(str(e))
            continue
        if path.is_dir():
            found = sorted(path.rglob("*") if recursive else path.iterdir())
            found = [p for p in found if p.is_file() and is_image_path(p) and not _is_output(p)]
            if not found:
                errors.append(f"{item}: no photos in this folder" + ("" if recursive else " (use --recursive for subfolders)"))
            for p in found:
                add(p)
        elif path.is_file():
            add(path)
        elif path.exists():
            errors.append(f"{item}: not a regular file (a pipe, device or socket)")
        elif any(c in item for c in GLOB_CHARS):
            found = [Path(p) for p in sorted(glob.glob(item, recursive=recursive))]
            found = [p for p in found if p.is_file() and is_image_path(p) and not _is_output(p)]
            if not found:
                errors.append(f"{item}: no photos match this pattern")
            for p in found:
                add(p)
        else:
            errors.append(f"{item}: no such file or folder")
    return photos, errors


class CommandFailed(Exception):
    """A subcommand cannot go on: `message` for stderr, `code` the exit status (1 input, 2 usage).
    Raised anywhere in a command; `blurstudio.commands.run` prints it as `blurstudio COMMAND: message`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def number_in_range(low: float, high: float, integer: bool = False):
    """An argparse type: a number (a whole number if `integer`) between `low` and `high`."""

    def parse(text: str):
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {'whole ' if integer else ''}number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {text}")
        return value

    return parse


def fail(args: argparse.Namespace, message: str, code: int = 1) -> int:
    """Print `blurstudio COMMAND: message` on stderr; returns the exit status `code`."""
    print(f"blurstudio {args.command}: {message}", file=sys.stderr)
    return code


def command_inputs(args: argparse.Namespace) -> list[Path]:
    """Every file an edit command reads, none of which it may ever write over: the photo, matte and
    blur map (each checked here to be a regular file) and a weights file with its card (checked
    by the loader). Raises CommandFailed."""
    reads = [args.photo] + [p for p in (getattr(args, "matte", None), getattr(args, "blurmap", None)) if p is not None]
    for path in reads:
        try:
            check_regular_file(path, "input file")
        except ImageError as e:
            raise CommandFailed(str(e)) from None
    model = str(getattr(args, "model", "") or "")
    if model and is_weights_file(model):
        reads += [Path(model), Path(model).with_suffix(".json")]
    return reads


def check_outputs(outputs: list[tuple[Path, tuple[str, ...]]], inputs: list[Path], overwrite: bool) -> None:
    """Check each (path, allowed suffixes) before any work: the suffix, a legal name, an existing
    folder, not an input, not an existing file unless `overwrite`, and no two outputs the same.
    Raises CommandFailed (usage, exit 2)."""
    for i, (path, suffixes) in enumerate(outputs):
        try:
            check_name_length(path)
            if path.suffix.lower() not in suffixes:
                raise ImageError(f"{path}: must end in {' or '.join(suffixes)}")
            check_writable(path, None, inputs)
            if any(same_file(path, other) for other, _ in outputs[:i]):
                raise ImageError(f"{path}: the outputs must be different files")
            if path.exists() and not overwrite:
                raise ImageError(f"{path}: already exists (use --overwrite to replace it)")
        except ImageError as e:
            message = str(e).replace("refusing to write over the input file", "refusing to write over the input")
            raise CommandFailed(message, 2) from None


def output_folder(path: Path, what: str) -> None:
    """Create a command's output folder (and its parents). Raises CommandFailed (usage, exit 2)."""
    if path.exists() and not path.is_dir():
        raise CommandFailed(f"{path}: exists and is not a folder", 2)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CommandFailed(f"{path}: cannot create the {what} ({e.strerror})", 2) from None


def batch_photos(args: argparse.Namespace, skip_folder: Path | None = None) -> tuple[list[Path], list[str]]:
    """The photos of a batch command's inputs (`args.inputs`, `--recursive`), none inside
    `skip_folder` (a report inside the shoot), and the messages for inputs that matched nothing,
    printed here. Raises CommandFailed when there is no photo at all."""
    photos, failures = collect_inputs(args.inputs, args.recursive)
    if skip_folder is not None:
        skip = skip_folder.resolve()
        photos = [p for p in photos if skip not in p.resolve().parents]
    for message in failures:
        print(f"blurstudio {args.command}: {message}", file=sys.stderr)
    if not photos:
        raise CommandFailed("nothing to do", 1)
    return photos, failures


def load_detector(args: argparse.Namespace):
    """The Detector that `--model`, `--device` (and `--max-side`, where a command has it) ask for.
    Imports torch: call it after the cheap checks. Raises CommandFailed (usage, exit 2)."""
    from ..detect import Detector

    try:
        return Detector(args.model, device=args.device, max_side=getattr(args, "max_side", None))
    except (WeightsError, ValueError) as e:
        raise CommandFailed(str(e), 2) from None


def progress_bar(total: int, what: str):
    """The command line's one progress bar (tqdm, on stderr, drawn only on a terminal): photos,
    photos per second and the time left. Print beside it with `tqdm.write`."""
    from tqdm import tqdm

    return tqdm(total=total, unit="photo", desc=what, file=sys.stderr, disable=None, dynamic_ncols=True)


def blur_map_for(args: argparse.Namespace, photo) -> tuple:
    """The photo's BlurMap, from `--blurmap FILE` when given, else by running the detector
    (`--model`, `--device`). Returns (blurmap, a description of where it came from)."""
    from ..blurmap import BlurMap

    if args.blurmap is not None:
        try:
            blurmap = BlurMap.load(args.blurmap, shape=photo.shape[:2])
        except (OSError, ValueError, MemoryError) as e:
            raise CommandFailed(str(e)) from None
        return blurmap, f"blur map {args.blurmap}"
    detector = load_detector(args)
    try:
        blurmap = detector(photo)
    except (ValueError, RuntimeError, MemoryError) as e:
        raise CommandFailed(f"{args.photo}: detection failed ({e})") from None
    return blurmap, f"{detector.model_name} on {detector.device_name}"


# --- the edit commands: select, magnify, deblur -------------------------------------------------


def add_settings(parser: argparse.ArgumentParser, settings_class: type) -> None:
    """One option per field of a settings class (edit/settings.py): its name, range or choices,
    default and help come from the field, so the command accepts what the GUI's controls do."""
    for f in dataclasses.fields(settings_class):
        flag = "--" + f.name.replace("_", "-")
        help = f.metadata["help"]
        if "choices" in f.metadata:
            parser.add_argument(flag, choices=f.metadata["choices"], default=f.default,
                                help=f"{help} (default: {f.default})")
        else:
            low, high = f.metadata["range"]
            default = "auto" if f.default is None else f"{f.default:g}"
            parser.add_argument(flag, type=number_in_range(low, high), default=f.default, metavar="X",
                                help=f"{help}; {low:g} to {high:g} (default: {default})")


def settings_from(args: argparse.Namespace, settings_class: type) -> Any:
    """The settings object of the options `add_settings` made."""
    return settings_class(**{f.name: getattr(args, f.name) for f in dataclasses.fields(settings_class)})


def add_edit_command(subparsers: argparse._SubParsersAction, name: str, help: str, description: str, examples: str,
                     output_help: str) -> argparse.ArgumentParser:
    """The parser of an edit command: `PHOTO -o OUTPUT`, its description and examples."""
    p = subparsers.add_parser(name, help=help, description=description, epilog=examples,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("photo", type=Path, metavar="PHOTO", help="the photo")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help=output_help)
    return p


def add_edit_options(parser: argparse.ArgumentParser, outputs: str, quality: bool = True) -> None:
    """The options every edit command shares: a saved blur map or the detector's model and device,
    --overwrite (`outputs` names what it replaces) and, for JPEG outputs, --quality."""
    parser.add_argument("--blurmap", type=Path, metavar="NPZ|NPY", help="a saved blur map (skips detection)")
    if quality:
        parser.add_argument("--quality", type=number_in_range(1, 100, integer=True), default=95,
                            help="JPEG quality (default: 95)")
    parser.add_argument("--overwrite", action="store_true", help=f"replace {outputs} if they exist")
    add_detector_options(parser)


def add_detector_options(parser: argparse.ArgumentParser, max_side: bool = False) -> None:
    """--model and --device (and, for the batch commands, --max-side): what load_detector reads."""
    parser.add_argument("--model", default="compact", metavar="NAME|PATH",
                        help="bundled model name or .pt file (default: compact)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                        help="default: auto (CUDA, MPS, then CPU)")
    if max_side:
        parser.add_argument("--max-side", type=number_in_range(16, 1 << 16, integer=True), metavar="N",
                            help="long side of the working resolution (default: the model's)")


@dataclass
class Edited:
    """What an edit made: the images to write (path, array), in order, and the summary that the
    report line gives after `PHOTO -> OUTPUTS: `. `report`, when set, makes the whole report from
    the timings and the blur map's source instead (deblur --json)."""

    images: list[tuple[Path, Any]]
    summary: str
    report: Callable[[dict[str, float], str], str] | None = None


Edit = Callable[[Any, Any, Any, dict[str, float]], Edited]  # (photo, blur map, extra, timings) -> Edited


def run_edit(args: argparse.Namespace, outputs: list[tuple[Path, tuple[str, ...]]], edit: Edit,
             read_extra: Callable[[Any], Any] | None = None) -> int:
    """The one path of the edit commands: check the inputs and outputs, read the photo (and, with
    `read_extra(photo)`, what else the edit reads), get the blur map, run `edit`, write its images
    (all checked to be writable first; never over an input) and print the report line.

    `edit(photo, blurmap, extra, timings)` records the seconds of its steps in `timings` and raises
    CommandFailed or InputError (a ValueError) to fail. Returns the exit status."""
    try:
        inputs = command_inputs(args)
        check_outputs(outputs, inputs, args.overwrite)
    except CommandFailed as e:
        return fail(args, e.message, e.code)
    # Imported here so that `blurstudio --help` does not wait for NumPy and the engine.
    import numpy as np

    from ..images import check_writable, read_image, write_image

    timings: dict[str, float] = {}
    t = time.perf_counter()
    try:
        photo = read_image(args.photo)
        extra = read_extra(photo) if read_extra is not None else None
    except (ImageError, ValueError) as e:
        return fail(args, str(e))
    timings["read"] = time.perf_counter() - t
    t = time.perf_counter()
    try:
        blurmap, detected_with = blur_map_for(args, photo)
    except CommandFailed as e:
        return fail(args, e.message, e.code)
    timings["blur map"] = time.perf_counter() - t
    try:
        edited = edit(photo, blurmap, extra, timings)
    except CommandFailed as e:
        return fail(args, e.message, e.code)
    except (ValueError, MemoryError) as e:  # InputError, and the rarer ValueErrors of NumPy and OpenCV
        return fail(args, f"{args.photo}: {e}")
    t = time.perf_counter()
    try:
        for path, image in edited.images:  # all can hold their image, or none is written
            check_writable(path, image.shape[:2], inputs)
        written: list[Path] = []
        for path, image in edited.images:
            write_image(path, np.ascontiguousarray(image), quality=getattr(args, "quality", 95), protect=[*inputs, *written])
            written.append(path)
    except ImageError as e:
        return fail(args, str(e))
    timings["write"] = time.perf_counter() - t
    if edited.report is not None:
        print(edited.report(timings, detected_with), flush=True)
        return 0
    steps = ", ".join(f"{name} {seconds:.1f} s" + (f" [{detected_with}]" if name == "blur map" else "")
                      for name, seconds in timings.items())
    names = ", ".join(str(path) for path, _ in edited.images)
    print(f"{args.photo} -> {names}: {edited.summary} ({steps})", flush=True)
    return 0
