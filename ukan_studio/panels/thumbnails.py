"""Thumbnails decoded on a small thread pool, asked for only when a row becomes visible.

The jobs never outlive the loader's signals: `shutdown` (the window closing) and the loader's
own destruction (its widgets going) both drop the queued jobs and make running ones return
without emitting, so closing during a load prints no "Signal source has been deleted".
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

THUMB_SIZE = 48


def make_thumbnail(path: Path, size: int = THUMB_SIZE, frame: int = 0) -> QImage:
    """Decode frame `frame` of `path` and shrink it to fit `size`×`size` (runs on a pool thread)."""
    import cv2

    from ukan_core.io.images import read_image, to_rgb8

    rgb = to_rgb8(read_image(path, frame=frame))
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    small = np.ascontiguousarray(small)
    image = QImage(small.data, small.shape[1], small.shape[0], 3 * small.shape[1], QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: `small` dies with this function


class _LoaderState:
    """What the pool threads read: plain Python, alive as long as any job holds it."""

    def __init__(self) -> None:
        self.generation = 0
        self.closed = False

    def close(self, *_args: object) -> None:
        self.closed = True


class _ThumbnailJob(QRunnable):
    def __init__(self, loader: ThumbnailLoader, state: _LoaderState, name: str, path: Path, frame: int = 0) -> None:
        super().__init__()
        self._loader, self._state, self._generation = loader, state, state.generation
        self._name, self._path, self._frame = name, path, frame

    def _wanted(self) -> bool:
        return not self._state.closed and self._generation == self._state.generation

    def run(self) -> None:
        if not self._wanted():
            return  # the folder changed, or the window closed, while this job waited
        try:
            image = make_thumbnail(self._path, frame=self._frame)
        except Exception as exc:  # a thumbnail is a comfort: any failure just shows no picture
            log.debug("thumbnail of %s failed: %s", self._path.name, exc)
            self._emit(self._loader.failed, self._generation, self._name)
            return
        self._emit(self._loader.ready, self._generation, self._name, image)

    def _emit(self, signal: object, *args: object) -> None:
        if not self._wanted():
            return
        try:
            signal.emit(*args)   # type: ignore[attr-defined]
        except RuntimeError:   # the loader went between the check and the emit: nobody wants the picture
            self._state.closed = True


class ThumbnailLoader(QObject):
    """Queues thumbnail jobs; `ready(generation, name, QImage)` arrives on the GUI thread."""

    ready = Signal(int, object, QImage)   # the name as `object`: a QString would drop non-UTF-8 bytes
    failed = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = _LoaderState()
        self.destroyed.connect(self._state.close)   # runs before the pool (a child) waits for its jobs
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # leave the other cores to the window and the model

    @property
    def generation(self) -> int:
        """Bumped by reset(): results of an older generation belong to another folder."""
        return self._state.generation

    def reset(self) -> None:
        """Forget queued jobs (a new folder was opened)."""
        self._state.generation += 1
        self._pool.clear()

    def request(self, name: str, path: Path, frame: int = 0) -> None:
        """Decode a thumbnail of frame `frame` of `path`; `ready` brings it back under `name`."""
        if not self._state.closed:
            self._pool.start(_ThumbnailJob(self, self._state, name, path, frame))

    def shutdown(self) -> None:
        """Stop for good (the window closes): drop queued jobs, wait for the running one."""
        self._state.closed = True
        self.reset()
        self._pool.waitForDone(5000)
