"""Explain: the current image, the selected model and its corrected or predicted mask → ExplainWorker.

The panel draws the result itself (it connects to the worker through `attach`); the canvas
shows the heatmap the panel picks.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from ukan_core.annotation import statuses
from ukan_core.annotation.keys import display_item
from ukan_studio.feedback import Feedback
from ukan_studio.jobs import JobController
from ukan_studio.panels.explain import ExplainPanel
from ukan_studio.panels.models import ModelsPanel
from ukan_studio.session import Session
from ukan_studio.settings import StudioSettings
from ukan_studio.workers.explain import ExplainWorker

KIND = "explain"


class ExplainController(QObject):
    """Builds the Explain request from the session and runs it."""

    def __init__(self, session: Session, jobs: JobController, panel: ExplainPanel, models: ModelsPanel,
                 settings: StudioSettings, feedback: Feedback, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.jobs, self.panel, self.models = session, jobs, panel, models
        self.settings, self.feedback = settings, feedback
        panel.explain_requested.connect(self.explain)
        jobs.failed.connect(self._on_job_failed)

    @Slot()
    def explain(self) -> bool:
        """Explain the current image with the selected model against its corrected or predicted mask."""
        name, model = self.session.current, self.models.current_ref()
        if name is None or self.session.folder is None or self.session.image is None or not model:
            self.feedback.show_error("Explain needs an open image and a segmentation model.")
            return False
        if self.jobs.is_busy(KIND):
            return False
        status, mask = self.session.status(name), self.session.current_mask()
        kind = reference_kind(status) if mask is not None else None
        item = self.session.item(name)
        request = self.panel.make_request(model, item.path, mask.copy() if kind and mask is not None else None,
                                          kind, device=self.settings.device, frame=item.frame,
                                          name=display_item(name))
        worker = ExplainWorker(request)
        self.panel.attach(worker)
        return self.jobs.start(KIND, worker)

    @Slot(str, str)
    def _on_job_failed(self, kind: str, message: str) -> None:
        if kind == KIND:
            self.feedback.show_error(message)


def reference_kind(status: str) -> str | None:
    """What a mask of `status` is to Explain: the user's own work ("corrected"), a prediction, or nothing."""
    rules = statuses.rules(status)
    if not rules.has_mask:
        return None
    return "corrected" if rules.used_by_retrain or not rules.segment_may_overwrite else "predicted"
