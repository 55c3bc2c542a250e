"""Build the application and the window: the QApplication once, then the window on a folder.

Both the `ukan-studio` entry point (`app.py`) and `--self-test` (`self_test.py`) start here, so
neither imports the other.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from ukan_studio.main_window import MainWindow
from ukan_studio.memory_reuse import keep_freed_memory_for_reuse
from ukan_studio.settings import load_settings
from ukan_studio.theme import apply_theme

APP_ID = "UKAN Studio"
GIL_SWITCH_S = 0.001   # workers hand the GIL back to the window sooner (default 5 ms): smoother UI


def ensure_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once, themed as the settings say)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else [sys.argv[0]])
        app.setApplicationName(APP_ID)
        app.setOrganizationName("UKAN Studio")
        app.setApplicationDisplayName(APP_ID)
        app.setDesktopFileName("ukan-studio")   # lets Wayland match windows to the menu entry
        _set_window_icon(app)
    assert isinstance(app, QApplication)
    return app


def _set_window_icon(app: QApplication) -> None:
    from PySide6.QtGui import QIcon

    from ukan_core.assets import resources_dir

    icon = resources_dir() / "icons" / "ukan-studio.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))


def create_main_window(folder: str | os.PathLike[str] | None = None, *, warm_up: bool = True) -> MainWindow:
    """Build the window; open `folder` (or an image file's folder), else the last folder, else (first start) the bundled samples."""
    app = ensure_application()
    sys.setswitchinterval(GIL_SWITCH_S)
    keep_freed_memory_for_reuse()   # large mask copies reuse mapped pages (ukan_studio.memory_reuse)
    settings = load_settings()
    apply_theme(app, settings.theme)
    window = MainWindow(settings)
    if folder is not None:
        window.open_path(folder)   # a folder, or an image file shown in its folder
    elif not settings.recent_folders:
        # first start: something to look at at once, and the three steps to try on it
        if window.open_samples() and not settings.first_run_hint_dismissed:
            window.show_first_run_hint()
    elif Path(settings.recent_folders[0]).is_dir():
        window.open_folder(settings.recent_folders[0])   # carry on where the user left off
    if warm_up:
        window.warmup.warm_up(settings.device)
    return window


def follow_system_theme(app: QApplication, window: MainWindow) -> None:
    """Re-theme the window when the desktop switches between light and dark (theme \"system\")."""
    hints = app.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(window.on_system_color_scheme_changed)
