"""Load masks made elsewhere (File ▸ Load masks from folder…, or offered when a folder holds them).

The import (`ukan_core.annotation.importing.import_masks`) runs on a worker because it reads every
mask file. The open folder's edits are saved first; afterwards the folder is opened again so the
list shows the new "imported" statuses. A folder in the official U-KAN layout (images/ + masks/0/)
or with BUSI's `<stem>_mask.png` beside the images is offered for import once; the answer is kept
in the settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ukan_core.io.sniff import IMAGE_EXTENSIONS
from ukan_studio.controllers.folder_controller import FolderController
from ukan_studio.feedback import Feedback
from ukan_studio.jobs import JobController
from ukan_studio.session import Session
from ukan_studio.settings import StudioSettings, save_settings
from ukan_studio.workers.import_masks import ImportMasksWorker

KIND = "import_masks"
MAX_PROBLEMS_SHOWN = 3


def masks_layout(folder: Path) -> str | None:
    """"U-KAN dataset" for images/ + masks/, "BUSI" for <stem>_mask.png beside the images, else None."""
    try:
        if (folder / "images").is_dir() and (folder / "masks").is_dir():
            return "U-KAN dataset"
        for entry in folder.iterdir():
            if entry.is_file() and entry.suffix.lower() in IMAGE_EXTENSIONS and "_mask" in entry.stem:
                return "BUSI"
    except OSError:
        return None
    return None


def ask_to_import(parent: QWidget, folder: Path, layout: str) -> bool:
    """Ask whether to import the masks found in `folder` (a modal Yes/No question)."""
    answer = QMessageBox.question(
        parent, "Import masks?",
        f"{folder.name} holds masks ({layout} layout).\nImport them as \"imported\" masks? "
        "Retrain uses them and Segment all never overwrites them.")
    return answer == QMessageBox.StandardButton.Yes


class ImportController(QObject):
    """Imports masks on a worker, then reopens the folder and says what came in and what was refused."""

    def __init__(self, session: Session, jobs: JobController, folder: FolderController, settings: StudioSettings,
                 feedback: Feedback, dialog_parent: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.jobs, self.folder = session, jobs, folder
        self.settings, self.feedback, self.dialog_parent = settings, feedback, dialog_parent
        self._report = None
        self._show_after: str | None = None   # the image on screen before the import
        self._masks_beside = False            # masks beside the images: they count as images without masks
        jobs.job_ending.connect(self._on_job_ending)
        jobs.failed.connect(self._on_job_failed)
        folder.folder_shown.connect(self._on_folder_shown)

    @Slot()
    def ask_and_load(self) -> None:
        """File ▸ Load masks from folder…: pick the folder of masks for the open folder's images."""
        if self.session.folder is None:
            self.feedback.show_error("Open a folder of images first, then load its masks.")
            return
        masks = QFileDialog.getExistingDirectory(self.dialog_parent, "Load masks from folder",
                                                 str(self.session.folder))
        if masks:
            self.load(self.session.folder, Path(masks))

    def load(self, folder: Path, masks_from: Path | None = None) -> bool:
        """Import the masks for `folder`'s images (from `masks_from`, else found in `folder`); False if busy."""
        if self.jobs.is_busy(KIND):
            return False
        if self.session.read_only:
            self.feedback.show_error(self.session.read_only)
            return False
        if not self.session.flush():   # the store on disk must hold every edit before it is changed
            self.feedback.show_error(f"{folder.name}: masks not loaded, edits could not be saved yet; "
                                     "free space and try again")
            return False
        self._report, self._show_after = None, self.session.current
        self._masks_beside = masks_from is not None and Path(masks_from) == Path(folder)
        worker = ImportMasksWorker(folder, masks_from)
        worker.succeeded.connect(self._on_worker_succeeded)
        return self.jobs.start(KIND, worker)

    @Slot(object)
    def _on_worker_succeeded(self, report: object) -> None:
        self._report = report

    @Slot(str)
    def _on_job_ending(self, kind: str) -> None:
        if kind != KIND or self._report is None:
            return
        report, self._report = self._report, None
        self.folder.open_folder(report.folder, select=self._show_after)   # re-read the statuses
        parts = [f"Imported {report.imported} mask(s)"]
        if report.kept:
            parts.append(f"kept {report.kept} of your own")
        if report.without_mask and not self._masks_beside:
            parts.append(f"{report.without_mask} image(s) without a mask")
        if report.problems:
            more = len(report.problems) - MAX_PROBLEMS_SHOWN
            shown = report.problems[:MAX_PROBLEMS_SHOWN] + ([f"and {more} more"] if more > 0 else [])
            self.feedback.show_notice(f"{', '.join(parts)}; refused {len(report.problems)}: " + " · ".join(shown),
                                      "error", sticky=True)
        else:
            self.feedback.show_notice(", ".join(parts), "success", sticky=True)

    @Slot(str, str)
    def _on_job_failed(self, kind: str, message: str) -> None:
        if kind == KIND:
            self.feedback.show_error(f"Load masks failed: {message}")

    @Slot()
    def _on_folder_shown(self) -> None:
        folder = self.session.folder
        if folder is None or self.jobs.is_busy(KIND) or str(folder) in self.settings.mask_import_answers:
            return
        if masks_layout(folder) is not None:
            QTimer.singleShot(0, self, self._offer_import)   # once the folder is on screen

    @Slot()
    def _offer_import(self) -> None:
        """Ask once per folder whether to import the masks it holds; remember the answer."""
        folder = self.session.folder
        layout = None if folder is None else masks_layout(folder)
        if folder is None or layout is None or str(folder) in self.settings.mask_import_answers:
            return
        yes = ask_to_import(self.dialog_parent, folder, layout)
        self.settings.mask_import_answers[str(folder)] = yes
        save_settings(self.settings)
        if yes:   # BUSI masks are named from the folder itself: its own store must not hide them
            self.load(folder, folder if layout == "BUSI" else None)
