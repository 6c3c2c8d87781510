"""`blurstudio gui [PHOTO | FOLDER]`: open the desktop app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gui",
        help="open the desktop editor",
        description="Open Blur Studio's window with PHOTO, with FOLDER's photos in a filmstrip, or with the bundled sample photo.",
    )
    p.add_argument("photo", nargs="?", type=Path, metavar="PHOTO | FOLDER",
                   help="photo to open, or folder to show in the filmstrip (default: the sample photo)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from ..gui.app import main as gui_main  # Qt is imported only for this command
    except ImportError as e:
        print(f"blurstudio gui: the desktop app needs PySide6 ({e})", file=sys.stderr)
        return 1
    return gui_main([str(args.photo)] if args.photo is not None else [])
