"""Generated samples of the Generate panel: what one is, the gallery that shows them, how they are saved.

The gallery shows each sample as an icon, a pairs model's mask outlined in red, several selectable
at once. Saving writes PNGs: plain images in the chosen folder, pairs in the official layout
(`images/<id>.png` + `masks/0/<id>.png`, masks 0/255), never overwriting a file. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from ukan_core.atomic import atomic_write_bytes
from ukan_core.overlay import outline_mask
from ukan_studio.job_data import GenerateResult

ICON_SIZE = 96


@dataclass
class Sample:
    """One generated image (and mask for a pairs model) in the gallery."""

    id: str
    image: np.ndarray          # (H, W, 3) or (H, W) uint8
    mask: np.ndarray | None    # (H, W) 0/1


def samples_from_result(result: GenerateResult) -> list[Sample]:
    """The samples of one generation run, named `gen-<seed>-<index>`."""
    return [Sample(f"gen-{result.seed}-{index:03d}", result.images[index],
                   None if result.masks is None else result.masks[index]) for index in range(len(result.images))]


class SampleGallery(QListWidget):
    """The generated samples as icons; `samples` holds them in the order they came."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generateGallery")
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.samples: list[Sample] = []

    def add_samples(self, samples: list[Sample]) -> None:
        """Show `samples` after the ones already here."""
        for sample in samples:
            self.samples.append(sample)
            item = QListWidgetItem(sample_icon(sample), sample.id)
            item.setData(Qt.ItemDataRole.UserRole, len(self.samples) - 1)
            self.addItem(item)

    def selected_samples(self) -> list[Sample]:
        """The selected samples, in gallery order."""
        rows = sorted(self.row(item) for item in self.selectedItems())
        return [self.samples[int(self.item(r).data(Qt.ItemDataRole.UserRole))] for r in rows]

    def clear_samples(self) -> None:
        """Forget every sample (the icons and the pixels)."""
        self.clear()
        self.samples.clear()


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


def sample_icon(sample: Sample) -> QIcon:
    """The gallery icon of `sample`: its image as RGB, with its mask outlined in red for a pairs model."""
    return QIcon(QPixmap.fromImage(rgb_qimage(outline_mask(sample.image, sample.mask))))


def rgb_qimage(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of (H, W, 3) uint8 RGB pixels."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
