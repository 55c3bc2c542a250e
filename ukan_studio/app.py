"""Start UKAN Studio: `ukan-studio [FOLDER]` or `python -m ukan_studio [FOLDER]`.

The window appears before torch is imported; a background worker imports it and reports the
device. At first start with no folder, the bundled sample images open.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ukan_core import __version__
from ukan_studio.startup import APP_ID, GIL_SWITCH_S, create_main_window, ensure_application, follow_system_theme

__all__ = ["APP_ID", "GIL_SWITCH_S", "create_main_window", "ensure_application", "main"]


def main(argv: list[str] | None = None) -> int:
    """The `ukan-studio` entry point."""
    multiprocessing.freeze_support()   # Retrain's child process in a frozen (PyInstaller) app
    parser = argparse.ArgumentParser(prog="ukan-studio", description="Segment, correct and retrain with U-KAN.")
    parser.add_argument("folder", nargs="?", help="a folder of images to open")
    parser.add_argument("--version", action="version", version=f"ukan-studio {__version__}",
                        help="print the version and exit (no window)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument("--self-test", action="store_true",
                        help="segment a bundled sample offscreen with the bundled model and exit 0 if it works")
    args = parser.parse_args(argv)
    if args.self_test:
        from ukan_studio.self_test import run_self_test

        return run_self_test()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = ensure_application(sys.argv[:1])
    folder = Path(args.folder).expanduser() if args.folder else None
    if folder is not None and not folder.is_dir():
        parser.error(f"{folder}: not a folder")
    window = create_main_window(folder)
    follow_system_theme(app, window)
    window.show()
    return app.exec()
