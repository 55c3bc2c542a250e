"""At start, in the background: import torch and the engine and find the device (the window is up);
then freeze the objects alive so far out of the garbage collector's full passes."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from ukan_studio.jobs import WARMUP, JobController
from ukan_studio.long_lived import freeze_startup_objects
from ukan_studio.workers.warmup import WarmupWorker


class WarmupController(QObject):
    """Runs the WarmupWorker once; the device label reaches the status bar through the jobs."""

    warmed_up = Signal()   # torch and the engine are imported

    def __init__(self, jobs: JobController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs

    def warm_up(self, device: str) -> bool:
        """Start the warm-up for `device` ("auto", "cpu", "cuda", ...); False when it runs already."""
        worker = WarmupWorker(device)
        worker.succeeded.connect(self._on_warmup_succeeded)
        return self.jobs.start(WARMUP, worker)

    @Slot(object)
    def _on_warmup_succeeded(self, label: object) -> None:
        self.jobs.device_found.emit(str(label))
        freeze_startup_objects()   # torch and the engine are in: later full collections skip them
        self.warmed_up.emit()
