"""Turns "Segment", "Segment all" and "Retrain" into worker jobs and their results into state.

The only place that creates workers. Results arrive through queued signals on @Slot methods of
this GUI-thread object, so the session is written by the GUI thread alone.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from ukan_core.progress import Progress
from ukan_studio.session import Session
from ukan_studio.workers.base import Worker, WorkerRunner
from ukan_studio.workers.retrain import RetrainWorker
from ukan_studio.workers.segment import SegmentWorker
from ukan_studio.workers.warmup import WarmupWorker

log = logging.getLogger(__name__)


class JobController(QObject):
    """Starts jobs (one per kind) and reports what happened in plain signals for the window."""

    job_started = Signal(str)                # kind
    job_finished = Signal(str)               # kind, after its results were applied
    progressed = Signal(str, object)         # kind, Progress
    failed = Signal(str, str)                # kind, one-line message
    cancelled = Signal(str)                  # kind
    notice = Signal(str)                     # a one-line message for the status bar
    device_found = Signal(str)               # device label
    retrain_done = Signal(object)            # the engine's FinetuneReport
    warmed_up = Signal()                     # torch and the engine are imported

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = WorkerRunner(self)
        self.runner.busy_changed.connect(self._on_runner_busy_changed)
        self._kinds: dict[int, str] = {}
        self._segment_counts: dict[str, int] = {}
        self._segment_folders: dict[str, object] = {}
        self._overwrite_corrected = False

    def is_busy(self, kind: str | None = None) -> bool:
        return self.runner.is_busy(kind)

    # -- starting ----------------------------------------------------------------------------
    def warm_up(self, device: str) -> None:
        """Import torch and find the device in the background (the window is already up)."""
        worker = WarmupWorker(device)
        worker.succeeded.connect(self._on_warmup_succeeded)
        self._start("warmup", worker)

    def segment(self, names: list[str], model: str, device: str, *, kind: str = "segment",
                overwrite_corrected: bool = False) -> bool:
        """Segment `names` with `model`; "segment_all" callers pass only uncorrected names."""
        folder = self.session.folder
        if folder is None or not names or self.runner.is_busy(kind):
            return False
        self.session.flush(wait=False)   # corrections are queued before any prediction (one writer, in order)
        self._overwrite_corrected = overwrite_corrected
        self._segment_counts[kind] = 0
        self._segment_folders[kind] = folder
        worker = SegmentWorker([(n, folder / n) for n in names], model, device)
        worker.result.connect(self._on_segment_result)
        worker.skipped.connect(self._on_segment_skipped)
        worker.device_found.connect(self._on_worker_device_found)
        self._start(kind, worker)
        return True

    def retrain(self, base: str, device: str, budget_s: float | None = None, recipe: Any = None) -> bool:
        """Fine-tune `base` on the folder's corrected images (saved first)."""
        if self.session.folder is None or self.runner.is_busy("retrain"):
            return False
        items = self.session.corrected_items()   # saved first, then a snapshot
        worker = RetrainWorker(base, items, device=device, budget_s=budget_s, recipe=recipe)
        worker.succeeded.connect(self._on_retrain_succeeded)
        self._start("retrain", worker)
        return True

    def start_panel_job(self, kind: str, worker: Worker) -> bool:
        """Run a worker whose panel shows its results itself (Explain, Generate, Train generator)."""
        if self.runner.is_busy(kind):
            return False
        self._start(kind, worker)
        return True

    def cancel(self, kind: str | None = None) -> None:
        """Cancel one job, or every user job (the start-up warm-up carries on)."""
        for running in ([kind] if kind else self.runner.kinds()):
            if running != "warmup" or kind == "warmup":
                self.runner.cancel(running)

    def cancel_segmenting(self) -> None:
        """Stop Segment jobs (a new folder is being opened); Retrain carries on."""
        for kind in ("segment", "segment_all"):
            self.runner.cancel(kind)

    def shutdown(self) -> None:
        self.runner.shutdown()

    def _start(self, kind: str, worker: Worker) -> None:
        self._kinds[id(worker)] = kind
        worker.progress.connect(self._on_worker_progress)
        worker.failed.connect(self._on_worker_failed)
        worker.cancelled.connect(self._on_worker_cancelled)
        self.runner.start(kind, worker)
        if kind != "warmup":
            self.job_started.emit(kind)

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

    @Slot(str, object, str)
    def _on_segment_result(self, name: str, mask: Any, model: str) -> None:
        kind = self._kind_of_sender()
        if self._segment_folders.get(kind) != self.session.folder:
            return   # another folder was opened meanwhile: this result belongs to the old one
        if self.session.set_prediction(name, mask, model, overwrite_corrected=self._overwrite_corrected):
            self._segment_counts[kind] = self._segment_counts.get(kind, 0) + 1

    @Slot(str, str)
    def _on_segment_skipped(self, name: str, reason: str) -> None:
        self.notice.emit(f"Skipped {reason}")

    @Slot(str)
    def _on_worker_device_found(self, label: str) -> None:
        self.device_found.emit(label)

    @Slot(object)
    def _on_warmup_succeeded(self, label: object) -> None:
        self.device_found.emit(str(label))
        self.warmed_up.emit()

    @Slot(object)
    def _on_retrain_succeeded(self, report: object) -> None:
        self.retrain_done.emit(report)

    @Slot(str, bool)
    def _on_runner_busy_changed(self, kind: str, busy: bool) -> None:
        if busy:
            return
        for key, value in list(self._kinds.items()):
            if value == kind:
                self._kinds.pop(key)
        if kind.startswith("segment"):
            count = self._segment_counts.pop(kind, 0)
            self.notice.emit(f"Segmented {count} image{'s' if count != 1 else ''}")
        if kind != "warmup":
            self.job_finished.emit(kind)
