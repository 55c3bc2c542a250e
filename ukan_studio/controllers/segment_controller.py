"""Segment (the current image) and Segment all: a SegmentWorker's masks go into the session.

A prediction never replaces the user's own work (corrected, imported, accepted: see `statuses`)
unless the user segments that image explicitly and says yes when asked (it is one Ctrl+Z away
then). Results of a folder that was closed meanwhile are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from ukan_core.annotation import statuses
from ukan_studio.feedback import Feedback
from ukan_studio.jobs import JobController
from ukan_studio.panels.models import ModelsPanel
from ukan_studio.session import Session
from ukan_studio.settings import StudioSettings
from ukan_studio.workers.segment import SegmentWorker

KINDS = ("segment", "segment_all")
NO_MODEL = "No model to segment with: add one in the Model panel."


class SegmentController(QObject):
    """Turns Segment / Segment all into SegmentWorker jobs and their masks into session predictions."""

    nothing_to_do = Signal(str)   # kind: the job was not needed (every image is the user's own work)

    def __init__(self, session: Session, jobs: JobController, models: ModelsPanel, settings: StudioSettings,
                 feedback: Feedback, parent: QObject | None = None, *, trust: Any = None) -> None:
        super().__init__(parent)
        self.session, self.jobs, self.models, self.settings, self.feedback = session, jobs, models, settings, feedback
        self.trust = trust   # a TrustController: takes each job's uncertainty and domain scores
        self._kinds: dict[int, str] = {}
        self._counts: dict[str, int] = {}
        self._folders: dict[str, Path] = {}
        self._may_replace: dict[str, set[str]] = {}   # kind -> user-made masks the user agreed to replace
        jobs.job_ending.connect(self._on_job_ending)
        jobs.failed.connect(self._on_job_failed)

    def is_busy(self) -> bool:
        return any(self.jobs.is_busy(kind) for kind in KINDS)

    @Slot()
    def segment_current(self) -> None:
        """Segment the image on screen; the user's own mask is replaced only if they say so (Undo brings it back)."""
        name, model = self.session.current, self.models.current_ref()
        if name is None or self.session.image is None:
            return
        if not model:
            self.feedback.show_error(NO_MODEL)
            return
        overwrite = not statuses.segment_may_overwrite(self.session.status(name))
        if overwrite and not self.confirm_replace(name):
            self.feedback.show_status(f"Segment cancelled: your mask of {self.session.display(name)} is kept")
            return
        self.segment([name], model, kind="segment", overwrite_corrected=overwrite)

    def confirm_replace(self, name: str) -> bool:
        """Ask before a prediction replaces the user's mask of `name`; the default answer is No."""
        parent = self.parent()
        answer = QMessageBox.question(
            parent if isinstance(parent, QWidget) else None, "Replace your correction?",
            f"Replace your correction of {self.session.display(name)} with the model's mask?\n"
            f"(Undo brings your correction back.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    @Slot()
    def segment_all(self) -> None:
        """Segment every image whose mask Segment all may overwrite (never the user's own work)."""
        model = self.models.current_ref()
        if not model:
            self.feedback.show_error(NO_MODEL)
            return
        names = [n for n in self.session.names if statuses.segment_may_overwrite(self.session.status(n))]
        if not names:
            self.feedback.show_notice("Every image is corrected, imported or accepted; nothing to segment.", "info")
            self.nothing_to_do.emit("segment_all")
            return
        self.segment(names, model, kind="segment_all")

    def segment(self, names: list[str], model: str, *, kind: str = "segment",
                overwrite_corrected: bool = False) -> bool:
        """Segment `names` with `model`; `overwrite_corrected` lets these results replace the user's own masks."""
        folder = self.session.folder
        if folder is None or not names or self.jobs.is_busy(kind):
            return False
        self.session.flush(wait=False)   # corrections are queued before any prediction (one writer, in order)
        self._may_replace[kind] = set(names) if overwrite_corrected else set()
        self._counts[kind] = 0
        self._folders[kind] = folder
        worker = SegmentWorker([(n, *self._file_and_frame(n)) for n in names], model, self.settings.device)
        worker.result.connect(self._on_segment_result)
        worker.skipped.connect(self._on_segment_skipped)
        worker.device_found.connect(self.jobs.device_found)
        if self.trust is not None:
            self.trust.watch(worker)
        self._kinds[id(worker)] = kind
        return self.jobs.start(kind, worker)

    def _file_and_frame(self, name: str) -> tuple[Path, int]:
        item = self.session.item(name)
        return item.path, item.frame

    def cancel(self) -> None:
        """Stop Segment jobs (a new folder is being opened); Retrain carries on."""
        for kind in KINDS:
            self.jobs.cancel(kind)

    @Slot(str, object, str)
    def _on_segment_result(self, name: str, mask: Any, model: str) -> None:
        kind = self._kinds.get(id(self.sender()), "segment")
        if self._folders.get(kind) != self.session.folder:
            return   # another folder was opened meanwhile: this result belongs to the old one
        overwrite = name in self._may_replace.get(kind, ())
        if self.session.set_prediction(name, mask, model, overwrite_corrected=overwrite):
            self._counts[kind] = self._counts.get(kind, 0) + 1

    @Slot(str, str)
    def _on_segment_skipped(self, _name: str, reason: str) -> None:
        self.feedback.show_status(f"Skipped {reason}")

    @Slot(str, str)
    def _on_job_failed(self, kind: str, message: str) -> None:
        if kind in KINDS:
            self.feedback.show_error(message)

    @Slot(str)
    def _on_job_ending(self, kind: str) -> None:
        if kind not in KINDS:
            return
        for key, value in list(self._kinds.items()):
            if value == kind:
                self._kinds.pop(key)
        self._may_replace.pop(kind, None)
        count = self._counts.pop(kind, 0)
        self.feedback.show_status(f"Segmented {count} image{'s' if count != 1 else ''}")
