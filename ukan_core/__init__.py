"""ukan_core: U-KAN segmentation and Diffusion U-KAN as a GUI-free library and the `ukan` CLI.

Torch-heavy names are imported on first use (PEP 562), so `import ukan_core` and `ukan --help`
stay fast and the Studio can start its window before torch is loaded.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "UKAN": "ukan_core.models.ukan",
    "DiffusionUKAN": "ukan_core.models.diffusion_ukan",
    "KANLinear": "ukan_core.models.kan",
    "build_model": "ukan_core.models.registry",
    "optimize_for_inference": "ukan_core.models.fast",
    "load_model": "ukan_core.model_refs",
    "save_checkpoint": "ukan_core.io.checkpoints",
    "Segmenter": "ukan_core.inference",
    "read_image": "ukan_core.io.images",
    "write_mask": "ukan_core.io.masks",
}

__all__ = sorted([*_LAZY, "UkanError", "Progress", "CancelToken", "__version__"])

from ukan_core.errors import UkanError as UkanError  # noqa: E402
from ukan_core.progress import CancelToken as CancelToken, Progress as Progress  # noqa: E402


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ukan_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
