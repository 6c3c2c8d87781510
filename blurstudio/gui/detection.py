"""Blur detection for the GUI, without Qt: the settings, `run_detection` (run in a worker by the
`DetectionController`), detectors kept loaded and results cached.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import numpy as np

from blurstudio.blurmap import BlurMap
from blurstudio.errors import BlurStudioError

CACHE_BYTES = 1_500_000_000  # blur maps kept in memory (a 24 MP map is ~290 MB)


@dataclass(frozen=True)
class DetectionSettings:
    """What the result depends on besides the photo."""

    model: str = "compact"  # a bundled model name or a path to a .pt weights file
    device: str = "auto"  # auto, cpu, cuda, mps
    max_side: int | None = None  # working resolution; None = the model card's


@dataclass
class DetectionResult:
    blurmap: BlurMap
    fractions: dict[str, float]
    seconds: float
    device_name: str
    model_name: str
    card: dict = field(default_factory=dict)
    notice: str = ""  # e.g. the out-of-memory fallback to the CPU
    worker_thread: int = 0  # threading.get_ident() of the thread that ran the network


def is_out_of_memory(error: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError, or an older RuntimeError saying the same (no torch import needed)."""
    return type(error).__name__ == "OutOfMemoryError" or "out of memory" in str(error).lower()


class DetectorCache:
    """Loaded detectors by (model, device, max_side); loading happens in the worker thread."""

    def __init__(self, keep: int = 2) -> None:
        self._lock = threading.Lock()
        self._detectors: OrderedDict[tuple, Any] = OrderedDict()
        self.keep = keep

    def get(self, settings: DetectionSettings, device: str | None = None) -> Any:
        from blurstudio.detect import Detector  # torch is imported on first use, in the worker

        key = (settings.model, device or settings.device, settings.max_side)
        with self._lock:
            if key in self._detectors:
                self._detectors.move_to_end(key)
                return self._detectors[key]
        detector = Detector(settings.model, device=key[1], max_side=settings.max_side)
        with self._lock:
            self._detectors[key] = detector
            while len(self._detectors) > self.keep:
                self._detectors.popitem(last=False)
        return detector


class ResultCache:
    """Detection results by (photo key, settings), evicting the oldest beyond a memory budget."""

    def __init__(self, budget_bytes: int = CACHE_BYTES) -> None:
        self.budget = budget_bytes
        self._items: OrderedDict[Hashable, DetectionResult] = OrderedDict()

    def get(self, key: Hashable) -> DetectionResult | None:
        result = self._items.get(key)
        if result is not None:
            self._items.move_to_end(key)
        return result

    def put(self, key: Hashable, result: DetectionResult) -> None:
        self._items[key] = result
        self._items.move_to_end(key)
        while len(self._items) > 1 and sum(r.blurmap.probs.nbytes for r in self._items.values()) > self.budget:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def run_detection(photo: np.ndarray, settings: DetectionSettings, detectors: DetectorCache,
                  progress: Callable[[float], None], cancel: Callable[[], bool]) -> DetectionResult | None:
    """Detect blur in `photo`, in a worker thread; None when `cancel()` stopped it. Every step that
    costs time in proportion to the photo (the network, upsampling, class fractions) runs here."""
    try:
        from blurstudio.detect import Cancelled  # torch is imported on first use, here
    except Exception as e:  # noqa: BLE001 - a broken install must become a message, not a crash
        raise BlurStudioError(f"The detection engine could not be loaded: {e}") from e
    t0 = time.perf_counter()
    try:
        detector = detectors.get(settings)
        notice = ""
        try:
            blurmap = detector(photo, progress=progress, cancel=cancel)
        except Exception as e:  # noqa: BLE001
            if detector.device.type == "cpu" or not is_out_of_memory(e) or cancel():
                raise
            _free_gpu_memory()
            notice = f"The GPU ({detector.device_name}) ran out of memory; this photo was analysed on the CPU instead."
            detector = detectors.get(settings, device="cpu")
            blurmap = detector(photo, progress=progress, cancel=cancel)
    except Cancelled:
        return None
    fractions = blurmap.fractions()  # O(photo) numpy work: here, not on the GUI thread
    return DetectionResult(
        blurmap=blurmap,
        fractions=fractions,
        seconds=time.perf_counter() - t0,
        device_name=detector.device_name,
        model_name=detector.model_name,
        card=dict(detector.card),
        notice=notice,
        worker_thread=threading.get_ident(),
    )


def _free_gpu_memory() -> None:
    try:
        import torch

        torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001 - best effort
        pass


def describe_error(error: BaseException) -> str:
    """A message for the user: ours and ValueErrors say it all; others are named."""
    text = str(error) or type(error).__name__
    if isinstance(error, (BlurStudioError, ValueError)):
        return text
    return f"{type(error).__name__}: {text}"
