"""File ▸ Load Masks from Folder…: off without a folder, and a long import shows progress and cancels."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu

from ukan_core.annotation import AnnotationStore


def _file_menu(window) -> QMenu:
    return next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")


def _click_menu_item(qtbot, window, name: str) -> None:
    """Open the File menu and click the item of action `name` with the mouse."""
    menu = _file_menu(window)
    action = window.findChild(QAction, name)
    menu.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitExposed(menu)
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    if not action.isEnabled():   # a disabled item leaves the menu open
        qtbot.keyClick(menu, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not menu.isVisible())


def _pairs(folder: Path, masks: Path, n: int) -> None:
    folder.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"img{i:02d}.png"), rng.integers(0, 255, (24, 32), dtype=np.uint8))
        mask = np.zeros((24, 32), np.uint8)
        mask[4:12, 6:20] = 255
        cv2.imwrite(str(masks / f"img{i:02d}.png"), mask)


def test_load_masks_is_off_without_a_folder_and_on_once_one_is_open(qtbot, tmp_path: Path, monkeypatch) -> None:
    from ukan_studio.main_window import MainWindow
    from ukan_studio.settings import load_settings

    window = MainWindow(load_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: asked.append("x") or ""))
    load = window.findChild(QAction, "actionLoadMasks")
    assert load in _file_menu(window).actions()
    assert not load.isEnabled()
    _click_menu_item(qtbot, window, "actionLoadMasks")
    assert asked == [], "a disabled item opens no dialog"
    _pairs(tmp_path / "scans", tmp_path / "labels", 2)
    window.open_folder(tmp_path / "scans")
    assert load.isEnabled()
    _click_menu_item(qtbot, window, "actionLoadMasks")
    qtbot.waitUntil(lambda: asked == ["x"])
    window.close()


@pytest.fixture
def slow_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each mask takes 40 ms to read, so a 40-image import lasts long enough to watch and cancel."""
    from ukan_core.data import folders

    real = folders.load_pair

    def slow(pair):
        time.sleep(0.04)
        return real(pair)

    monkeypatch.setattr(folders, "load_pair", slow)


def test_a_large_import_shows_progress_and_cancel_keeps_the_masks_loaded(
        window, qtbot, tmp_path: Path, monkeypatch, slow_reads) -> None:
    folder, masks = tmp_path / "many", tmp_path / "many_masks"
    _pairs(folder, masks, 40)
    window.open_folder(folder)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(masks)))
    seen: list[tuple[int, int]] = []
    window.jobs.progressed.connect(lambda kind, p: seen.append((p.done, p.total)) if kind == "import_masks" else None)
    load = window.findChild(QAction, "actionLoadMasks")
    with qtbot.waitSignal(window.job_finished, timeout=60_000, check_params_cb=lambda k: k == "import_masks"):
        _click_menu_item(qtbot, window, "actionLoadMasks")
        qtbot.waitUntil(lambda: window.progress_bar.value() >= 5, timeout=30_000)
        assert window.progress_bar.isVisible() and window.cancel_button.isVisible()
        assert window.progress_bar.maximum() == 40
        assert not load.isEnabled(), "one import at a time"
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    loaded = [n for n, _ in enumerate(range(40)) if AnnotationStore.open(folder).status(f"img{n:02d}.png") == "imported"]
    assert 5 <= len(loaded) < 40, loaded
    assert loaded == list(range(len(loaded))), "the first images, in order"
    assert max(done for done, _ in seen) < 40
    assert "Loading masks cancelled" in window.notice.text and "already loaded are kept" in window.notice.text
    statuses = [window.session.status(f"img{n:02d}.png") for n in range(40)]
    assert statuses.count("imported") == len(loaded), "the list shows the masks already loaded"
    assert not window.progress_bar.isVisible() and load.isEnabled()


def test_a_finished_import_fills_the_progress_bar_to_its_total(window, qtbot, tmp_path: Path, monkeypatch) -> None:
    folder, masks = tmp_path / "few", tmp_path / "few_masks"
    _pairs(folder, masks, 6)
    window.open_folder(folder)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(masks)))
    seen: list[tuple[int, int]] = []
    window.jobs.progressed.connect(lambda kind, p: seen.append((p.done, p.total)) if kind == "import_masks" else None)
    with qtbot.waitSignal(window.job_finished, timeout=60_000, check_params_cb=lambda k: k == "import_masks"):
        _click_menu_item(qtbot, window, "actionLoadMasks")
    assert [d for d, t in seen if t == 6] == [0, 1, 2, 3, 4, 5, 6]
    assert "Imported 6 mask(s)" in window.notice.text
