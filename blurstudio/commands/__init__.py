"""Subcommands of the `blurstudio` command line; see blurstudio/cli.py."""
