"""Help ▸ Getting Started speaks of sample images only on the samples; the device label's grammar and
thread count; closing while thumbnails load prints nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel


def _hint_title(window) -> str:
    return window.first_run_hint.findChild(QLabel, "firstRunTitle").text()


def test_getting_started_says_sample_images_only_on_the_bundled_samples(window, qtbot) -> None:
    window.findChild(QAction, "actionShowHint").trigger()
    assert window.first_run_hint.isVisible()
    assert "sample images" not in _hint_title(window) and "three steps" in _hint_title(window)
    if not window.open_samples():
        pytest.skip("the bundled samples are not installed in this checkout")
    window.findChild(QAction, "actionShowHint").trigger()
    assert "these are sample images" in _hint_title(window)


def test_cpu_label_grammar_and_studio_threads() -> None:
    torch = pytest.importorskip("torch")
    from ukan_core.device import device_label, studio_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert device_label(torch.device("cpu")) == "CPU (1 thread)"
        torch.set_num_threads(2)
        assert device_label(torch.device("cpu")) == "CPU (2 threads)"
    finally:
        torch.set_num_threads(before)
    assert [studio_threads(n) for n in (1, 2, 3, 4, 8)] == [1, 2, 2, 3, 7]


CLOSE_AT_ONCE = r"""
import sys
import shiboken6
from PySide6.QtCore import QEventLoop, QTimer
from ukan_studio.app import create_main_window, ensure_application

app = ensure_application()
window = create_main_window(sys.argv[1], warm_up=False)
window.resize(900, 1400)   # many rows visible: many thumbnails asked for at once
window.show()
model = window.image_model
for name in window.session.names:   # as scrolling through the list does: every row asks for its picture
    model.loader.request(name, window.session.folder / name)
app.processEvents()
if sys.argv[2] == "close":
    window.close()
shiboken6.delete(window)   # the widgets go while thumbnails are still loading
loop = QEventLoop()
QTimer.singleShot(1000, loop.quit)
loop.exec()
print("closed")
"""


@pytest.mark.parametrize("how", ["close", "delete"])
def test_closing_while_thumbnails_load_prints_nothing(tmp_path: Path, how: str) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1000):
        cv2.imwrite(str(folder / f"img{i:04d}.png"), rng.integers(0, 255, (24, 24), dtype=np.uint8))
    done = subprocess.run([sys.executable, "-c", CLOSE_AT_ONCE, str(folder), how], capture_output=True, text=True,
                          timeout=120, env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert "closed" in done.stdout
    noise = [line for line in done.stderr.splitlines() if "propagateSizeHints" not in line and line.strip()]
    assert not noise, "\n".join(noise)
