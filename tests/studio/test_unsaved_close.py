"""Closing while saves fail: the window asks (Retry, Export as PNGs, Discard, keep open); failed saves retry."""

from __future__ import annotations

import errno
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QPushButton

from tests.studio.conftest import stroke
import ukan_core.io.masks as masks_module


def _answer(button: str, before=None) -> None:
    """Click `button` of the unsaved-edits dialog as soon as it shows (running `before` first)."""
    tries = [250]   # ~5 s, then give up (the test's own assertions say what went wrong)

    def click() -> None:
        box = next((w for w in QApplication.topLevelWidgets()
                    if w.objectName() == "unsavedEditsDialog" and w.isVisible()), None)
        if box is None:
            tries[0] -= 1
            if tries[0] > 0:
                QTimer.singleShot(20, click)
            return
        if before is not None:
            before()
        box.findChild(QPushButton, f"{button}Button").click()

    QTimer.singleShot(0, click)


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """The disk of the image folder is full (other disks, where an export may go, are not)."""
    real = masks_module.write_mask
    state = {"full": True}

    def write_mask(path, mask, **kwargs):
        if state["full"] and ".ukan-studio" in Path(path).parts:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, mask, **kwargs)

    monkeypatch.setattr(masks_module, "write_mask", write_mask)
    return state


def test_closing_with_failed_saves_asks_and_exports_the_edits(window, qtbot, monkeypatch, tmp_path: Path) -> None:
    _disk_full(monkeypatch)
    for row in (20, 40, 60):
        stroke(qtbot, window.canvas, [(10, row), (100, row)])
    painted = window.current_mask()
    qtbot.waitUntil(lambda: "No space left" in window.notice.text, timeout=3000)

    _answer("cancel")
    window.close()
    assert window.isVisible(), "the window stays open: the edits are not dropped silently"
    assert window.session.has_unsaved

    out = tmp_path / "rescued"
    monkeypatch.setattr("ukan_studio.unsaved_close.QFileDialog.getExistingDirectory", lambda *a, **k: str(out))
    _answer("export")
    window.close()
    assert not window.isVisible()
    rescued = cv2.imread(str(out / "case00.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(rescued, painted)
    assert rescued[[20, 40, 60], 10:101].all(), "all three strokes are in the exported mask"


def test_discard_is_an_explicit_choice(window, qtbot, monkeypatch, image_folder: Path) -> None:
    _disk_full(monkeypatch)
    stroke(qtbot, window.canvas, [(10, 20), (100, 20)])
    _answer("discard")
    window.close()
    assert not window.isVisible()
    assert not (image_folder / ".ukan-studio" / "masks").exists() or not any(
        (image_folder / ".ukan-studio" / "masks").iterdir())


def test_failed_saves_are_retried_without_a_new_edit(window, qtbot, monkeypatch) -> None:
    disk = _disk_full(monkeypatch)
    stroke(qtbot, window.canvas, [(10, 20), (100, 20)])
    qtbot.waitUntil(lambda: "No space left" in window.notice.text, timeout=3000)
    disk["full"] = False   # space freed; the user does nothing
    with qtbot.waitSignal(window.session.save_recovered, timeout=8000):
        pass
    assert not window.session.has_unsaved
    saved = window.session.store.mask("case00.png")
    assert saved is not None and saved[20, 10:101].all()
    assert window.session.store.status("case00.png") == "corrected"


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A real 512 KiB file system (tmpfs), when this process may mount one."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    point = tmp_path / "tiny"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(point)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode(errors='replace').strip()})")
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_a_really_full_disk_then_retry_after_freeing_space(qtbot, tiny_disk: Path, image_folder: Path) -> None:
    from ukan_studio.app import create_main_window

    folder = tiny_disk / "scans"
    shutil.copytree(image_folder, folder)
    win = create_main_window(folder, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitExposed(win)
    win.canvas.fit()
    filler = tiny_disk / "filler"
    try:
        with open(filler, "wb") as stream:
            while True:
                stream.write(b"\0" * 4096)
                stream.flush()
    except OSError:
        pass   # the disk is full
    for row in (20, 40, 60):
        stroke(qtbot, win.canvas, [(10, row), (100, row)])
    painted = win.current_mask()
    qtbot.waitUntil(lambda: "No space left" in win.notice.text, timeout=3000)
    _answer("retry", before=filler.unlink)
    win.close()
    assert not win.isVisible()
    from ukan_core.annotation import AnnotationStore

    store = AnnotationStore.open(folder)
    assert store.status("case00.png") == "corrected"
    np.testing.assert_array_equal(store.mask("case00.png"), painted)


def test_another_folder_is_not_opened_over_unsaved_edits(window, qtbot, monkeypatch, tmp_path: Path) -> None:
    disk = _disk_full(monkeypatch)
    stroke(qtbot, window.canvas, [(10, 20), (100, 20)])
    other = tmp_path / "other"
    other.mkdir()
    assert not window.open_folder(other)
    assert "could not be saved" in window.notice.text
    assert window.session.current == "case00.png" and window.current_mask()[20, 10:101].all()
    disk["full"] = False
    assert window.open_folder(other), "once saved, the other folder opens"
