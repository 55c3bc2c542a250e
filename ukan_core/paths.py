"""Where per-user files live: platformdirs locations, or one folder when UKAN_STUDIO_HOME is set."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "ukan-studio"
HOME_VARIABLE = "UKAN_STUDIO_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_VARIABLE, "").strip()
    return Path(value).expanduser() if value else None


def user_data_dir() -> Path:
    """Annotations of read-only folders and other per-user data."""
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    """Settings (recent folders, theme, device, brush size)."""
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_cache_dir() -> Path:
    """Thumbnails and other files that can be rebuilt."""
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def model_store_dir() -> Path:
    """The model store: `models/<name>/<version>/` of trained and fine-tuned versions."""
    return user_data_dir() / "models"
