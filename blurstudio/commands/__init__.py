"""Subcommands of the `blurstudio` command line, one module each, and the parser that joins them
(run by blurstudio/cli.py).

Each command module has `register(subparsers)` (which calls `set_defaults(func=run)`) and
`run(args) -> int`. To add a command, add its module name to COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from .. import __version__
from ..errors import Terminated

COMMANDS = (
    "detect",
    "select",
    "magnify",
    "deblur",
    "cull",
    "gui",
)

EXAMPLES = """\
examples:
  blurstudio detect photo.jpg                      masks next to the photo
  blurstudio detect shoot/ -r -o masks/ --json     a whole folder tree, fractions as JSON
  blurstudio detect "holiday/*.jpg" --device cuda  a glob, on the GPU
  blurstudio detect --help                         options of one command
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blurstudio",
        description="Find and edit motion and defocus blur in photos (Kim et al. 2018 blur detection).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"blurstudio {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _command_module(name)
        if module is not None:
            module.register(subparsers)
    return parser


def _command_module(name: str):
    """The module blurstudio.commands.NAME, or None while it is not written yet."""
    full = f"{__package__}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as e:
        if e.name == full:
            return None
        raise


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def run(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 some inputs failed, 2 usage error,
    130 interrupted by Ctrl-C, 143 by SIGTERM). Either signal unwinds the command, so its
    temporary files are removed; output already complete stays."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        parser = build_parser()  # imports the command modules: part of the interruptible start-up
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # argparse exits 2 on usage errors, 0 for --help/--version
            return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        if getattr(args, "func", None) is None:
            parser.print_help(sys.stderr)
            return 2
        from .common import CommandFailed

        try:
            code = int(args.func(args))
        except CommandFailed as e:  # the one way a command reports that it cannot go on
            print(f"blurstudio {args.command}: {e.message}", file=sys.stderr)
            code = e.code
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except Terminated:
        print("blurstudio: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("blurstudio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (`blurstudio detect --json | head`): say nothing more and
        # point stdout at /dev/null, so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
