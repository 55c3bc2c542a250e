"""User settings (recent folders, device, theme, brush size, overlay look) in one JSON file.

Lives in `ukan_core.paths.user_config_dir()`, so UKAN_STUDIO_HOME moves it with everything else.
Unknown or damaged values fall back to the defaults: a bad settings file never stops the app.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ukan_core.atomic import atomic_write_text
from ukan_core.paths import user_config_dir

log = logging.getLogger(__name__)

SETTINGS_FILE = "studio.json"
MAX_RECENT = 10


@dataclass
class StudioSettings:
    """What the Studio remembers between runs."""

    recent_folders: list[str] = field(default_factory=list)
    device: str = "auto"
    theme: str = "system"  # "system", "light" or "dark"
    brush_size: int = 15
    overlay_opacity: float = 0.45
    contour_only: bool = False
    model: str = ""
    export_mode: str = "binary"
    export_folder: str = ""     # where masks were exported last
    last_images: dict[str, str] = field(default_factory=dict)   # folder -> image shown last
    window_geometry: str = ""   # base64 of QMainWindow.saveGeometry()
    window_state: str = ""      # base64 of QMainWindow.saveState() (dock layout)
    first_run_hint_dismissed: bool = False
    mask_import_answers: dict[str, bool] = field(default_factory=dict)   # folder -> import its masks? (asked once)

    def remember_folder(self, folder: Path) -> None:
        """Put `folder` first in the recent list."""
        text = str(Path(folder))
        self.recent_folders = [text] + [f for f in self.recent_folders if f != text]
        del self.recent_folders[MAX_RECENT:]
        self.last_images = {k: v for k, v in self.last_images.items() if k in self.recent_folders}


def settings_path() -> Path:
    return user_config_dir() / SETTINGS_FILE


def load_settings() -> StudioSettings:
    """The saved settings, or the defaults when the file is missing or unreadable."""
    path = settings_path()
    settings = StudioSettings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return settings
    except (OSError, ValueError) as exc:
        log.warning("%s: ignored unreadable settings (%s)", path.name, exc)
        return settings
    if not isinstance(data, dict):
        return settings
    for f in fields(StudioSettings):
        if f.name not in data:
            continue
        value = data[f.name]
        default = getattr(settings, f.name)
        if isinstance(default, bool) != isinstance(value, bool):
            continue
        if isinstance(default, (int, float)) and isinstance(value, (int, float)):
            setattr(settings, f.name, type(default)(value))
        elif isinstance(value, type(default)):
            setattr(settings, f.name, value)
    settings.brush_size = max(1, min(500, settings.brush_size))
    settings.overlay_opacity = max(0.0, min(1.0, settings.overlay_opacity))
    return settings


def save_settings(settings: StudioSettings) -> None:
    """Write the settings atomically; a failure is logged, never raised (settings are a comfort)."""
    try:
        atomic_write_text(settings_path(), json.dumps(asdict(settings), indent=2))
    except OSError as exc:
        log.warning("%s: could not save settings (%s)", SETTINGS_FILE, exc)
