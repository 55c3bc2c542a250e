"""The Help ▸ About text: what is running, for a bug report or a methods section.

Versions are read from the installed package metadata, so torch is never imported here (the
window's thread does not touch torch; the device comes from the warm-up worker's report).
"""

from __future__ import annotations

import platform
from html import escape
from importlib import metadata

PACKAGES = ("torch", "numpy", "pyqtgraph", "opencv-python-headless", "safetensors", "pydicom")   # Qt has its own row


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
            ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
            ("System", f"{platform.system()} {platform.release()} {platform.machine()}")]
    rows += [(name, package_version(name)) for name in PACKAGES]
    return rows


def about_html(rows: list[tuple[str, str]]) -> str:
    """The About box: one sentence and a table of `rows` (from `about_lines`)."""
    table = "".join(f"<tr><td><b>{escape(k)}</b>&nbsp;&nbsp;</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return ("<p>Segment, correct and retrain U-KAN models on 2D medical images; explain and generate.<br>"
            "A research tool, not a medical device.</p>"
            f"<table>{table}</table>")


def about_plain(rows: list[tuple[str, str]]) -> str:
    """The same rows as plain text (copied to the clipboard for bug reports)."""
    return "\n".join(f"{k}: {v}" for k, v in rows)
