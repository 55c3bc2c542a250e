"""File ▸ Load Masks: off without an open folder, and a large import shows its progress in the
status bar like every other job."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtGui import QAction

from ukan_core.annotation import AnnotationStore


def test_load_masks_is_off_until_a_folder_is_open(qtbot, monkeypatch, tmp_path: Path, image_folder: Path) -> None:
    monkeypatch.setattr("ukan_core.assets.samples_dir", lambda: tmp_path / "absent")
    from ukan_studio.app import create_main_window

    window = create_main_window(warm_up=False)
    qtbot.addWidget(window)
    load = window.findChild(QAction, "actionLoadMasks")
    assert window.session.folder is None and not load.isEnabled()
    assert window.open_folder(image_folder)
    assert load.isEnabled()
    window.close()


def test_a_large_import_shows_its_progress_per_mask(window, qtbot, monkeypatch, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QFileDialog

    folder = tmp_path / "many"
    masks = tmp_path / "many_masks"
    folder.mkdir()
    masks.mkdir()
    mask = np.zeros((16, 16), np.uint8)
    mask[4:10, 4:10] = 255
    for k in range(60):
        cv2.imwrite(str(folder / f"img{k:03d}.png"), np.full((16, 16), k, np.uint8))
        cv2.imwrite(str(masks / f"img{k:03d}.png"), mask)
    assert window.open_folder(folder)
    bar_seen: list[tuple[int, int, bool, str]] = []
    statuses_seen: list[str] = []

    def look(kind: str, _progress: object) -> None:   # after the window's own handler has shown the report
        if kind == "import_masks":
            bar = window.progress_bar
            bar_seen.append((bar.value(), bar.maximum(), bar.isVisible(), bar.format()))
            statuses_seen.append(window.statusBar().currentMessage())

    window.jobs.progressed.connect(look)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(masks)))
    with qtbot.waitSignal(window.job_finished, timeout=60_000, check_params_cb=lambda k: k == "import_masks"):
        window.findChild(QAction, "actionLoadMasks").trigger()
    assert (60, 60, True, "Loading masks %v/%m") in bar_seen
    assert len({value for value, *_ in bar_seen}) > 10, "the bar moves mask by mask"
    assert any(text.startswith("Loading masks: reading img0") for text in statuses_seen), statuses_seen[:3]
    assert AnnotationStore.open(folder).status("img059.png") == "imported"
    assert not window.progress_bar.isVisible()
