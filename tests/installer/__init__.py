"""Tests of installer/: its scripts are not a package, so they are loaded from their files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "installer"


def load_installer_script(name: str) -> ModuleType:
    """Import installer/<name>.py as module `ukan_installer_<name>` (registered in sys.modules, which
    dataclasses need to find their module)."""
    spec = importlib.util.spec_from_file_location(f"ukan_installer_{name}", INSTALLER / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
