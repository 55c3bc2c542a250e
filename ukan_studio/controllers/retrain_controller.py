"""Retrain: the folder's corrections (saved first) → RetrainWorker → report → the selector follows.

As `ukan_core.lineage.finetune_folder` does, the new version goes into the folder's own lineage
(`project_lineage`, its parent recorded) and, when the core selects it (a clear gain beyond the
noise), becomes the model the folder records. The window only shows that choice and never
changes the store's selection itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Slot

from ukan_core.progress import Progress
from ukan_studio.controllers.job_status import cancelled_text
from ukan_studio.feedback import Feedback
from ukan_studio.jobs import JobController
from ukan_studio.panels.models import ModelsPanel
from ukan_studio.panels.retrain import RetrainPanel
from ukan_studio.session import Session
from ukan_studio.settings import StudioSettings
from ukan_studio.workers.retrain import RetrainWorker

KIND = "retrain"


class RetrainController(QObject):
    """Owns one Retrain at a time: its base model, its worker, its report."""

    def __init__(self, session: Session, jobs: JobController, panel: RetrainPanel, models: ModelsPanel,
                 settings: StudioSettings, feedback: Feedback, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.jobs, self.panel, self.models = session, jobs, panel, models
        self.settings, self.feedback = settings, feedback
        self.base = ""   # the model the running (or last) Retrain started from
        self.folder: Path | None = None   # the folder the running (or last) Retrain learns from
        panel.retrain_requested.connect(self.retrain)
        jobs.progressed.connect(self._on_job_progressed)
        jobs.failed.connect(self._on_job_failed)
        jobs.cancelled.connect(self._on_job_cancelled)

    @Slot()
    def retrain_with_panel_budget(self) -> None:
        """The Retrain action: the panel's time budget (minutes)."""
        self.retrain(self.panel.budget_s())

    @Slot(float)
    def retrain(self, budget_s: float, recipe: Any = None) -> bool:
        """Fine-tune the selected model on the folder's corrected images within `budget_s` seconds."""
        model = self.models.current_ref()
        if not model or self.session.folder is None:
            self.feedback.show_error("Retrain needs an open folder and a model.")
            return False
        if not self.session.corrected_items():
            self.feedback.show_error("Retrain needs corrected images: edit some masks first (they turn green).")
            return False
        if self.jobs.is_busy(KIND):
            return False
        from ukan_core.lineage import project_lineage

        self.panel.clear()
        self.base, self.folder = model, self.session.folder
        items = self.session.corrected_items()   # saved first, then a snapshot
        worker = RetrainWorker(model, items, device=self.settings.device, budget_s=budget_s, recipe=recipe,
                               lineage=project_lineage(self.folder))
        worker.succeeded.connect(self.show_report)
        return self.jobs.start(KIND, worker)

    @Slot(object)
    def show_report(self, report: Any) -> None:
        """Show the report; the selector follows the core's choice (a new version is selected only if it
        improved) and a selected version becomes the retrained folder's model."""
        self.panel.show_report(report)
        version = getattr(report, "version", None)
        new_ref = getattr(version, "ref", None)
        shown = shown_ref(new_ref) if new_ref else ""
        here = self.folder is None or self.folder == self.session.folder
        if new_ref and getattr(report, "selected", False):
            self._record_for_folder(new_ref)
            if here:
                self.models.refresh(prefer=new_ref)
            verdict = f"{shown} is now this folder's model; the previous one is one click away (Roll back)."
            kind = "success"
        else:
            if here:
                self.models.refresh(prefer=self.base)
            verdict = (f"{shown} is saved; {shown_ref(self.base)} stays in use "
                       f"(pick {shown} in the Model panel to use it anyway).") if new_ref else \
                "No new version was saved; the previous model stays in use."
            kind = "info"
        report_text = self.panel.add_verdict(verdict)
        self.feedback.show_notice(report_text.replace("\n", " · "), kind, sticky=True)

    def _record_for_folder(self, ref: str) -> None:
        """The folder that was retrained uses `ref` from now on (through the session when it is open)."""
        from ukan_core.errors import UkanError
        from ukan_core.lineage import record_folder_model

        try:
            if self.folder is None or self.folder == self.session.folder:
                self.session.set_model_ref(ref)
            else:   # another folder was opened meanwhile: its own index, not the open session's
                record_folder_model(self.folder, ref)
        except (UkanError, OSError) as exc:
            self.feedback.show_error(f"{ref}: not recorded as the folder's model ({exc})")

    @Slot(str, object)
    def _on_job_progressed(self, kind: str, progress: Progress) -> None:
        if kind == KIND:
            self.panel.show_progress(progress)

    @Slot(str, str)
    def _on_job_failed(self, kind: str, message: str) -> None:
        if kind == KIND:
            message += f" — the previous model ({Path(self.base).stem or 'current'}) is kept"
            self.panel.show_message(message)
            self.feedback.show_error(message)

    @Slot(str)
    def _on_job_cancelled(self, kind: str) -> None:
        if kind == KIND:
            self.panel.show_message(cancelled_text(kind))


def shown_ref(ref: str) -> str:
    """A model as people read it: "mri-brain v1" for a store version, the file name for a file."""
    from ukan_core.lineage import lineage_display

    return Path(ref).name if Path(ref).is_file() else lineage_display(ref)
