"""Thumbnails decoded on a small thread pool, asked for only when a row becomes visible."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

THUMB_SIZE = 48


def make_thumbnail(path: Path, size: int = THUMB_SIZE) -> QImage:
    """Decode `path` and shrink it to fit `size`×`size` (runs on a pool thread)."""
    import cv2

    from ukan_core.io.images import read_image, to_rgb8

    rgb = to_rgb8(read_image(path))
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    small = np.ascontiguousarray(small)
    image = QImage(small.data, small.shape[1], small.shape[0], 3 * small.shape[1], QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: `small` dies with this function


class _ThumbnailJob(QRunnable):
    def __init__(self, loader: ThumbnailLoader, generation: int, name: str, path: Path) -> None:
        super().__init__()
        self._loader, self._generation, self._name, self._path = loader, generation, name, path

    def run(self) -> None:
        if self._generation != self._loader.generation:
            return  # the folder changed while this job waited
        try:
            image = make_thumbnail(self._path)
        except Exception as exc:  # a thumbnail is a comfort: any failure just shows no picture
            log.debug("thumbnail of %s failed: %s", self._path.name, exc)
            self._loader.failed.emit(self._generation, self._name)
            return
        self._loader.ready.emit(self._generation, self._name, image)


class ThumbnailLoader(QObject):
    """Queues thumbnail jobs; `ready(generation, name, QImage)` arrives on the GUI thread."""

    ready = Signal(int, object, QImage)   # the name as `object`: a QString would drop non-UTF-8 bytes
    failed = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.generation = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # leave the other cores to the window and the model

    def reset(self) -> None:
        """Forget queued jobs (a new folder was opened)."""
        self.generation += 1
        self._pool.clear()

    def request(self, name: str, path: Path) -> None:
        self._pool.start(_ThumbnailJob(self, self.generation, name, path))

    def shutdown(self) -> None:
        self.reset()
        self._pool.waitForDone(5000)
