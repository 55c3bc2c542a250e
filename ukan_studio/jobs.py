"""The window's job bookkeeping: one job per kind, busy state, cancel, and what happened.

The only place that starts workers. The controllers (`ukan_studio.controllers`) build the worker
of their job and hand it to `start`; this object runs it through the WorkerRunner and reports,
per kind, in plain signals that the status bar and the controllers follow. Results arrive
through queued signals on @Slot methods of GUI-thread objects, so state is written by the GUI
thread alone.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, Slot

from ukan_core.progress import Progress
from ukan_studio.workers.base import Worker, WorkerRunner

log = logging.getLogger(__name__)

WARMUP = "warmup"   # the start-up import of torch: not a user job (no progress bar, not cancelled)


class JobController(QObject):
    """Starts jobs (one per kind) and reports what happened in plain signals."""

    job_started = Signal(str)                # kind
    job_ending = Signal(str)                 # kind: its thread is done; controllers wrap up first
    job_finished = Signal(str)               # kind, after its results were applied
    progressed = Signal(str, object)         # kind, Progress
    failed = Signal(str, str)                # kind, one-line message
    cancelled = Signal(str)                  # kind
    device_found = Signal(str)               # device label

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = WorkerRunner(self)
        self.runner.busy_changed.connect(self._on_runner_busy_changed)
        self._kinds: dict[int, str] = {}

    def is_busy(self, kind: str | None = None) -> bool:
        return self.runner.is_busy(kind)

    def user_jobs(self) -> list[str]:
        """Kinds running now, the start-up warm-up left out."""
        return [k for k in self.runner.kinds() if k != WARMUP]

    # -- starting ----------------------------------------------------------------------------
    def start(self, kind: str, worker: Worker) -> bool:
        """Run `worker` as the `kind` job; False (and nothing started) when one is running."""
        if self.runner.is_busy(kind):
            return False
        self._kinds[id(worker)] = kind
        worker.progress.connect(self._on_worker_progress)
        worker.failed.connect(self._on_worker_failed)
        worker.cancelled.connect(self._on_worker_cancelled)
        self.runner.start(kind, worker)
        if kind != WARMUP:
            self.job_started.emit(kind)
        return True

    def cancel(self, kind: str | None = None) -> None:
        """Cancel one job, or every user job (the start-up warm-up carries on)."""
        for running in ([kind] if kind else self.runner.kinds()):
            if running != WARMUP or kind == WARMUP:
                self.runner.cancel(running)

    def shutdown(self) -> None:
        """Cancel every job and wait for its thread (the window is closing)."""
        self.runner.shutdown()

    def _kind_of_sender(self) -> str:
        return self._kinds.get(id(self.sender()), "job")

    # -- results (GUI thread) ----------------------------------------------------------------
    @Slot(object)
    def _on_worker_progress(self, progress: Progress) -> None:
        self.progressed.emit(self._kind_of_sender(), progress)

    @Slot(str)
    def _on_worker_failed(self, message: str) -> None:
        kind = self._kind_of_sender()
        log.warning("%s failed: %s", kind, message)
        self.failed.emit(kind, message)

    @Slot()
    def _on_worker_cancelled(self) -> None:
        self.cancelled.emit(self._kind_of_sender())

    @Slot(str, bool)
    def _on_runner_busy_changed(self, kind: str, busy: bool) -> None:
        if busy:
            return
        for key, value in list(self._kinds.items()):
            if value == kind:
                self._kinds.pop(key)
        if kind != WARMUP:
            self.job_ending.emit(kind)
            self.job_finished.emit(kind)
