"""Work off the GUI thread: the one job mechanism of the GUI, and "newest result wins".

`JobRunner.start` runs a function in a QThreadPool as a `WorkerJob`; its callbacks run on the GUI
thread. `Latest` keeps only the newest of a series of jobs (a preview redrawn as a slider moves, the
overlay, detection): starting one cancels the one before, so a slow old result never replaces a
new one.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


class WorkerJob(QObject):
    """A function running in a thread pool. It lives on the GUI thread, so the worker's signals are
    queued to it and the callbacks run on the GUI thread."""

    result = Signal(object)
    error = Signal(object)  # the exception
    progress = Signal(float)
    finished = Signal()

    def __init__(
        self,
        on_result: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None],
        on_progress: Callable[[float], None] | None,
        on_done: Callable[["WorkerJob"], None],
    ) -> None:
        super().__init__()
        self.discarded = False
        self.running = True  # until the function has returned and its result is being delivered
        self._cancel = threading.Event()
        self._on_result, self._on_error, self._on_progress, self._on_done = on_result, on_error, on_progress, on_done
        self.result.connect(self._deliver)
        self.error.connect(self._fail)
        self.progress.connect(self._report)
        self.finished.connect(self._done)

    def discard(self) -> None:
        """Forget the result (the function still runs to its end; see `cancel`)."""
        self.discarded = True

    def cancel(self) -> None:
        """Forget the result, and ask the function to stop early if it was started `cancellable`."""
        self._cancel.set()
        self.discarded = True

    def is_cancelled(self) -> bool:
        """The `cancel` callable a cancellable function receives (read from the worker thread)."""
        return self._cancel.is_set()

    @Slot(object)
    def _deliver(self, value: Any) -> None:
        self.running = False  # first: a callback that asks whether the job still runs gets "no"
        if not self.discarded and self._on_result is not None:
            self._on_result(value)

    @Slot(object)
    def _fail(self, exc: BaseException) -> None:
        self.running = False
        if not self.discarded:
            self._on_error(exc)

    @Slot(float)
    def _report(self, fraction: float) -> None:
        if not self.discarded and self._on_progress is not None:
            self._on_progress(fraction)

    @Slot()
    def _done(self) -> None:
        self._on_done(self)


class _Runnable(QRunnable):
    def __init__(self, job: WorkerJob, fn: Callable, args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.job, self.fn, self.args, self.kwargs = job, fn, args, kwargs
        self.setAutoDelete(True)

    def run(self) -> None:  # worker thread
        try:
            value = self.fn(*self.args, **self.kwargs)
        except BaseException as e:  # noqa: BLE001 - every failure must reach the GUI, never crash the app
            e.traceback_text = traceback.format_exc()  # type: ignore[attr-defined]
            self.job.error.emit(e)
        else:
            self.job.result.emit(value)
        finally:
            self.fn = self.args = self.kwargs = None  # do not keep the inputs (photos) alive
            self.job.finished.emit()


class JobRunner:
    """Starts jobs and keeps each one alive until its last signal has been delivered."""

    def __init__(self) -> None:
        self._jobs: set[WorkerJob] = set()
        self._lock = threading.Lock()

    def start(
        self,
        pool: QThreadPool,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None],
        on_progress: Callable[[float], None] | None = None,
        cancellable: bool = False,
        **kwargs: Any,
    ) -> WorkerJob:
        """Run fn(*args, **kwargs) on `pool`. With `on_progress`, fn also gets `progress=` (a callable
        taking the fraction done); with `cancellable`, `cancel=` (a callable that returns True once
        the job is cancelled, for fn to check between steps)."""
        job = WorkerJob(on_result, on_error, on_progress, self._release)
        if on_progress is not None:
            kwargs["progress"] = job.progress.emit
        if cancellable:
            kwargs["cancel"] = job.is_cancelled
        with self._lock:
            self._jobs.add(job)  # the QObject must outlive the worker's queued signals
        pool.start(_Runnable(job, fn, args, kwargs))
        return job

    def discard_all(self) -> None:
        """Drop the results of every job not yet delivered (e.g. the window is closing)."""
        with self._lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.discard()

    def _release(self, job: WorkerJob) -> None:
        with self._lock:
            self._jobs.discard(job)


class Latest:
    """Newest result wins: `start` cancels the job this object started before, so only the newest
    job's callbacks run. `run` starts a job, e.g. `context.run_in_worker`."""

    def __init__(self, run: Callable[..., WorkerJob]) -> None:
        self._run = run
        self.job: WorkerJob | None = None

    def start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> WorkerJob:
        """`run(fn, *args, **kwargs)` after cancelling the previous job."""
        self.cancel()
        self.job = self._run(fn, *args, **kwargs)
        return self.job

    def cancel(self) -> None:
        """Cancel the current job (its result is dropped); nothing runs afterwards."""
        if self.job is not None:
            self.job.cancel()
            self.job = None

    def running(self) -> bool:
        """The newest job has not delivered its result yet."""
        return self.job is not None and self.job.running
