"""Generate: sample images (or image + mask pairs) with a Diffusion U-KAN, watch the denoising,
keep the good ones, and train a generator on a folder.

The panel emits intents with complete requests (`generate_requested`, and `train_requested` forwarded
from its "Train a generator" box, `train_box`); the generate controller starts the worker and `attach`es /
`attach_training` it here. The samples, their gallery and how they are saved live in
generated_samples; the training settings in train_generator_box. No torch here.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton,
    QSpinBox, QVBoxLayout, QWidget,
)

from ukan_core.progress import Progress
from ukan_studio.model_catalog import ModelChoice, file_choice, list_model_choices
from ukan_studio.panels import generator_info
from ukan_studio.panels.generated_samples import Sample, SampleGallery, rgb_qimage, samples_from_result, write_samples
from ukan_studio.panels.train_generator_box import TrainGeneratorBox
from ukan_studio.progress_bar import show_progress_on
from ukan_studio.job_data import GenerateRequest, GenerateResult

# The samplers of ukan_core.diffusion.samplers.SAMPLERS with their default steps (that module
# imports torch; a test keeps the two in step).
SAMPLER_STEPS = {"dpmpp2m": 20, "ddim": 50, "ddpm": 1000}


def choose_folder(parent: QWidget, title: str, start: str) -> str:
    """Ask for a folder to save samples in (tests replace this function)."""
    return QFileDialog.getExistingDirectory(parent, title, start)


def choose_model_file(parent: QWidget) -> str:
    """Ask for a generator file (tests replace this function)."""
    return QFileDialog.getOpenFileName(parent, "Add a generator", "", "Models (*.safetensors *.pt *.pth)")[0]


class GeneratePanel(QWidget):
    """Generation settings, a live preview, a gallery of results and generator training."""

    generate_requested = Signal(object)   # GenerateRequest
    train_requested = Signal(object)      # TrainGeneratorRequest, forwarded from train_box

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generatePanel")
        self.folder: Path | None = None
        self.previews = 0
        self._choices: list[ModelChoice] = []
        self._extra: list[ModelChoice] = []
        self._recommended_for = ""   # the generator whose recommended sampler was last applied
        self._worker: Any = None
        self._last_save_folder: Path | None = None
        self._last_pairs_folder: Path | None = None
        self._build()
        self.refresh_generators()
        self._set_busy(False)

    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = QComboBox(self)
        self.model_combo.setObjectName("generateModel")
        self.model_combo.currentIndexChanged.connect(self._on_generator_changed)
        self.add_file_button = QPushButton("Add file…", self)
        self.add_file_button.clicked.connect(self._on_add_file_clicked)
        self.domain = QLabel(self)
        self.domain.setObjectName("generatorDomain")
        self.domain.setWordWrap(True)
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
        self.gallery = SampleGallery(self)
        self.gallery.itemSelectionChanged.connect(self._on_gallery_selection_changed)
        self.save_button = QPushButton("Save selected…", self)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.add_pairs_button = QPushButton("Add pairs to the training set…", self)
        self.add_pairs_button.clicked.connect(self._on_add_pairs_clicked)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.clicked.connect(self._on_clear_clicked)

        self.train_box = TrainGeneratorBox(self.current_generator, self)
        self.train_box.train_requested.connect(self.train_requested)   # signal to signal: the panel's intent
        self.train_box.generator_saved.connect(self._on_generator_saved)

        model_row = QHBoxLayout()
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.add_file_button)
        form = QFormLayout()
        form.addRow("Generator", model_row)
        form.addRow("Trained on", self.domain)
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addLayout(run_row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.preview)
        layout.addWidget(self.gallery, 1)
        layout.addLayout(keep_row)
        layout.addWidget(self.train_box)

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
        """The folder open in the window (where the save and train dialogs start)."""
        self.folder = Path(folder) if folder else None
        self.train_box.set_folder(self.folder)

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
        """Show a TrainGeneratorWorker's progress and outcome in the "Train a generator" box."""
        self.train_box.attach_training(worker)

    @Slot(object)
    def show_progress(self, progress: Progress) -> None:
        show_progress_on(self.progress_bar, progress)
        if progress.message:
            self.status.setText(progress.message)

    @Slot(object)
    def show_preview(self, grid: np.ndarray) -> None:
        """The denoising so far: a grid of the current estimate of the clean images."""
        self.previews += 1
        pixmap = QPixmap.fromImage(rgb_qimage(grid))
        self.preview.setPixmap(pixmap.scaled(self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.FastTransformation))

    @Slot(object)
    def show_result(self, result: GenerateResult) -> None:
        """Add the generated samples to the gallery."""
        self.gallery.add_samples(samples_from_result(result))
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

    @Slot(str)
    def _on_generator_saved(self, ref: str) -> None:
        """A training run saved a new generator version: offer it and choose it."""
        self.refresh_generators(prefer=ref or None)

    def _set_busy(self, busy: bool) -> None:
        self.generate_button.setEnabled(not busy and bool(self._choices))
        self.cancel_button.setEnabled(busy)
        self.progress_bar.setVisible(busy)
        if busy:
            self.progress_bar.setRange(0, 0)

    def _update_enabled(self) -> None:
        self.generate_button.setEnabled(self._worker is None and bool(self._choices))
        selected = self.selected_samples()
        self.save_button.setEnabled(bool(selected))
        self.add_pairs_button.setEnabled(bool(selected) and all(s.mask is not None for s in selected))
        self.clear_button.setEnabled(bool(self.samples))

    @property
    def samples(self) -> list[Sample]:
        """Every generated sample in the gallery, in the order they came."""
        return self.gallery.samples

    def selected_samples(self) -> list[Sample]:
        return self.gallery.selected_samples()

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
            self.generate_requested.emit(self.make_request())

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
        valid = 0 <= index < len(self._choices)
        self.domain.setText(generator_info.generator_domain(self._choices[index].metadata) if valid else "—")
        if not valid or self._choices[index].ref == self._recommended_for:
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
        start = generator_info.default_save_folder(self._last_save_folder, self.folder)
        folder = choose_folder(self, "Save the selected samples in", str(start))
        if folder:
            self._last_save_folder = Path(folder)
            self.save_selected(folder)

    @Slot()
    def _on_add_pairs_clicked(self) -> None:
        start = generator_info.default_save_folder(self._last_pairs_folder, self.folder)
        folder = choose_folder(self, "Add the pairs to the training set (images/ + masks/0/)", str(start))
        if not folder:
            return
        if not generator_info.confirm_add_pairs(self, len(self.selected_samples()), self.domain.text(), Path(folder)):
            self.status.setText("No pairs added.")
            return
        self._last_pairs_folder = Path(folder)
        self.save_selected(folder)

    @Slot()
    def _on_clear_clicked(self) -> None:
        self.gallery.clear_samples()
        self._update_enabled()
