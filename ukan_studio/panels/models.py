"""The model selector: bundled models and stored versions; roll back; export a version.

Roll back asks first and then says what is selected now. The rows have fixed heights (the
facts box is as tall as its longest text, the message line is always there) so the panel does
not jump when a model with fewer facts is chosen or a message appears. Export writes the version
as a .safetensors checkpoint or an ONNX model (the `[onnx]` extra), with its model card. The
panel only shows and asks: the model controller (`ukan_studio.controllers.model_controller`)
writes the store's selection, rolls back and runs the export on a worker.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget,
)

from ukan_studio.model_catalog import ModelChoice, default_model_ref, file_choice, list_model_choices

SAFETENSORS_FILTER = "Safetensors checkpoint (*.safetensors)"
ONNX_FILTER = "ONNX model for ONNX Runtime (*.onnx)"

INFO_LINES = 5      # describe_model writes at most this many lines
MESSAGE_LINES = 2


def confirm_rollback(parent: QWidget, current: str, previous: str) -> bool:
    """Ask before the selection moves back (the newer version stays in the store)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Roll back the model?",
                      f"Select {previous} instead of {current}?\n{current} stays in the store and can be "
                      f"selected again.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setObjectName("confirmRollback")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


class ModelsPanel(QWidget):
    """Emits model_changed(ref) when the user picks another model or version."""

    model_changed = Signal(str)
    user_chose = Signal(str)                           # ref: the user picked this model (not a refresh)
    failed = Signal(str)
    exported = Signal(str)   # one line: what was written where
    version_chosen = Signal(str, str)                  # model name, version: the user picked a stored version
    rollback_requested = Signal(str)                   # model name (the user confirmed)
    export_requested = Signal(object, object, bool)    # path, format ("onnx" or None: by suffix), overwrite

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPanel")
        self._choices: list[ModelChoice] = []
        self._extra: list[ModelChoice] = []   # model files the user added this session
        self.combo = QComboBox(self)
        self.combo.setObjectName("modelSelector")
        self.combo.currentIndexChanged.connect(self._on_combo_current_index_changed)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setObjectName("modelInfo")
        self.info.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.info.setFixedHeight(self.fontMetrics().lineSpacing() * INFO_LINES + 4)
        self.message = QLabel(self)
        self.message.setObjectName("modelMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.message.setFixedHeight(self.fontMetrics().lineSpacing() * MESSAGE_LINES + 4)
        self.rollback_button = QPushButton("Roll back", self)
        self.rollback_button.setToolTip("Select the previous version of this model")
        self.rollback_button.clicked.connect(self._on_rollback_clicked)
        add = QPushButton("Add file…", self)
        add.setToolTip("Use a .safetensors model file (or an official .pth, imported safely)")
        add.clicked.connect(self._on_add_clicked)
        refresh = QPushButton("Refresh", self)
        refresh.clicked.connect(self._on_refresh_clicked)
        self.export_button = QPushButton("Export…", self)
        self.export_button.setObjectName("exportModelButton")
        self.export_button.setToolTip("Write this version as a .safetensors checkpoint or an ONNX model, "
                                      "with its model card")
        self.export_button.clicked.connect(self._on_export_clicked)
        self.export_status = QLabel(self)
        self.export_status.setWordWrap(True)
        self.export_status.setObjectName("exportStatus")
        self.export_status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.export_status.setFixedHeight(self.fontMetrics().lineSpacing() * MESSAGE_LINES + 4)
        self._exporting = False
        buttons = QHBoxLayout()
        buttons.addWidget(self.rollback_button)
        buttons.addWidget(add)
        buttons.addWidget(refresh)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.combo)
        layout.addWidget(self.info)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.export_status)
        layout.addStretch(1)

    def current_ref(self) -> str:
        index = self.combo.currentIndex()
        return self._choices[index].ref if 0 <= index < len(self._choices) else ""

    def current_choice(self) -> ModelChoice | None:
        index = self.combo.currentIndex()
        return self._choices[index] if 0 <= index < len(self._choices) else None

    @Slot()
    def refresh(self, prefer: str | None = None, *, selected_of: str | None = None) -> None:
        """Reload the list; move to `prefer`, or to the store's selected version of model
        `selected_of`, or keep the current entry."""
        keep = prefer if prefer is not None else self.current_ref()
        self._choices = list_model_choices() + self._extra
        if keep and not any(c.ref == keep for c in self._choices) and Path(keep).is_file():
            self._extra.append(file_choice(Path(keep)))
            self._choices.append(self._extra[-1])
        self.combo.blockSignals(True)
        self.combo.clear()
        for choice in self._choices:
            self.combo.addItem(choice.label, choice.ref)
        index = -1
        if selected_of is not None:
            index = next((i for i, c in enumerate(self._choices) if c.name == selected_of and c.selected), -1)
        if index < 0:
            index = next((i for i, c in enumerate(self._choices) if c.ref == keep), -1)
        if index < 0:
            default = default_model_ref(self._choices)
            index = next((i for i, c in enumerate(self._choices) if c.ref == default), -1)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self._show_info()
        self.model_changed.emit(self.current_ref())

    def add_model_file(self, path: str | Path) -> None:
        """Offer the model file `path` and select it."""
        self.refresh(prefer=str(Path(path)))
        if self.current_ref():
            self.user_chose.emit(self.current_ref())

    def show_folder_model(self, ref: str | None) -> None:
        """Select the model a folder records (`ref`: name/version, a lineage name or a file), else the
        bundled default; never the previous folder's model."""
        if ref and "/" not in ref and "\\" not in ref and not Path(ref).is_file():
            self.refresh(prefer="", selected_of=ref)   # a lineage name: its selected version
        else:
            self.refresh(prefer=ref or "")

    def select_ref(self, ref: str) -> None:
        index = next((i for i, c in enumerate(self._choices) if c.ref == ref), -1)
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def _show_info(self) -> None:
        choice = self.current_choice()
        if choice is None:
            self.info.setText("No model found. Train one with `ukan train`, or add a model file.")
            self.rollback_button.setEnabled(False)
            self.export_button.setEnabled(False)
            return
        self.info.setText(describe_model(choice))
        self.rollback_button.setEnabled(choice.version is not None and bool(choice.metadata.get("parent")))
        self.export_button.setEnabled(choice.version is not None and not self._exporting)

    def is_exporting(self) -> bool:
        """True while an export runs."""
        return self._exporting

    def export_current(self, path: str | Path, fmt: str | None = None, *, overwrite: bool = False) -> bool:
        """Ask for the selected version to be exported to `path`; True when the export started.

        The format follows `fmt` or the suffix; what cannot start is said by `failed`.
        """
        if self._exporting:
            return False
        self.export_requested.emit(Path(path), fmt, overwrite)
        return self._exporting

    def show_export_started(self, ref: str) -> None:
        """The export of `ref` runs: one at a time, so the button waits."""
        self._exporting = True
        self.export_status.setText(f"Exporting {ref} …")
        self._show_info()

    def show_export_done(self, line: str) -> None:
        """The export wrote its files: `line` says what went where."""
        self.export_status.setText(line)
        self.exported.emit(line)

    def show_export_failed(self, message: str) -> None:
        self.export_status.setText(f"Export failed: {message}")
        self.failed.emit(message)

    def show_export_finished(self) -> None:
        """The export's thread is done (whatever the outcome): the button is free again."""
        self._exporting = False
        self._show_info()

    def report_failure(self, message: str) -> None:
        """A one-line problem with the model choice (shown by the window)."""
        self.failed.emit(message)

    def show_rolled_back(self, name: str, previous_label: str) -> None:
        """The store moved `name` back: select what it selects now and say so."""
        self.refresh(selected_of=name)
        now = self.current_choice()
        if now is not None:
            self.user_chose.emit(now.ref)
        self.message.setText(f"Rolled back: {now.label if now else 'no model'} is selected now "
                             f"({previous_label} stays in the list).")

    @Slot(int)
    def _on_combo_current_index_changed(self, _index: int) -> None:
        self.message.clear()   # the last message was about another choice
        choice = self.current_choice()
        if choice is not None and choice.version is not None:
            self.version_chosen.emit(choice.name, choice.version)
        self._show_info()
        self.model_changed.emit(self.current_ref())
        if choice is not None:
            self.user_chose.emit(choice.ref)

    @Slot()
    def _on_refresh_clicked(self) -> None:
        self.refresh()

    @Slot()
    def _on_add_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a model file", "", "Models (*.safetensors *.pth *.pt)")
        if path:
            self.add_model_file(path)

    @Slot()
    def _on_export_clicked(self) -> None:
        choice = self.current_choice()
        if choice is None or choice.version is None:
            return
        from ukan_core.onnx_support import INSTALL_HINT, missing_onnx_packages

        onnx_filter = ONNX_FILTER if not missing_onnx_packages(export=True) else \
            f"{ONNX_FILTER[:-8]}; needs {INSTALL_HINT}) (*.onnx)"
        path, chosen_filter = QFileDialog.getSaveFileName(
            self, "Export the model", f"{choice.name}-{choice.version}.safetensors",
            f"{SAFETENSORS_FILTER};;{onnx_filter}")
        if not path:
            return
        fmt = "onnx" if chosen_filter.startswith("ONNX") else None
        if fmt == "onnx" and Path(path).suffix == "":
            path += ".onnx"
        self.export_current(path, fmt, overwrite=Path(path).exists())   # the dialog asked before replacing it

    @Slot()
    def _on_rollback_clicked(self) -> None:
        choice = self.current_choice()
        if choice is None or choice.version is None:
            return
        previous = str(choice.metadata.get("parent") or "the previous version")
        if confirm_rollback(self, choice.label, previous):
            self.rollback_requested.emit(choice.name)


def describe_model(choice: ModelChoice) -> str:
    """A few facts from the checkpoint metadata: input size, threshold, held-out scores, parent."""
    info = choice.metadata
    lines = [choice.label]
    size = info.get("input_size")
    if isinstance(size, (list, tuple)) and len(size) == 2:
        lines.append(f"input {size[0]}×{size[1]}")
    threshold = info.get("threshold")
    if isinstance(threshold, (int, float)) and threshold != 0.5:
        lines.append(f"threshold {threshold:.2f} (chosen on the held-out corrections)")
    metrics = info.get("metrics") or {}
    held_out = metrics.get("held_out") if isinstance(metrics.get("held_out"), dict) else metrics
    shown = [f"{k} {v:.3f}" for k, v in held_out.items() if k in ("iou", "f1", "val_iou", "dice")
             and isinstance(v, (int, float))]
    if shown:
        lines.append(", ".join(shown))
    if info.get("parent"):
        lines.append(f"from {info['parent']}")
    if info.get("created"):
        lines.append(str(info["created"])[:16].replace("T", " "))
    return "\n".join(lines)
