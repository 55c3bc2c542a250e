"""The networks: U-KAN (segmentation), Diffusion U-KAN (generation) and their KANLinear layer.

Names are imported on first use (PEP 562) so that `ukan_core.models.configs` stays torch-free.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "KANLinear": "ukan_core.models.kan",
    "UKAN": "ukan_core.models.ukan",
    "DiffusionUKAN": "ukan_core.models.diffusion_ukan",
    "UKANConfig": "ukan_core.models.configs",
    "DiffusionUKANConfig": "ukan_core.models.configs",
    "NAMED_CONFIGS": "ukan_core.models.registry",
    "GENERATOR_PRESETS": "ukan_core.models.registry",
    "build_model": "ukan_core.models.registry",
    "optimize_for_inference": "ukan_core.models.fast",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ukan_core.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
