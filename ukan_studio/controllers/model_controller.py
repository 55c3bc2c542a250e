"""The Model panel's jobs: select a stored version, roll back, export a version (on a worker).

The panel shows the choices and asks; this controller is the only part of the window that
writes the model store's selection, and it runs the export (`ukan_core.model_export`) through
the window's JobController so the progress bar and Cancel cover it like every other job.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QLabel

from ukan_core.errors import UkanError
from ukan_studio.jobs import JobController
from ukan_studio.panels.models import ModelsPanel
from ukan_studio.settings import StudioSettings
from ukan_studio.workers.export_model import ExportModelWorker

KIND = "export_model"


class ModelController(QObject):
    """Writes the panel's choices into the model store and exports versions."""

    def __init__(self, panel: ModelsPanel, jobs: JobController, *, settings: StudioSettings | None = None,
                 model_label: QLabel | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.panel, self.jobs, self.settings, self.model_label = panel, jobs, settings, model_label
        self._export_ref = ""
        panel.model_changed.connect(self._on_model_changed)
        panel.version_chosen.connect(self.select_version)
        panel.rollback_requested.connect(self.roll_back)
        panel.export_requested.connect(self._on_export_requested)
        jobs.job_ending.connect(self._on_job_ending)

    @Slot(str)
    def _on_model_changed(self, ref: str) -> None:
        """The settings remember the choice; the status bar names it."""
        if self.settings is not None:
            self.settings.model = ref
        if self.model_label is not None:
            choice = self.panel.current_choice()
            self.model_label.setText(f"Model: {choice.label if choice else 'none'}")

    @Slot(str, str)
    def select_version(self, name: str, version: str) -> None:
        """Make `name/version` the store's selected version (what `ukan segment --model name` uses)."""
        from ukan_core.store import ModelStore

        try:
            ModelStore().select(name, version)
        except UkanError as exc:
            self.panel.report_failure(str(exc))

    @Slot(str)
    def roll_back(self, name: str) -> None:
        """Select the previous version of `name` (the newer one stays in the store)."""
        from ukan_core.store import ModelStore

        choice = self.panel.current_choice()
        label = choice.label if choice is not None else name
        try:
            ModelStore().rollback(name)
        except UkanError as exc:
            self.panel.report_failure(str(exc))
            return
        self.panel.show_rolled_back(name, label)

    def export(self, path: str | Path, fmt: str | None = None, *, overwrite: bool = False) -> bool:
        """Export the panel's selected store version to `path` on a worker; False (and a failure) when it cannot start."""
        from ukan_core.model_export import export_format
        from ukan_core.onnx_support import missing_onnx_packages, require_onnx

        choice = self.panel.current_choice()
        if choice is None or choice.version is None:
            self.panel.report_failure("Export: choose a stored or bundled model version first")
            return False
        if self.jobs.is_busy(KIND):
            return False
        try:
            chosen = export_format(Path(path), fmt)
            if chosen == "onnx" and missing_onnx_packages(export=True):
                require_onnx("ONNX export", export=True)
        except UkanError as exc:
            self.panel.report_failure(str(exc))
            return False
        worker = ExportModelWorker(choice.name, choice.version, path, chosen, overwrite=overwrite)
        worker.succeeded.connect(self._on_export_succeeded)
        worker.failed.connect(self._on_export_failed)
        self._export_ref = choice.ref
        self.panel.show_export_started(choice.ref)
        return self.jobs.start(KIND, worker)

    @Slot(object, object, bool)
    def _on_export_requested(self, path: object, fmt: object, overwrite: bool) -> None:
        self.export(Path(str(path)), str(fmt) if fmt else None, overwrite=overwrite)

    @Slot(object)
    def _on_export_succeeded(self, result: object) -> None:
        self.panel.show_export_done(f"Exported {self._export_ref} -> {result.file} "   # type: ignore[attr-defined]
                                    f"(model card: {result.card.name})")          # type: ignore[attr-defined]

    @Slot(str)
    def _on_export_failed(self, message: str) -> None:
        self.panel.show_export_failed(message)

    @Slot(str)
    def _on_job_ending(self, kind: str) -> None:
        if kind == KIND:
            self.panel.show_export_finished()
