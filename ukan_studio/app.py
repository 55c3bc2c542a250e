"""Start UKAN Studio: `ukan-studio [FOLDER | FILE]` or `python -m ukan_studio [FOLDER | FILE]`.

A FILE opens its folder with that image shown.

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


def build_parser() -> argparse.ArgumentParser:
    """The `ukan-studio` command line."""
    parser = argparse.ArgumentParser(prog="ukan-studio", description="Segment, correct and retrain with U-KAN.")
    parser.add_argument("folder", nargs="?", metavar="FOLDER_OR_FILE",
                        help="a folder of images to open, or one image file (its folder opens with it shown)")
    parser.add_argument("--version", action="version", version=f"ukan-studio {__version__}",
                        help="print the version and exit (no window)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument("--self-test", action="store_true",
                        help="segment a bundled sample offscreen with the bundled model and exit 0 if it works")
    return parser


def what_to_open(argv: list[str] | None = None) -> tuple[argparse.Namespace, Path | None]:
    """The parsed arguments and the folder or file to open (None: the last folder, or the samples).

    Exits through argparse with one line when the path does not exist or is a file that is not an image.
    """
    from ukan_core.errors import UkanError
    from ukan_core.io.items import locate

    parser = build_parser()
    args = parser.parse_args(argv)
    target = Path(args.folder).expanduser() if args.folder else None
    if target is None or args.self_test or target.is_dir():
        return args, target
    if not target.exists():
        parser.error(f"{target}: no such folder or file")
    try:
        locate(target)
    except UkanError as exc:
        parser.error(f"{exc}; give a folder or an image file")
    return args, target


def main(argv: list[str] | None = None) -> int:
    """The `ukan-studio` entry point."""
    multiprocessing.freeze_support()   # Retrain's child process in a frozen (PyInstaller) app
    args, target = what_to_open(argv)
    if args.self_test:
        from ukan_studio.self_test import run_self_test

        return run_self_test()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = ensure_application(sys.argv[:1])
    window = create_main_window(target)
    follow_system_theme(app, window)
    window.show()
    return app.exec()
