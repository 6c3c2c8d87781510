"""The detection lifecycle in the window: detect the open photo in a worker (the newest request
wins), show progress, put the blur map into the document, cache results per photo and settings."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

from blurstudio.blurmap import CLASS_NAMES

from .context import EditorContext
from .detection import DetectionResult, DetectionSettings, DetectorCache, ResultCache, describe_error, run_detection
from .settings import model_available, model_display_name
from .workers import Latest, WorkerJob


class DetectionController(QObject):
    """Runs `run_detection` on the document's photo and owns the status-bar widgets that show it."""

    running_changed = Signal(bool)
    detected = Signal(object)  # the DetectionResult now shown

    def __init__(self, context: EditorContext, settings: DetectionSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.settings = settings
        self.detectors = DetectorCache()
        self.results = ResultCache()
        self.last_result: DetectionResult | None = None
        # One detection at a time: a cancelled run stops at its next check and the next one reuses
        # the model it was loading, instead of loading it again alongside.
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._latest = Latest(partial(context.run_in_pool, self.pool))
        self._key: tuple | None = None  # (content key, settings) of the running detection

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setFixedWidth(160)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.model_label = QLabel()
        self.device_label = QLabel("Device: –")
        self.time_label = QLabel("")
        self.show_model_name()

    def status_widgets(self) -> list[QWidget]:
        """The labels for the status bar (the progress bar goes beside the Cancel button)."""
        return [self.model_label, self.device_label, self.time_label]

    @property
    def job(self) -> WorkerJob | None:
        """The newest detection's job (it may have finished), or None."""
        return self._latest.job

    def is_running(self) -> bool:
        return self._latest.running()

    def show_model_name(self) -> None:
        self.model_label.setText(f"Model: {model_display_name(self.settings.model)}")

    def set_settings(self, settings: DetectionSettings) -> bool:
        """Use new settings; True if they differ from the old ones (the photo should be detected again)."""
        changed = settings != self.settings
        self.settings = settings
        self.show_model_name()
        return changed

    def start(self, force: bool = False) -> bool:
        """Detect blur in the open photo (from the cache unless `force`); False without a model."""
        photo = self.context.photo
        if photo is None:
            return True
        if not model_available(self.settings.model):
            self.context.notify("No model to detect blur with: choose one in Settings.", 8000)
            return False
        key = (self.context.document.content_key(), self.settings)
        cached = None if force else self.results.get(key)
        if cached is not None:
            self._latest.cancel()
            self._set_running(False)
            self._show(cached, from_cache=True)
            return True
        self._key = key
        self._latest.start(
            run_detection, photo, self.settings, self.detectors,
            on_progress=self._progress, cancellable=True, on_result=self._finished, on_error=self._failed,
        )
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Loading model…")  # the first run imports the engine and loads weights
        self.context.notify("Detecting blur…", 0)
        self._set_running(True)
        return True

    def cancel(self) -> None:
        if self.is_running():
            self._latest.cancel()  # the worker stops at its next check; its result is dropped
            self.context.notify("Detection cancelled.", 4000)
            self._set_running(False)

    def _set_running(self, running: bool) -> None:
        if not running:
            self._key = None
        self.progress_bar.setVisible(running)
        self.running_changed.emit(running)

    def _progress(self, fraction: float) -> None:
        self.progress_bar.setFormat("Detecting %p%")
        self.progress_bar.setValue(round(fraction * 100))

    def _finished(self, result: DetectionResult | None) -> None:
        key = self._key
        self._set_running(False)
        if result is None:  # the engine stopped itself
            return
        if key is not None:
            self.results.put(key, result)
        self._show(result, from_cache=False)

    def _failed(self, error: BaseException) -> None:
        self._set_running(False)
        self.context.notify("Blur detection failed.", 8000)
        self.context.report_error(
            "Blur detection failed",
            f"{describe_error(error)}\n\nThe photo stays open; change the model or device in Settings and press F5 to retry.",
        )

    def _show(self, result: DetectionResult, from_cache: bool) -> None:
        photo = self.context.photo
        if photo is None or result.blurmap.shape != photo.shape[:2]:
            return
        self.last_result = result
        self.context.set_blurmap(result.blurmap)
        self.device_label.setText(f"Device: {result.device_name}")
        self.model_label.setText(f"Model: {result.model_name}")
        self.time_label.setText("cached" if from_cache else f"{result.seconds:.1f} s")
        shares = ", ".join(f"{name} {result.fractions[name] * 100:.0f}%" for name in CLASS_NAMES)
        self.context.notify(f"Blur detected: {shares}", 8000)
        self.detected.emit(result)

    def forget_photo(self) -> None:
        """Another photo is opening: stop detecting the old one and forget its result."""
        self._latest.cancel()
        self._set_running(False)
        self.last_result = None
        self.time_label.setText("")

    def wait(self, msecs: int) -> bool:
        return self.pool.waitForDone(msecs)
