"""The window starts fast: names first, no torch import, the first image shown at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_window_starts_without_importing_torch(image_folder: Path, isolated_home: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from ukan_studio.app import create_main_window
        window = create_main_window(sys.argv[1], warm_up=False)
        assert window.current_mask() is not None
        print("torch" in sys.modules)
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", UKAN_STUDIO_HOME=str(isolated_home),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", script, str(image_folder)], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_a_folder_of_1000_images_shows_its_first_image_quickly(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    ok, png = cv2.imencode(".png", np.full((64, 64, 3), 90, np.uint8))
    for i in range(1000):
        (folder / f"img{i:04d}.png").write_bytes(png.tobytes())
    from ukan_studio.app import create_main_window

    window = create_main_window(warm_up=False)
    qtbot.addWidget(window)
    window.show()
    start = time.perf_counter()
    window.open_folder(folder)
    elapsed = time.perf_counter() - start
    assert window.session.current == "img0000.png" and window.current_mask().shape == (64, 64)
    assert len(window.session.names) == 1000
    assert elapsed < 0.5, f"first image after {elapsed:.2f} s"
    window.close()


def test_first_start_without_samples_shows_the_empty_state(qtbot, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr("ukan_core.assets.samples_dir", lambda: tmp_path / "absent")
    from ukan_studio.app import create_main_window

    window = create_main_window(warm_up=False)
    qtbot.addWidget(window)
    assert window.session.folder is None and window.stack.currentIndex() == 0
    window.close()


def test_first_start_opens_the_bundled_samples_without_writing_into_them(qtbot, isolated_home: Path) -> None:
    from ukan_core.assets import samples_dir

    if not any(samples_dir().glob("*.png")):
        import pytest

        pytest.skip("no bundled sample images in this checkout")
    from ukan_studio.app import create_main_window

    window = create_main_window(warm_up=False)
    qtbot.addWidget(window)
    assert window.session.folder == samples_dir() and window.current_mask() is not None
    assert str(window.session.store.location).startswith(str(isolated_home))
    window.close()
    assert not (samples_dir() / ".ukan-studio").exists()
