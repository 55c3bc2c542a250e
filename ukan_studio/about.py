"""The Help ▸ About text: what is running, for a bug report or a methods section.

Versions are read from the installed package metadata, so torch is never imported here (the
window's thread does not touch torch; the device comes from the warm-up worker's report).
"""

from __future__ import annotations

import platform
import sys
from html import escape
from importlib import metadata

PACKAGES = ("torch", "numpy", "PySide6-Essentials", "pyqtgraph", "opencv-python-headless", "safetensors", "pydicom")


def package_version(name: str) -> str:
    """The installed version of distribution `name`, "not installed" when it is absent."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def about_lines(device: str, model: str) -> list[tuple[str, str]]:
    """(what, value) rows: app, device, model in use, Qt, Python, OS and the key packages."""
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from ukan_core import __version__

    rows = [("UKAN Studio", __version__), ("Device", device or "not detected yet"), ("Model in use", model or "none"),
            ("Qt", f"{qVersion()} (PySide6 {pyside_version})"),
            ("Python", f"{platform.python_version()} ({sys.executable and platform.python_implementation()})"),
            ("System", f"{platform.system()} {platform.release()} {platform.machine()}")]
    rows += [(name, package_version(name)) for name in PACKAGES if name != "PySide6-Essentials"]
    return rows


def about_html(device: str, model: str) -> str:
    """The About box: one sentence and a table of `about_lines`."""
    table = "".join(f"<tr><td><b>{escape(k)}</b>&nbsp;&nbsp;</td><td>{escape(v)}</td></tr>"
                    for k, v in about_lines(device, model))
    return ("<p>Segment, correct and retrain U-KAN models on 2D medical images; explain and generate.<br>"
            "A research tool, not a medical device.</p>"
            f"<table>{table}</table>")


def about_plain(device: str, model: str) -> str:
    """The same rows as plain text (copied to the clipboard for bug reports)."""
    return "\n".join(f"{k}: {v}" for k, v in about_lines(device, model))
