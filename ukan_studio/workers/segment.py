"""Segment one image or a list of images with a model, off the GUI thread.

Masks come first, at the speed of a plain prediction; then (`measure`) each image's uncertainty
score (`ukan_core.uncertainty`, three forward passes) and the folder's domain score over at most
`domain.MAX_REFERENCE_IMAGES` of the images, so the list's badges and the out-of-domain warning
follow without slowing the masks down.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal

from ukan_core.annotation.keys import display_item
from ukan_core.errors import BadImageError
from ukan_core.progress import Progress
from ukan_studio.workers.base import Worker, limit_torch_threads

log = logging.getLogger(__name__)


class SegmentWorker(Worker):
    """Reads each image, predicts its label mask and emits it; a bad image is skipped and reported.

    `items` are (name, file, frame) triples (frame 0-based: a DICOM frame, TIFF page or NIfTI slice);
    a (name, file) pair means frame 0.
    """

    result = Signal(str, object, str)   # image name, (H, W) uint8 labels, model label
    skipped = Signal(str, str)          # image name, one-line reason
    device_found = Signal(str)          # e.g. "CPU (1 threads)"
    scored = Signal(str, float, str)    # image name, uncertainty score 0..1, model ref
    domain_measured = Signal(object, str, int)   # domain score (None: the model has no record), model ref, n

    name = "Segment"

    def __init__(self, items: list[tuple[str, Path, int]] | list[tuple[str, Path]], model: str, device: str = "auto",
                 threshold: float | None = None, measure: bool = True) -> None:
        super().__init__()
        self._items = [(item[0], Path(item[1]), int(item[2]) if len(item) > 2 else 0) for item in items]
        self._model, self._device, self._threshold = model, device, threshold
        self._measure = measure

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
        done: list[tuple[str, Path, int]] = []
        for index, (name, path, frame) in enumerate(self._items):
            self.cancel_token.raise_if_cancelled()
            try:
                image = read_image(path, frame=frame)
                mask = segmenter.predict_mask(image, threshold=self._threshold)
            except BadImageError as exc:
                self.skipped.emit(name, str(exc))
            else:
                self.result.emit(name, mask, label)
                done.append((name, path, frame))
            self.report(Progress(index + 1, total, display_item(name)))
        if self._measure and done:
            self._measure_trust(segmenter, done)
        return len(done)

    def _measure_trust(self, segmenter: Any, items: list[tuple[str, Path, int]]) -> None:
        """Each image's uncertainty score, then the domain score of (a spread of) these images."""
        import numpy as np

        from ukan_core import domain
        from ukan_core.io.images import read_image
        from ukan_core.uncertainty import image_uncertainty

        picks = set(np.linspace(0, len(items) - 1, min(len(items), domain.MAX_REFERENCE_IMAGES))
                    .round().astype(int).tolist())
        kept: list[Any] = []
        for index, (name, path, frame) in enumerate(items):
            self.cancel_token.raise_if_cancelled()
            try:
                image = read_image(path, frame=frame)
                self.scored.emit(name, image_uncertainty(segmenter, image).score, self._model)
            except BadImageError:
                continue
            if index in picks:
                kept.append(image)
            self.report(Progress(index + 1, len(items), "measuring uncertainty"))
        self.cancel_token.raise_if_cancelled()
        score = domain.domain_score(segmenter, kept) if kept else None
        if score is None:
            log.info("%s: no out-of-domain check (the model has no recorded feature statistics)", self._model)
        self.domain_measured.emit(score, self._model, len(kept))


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
