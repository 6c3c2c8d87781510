"""The one progress protocol of the long-running engine steps: a `progress(fraction)` callable and a
`cancel()` callable, both optional, combined by `Reporter`."""

from __future__ import annotations

from typing import Callable

from .errors import Cancelled

Progress = Callable[[float], None]  # called with the fraction done, 0..1
Cancel = Callable[[], bool]  # returns True when the user asked to stop


class Reporter:
    """Forwards progress (clamped to 0..1) and, between steps, raises `Cancelled` when asked to stop.

    `what` names the step in the Cancelled message ("deblur" -> "deblur was cancelled")."""

    def __init__(self, progress: Progress | None, cancel: Cancel | None, what: str) -> None:
        self.progress, self.cancel, self.what = progress, cancel, what

    def __call__(self, fraction: float, check: bool = True) -> None:
        if check and self.cancel is not None and self.cancel():
            raise Cancelled(f"{self.what} was cancelled")
        if self.progress is not None:
            self.progress(float(min(max(fraction, 0.0), 1.0)))

    def part(self, start: float, end: float, check: bool = True) -> Progress:
        """The progress callable of a sub-step, its 0..1 mapped onto start..end of this step."""
        return lambda fraction: self(start + (end - start) * fraction, check)
