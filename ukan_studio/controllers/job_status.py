"""What the window shows of running jobs: the progress bar, the Cancel button and one line per job.

Every job (Segment, Retrain, Explain, Generate, Export, ...) reads alike here; what a job's
results mean is its own controller's business.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from ukan_core.progress import Progress
from ukan_studio.canvas.view import MaskCanvas
from ukan_studio.feedback import Feedback
from ukan_studio.jobs import WARMUP, JobController
from ukan_studio.panels.retrain import progress_text
from ukan_studio.progress_bar import show_progress_on

JOB_TEXT = {"segment": "Segmenting", "segment_all": "Segmenting all images", "retrain": "Retraining",
            "explain": "Explaining", "generate": "Generating", "train_generator": "Training the generator",
            "export": "Exporting masks", "export_model": "Exporting the model"}
CANCEL_NOTES = {"retrain": "; the previous model is kept", "segment": "; masks already predicted are kept",
                "segment_all": "; masks already predicted are kept", "export": "; masks already written are kept"}


def job_text(kind: str) -> str:
    """The words for a job kind ("Retraining")."""
    return JOB_TEXT.get(kind, kind)


def cancelled_text(kind: str) -> str:
    """What a cancelled job left behind, in one line."""
    return f"{job_text(kind)} cancelled{CANCEL_NOTES.get(kind, '')}"


class JobStatus(QObject):
    """Follows the JobController: shows progress, offers Cancel, says how each job ended."""

    job_done = Signal(str)   # kind, once the window shows its outcome

    def __init__(self, jobs: JobController, progress_bar: QProgressBar, cancel_button: QPushButton,
                 device_label: QLabel, canvas: MaskCanvas, feedback: Feedback, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs, self.progress_bar, self.cancel_button = jobs, progress_bar, cancel_button
        self.device_label = device_label
        self.canvas, self.feedback = canvas, feedback
        self._cancelled_kinds: set[str] = set()
        jobs.job_started.connect(self._on_job_started)
        jobs.progressed.connect(self._on_job_progressed)
        jobs.cancelled.connect(self._on_job_cancelled)
        jobs.failed.connect(self._on_job_failed)
        jobs.device_found.connect(self._on_device_found)

    @Slot()
    def cancel(self) -> None:
        """Esc / Cancel: drop the polygon being drawn first; else cancel the running jobs."""
        if self.canvas.cancel_polygon():
            return   # the job runs on
        self.jobs.cancel()
        self.feedback.show_status("Cancelling…", 0)

    @Slot(str)
    def _on_job_started(self, kind: str) -> None:
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat(f"{job_text(kind)} %v/%m")
        self.progress_bar.setVisible(True)
        self.cancel_button.setVisible(True)
        self.feedback.show_status(f"{job_text(kind)}…", 0)

    @Slot(str, object)
    def _on_job_progressed(self, kind: str, progress: Progress) -> None:
        show_progress_on(self.progress_bar, progress)
        text = progress_text(progress) if kind == "retrain" else progress.message
        if text:
            self.feedback.show_status(f"{job_text(kind)}: {text}", 0)

    @Slot(str)
    def on_job_finished(self, kind: str) -> None:
        """Hide the bar when nothing else runs and say how `kind` ended (connected after the controllers)."""
        if not self.jobs.user_jobs():
            self.progress_bar.setVisible(False)
            self.cancel_button.setVisible(False)
        cancelled = kind in self._cancelled_kinds
        self._cancelled_kinds.discard(kind)
        self.feedback.show_status(f"{job_text(kind)} cancelled" if cancelled else f"{job_text(kind)}: done", 5000)
        self.job_done.emit(kind)

    @Slot(str)
    def _on_job_cancelled(self, kind: str) -> None:
        text = cancelled_text(kind)
        self._cancelled_kinds.add(kind)   # not "done" at the end
        self.feedback.show_notice(text, "info")
        self.feedback.show_status(text, 5000)

    @Slot(str, str)
    def _on_job_failed(self, kind: str, message: str) -> None:
        if kind == WARMUP:   # the other jobs' controllers say what their failure means
            self.feedback.show_error(message)

    @Slot(str)
    def _on_device_found(self, label: str) -> None:
        self.device_label.setText(f"Device: {label}")
