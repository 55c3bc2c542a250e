"""Measure the current mask's regions (area, max-Feret diameter) off the GUI thread.

`ukan_core.measure.measure_mask` takes about 0.4 s on a 12-megapixel mask, too long for the GUI
thread after each edit; this worker runs it on a copy of the mask.
"""

from __future__ import annotations

import numpy as np

from ukan_studio.workers.base import Worker


class MeasureWorker(Worker):
    """Returns (image name, list[RegionMeasurement]) for one mask copy."""

    name = "Sizes"

    def __init__(self, name: str, mask: np.ndarray, pixel_spacing: tuple[float, float] | None) -> None:
        super().__init__()
        self._name, self._mask, self._spacing = name, mask, pixel_spacing

    def run(self) -> tuple[str, list]:
        from ukan_core.measure import measure_mask

        return self._name, measure_mask(self._mask, self._spacing)
