"""At start: import torch and the engine, pick the device and report its label.

Importing torch, the training engine and torch._dynamo (pulled in by the first optimizer) runs
a lot of Python while holding the GIL; doing it once at start, while the user is still looking
at the first image, keeps that stall out of the first Segment or Retrain.
"""

from __future__ import annotations

import importlib
import logging

from ukan_studio.workers.base import Worker, limit_torch_threads

log = logging.getLogger(__name__)

WARM_MODULES = ("ukan_core.inference", "ukan_core.training.finetune", "ukan_core.training.trainer",
                "torch._dynamo")


class WarmupWorker(Worker):
    """Returns a device label such as "CPU (1 threads)" or "CUDA (NVIDIA ...)"."""

    name = "Start-up"

    def __init__(self, device: str = "auto") -> None:
        super().__init__()
        self._device = device

    def run(self) -> str:
        limit_torch_threads()
        from ukan_core.device import device_label, pick_device

        label = device_label(pick_device(self._device))
        for module in WARM_MODULES:
            self.cancel_token.raise_if_cancelled()
            try:
                importlib.import_module(module)
            except ImportError as exc:   # an optional part missing only matters when it is used
                log.info("warm-up skipped %s: %s", module, exc)
        return label
