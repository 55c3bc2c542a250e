"""After the start-up warm-up the long-lived objects (torch, the engine, Qt) are frozen out of the
garbage collector's full passes, so a full collection triggered by a worker later walks only the
objects made since (a 12 MP Segment all froze the window ~200 ms in one such pass)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

WARM_UP_AND_COUNT = r"""
import gc
import sys
from PySide6.QtCore import QEventLoop, QTimer
from ukan_studio.app import create_main_window, ensure_application

app = ensure_application()
window = create_main_window(sys.argv[1])   # as the app starts: with the warm-up
window.show()
before = gc.get_freeze_count()
loop = QEventLoop()
window.warmup.warmed_up.connect(loop.quit)
QTimer.singleShot(120_000, loop.quit)
loop.exec()
print(before, gc.get_freeze_count(), len(gc.get_objects()), "torch" in sys.modules)
window.close()
"""


def test_the_warm_up_freezes_the_objects_alive_after_it(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.random.default_rng(0).integers(0, 255, (32, 32), dtype=np.uint8))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "UKAN_STUDIO_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", WARM_UP_AND_COUNT, str(folder)], capture_output=True, text=True,
                          timeout=180, env=env)
    assert done.returncode == 0, done.stderr
    before, frozen, collectable, torch_loaded = done.stdout.split()
    assert torch_loaded == "True"
    assert int(before) == 0
    assert int(frozen) > 100_000                 # torch and the engine are in the permanent generation
    assert int(collectable) < int(frozen) // 10   # what a full collection still walks
