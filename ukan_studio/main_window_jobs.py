"""The file and job side of MainWindow (open, export, Segment, Retrain, progress, errors).

A mixin only to keep main_window.py short; it uses the widgets MainWindow builds.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ukan_core.annotation import ExportConflictError
from ukan_core.errors import UkanError
from ukan_core.progress import Progress
from ukan_studio.panels.export_dialog import ask_export_options
from ukan_studio.panels.retrain import progress_text
from ukan_studio.progress_bar import show_progress_on
from ukan_studio.settings import save_settings
from ukan_studio.unsaved_close import close_session_or_ask
from ukan_studio.workers.explain import ExplainWorker
from ukan_studio.workers.generate import GenerateWorker, TrainGeneratorWorker

if TYPE_CHECKING:
    from ukan_studio.main_window import MainWindow

JOB_TEXT = {"segment": "Segmenting", "segment_all": "Segmenting all images", "retrain": "Retraining",
            "explain": "Explaining", "generate": "Generating", "train_generator": "Training the generator"}


class MainWindowJobs:
    """Methods of MainWindow that start jobs and show their outcome."""

    # -- folders -----------------------------------------------------------------------------
    @Slot()
    def _on_open_folder_triggered(self: MainWindow) -> None:
        start = self.settings.recent_folders[0] if self.settings.recent_folders else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", start)
        if folder:
            self.open_folder(folder)

    @Slot()
    def _on_open_samples_triggered(self: MainWindow) -> None:
        if not self.open_samples():
            self._show_error("No bundled sample images were found in this installation.")

    def open_samples(self: MainWindow) -> bool:
        """Open the bundled sample images (first start); False when they are not installed."""
        from ukan_core.assets import samples_dir

        folder = samples_dir()
        if not folder.is_dir() or not any(p.is_file() and not p.name.startswith(".") for p in folder.iterdir()):
            return False
        return self.open_folder(folder)

    def _rebuild_recent_menu(self: MainWindow) -> None:
        self.recent_menu.clear()
        for folder in self.settings.recent_folders:
            action = QAction(folder, self.recent_menu)
            action.setData(folder)
            action.triggered.connect(self._on_recent_triggered)
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(self.settings.recent_folders))

    @Slot()
    def _on_recent_triggered(self: MainWindow) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.open_folder(str(action.data()))

    @Slot()
    def _on_save_now_triggered(self: MainWindow) -> None:
        if self.session.flush():
            self.statusBar().showMessage("All edits saved", 3000)

    @Slot()
    def _on_export_triggered(self: MainWindow) -> None:
        if self.session.store is None:
            return
        start = str(self.session.folder.parent / f"{self.session.folder.name}-masks") if self.session.folder else ""
        options = ask_export_options(self, self.settings.export_folder or start, self.settings.export_mode)
        if options is None:
            return
        self.settings.export_mode = options.mode
        self.settings.export_folder = str(options.out_dir)
        save_settings(self.settings)
        try:
            written = self.export_masks(options.out_dir, scope=options.scope, mode=options.mode)
        except ExportConflictError as exc:
            answer = QMessageBox.question(
                self, "Overwrite masks?",
                f"{len(exc.existing)} file(s) already exist in {options.out_dir}.\nOverwrite them?")
            if answer != QMessageBox.StandardButton.Yes:
                return
            written = self.export_masks(options.out_dir, overwrite=True, scope=options.scope, mode=options.mode)
        except (UkanError, OSError) as exc:
            self._show_error(f"Export failed: {exc}")
            return
        self.notice.show_message(f"Exported {len(written)} mask(s) to {options.out_dir}", "success", sticky=True)

    # -- jobs --------------------------------------------------------------------------------
    @Slot()
    def _on_segment_triggered(self: MainWindow) -> None:
        name, model = self.session.current, self.models_panel.current_ref()
        if name is None or self.session.image is None:
            return
        if not model:
            self._show_error("No model to segment with: add one in the Model panel.")
            return
        overwrite = self.session.status(name) == "corrected"
        if overwrite:   # an explicit request for this image; the prediction is one Ctrl+Z away
            self.notice.show_message(f"{name} was corrected by hand: the new prediction replaces it "
                                     f"(Undo brings your correction back).", "info")
        self.jobs.segment([name], model, self.settings.device, kind="segment", overwrite_corrected=overwrite)

    @Slot()
    def _on_segment_all_triggered(self: MainWindow) -> None:
        model = self.models_panel.current_ref()
        if not model:
            self._show_error("No model to segment with: add one in the Model panel.")
            return
        names = [n for n in self.session.names if self.session.status(n) != "corrected"]
        if not names:
            self.notice.show_message("Every image is corrected; nothing to segment.", "info")
            self.jobFinished.emit("segment_all")
            return
        self.jobs.segment(names, model, self.settings.device, kind="segment_all")

    @Slot()
    def _on_retrain_triggered(self: MainWindow) -> None:
        self._on_retrain_requested(self.retrain_panel.budget.value() * 60.0)

    @Slot(float)
    def _on_retrain_requested(self: MainWindow, budget_s: float) -> None:
        model = self.models_panel.current_ref()
        if not model or self.session.folder is None:
            self._show_error("Retrain needs an open folder and a model.")
            return
        if not self.session.corrected_items():
            self._show_error("Retrain needs corrected images: edit some masks first (they turn green).")
            return
        self.retrain_panel.clear()
        self._retrain_base = model
        self.jobs.retrain(model, self.settings.device, budget_s=budget_s)

    @Slot()
    def _on_explain_requested(self: MainWindow) -> None:
        """Explain the current image with the selected model against its corrected or predicted mask."""
        name, model = self.session.current, self.models_panel.current_ref()
        if name is None or self.session.folder is None or self.session.image is None or not model:
            self._show_error("Explain needs an open image and a segmentation model.")
            return
        if self.jobs.is_busy("explain"):
            return
        status, mask = self.session.status(name), self.session.current_mask()
        kind = status if status in ("corrected", "predicted") and mask is not None else None
        request = self.explain_panel.make_request(model, self.session.folder / name,
                                                  mask.copy() if kind else None, kind, device=self.settings.device)
        worker = ExplainWorker(request)
        self.explain_panel.attach(worker)
        self.jobs.start_panel_job("explain", worker)

    @Slot(object)
    def _on_generate_requested(self: MainWindow, request: Any) -> None:
        if self.jobs.is_busy("generate"):
            return
        worker = GenerateWorker(replace(request, device=self.settings.device))
        self.generate_panel.attach(worker)
        self.jobs.start_panel_job("generate", worker)

    @Slot(object)
    def _on_train_generator_requested(self: MainWindow, request: Any) -> None:
        if self.jobs.is_busy("train_generator"):
            return
        worker = TrainGeneratorWorker(replace(request, device=self.settings.device))
        self.generate_panel.attach_training(worker)
        self.jobs.start_panel_job("train_generator", worker)

    @Slot()
    def _on_cancel_triggered(self: MainWindow) -> None:
        if self.canvas.cancel_polygon():
            return   # Esc drops the polygon being drawn first; the job runs on
        self.jobs.cancel()
        self.statusBar().showMessage("Cancelling…")

    @Slot(str)
    def _on_job_started(self: MainWindow, kind: str) -> None:
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat(f"{JOB_TEXT.get(kind, kind)} %v/%m")
        self.progress_bar.setVisible(True)
        self.cancel_button.setVisible(True)
        self.statusBar().showMessage(f"{JOB_TEXT.get(kind, kind)}…")
        self._update_enabled()

    @Slot(str, object)
    def _on_job_progressed(self: MainWindow, kind: str, progress: Progress) -> None:
        show_progress_on(self.progress_bar, progress)
        text = progress_text(progress) if kind == "retrain" else progress.message
        if text:
            self.statusBar().showMessage(f"{JOB_TEXT.get(kind, kind)}: {text}")
        if kind == "retrain":
            self.retrain_panel.show_progress(progress)

    @Slot(str)
    def _on_job_finished(self: MainWindow, kind: str) -> None:
        if not self.jobs.is_busy() or self.jobs.runner.kinds() == ["warmup"]:
            self.progress_bar.setVisible(False)
            self.cancel_button.setVisible(False)
        cancelled = kind in getattr(self, "_cancelled_kinds", set())
        self._cancelled_kinds = getattr(self, "_cancelled_kinds", set()) - {kind}
        outcome = f"{JOB_TEXT.get(kind, kind)} cancelled" if cancelled else f"{JOB_TEXT.get(kind, kind)}: done"
        self.statusBar().showMessage(outcome, 5000)
        self._update_enabled()
        self.jobFinished.emit(kind)

    @Slot(str, str)
    def _on_job_failed(self: MainWindow, kind: str, message: str) -> None:
        if kind == "retrain":
            message += f" — the previous model ({Path(getattr(self, '_retrain_base', '')).stem or 'current'}) is kept"
            self.retrain_panel.show_message(message)
        self._show_error(message)

    @Slot(str)
    def _on_job_cancelled(self: MainWindow, kind: str) -> None:
        text = f"{JOB_TEXT.get(kind, kind)} cancelled"
        self._cancelled_kinds = getattr(self, "_cancelled_kinds", set()) | {kind}   # not "done" at the end
        if kind == "retrain":
            text += "; the previous model is kept"
            self.retrain_panel.show_message(text)
        elif kind in ("segment", "segment_all"):
            text += "; masks already predicted are kept"
        self.notice.show_message(text, "info")
        self.statusBar().showMessage(text, 5000)

    @Slot(object)
    def _on_retrain_done(self: MainWindow, report: Any) -> None:
        """Show the report; the selector follows the core's choice (a new version is selected only if it improved)."""
        self.retrain_panel.show_report(report)
        version = getattr(report, "version", None)
        new_ref = getattr(version, "ref", None)
        base = getattr(self, "_retrain_base", "")
        if new_ref and getattr(report, "selected", False):
            self.models_panel.refresh(prefer=new_ref)
            verdict = f"New version {new_ref} selected; the previous model is one click away (Roll back)."
            kind = "success"
        else:
            self.models_panel.refresh(prefer=base)
            verdict = (f"The new version {new_ref} did not score better; {Path(base).name} stays selected "
                       f"(pick {new_ref} in the Model panel to use it anyway).") if new_ref else \
                "No new version was saved; the previous model stays selected."
            kind = "info"
        self.retrain_panel.report.setText(self.retrain_panel.report.text() + "\n" + verdict)
        self.notice.show_message(self.retrain_panel.report.text().replace("\n", " · "), kind, sticky=True)

    @Slot(str)
    def _on_job_notice(self: MainWindow, text: str) -> None:
        self.statusBar().showMessage(text, 5000)

    @Slot(str)
    def _on_job_notice_error(self: MainWindow, text: str) -> None:
        self._show_error(text)

    @Slot(str)
    def _on_device_found(self: MainWindow, label: str) -> None:
        self.device_label.setText(f"Device: {label}")

    @Slot(str)
    def _on_model_changed(self: MainWindow, ref: str) -> None:
        self.settings.model = ref
        choice = self.models_panel.current_choice()
        self.model_label.setText(f"Model: {choice.label if choice else 'none'}")
        self._update_enabled()

    @Slot()
    def _on_about_triggered(self: MainWindow) -> None:
        """Versions of the app, torch, Qt, the device and the model in use; Copy puts them on the clipboard."""
        from ukan_studio.about import about_html, about_lines, about_plain

        device = self.device_label.text().removeprefix("Device: ")
        choice = self.models_panel.current_choice()
        model = f"{choice.label} ({choice.ref})" if choice else ""
        rows = about_lines(device, model)
        box = QMessageBox(QMessageBox.Icon.Information, "About UKAN Studio", about_html(rows),
                          QMessageBox.StandardButton.Close, self)
        box.setObjectName("aboutBox")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        copy = box.addButton("Copy", QMessageBox.ButtonRole.ActionRole)
        copy.setObjectName("aboutCopyButton")
        copy.clicked.connect(self._on_about_copy_clicked)
        self._about_text = about_plain(rows)
        box.setModal(False)
        box.show()

    @Slot()
    def _on_about_copy_clicked(self: MainWindow) -> None:
        from PySide6.QtGui import QGuiApplication

        QGuiApplication.clipboard().setText(getattr(self, "_about_text", ""))

    @Slot()
    def show_first_run_hint(self: MainWindow) -> None:
        """The three-step card over the canvas (first start, or Help ▸ Getting Started)."""
        self._update_hint_title()
        self.first_run_hint.show()
        self.first_run_hint.raise_()

    def _update_hint_title(self: MainWindow) -> None:
        from ukan_core.assets import samples_dir

        folder = self.session.folder
        self.first_run_hint.set_on_samples(folder is not None and Path(folder).resolve() == samples_dir().resolve())

    @Slot()
    def _on_first_run_hint_dismissed(self: MainWindow) -> None:
        self.settings.first_run_hint_dismissed = True
        save_settings(self.settings)

    @Slot()
    def _on_shortcuts_triggered(self: MainWindow) -> None:
        from ukan_studio.actions import shortcut_table

        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", shortcut_table(),
                          QMessageBox.StandardButton.Close, self)
        box.setModal(False)
        box.show()   # non-blocking: it can stay open while working

    # -- state -------------------------------------------------------------------------------
    def _show_error(self: MainWindow, text: str) -> None:
        """Errors go to the status bar and a non-blocking bar above the image, never only to a console."""
        self.statusBar().showMessage(text, 15000)
        self.notice.show_message(text, "error")

    def _update_enabled(self: MainWindow) -> None:
        a, s = self.actions, self.session
        has_image = s.image is not None
        has_model = bool(self.models_panel.current_ref())
        busy_segment = self.jobs.is_busy("segment") or self.jobs.is_busy("segment_all")
        a["actionSegment"].setEnabled(has_image and has_model and not busy_segment)
        a["actionSegmentAll"].setEnabled(bool(s.names) and has_model and not busy_segment)
        a["actionRetrain"].setEnabled(s.folder is not None and has_model and not self.jobs.is_busy("retrain"))
        self.retrain_panel.start_button.setEnabled(a["actionRetrain"].isEnabled())
        a["actionCancel"].setEnabled(any(k != "warmup" for k in self.jobs.runner.kinds()))
        a["actionExportMasks"].setEnabled(s.store is not None)
        a["actionClearMask"].setEnabled(has_image)
        a["actionNextImage"].setEnabled(bool(s.names))
        a["actionPrevImage"].setEnabled(bool(s.names))
        a["actionUndo"].setEnabled(s.undo_group.canUndo())
        a["actionRedo"].setEnabled(s.undo_group.canRedo())

    def closeEvent(self: MainWindow, event: QCloseEvent) -> None:
        """Stop jobs, save every edit (asking the user when saves fail) and the settings, then close."""
        self.jobs.shutdown()
        if not close_session_or_ask(self, self.session):
            event.ignore()   # the user kept the window open: nothing is lost
            return
        self.image_model.loader.shutdown()
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode("ascii")
        self.settings.window_state = bytes(self.saveState().toBase64()).decode("ascii")
        save_settings(self.settings)
        event.accept()
