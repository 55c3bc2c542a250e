"""The per-pixel uncertainty map of one image, off the GUI thread (for the canvas overlay)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal

from ukan_core.progress import Progress
from ukan_studio.workers.base import Worker, limit_torch_threads
from ukan_studio.workers.segment import cached_segmenter


class UncertaintyMapWorker(Worker):
    """Runs `ukan_core.uncertainty.image_uncertainty` on pixels already read and emits its map."""

    measured = Signal(str, object, float)   # image name, (H, W) float32 map in [0, 1], its score

    name = "Uncertainty map"

    def __init__(self, name: str, image: Any, model: str, device: str = "auto") -> None:
        super().__init__()
        self._name, self._image, self._model, self._device = name, image, model, device

    def run(self) -> float:
        limit_torch_threads()
        from ukan_core.inference import Segmenter
        from ukan_core.uncertainty import image_uncertainty

        self.report(Progress(0, 1, "loading the model"))
        segmenter = cached_segmenter(self._model, self._device, Segmenter)
        self.cancel_token.raise_if_cancelled()
        result = image_uncertainty(segmenter, self._image)
        self.measured.emit(self._name, result.map, result.score)
        self.report(Progress(1, 1, "uncertainty map"))
        return result.score
