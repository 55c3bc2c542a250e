"""Generate images (GenerateWorker) and train a generator (TrainGeneratorWorker) for the Generate panel.

The panel builds complete requests; this controller adds the device of the settings, runs the
worker and lets the panel show its preview, progress and result (`attach`, `attach_training`).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, Slot

from ukan_studio.feedback import Feedback
from ukan_studio.job_data import GenerateRequest, TrainGeneratorRequest
from ukan_studio.jobs import JobController
from ukan_studio.panels.generate import GeneratePanel
from ukan_studio.settings import StudioSettings
from ukan_studio.workers.generate import GenerateWorker, TrainGeneratorWorker

KINDS = ("generate", "train_generator")


class GenerateController(QObject):
    """Runs the Generate panel's two jobs, one of each at a time."""

    def __init__(self, jobs: JobController, panel: GeneratePanel, settings: StudioSettings, feedback: Feedback,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs, self.panel, self.settings, self.feedback = jobs, panel, settings, feedback
        panel.generate_requested.connect(self.generate)
        panel.train_requested.connect(self.train_generator)
        jobs.failed.connect(self._on_job_failed)

    @Slot(object)
    def generate(self, request: GenerateRequest) -> bool:
        """Sample images (or pairs) with the request's generator on the settings' device."""
        if self.jobs.is_busy("generate"):
            return False
        worker = GenerateWorker(replace(request, device=self.settings.device))
        self.panel.attach(worker)
        return self.jobs.start("generate", worker)

    @Slot(object)
    def train_generator(self, request: TrainGeneratorRequest) -> bool:
        """Train (or continue) a generator on a folder within the request's time budget."""
        if self.jobs.is_busy("train_generator"):
            return False
        worker = TrainGeneratorWorker(replace(request, device=self.settings.device))
        self.panel.attach_training(worker)
        return self.jobs.start("train_generator", worker)

    @Slot(str, str)
    def _on_job_failed(self, kind: str, message: str) -> None:
        if kind in KINDS:
            self.feedback.show_error(message)
