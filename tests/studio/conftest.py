"""Qt test fixtures: offscreen platform, small image folders, a window, and a thread-leak guard."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def synthetic_scan(seed: int, height: int = 96, width: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """A grey, speckled 'ultrasound' image (H, W, 3) uint8 with one dark lesion, and its 0/1 mask."""
    rng = np.random.default_rng(seed)
    image = rng.normal(120, 25, (height, width)).clip(0, 255)
    mask = np.zeros((height, width), np.uint8)
    cy, cx = rng.integers(height // 3, 2 * height // 3), rng.integers(width // 3, 2 * width // 3)
    cv2.ellipse(mask, (int(cx), int(cy)), (int(width // 6), int(height // 7)), float(rng.integers(0, 180)),
                0, 360, 1, -1)
    image[mask > 0] *= 0.35
    image = cv2.GaussianBlur(image.astype(np.float32), (3, 3), 0)
    return np.repeat(image.astype(np.uint8)[..., None], 3, axis=2), mask


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Four small PNG images (and their true masks under ../truth for checks)."""
    folder = tmp_path / "scans"
    truth = tmp_path / "truth"
    folder.mkdir()
    truth.mkdir()
    for i in range(4):
        image, mask = synthetic_scan(i)
        cv2.imwrite(str(folder / f"case{i:02d}.png"), image)
        cv2.imwrite(str(truth / f"case{i:02d}.png"), mask)
    return folder


@pytest.fixture(autouse=True)
def no_thread_left_running() -> Iterator[None]:
    """Fail a test that leaves a worker QThread running (and stop it, so others are unaffected)."""
    yield
    from ukan_studio.workers.base import running_threads

    left = running_threads()
    if left:
        names = ", ".join(t.objectName() or "?" for t in left)
        for thread in left:
            thread.quit()
            thread.wait(10_000)
        pytest.fail(f"worker thread(s) still running after the test: {names}; close the window "
                    f"(MainWindow.close() cancels and joins its jobs) or wait for job_finished")


@pytest.fixture
def window(qtbot, image_folder: Path):
    """The main window on `image_folder`, shown offscreen; closed (saving everything) at the end."""
    from ukan_studio.app import create_main_window

    win = create_main_window(image_folder, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitExposed(win)
    win.canvas.fit()
    yield win
    win.close()


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny U-KAN checkpoint (random weights) made with the project's own save_checkpoint."""
    checkpoints = pytest.importorskip("ukan_core.io.checkpoints")
    registry = pytest.importorskip("ukan_core.models.registry")
    import torch

    torch.manual_seed(0)
    model = registry.build_model("ukan", {"embed_dims": (16, 24, 32)})
    path = tmp_path_factory.mktemp("models") / "tiny-ukan.safetensors"
    pre = {"mode": "standard", "fit": "resize", "input_size": [64, 64]}
    checkpoints.save_checkpoint(model, path, {"preprocessing": pre, "input_size": [64, 64], "name": "tiny-ukan",
                                              "class_names": ["lesion"]})
    return path


def stroke(qtbot, canvas, points: list[tuple[int, int]]) -> None:
    """Drag the left button through image pixels `points` with real mouse events."""
    from PySide6.QtCore import Qt

    viewport = canvas.viewport()
    first = canvas.image_to_widget(*points[0])
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=first)
    for x, y in points[1:]:
        qtbot.mouseMove(viewport, canvas.image_to_widget(x, y))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=canvas.image_to_widget(*points[-1]))
