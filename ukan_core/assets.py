"""Where the bundled files are: the checkout's (or frozen app's) `resources/` folder."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The `resources/` folder: beside the packages in a checkout, or inside a PyInstaller bundle."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def bundled_models_dir() -> Path:
    """Read-only models trained by the project's own commands (`resources/models/`)."""
    return resources_dir() / "models"


def samples_dir() -> Path:
    """Sample images opened at first start (`resources/samples/`)."""
    return resources_dir() / "samples"
