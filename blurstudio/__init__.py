"""Blur Studio: find and edit blur in photographs (Kim et al. 2018 blur detection)."""

__version__ = "0.1.0"
