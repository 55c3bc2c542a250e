"""Segment one image or a list of images with a model, off the GUI thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal

from ukan_core.annotation.keys import display_item
from ukan_core.errors import BadImageError
from ukan_core.progress import Progress
from ukan_studio.workers.base import Worker, limit_torch_threads


class SegmentWorker(Worker):
    """Reads each image, predicts its label mask and emits it; a bad image is skipped and reported.

    `items` are (name, file, frame) triples (frame 0-based: a DICOM frame, TIFF page or NIfTI slice);
    a (name, file) pair means frame 0.
    """

    result = Signal(str, object, str)   # image name, (H, W) uint8 labels, model label
    skipped = Signal(str, str)          # image name, one-line reason
    device_found = Signal(str)          # e.g. "CPU (1 threads)"

    name = "Segment"

    def __init__(self, items: list[tuple[str, Path, int]] | list[tuple[str, Path]], model: str, device: str = "auto",
                 threshold: float | None = None) -> None:
        super().__init__()
        self._items = [(item[0], Path(item[1]), int(item[2]) if len(item) > 2 else 0) for item in items]
        self._model, self._device, self._threshold = model, device, threshold

    def run(self) -> int:
        limit_torch_threads()
        from ukan_core.device import device_label
        from ukan_core.inference import Segmenter
        from ukan_core.io.images import read_image

        total = len(self._items)
        self.report(Progress(0, total, "loading the model"))
        segmenter = cached_segmenter(self._model, self._device, Segmenter)
        self.device_found.emit(device_label(segmenter.device))
        label = model_label(self._model, getattr(segmenter, "info", None))
        done = 0
        for index, (name, path, frame) in enumerate(self._items):
            self.cancel_token.raise_if_cancelled()
            try:
                image = read_image(path, frame=frame)
                mask = segmenter.predict_mask(image, threshold=self._threshold)
            except BadImageError as exc:
                self.skipped.emit(name, str(exc))
            else:
                self.result.emit(name, mask, label)
                done += 1
            self.report(Progress(index + 1, total, display_item(name)))
        return done


_cache_lock = threading.Lock()
_cache: dict[tuple[str, str, float], Any] = {}


def cached_segmenter(model: str, device: str, factory: Any) -> Any:
    """The Segmenter of the last job when model, device and file are unchanged (Segment clicks
    then answer at once); only worker threads call this, one segment job at a time."""
    from ukan_core.model_refs import resolve_model

    path = resolve_model(model)
    key = (str(path), device, path.stat().st_mtime)
    with _cache_lock:
        if key not in _cache:
            _cache.clear()   # keep one model in memory
            _cache[key] = factory.from_name_or_path(str(path), device=device)
        return _cache[key]


def model_label(model: str, info: object) -> str:
    """A short name for the annotation record: "<name> <version>" from the checkpoint info."""
    if isinstance(info, dict):
        name = info.get("name") or Path(model).stem
        version = info.get("version")
        return f"{name} {version}" if version else str(name)
    return Path(model).stem if ("/" in model or "\\" in model) else model
