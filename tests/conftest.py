"""Shared test fixtures: the official reference fixtures folder and an isolated user home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = Path(os.environ.get("UKAN_REFERENCE_DIR", REPO_ROOT.parent / "shared" / "reference"))


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """`../shared/reference` (fixtures made with the official U-KAN code); skip when absent."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference fixtures not found at {REFERENCE_DIR} (set UKAN_REFERENCE_DIR)")
    return REFERENCE_DIR


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own UKAN_STUDIO_HOME, so settings and the model store never leak."""
    home = tmp_path_factory.mktemp("ukan_home")
    monkeypatch.setenv("UKAN_STUDIO_HOME", str(home))
    return home
