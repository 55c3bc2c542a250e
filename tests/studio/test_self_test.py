"""`ukan-studio --self-test` segments a bundled sample offscreen and says so in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_self_test_passes_with_the_bundled_model(tmp_path: Path) -> None:
    if not (REPO / "resources" / "models" / "ukan-synthetic-us.safetensors").is_file():
        pytest.skip("the bundled model is not in resources/models")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-m", "ukan_studio", "--self-test"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("self-test passed: segmented sample_01.png"), out.stdout
