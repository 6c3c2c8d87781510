"""Progress reporting with cooperative cancellation, shared by the long-running engine steps."""

from __future__ import annotations

from typing import Callable

Progress = Callable[[float], None]  # called with the fraction done, 0..1
Cancel = Callable[[], bool]  # returns True when the user asked to stop


class Reporter:
    """Forwards progress (clamped to 0..1) and, between steps, raises `cancelled` when asked to stop."""

    def __init__(self, progress: Progress | None, cancel: Cancel | None, cancelled: Exception) -> None:
        self.progress, self.cancel, self.cancelled = progress, cancel, cancelled

    def __call__(self, fraction: float, check: bool = True) -> None:
        if check and self.cancel is not None and self.cancel():
            raise self.cancelled
        if self.progress is not None:
            self.progress(float(min(max(fraction, 0.0), 1.0)))
