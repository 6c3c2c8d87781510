"""The errors Blur Studio raises on purpose, so callers (CLI, GUI) catch them by type.

Each message names the file or setting at fault and, where there is one, the fix.
"""

from __future__ import annotations


class BlurStudioError(Exception):
    """Base of every error Blur Studio reports to a user instead of a traceback."""


class ImageError(BlurStudioError):
    """A photo (or another input or output file) could not be read or written."""


class WeightsError(BlurStudioError, RuntimeError):
    """A weights file or its model card is missing, corrupt or does not fit the architecture."""


class InputError(BlurStudioError, ValueError):
    """An array or setting handed to the engine is not what it must be (shape, type or range): a
    photo, a blur map, a matte, strokes, a setting out of its range. A ValueError too, as before."""


class Cancelled(Exception):
    """A long step stopped because its `cancel` callable returned True (not an error to report)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by the command line's handler: it unwinds like Ctrl-C
    (every `finally` runs, so temporary files go) and exits with status 143 instead of 130."""
