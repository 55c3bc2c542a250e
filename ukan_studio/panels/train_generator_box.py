"""The Generate panel's "Train a generator" group: settings for training a Diffusion U-KAN on a folder.

The box emits `train_requested` with a complete TrainGeneratorRequest; the generate controller starts the worker
and `attach_training`s it here. When a run saves a generator the box emits `generator_saved` with
its store reference so the panel can offer and choose it. No torch here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QProgressBar, QPushButton, QSpinBox, QWidget,
)

from ukan_core.models.registry import GENERATOR_PRESETS
from ukan_core.progress import Progress
from ukan_studio.progress_bar import show_progress_on
from ukan_studio.job_data import TrainGeneratorRequest


def choose_folder(parent: QWidget, title: str, start: str) -> str:
    """Ask for the folder to train on (tests replace this function)."""
    return QFileDialog.getExistingDirectory(parent, title, start)


class TrainGeneratorBox(QGroupBox):
    """Name, size, steps and time budget of a new generator; start / stop a run and show its progress."""

    train_requested = Signal(object)   # TrainGeneratorRequest
    generator_saved = Signal(str)      # the store reference of the new generator ("" if the run named none)

    def __init__(self, current_generator: Callable[[], str], parent: QWidget | None = None) -> None:
        """`current_generator` gives the generator chosen in the panel (for "Continue from the chosen generator")."""
        super().__init__("Train a generator", parent)
        self._current_generator = current_generator
        self.folder: Path | None = None
        self._trainer: Any = None
        self._build()
        self._set_training(False)

    def _build(self) -> None:
        self.train_name = QLineEdit("generator", self)
        self.train_name.setObjectName("trainGeneratorName")
        self.train_pairs = QCheckBox("Learn masks too (image + mask pairs)", self)
        self.train_size = QComboBox(self)
        for preset in GENERATOR_PRESETS:
            self.train_size.addItem(preset, preset)
        self.train_continue = QCheckBox("Continue from the chosen generator", self)
        self.train_steps = QSpinBox(self)
        self.train_steps.setObjectName("trainGeneratorSteps")
        self.train_steps.setRange(1, 1_000_000)
        self.train_steps.setValue(2000)
        self.train_budget = QDoubleSpinBox(self)
        self.train_budget.setRange(0.05, 24 * 60.0)
        self.train_budget.setValue(10.0)
        self.train_budget.setSuffix(" min")
        self.train_button = QPushButton("Train generator on this folder…", self)
        self.train_button.clicked.connect(self._on_train_clicked)
        self.train_cancel = QPushButton("Stop", self)
        self.train_cancel.clicked.connect(self._on_train_cancel_clicked)
        self.train_progress = QProgressBar(self)
        self.train_status = QLabel("", self)
        self.train_status.setWordWrap(True)

        form = QFormLayout(self)
        form.addRow("Name", self.train_name)
        form.addRow("Size", self.train_size)
        form.addRow("Steps", self.train_steps)
        form.addRow("Time budget", self.train_budget)
        form.addRow(self.train_pairs)
        form.addRow(self.train_continue)
        row = QHBoxLayout()
        row.addWidget(self.train_button, 1)
        row.addWidget(self.train_cancel)
        form.addRow(row)
        form.addRow(self.train_progress)
        form.addRow(self.train_status)

    def set_folder(self, folder: Path | None) -> None:
        """The folder open in the window (where "Train generator on this folder…" starts)."""
        self.folder = folder

    def attach_training(self, worker: Any) -> None:
        """Show a TrainGeneratorWorker's progress and outcome here."""
        self._trainer = worker
        worker.progress.connect(self.show_training_progress)
        worker.succeeded.connect(self.show_training_result)
        worker.failed.connect(self.show_training_error)
        worker.cancelled.connect(self._on_training_cancelled)
        worker.finished.connect(self._on_training_finished)
        self._set_training(True)
        self.train_status.setText("Training…")

    @Slot(object)
    def show_training_progress(self, progress: Progress) -> None:
        show_progress_on(self.train_progress, progress)
        loss = (progress.extra or {}).get("loss")
        text = progress.message + (f" · loss {loss:.4f}" if isinstance(loss, (int, float)) else "")
        self.train_status.setText(f"{text} · step {progress.done}/{progress.total}")

    @Slot(object)
    def show_training_result(self, summary: dict) -> None:
        """Say what was saved, then announce the new generator version (the panel offers and chooses it)."""
        ref = summary.get("ref")
        budget = " (time budget reached)" if summary.get("stopped") == "budget" else ""
        self.train_status.setText(f"Saved {ref}: {summary.get('steps')} steps in "
                                  f"{summary.get('time_s') or 0:.0f} s{budget}")
        self.generator_saved.emit(str(ref or ""))

    @Slot(str)
    def show_training_error(self, message: str) -> None:
        self.train_status.setText(message)

    @Slot()
    def _on_training_cancelled(self) -> None:
        self.train_status.setText("Training stopped; nothing was saved")

    @Slot()
    def _on_training_finished(self) -> None:
        self._trainer = None
        self._set_training(False)

    def _set_training(self, busy: bool) -> None:
        self.train_button.setEnabled(not busy)
        self.train_cancel.setEnabled(busy)
        self.train_progress.setVisible(busy)

    @Slot()
    def _on_train_clicked(self) -> None:
        folder = choose_folder(self, "Train a generator on the images of", str(self.folder or Path.home()))
        if not folder:
            return
        base = self._current_generator() if self.train_continue.isChecked() else None
        self.train_requested.emit(TrainGeneratorRequest(
            folder=Path(folder), name=self.train_name.text().strip() or "generator",
            pairs=self.train_pairs.isChecked(), steps=self.train_steps.value(),
            budget_s=self.train_budget.value() * 60.0, base=base or None,
            preset=str(self.train_size.currentData())))

    @Slot()
    def _on_train_cancel_clicked(self) -> None:
        if self._trainer is not None:
            self._trainer.cancel()
            self.train_status.setText("Stopping…")
