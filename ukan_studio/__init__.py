"""UKAN Studio: the desktop app (PySide6) over the GUI-free `ukan_core` library."""

from __future__ import annotations

__all__ = ["create_main_window", "main"]


def __getattr__(name: str):  # PEP 562: `import ukan_studio` stays light
    if name in __all__:
        from ukan_studio import app

        return getattr(app, name)
    raise AttributeError(f"module 'ukan_studio' has no attribute {name!r}")
