"""At start: import torch and the engine, pick the device and report its label.

Importing torch, the training engine and torch._dynamo (pulled in by the first optimizer) runs
a lot of Python while holding the GIL; doing it once at start, while the user is still looking
at the first image, keeps that stall out of the first Segment or Retrain. The same goes for the
first model built on the meta device (how checkpoints load): a tiny U-KAN and Diffusion U-KAN
are built there once, which kept a 150 ms stall out of the first Generate.
"""

from __future__ import annotations

import importlib
import logging

from ukan_studio.workers.base import Worker, limit_torch_threads

log = logging.getLogger(__name__)

WARM_MODULES = ("ukan_core.inference", "ukan_core.training.finetune", "ukan_core.training.trainer",
                "ukan_core.diffusion.pipeline", "ukan_core.models.diffusion_ukan", "torch._dynamo")
TINY_BUILDS = (("ukan", {"embed_dims": (16, 24, 32)}),
               ("diffusion_ukan", {"ch": 32, "ch_mult": (1, 1), "num_res_blocks": 1, "embed_dims": (32, 64, 96)}))


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
        _build_on_meta_once()
        return label


def _build_on_meta_once() -> None:
    import torch

    from ukan_core.models.registry import build_model

    for architecture, config in TINY_BUILDS:
        with torch.device("meta"):
            build_model(architecture, config)
