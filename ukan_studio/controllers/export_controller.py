"""Export masks: ask where and how, save pending edits, then write the masks (PNG, NIfTI or DICOM SEG) on a worker.

The session flushes on the GUI thread first; the ExportMasksWorker (the core export) writes file by file with
progress and Cancel. When files exist already nothing is written until the user says
"Overwrite"; then the export runs again with overwrite on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from ukan_core.errors import UkanError
from ukan_studio.feedback import Feedback
from ukan_studio.jobs import JobController
from ukan_studio.panels.export_dialog import ask_export_options
from ukan_studio.panels.image_list import ImageListView
from ukan_studio.session import Session
from ukan_studio.session_export import export_scope_names
from ukan_studio.settings import StudioSettings, save_settings
from ukan_studio.workers.export_masks import ExportMasksWorker, ExportOutcome

KIND = "export"


@dataclass(frozen=True)
class _Export:
    """One export the user asked for (kept to run it again with overwrite)."""

    out_dir: Path
    names: list[str]
    mode: str
    format: str = "png"


class ExportController(QObject):
    """File ▸ Export masks: the options dialog, the overwrite question, the worker, the report."""

    def __init__(self, session: Session, jobs: JobController, image_list: ImageListView,
                 settings: StudioSettings, feedback: Feedback, dialog_parent: QWidget,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.jobs, self.image_list = session, jobs, image_list
        self.settings, self.feedback, self.dialog_parent = settings, feedback, dialog_parent
        self._running: _Export | None = None
        self._format = "png"   # the format chosen last in this window
        self._outcome: ExportOutcome | None = None
        self._conflict: tuple[_Export, ExportOutcome] | None = None
        jobs.failed.connect(self._on_job_failed)
        jobs.job_ending.connect(self._on_job_ending)

    @Slot()
    def ask_and_export(self) -> None:
        """Ask for the folder, naming and scope, then export (the action of File ▸ Export masks)."""
        folder = self.session.folder
        if self.session.store is None or folder is None:
            return
        start = str(folder.parent / f"{folder.name}-masks")
        options = ask_export_options(self.dialog_parent, self.settings.export_folder or start,
                                     self.settings.export_mode, self._format)
        if options is None:
            return
        self.settings.export_mode = options.mode
        self.settings.export_folder = str(options.out_dir)
        save_settings(self.settings)
        self._format = options.format
        self.export(options.out_dir, scope=options.scope, mode=options.mode, format=options.format)

    def export(self, out_dir: str | Path, *, scope: str = "all", mode: str = "binary", format: str = "png") -> bool:
        """Save pending edits, then write the masks of `scope` into `out_dir` in `format` on a worker."""
        if self.session.store is None or self.jobs.is_busy(KIND):
            return False
        self.session.flush()   # on the GUI thread, before the worker reads the files
        selected = self.image_list.selected_names() if scope == "selected" else None
        try:
            names = export_scope_names(self.session, scope, selected)
        except UkanError as exc:
            self.feedback.show_error(f"Export failed: {exc}")
            return False
        return self._start(_Export(Path(out_dir), names, mode, format), overwrite=False)

    def _start(self, job: _Export, *, overwrite: bool) -> bool:
        store = self.session.store
        assert store is not None
        worker = ExportMasksWorker(store, job.names, job.out_dir, mode=job.mode, overwrite=overwrite, format=job.format)
        worker.succeeded.connect(self._on_export_succeeded)
        self._running, self._outcome = job, None
        return self.jobs.start(KIND, worker)

    @Slot(object)
    def _on_export_succeeded(self, outcome: ExportOutcome) -> None:
        self._outcome = outcome

    @Slot(str)
    def _on_job_ending(self, kind: str) -> None:
        """The worker's thread is done: report, or (once the job has ended) ask about existing files."""
        if kind != KIND or self._running is None:
            return
        job, outcome = self._running, self._outcome
        self._running, self._outcome = None, None
        if outcome is None:
            return   # failed or cancelled: said already
        if outcome.conflicts:
            self._conflict = (job, outcome)
            QTimer.singleShot(0, self, self._ask_to_overwrite)   # after the window has shown this job's end
            return
        self.session.tell_renamed_exports(job.names)
        self.feedback.show_notice(f"Exported {len(outcome.written)} mask(s) to {job.out_dir}", "success",
                                  sticky=True)

    @Slot()
    def _ask_to_overwrite(self) -> None:
        """Nothing was written: export again with overwrite only if the user says so."""
        if self._conflict is None:
            return
        (job, outcome), self._conflict = self._conflict, None
        answer = QMessageBox.question(
            self.dialog_parent, "Overwrite masks?",
            f"{len(outcome.conflicts)} file(s) already exist in {job.out_dir}.\nOverwrite them?")
        if answer == QMessageBox.StandardButton.Yes:
            self._start(job, overwrite=True)

    @Slot(str, str)
    def _on_job_failed(self, kind: str, message: str) -> None:
        if kind == KIND:
            self.feedback.show_error(f"Export failed: {message}")
