"""Generate: sample images (or image + mask pairs) with a Diffusion U-KAN, watch the denoising,
keep the good ones, and train a generator on a folder.

The panel emits intents with complete requests (`generateRequested`, `trainRequested`); the
window starts the worker and `attach`es / `attach_training` it here. Saving writes PNGs: pairs in
the official layout (`images/<id>.png` + `masks/0/<id>.png`, masks 0/255). No torch here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
    QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from ukan_core.atomic import atomic_write_bytes
from ukan_core.progress import Progress
from ukan_studio.model_catalog import ModelChoice, file_choice, list_model_choices
from ukan_studio.progress_bar import show_progress_on
from ukan_studio.workers.generate import GENERATOR_PRESETS, GenerateRequest, GenerateResult, TrainGeneratorRequest

# The samplers of ukan_core.diffusion.samplers.SAMPLERS with their default steps (that module
# imports torch; a test keeps the two in step).
SAMPLER_STEPS = {"dpmpp2m": 20, "ddim": 50, "ddpm": 1000}
ICON_SIZE = 96


def choose_folder(parent: QWidget, title: str, start: str) -> str:
    """Ask for a folder (tests replace this function)."""
    return QFileDialog.getExistingDirectory(parent, title, start)


def choose_model_file(parent: QWidget) -> str:
    """Ask for a generator file (tests replace this function)."""
    return QFileDialog.getOpenFileName(parent, "Add a generator", "", "Models (*.safetensors *.pt *.pth)")[0]


@dataclass
class Sample:
    """One generated image (and mask for a pairs model) in the gallery."""

    id: str
    image: np.ndarray          # (H, W, 3) or (H, W) uint8
    mask: np.ndarray | None    # (H, W) 0/1


class GeneratePanel(QWidget):
    """Generation settings, a live preview, a gallery of results and generator training."""

    generateRequested = Signal(object)   # GenerateRequest
    trainRequested = Signal(object)      # TrainGeneratorRequest

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generatePanel")
        self.samples: list[Sample] = []
        self.folder: Path | None = None
        self.previews = 0
        self._choices: list[ModelChoice] = []
        self._extra: list[ModelChoice] = []
        self._recommended_for = ""   # the generator whose recommended sampler was last applied
        self._worker: Any = None
        self._trainer: Any = None
        self._build()
        self.refresh_generators()
        self._set_busy(False)
        self._set_training(False)

    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = QComboBox(self)
        self.model_combo.setObjectName("generateModel")
        self.model_combo.currentIndexChanged.connect(self._on_generator_changed)
        self.add_file_button = QPushButton("Add file…", self)
        self.add_file_button.clicked.connect(self._on_add_file_clicked)
        self.count = self._spin("generateCount", 1, 256, 4)
        self.sampler = QComboBox(self)
        self.sampler.setObjectName("generateSampler")
        for name in SAMPLER_STEPS:
            self.sampler.addItem(name, name)
        self.sampler.currentIndexChanged.connect(self._on_sampler_changed)
        self.steps = self._spin("generateSteps", 1, 1000, SAMPLER_STEPS["dpmpp2m"])
        self.eta = QDoubleSpinBox(self)
        self.eta.setObjectName("generateEta")
        self.eta.setRange(0.0, 1.0)
        self.eta.setSingleStep(0.1)
        self.eta.setDecimals(2)
        self.eta.setToolTip("DDIM noise: 0 is deterministic, 1 behaves like DDPM")
        self.eta.setEnabled(False)   # dpmpp2m first; ddim enables it
        self.seed = self._spin("generateSeed", 0, 2**31 - 1, 0)
        self.random_seed = QCheckBox("New seed each time", self)
        self.random_seed.setChecked(True)
        self.generate_button = QPushButton("Generate", self)
        self.generate_button.setObjectName("primaryButton")
        self.generate_button.clicked.connect(self._on_generate_clicked)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.progress_bar = QProgressBar(self)
        self.status = QLabel("Pick a generator, then Generate.", self)
        self.status.setWordWrap(True)
        self.preview = QLabel(self)
        self.preview.setObjectName("generatePreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(140)
        self.gallery = QListWidget(self)
        self.gallery.setObjectName("generateGallery")
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setMovement(QListWidget.Movement.Static)
        self.gallery.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.gallery.itemSelectionChanged.connect(self._on_gallery_selection_changed)
        self.save_button = QPushButton("Save selected…", self)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.add_pairs_button = QPushButton("Add pairs to the training set…", self)
        self.add_pairs_button.clicked.connect(self._on_add_pairs_clicked)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.clicked.connect(self._on_clear_clicked)

        self.train_name = QLineEdit("generator", self)
        self.train_name.setObjectName("trainGeneratorName")
        self.train_pairs = QCheckBox("Learn masks too (image + mask pairs)", self)
        self.train_size = QComboBox(self)
        for preset in GENERATOR_PRESETS:
            self.train_size.addItem(preset, preset)
        self.train_continue = QCheckBox("Continue from the chosen generator", self)
        self.train_steps = self._spin("trainGeneratorSteps", 1, 1_000_000, 2000)
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

        model_row = QHBoxLayout()
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.add_file_button)
        form = QFormLayout()
        form.addRow("Generator", model_row)
        form.addRow("Images", self.count)
        form.addRow("Sampler", self.sampler)
        form.addRow("Steps", self.steps)
        form.addRow("Noise (η)", self.eta)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.random_seed)
        form.addRow("Seed", seed_row)
        run_row = QHBoxLayout()
        run_row.addWidget(self.generate_button, 1)
        run_row.addWidget(self.cancel_button)
        keep_row = QHBoxLayout()
        for button in (self.save_button, self.add_pairs_button, self.clear_button):
            keep_row.addWidget(button)
        train_box = QGroupBox("Train a generator", self)
        train_form = QFormLayout(train_box)
        train_form.addRow("Name", self.train_name)
        train_form.addRow("Size", self.train_size)
        train_form.addRow("Steps", self.train_steps)
        train_form.addRow("Time budget", self.train_budget)
        train_form.addRow(self.train_pairs)
        train_form.addRow(self.train_continue)
        train_row = QHBoxLayout()
        train_row.addWidget(self.train_button, 1)
        train_row.addWidget(self.train_cancel)
        train_form.addRow(train_row)
        train_form.addRow(self.train_progress)
        train_form.addRow(self.train_status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addLayout(run_row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.preview)
        layout.addWidget(self.gallery, 1)
        layout.addLayout(keep_row)
        layout.addWidget(train_box)

    def _spin(self, name: str, low: int, high: int, value: int) -> QSpinBox:
        spin = QSpinBox(self)
        spin.setObjectName(name)
        spin.setRange(low, high)
        spin.setValue(value)
        return spin

    # -- generators --------------------------------------------------------------------------
    @Slot()
    def refresh_generators(self, prefer: str | None = None) -> None:
        """List the store's Diffusion U-KAN versions and the files added this session."""
        keep = prefer or self.current_generator()
        stored = list_model_choices("diffusion_ukan")
        self._choices = stored + self._extra
        refs = [c.ref for c in self._choices]
        with QSignalBlocker(self.model_combo):   # one "chosen" event below, not one per item
            self.model_combo.clear()
            for choice in self._choices:
                self.model_combo.addItem(choice.label, choice.ref)
            if keep in refs:
                self.model_combo.setCurrentIndex(refs.index(keep))
        self._on_generator_changed(self.model_combo.currentIndex())
        if not self._choices:
            self.status.setText("No generator yet: add a file, or train one on a folder below.")
        self._update_enabled()

    def add_generator_file(self, path: str | Path) -> None:
        """Offer a generator file and choose it."""
        choice = file_choice(Path(path))
        if all(c.ref != choice.ref for c in self._extra):
            self._extra.append(choice)
        self.refresh_generators(prefer=choice.ref)

    def current_generator(self) -> str:
        return str(self.model_combo.currentData() or "")

    @Slot(str)
    def set_folder(self, folder: str) -> None:
        """The folder open in the window (where "Train generator on this folder…" starts)."""
        self.folder = Path(folder) if folder else None

    # -- requests and workers ----------------------------------------------------------------
    def make_request(self, device: str = "auto") -> GenerateRequest:
        """The request the panel's settings describe (draws a new seed when asked to)."""
        if self.random_seed.isChecked():
            self.seed.setValue(random.randrange(2**31))
        return GenerateRequest(model=self.current_generator(), count=self.count.value(),
                               sampler=str(self.sampler.currentData()), steps=self.steps.value(),
                               seed=self.seed.value(), eta=self.eta.value(), device=device)

    def attach(self, worker: Any) -> None:
        """Show a GenerateWorker's preview, progress and result here (before the runner starts it)."""
        self._worker = worker
        worker.progress.connect(self.show_progress)
        worker.preview.connect(self.show_preview)
        worker.succeeded.connect(self.show_result)
        worker.failed.connect(self.show_error)
        worker.cancelled.connect(self._on_worker_cancelled)
        worker.finished.connect(self._on_worker_finished)
        self._set_busy(True)
        self.status.setText("Generating…")

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
    def show_progress(self, progress: Progress) -> None:
        show_progress_on(self.progress_bar, progress)
        if progress.message:
            self.status.setText(progress.message)

    @Slot(object)
    def show_preview(self, grid: np.ndarray) -> None:
        """The denoising so far: a grid of the current estimate of the clean images."""
        self.previews += 1
        pixmap = QPixmap.fromImage(_qimage(grid))
        self.preview.setPixmap(pixmap.scaled(self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.FastTransformation))

    @Slot(object)
    def show_result(self, result: GenerateResult) -> None:
        """Add the generated samples to the gallery."""
        for index in range(len(result.images)):
            mask = None if result.masks is None else result.masks[index]
            sample = Sample(f"gen-{result.seed}-{index:03d}", result.images[index], mask)
            self.samples.append(sample)
            item = QListWidgetItem(QIcon(QPixmap.fromImage(_qimage(_thumbnail(sample)))), sample.id)
            item.setData(Qt.ItemDataRole.UserRole, len(self.samples) - 1)
            self.gallery.addItem(item)
        kind = "image + mask pairs" if result.pairs else "images"
        self.status.setText(f"{len(result.images)} {kind} from {result.model_label} "
                            f"({result.sampler}, {result.steps} steps, seed {result.seed})")
        self._update_enabled()

    @Slot(str)
    def show_error(self, message: str) -> None:
        self.status.setText(message)

    @Slot()
    def _on_worker_cancelled(self) -> None:
        self.status.setText("Generation cancelled")

    @Slot()
    def _on_worker_finished(self) -> None:
        self._worker = None
        self._set_busy(False)

    @Slot(object)
    def show_training_progress(self, progress: Progress) -> None:
        show_progress_on(self.train_progress, progress)
        loss = (progress.extra or {}).get("loss")
        text = progress.message + (f" · loss {loss:.4f}" if isinstance(loss, (int, float)) else "")
        self.train_status.setText(f"{text} · step {progress.done}/{progress.total}")

    @Slot(object)
    def show_training_result(self, summary: dict) -> None:
        """Offer (and choose) the new generator version."""
        ref = summary.get("ref")
        budget = " (time budget reached)" if summary.get("stopped") == "budget" else ""
        self.train_status.setText(f"Saved {ref}: {summary.get('steps')} steps in "
                                  f"{summary.get('time_s') or 0:.0f} s{budget}")
        self.refresh_generators(prefer=ref)

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

    def _set_busy(self, busy: bool) -> None:
        self.generate_button.setEnabled(not busy and bool(self._choices))
        self.cancel_button.setEnabled(busy)
        self.progress_bar.setVisible(busy)
        if busy:
            self.progress_bar.setRange(0, 0)

    def _set_training(self, busy: bool) -> None:
        self.train_button.setEnabled(not busy)
        self.train_cancel.setEnabled(busy)
        self.train_progress.setVisible(busy)

    def _update_enabled(self) -> None:
        self.generate_button.setEnabled(self._worker is None and bool(self._choices))
        selected = self.selected_samples()
        self.save_button.setEnabled(bool(selected))
        self.add_pairs_button.setEnabled(bool(selected) and all(s.mask is not None for s in selected))
        self.clear_button.setEnabled(bool(self.samples))

    def selected_samples(self) -> list[Sample]:
        rows = sorted(self.gallery.row(item) for item in self.gallery.selectedItems())
        return [self.samples[int(self.gallery.item(r).data(Qt.ItemDataRole.UserRole))] for r in rows]

    # -- saving ------------------------------------------------------------------------------
    def save_selected(self, folder: str | Path) -> list[Path]:
        """Write the selected samples to `folder`: PNGs, or the official layout for pairs; never overwrites."""
        written = write_samples(Path(folder), self.selected_samples())
        self.status.setText(f"Saved {len(self.selected_samples())} sample(s) to {Path(folder).name}")
        return written

    # -- slots -------------------------------------------------------------------------------
    @Slot()
    def _on_generate_clicked(self) -> None:
        if self.current_generator():
            self.generateRequested.emit(self.make_request())

    @Slot()
    def _on_cancel_clicked(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.status.setText("Cancelling…")

    @Slot(int)
    def _on_sampler_changed(self, _index: int) -> None:
        self.steps.setValue(SAMPLER_STEPS[str(self.sampler.currentData())])
        self.eta.setEnabled(self.sampler.currentData() == "ddim")

    @Slot(int)
    def _on_generator_changed(self, index: int) -> None:
        """A newly chosen generator brings its file's recommended sampler, steps and η (if it names one)."""
        if not 0 <= index < len(self._choices) or self._choices[index].ref == self._recommended_for:
            return
        choice = self._choices[index]
        self._recommended_for = choice.ref
        recommended = choice.metadata.get("recommended_sampler")
        if not isinstance(recommended, dict) or recommended.get("sampler") not in SAMPLER_STEPS:
            return
        self.sampler.setCurrentIndex(self.sampler.findData(recommended["sampler"]))
        if isinstance(recommended.get("steps"), int):
            self.steps.setValue(recommended["steps"])
        if isinstance(recommended.get("eta"), (int, float)):
            self.eta.setValue(float(recommended["eta"]))

    @Slot()
    def _on_add_file_clicked(self) -> None:
        path = choose_model_file(self)
        if path:
            self.add_generator_file(path)

    @Slot()
    def _on_gallery_selection_changed(self) -> None:
        self._update_enabled()

    @Slot()
    def _on_save_clicked(self) -> None:
        folder = choose_folder(self, "Save the selected samples in", str(self.folder or Path.home()))
        if folder:
            self.save_selected(folder)

    @Slot()
    def _on_add_pairs_clicked(self) -> None:
        folder = choose_folder(self, "Add the pairs to the training set (images/ + masks/0/)",
                               str(self.folder or Path.home()))
        if folder:
            self.save_selected(folder)

    @Slot()
    def _on_clear_clicked(self) -> None:
        self.gallery.clear()
        self.samples.clear()
        self._update_enabled()

    @Slot()
    def _on_train_clicked(self) -> None:
        folder = choose_folder(self, "Train a generator on the images of", str(self.folder or Path.home()))
        if not folder:
            return
        base = self.current_generator() if self.train_continue.isChecked() else None
        self.trainRequested.emit(TrainGeneratorRequest(
            folder=Path(folder), name=self.train_name.text().strip() or "generator",
            pairs=self.train_pairs.isChecked(), steps=self.train_steps.value(),
            budget_s=self.train_budget.value() * 60.0, base=base or None,
            preset=str(self.train_size.currentData())))

    @Slot()
    def _on_train_cancel_clicked(self) -> None:
        if self._trainer is not None:
            self._trainer.cancel()
            self.train_status.setText("Stopping…")


def write_samples(folder: Path, samples: list[Sample]) -> list[Path]:
    """PNG files for `samples` in `folder` (pairs: images/<id>.png and masks/0/<id>.png as 0/255)."""
    import cv2

    from ukan_core.io.masks import write_mask

    written: list[Path] = []
    for sample in samples:
        pairs = sample.mask is not None
        image_dir = folder / "images" if pairs else folder
        mask_dir = folder / "masks" / "0"
        stem, n = sample.id, 1
        while (image_dir / f"{stem}.png").exists() or (pairs and (mask_dir / f"{stem}.png").exists()):
            n += 1
            stem = f"{sample.id}-{n}"
        image_dir.mkdir(parents=True, exist_ok=True)
        pixels = sample.image if sample.image.ndim == 2 else np.ascontiguousarray(sample.image[..., ::-1])
        ok, data = cv2.imencode(".png", pixels)
        if not ok:
            raise OSError(f"{stem}.png: the PNG encoder refused this image")
        written.append(atomic_write_bytes(image_dir / f"{stem}.png", data.tobytes()))
        if pairs:
            mask_dir.mkdir(parents=True, exist_ok=True)
            written.append(write_mask(mask_dir / f"{stem}.png", np.where(sample.mask > 0, 255, 0).astype(np.uint8)))
    return written


def _thumbnail(sample: Sample) -> np.ndarray:
    """The sample as RGB, with its mask outlined in red for a pairs model."""
    import cv2

    rgb = np.repeat(sample.image[..., None], 3, axis=2) if sample.image.ndim == 2 else sample.image[..., :3].copy()
    if sample.mask is not None:
        contours, _ = cv2.findContours(sample.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        rgb = cv2.drawContours(np.ascontiguousarray(rgb), contours, -1, (255, 60, 60), 1)
    return rgb


def _qimage(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of (H, W, 3) uint8 RGB pixels."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
