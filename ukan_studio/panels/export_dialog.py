"""Export options: the folder, the format (PNG, NIfTI, DICOM SEG), binary 0/255 or label values, and which images.

The folder field is wide enough for a long path (and its tooltip shows the whole path); the
window remembers the last export folder in the settings and starts here with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QWidget,
)


MIN_FIELD_WIDTH, MAX_FIELD_WIDTH = 420, 760   # pixels: most paths show whole, the dialog still fits a laptop


@dataclass(frozen=True)
class ExportOptions:
    out_dir: Path
    scope: str   # "all", "corrected" or "selected"
    mode: str    # "binary" or "labels"
    format: str = "png"   # "png", "nifti" or "dicom-seg" (`ukan export --format`)


class ExportDialog(QDialog):
    def __init__(self, parent: QWidget | None, start_dir: str, mode: str, format: str = "png") -> None:
        super().__init__(parent)
        self.setWindowTitle("Export masks")
        self.folder = QLineEdit(start_dir, self)
        self.folder.setObjectName("exportFolder")
        self.folder.textChanged.connect(self._on_folder_text_changed)
        self.folder.setMinimumWidth(min(MAX_FIELD_WIDTH, max(MIN_FIELD_WIDTH, self._text_width(start_dir))))
        self.folder.setCursorPosition(0)
        self._on_folder_text_changed(start_dir)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.format = QComboBox(self)
        self.format.setObjectName("exportFormat")
        self.format.addItem("PNG, one per image or frame", "png")
        self.format.addItem("NIfTI label volume, one per file (.nii.gz)", "nifti")
        self.format.addItem("DICOM SEG, one per DICOM file", "dicom-seg")
        self.format.setCurrentIndex(max(self.format.findData(format), 0))
        self.mode = QComboBox(self)
        self.mode.addItem("Binary (0 / 255)", "binary")
        self.mode.addItem("Label values (0, 1, 2, …)", "labels")
        self.mode.setCurrentIndex(1 if mode == "labels" else 0)
        self.scope = QComboBox(self)
        self.scope.addItem("All images with a mask", "all")
        self.scope.addItem("Corrected images only", "corrected")
        self.scope.addItem("Images selected in the list", "selected")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Folder", row)
        form.addRow("Format", self.format)
        form.addRow("Pixel values", self.mode)
        form.addRow("Images", self.scope)
        form.addRow(buttons)

    def _text_width(self, text: str) -> int:
        return self.folder.fontMetrics().horizontalAdvance(text) + 24

    @Slot(str)
    def _on_folder_text_changed(self, text: str) -> None:
        self.folder.setToolTip(text)

    @Slot()
    def _on_browse_clicked(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Export masks to", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def options(self) -> ExportOptions:
        return ExportOptions(Path(self.folder.text()).expanduser(), self.scope.currentData(), self.mode.currentData(),
                             self.format.currentData())


def ask_export_options(parent: QWidget | None, start_dir: str, mode: str, format: str = "png") -> ExportOptions | None:
    """Show the dialog; None when cancelled or no folder was given."""
    dialog = ExportDialog(parent, start_dir, mode, format)
    if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.folder.text().strip():
        return None
    return dialog.options()
