"""Which actions can run now: Segment needs an image and a model, Retrain a folder, Cancel a job, ..."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from ukan_studio.actions import Actions
from ukan_studio.jobs import JobController
from ukan_studio.panels.models import ModelsPanel
from ukan_studio.panels.retrain import RetrainPanel
from ukan_studio.session import Session


class ActionStates(QObject):
    """Enables and disables the window's actions from the session, the model choice and the jobs."""

    def __init__(self, actions: Actions, session: Session, jobs: JobController, models: ModelsPanel,
                 retrain_panel: RetrainPanel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.actions, self.session, self.jobs, self.models, self.retrain_panel = (
            actions, session, jobs, models, retrain_panel)

    @Slot(object, str)
    def on_status_changed(self, name: object, _status: str) -> None:
        """A status changed: Accept Mask depends on the current image's."""
        if name == self.session.current:
            self.update()

    @Slot()
    @Slot(str)
    def update(self, _why: str = "") -> None:
        """Enable each action that can run now (called when the image, the model or a job changes)."""
        a, s = self.actions, self.session
        has_image = s.image is not None
        has_model = bool(self.models.current_ref())
        busy_segment = self.jobs.is_busy("segment") or self.jobs.is_busy("segment_all")
        a["actionSegment"].setEnabled(has_image and has_model and not busy_segment)
        a["actionSegmentAll"].setEnabled(bool(s.names) and has_model and not busy_segment)
        a["actionRetrain"].setEnabled(s.folder is not None and has_model and not self.jobs.is_busy("retrain"))
        self.retrain_panel.start_button.setEnabled(a["actionRetrain"].isEnabled())
        a["actionCancel"].setEnabled(bool(self.jobs.user_jobs()))
        a["actionExportMasks"].setEnabled(s.store is not None and not self.jobs.is_busy("export"))
        a["actionClearMask"].setEnabled(has_image)
        a["actionAcceptMask"].setEnabled(s.can_accept())
        a["actionNextImage"].setEnabled(bool(s.names))
        a["actionPrevImage"].setEnabled(bool(s.names))
        a["actionUndo"].setEnabled(s.undo_group.canUndo())
        a["actionRedo"].setEnabled(s.undo_group.canRedo())
