"""The `blurstudio` command line (the subcommands are in blurstudio/commands/).

This module imports nothing when it loads: a Ctrl-C while Python is still loading the program (a
fresh install compiles every module first) lands inside main's handler, not in a traceback.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 some inputs failed, 2 usage error,
    130 interrupted, 143 terminated, 141 stdout closed)."""
    try:
        from .commands import run
    except KeyboardInterrupt:
        import sys

        print("blurstudio: interrupted", file=sys.stderr)
        return 130
    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
