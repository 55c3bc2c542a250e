"""File ▸ Export masks runs on a worker like every other job: progress, Cancel, and the overwrite question."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from ukan_studio.controllers import export_controller
from ukan_studio.panels.export_dialog import ExportOptions


def _predict_every_image(window) -> None:
    """A saved mask for each of the four images (a different square in each)."""
    for i, name in enumerate(window.session.names):
        mask = np.zeros((96, 128), np.uint8)
        mask[10 + i:40 + i, 20:60] = 1
        assert window.session.set_prediction(name, mask, "test-model")
    window.session.flush()


@pytest.fixture
def export_to(window, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The export dialog answers with `tmp_path/out`, all images, binary masks."""
    out = tmp_path / "out"
    monkeypatch.setattr(export_controller, "ask_export_options",
                        lambda *_args: ExportOptions(out_dir=out, scope="all", mode="binary"))
    _predict_every_image(window)
    return out


def _slow_writes(monkeypatch: pytest.MonkeyPatch, delay_s: float) -> list[threading.Thread]:
    from ukan_core.io import masks as masks_module

    threads: list[threading.Thread] = []
    real = masks_module.write_mask

    def slow_write(path, mask):
        threads.append(threading.current_thread())
        time.sleep(delay_s)
        return real(path, mask)

    monkeypatch.setattr(masks_module, "write_mask", slow_write)
    return threads


def test_export_writes_on_a_worker_with_progress(window, qtbot, export_to: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    threads = _slow_writes(monkeypatch, 0.05)
    progress = []
    window.jobs.progressed.connect(lambda kind, p: progress.append((kind, p.done, p.total)))
    with qtbot.waitSignal(window.job_finished, timeout=20_000, check_params_cb=lambda kind: kind == "export"):
        window.findChild(QAction, "actionExportMasks").trigger()
        assert window.progress_bar.isVisible() and window.cancel_button.isVisible()   # the window stays free
    assert sorted(p.name for p in export_to.iterdir()) == ["case00.png", "case01.png", "case02.png", "case03.png",
                                                            "classes.json", "measurements.csv"]   # as `ukan export`
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert ("export", 4, 4) in progress
    assert window.notice.sticky and "Exported 4 mask(s)" in window.notice.text
    assert not window.progress_bar.isVisible()


def test_cancel_stops_the_export_between_files(window, qtbot, export_to: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_writes(monkeypatch, 0.3)
    with qtbot.waitSignal(window.job_finished, timeout=20_000, check_params_cb=lambda kind: kind == "export"):
        window.findChild(QAction, "actionExportMasks").trigger()
        qtbot.waitUntil(lambda: export_to.is_dir() and any(export_to.iterdir()), timeout=10_000)
        window.findChild(QAction, "actionCancel").trigger()
    assert 1 <= len(list(export_to.glob("*.png"))) < 4
    assert "Exporting masks cancelled" in window.notice.text and "already written are kept" in window.notice.text


@pytest.mark.parametrize("answer", [QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No])
def test_existing_files_are_overwritten_only_when_the_user_says_so(window, qtbot, export_to: Path, answer,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    export_to.mkdir()
    (export_to / "case01.png").write_bytes(b"an older file")
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda _parent, _title, text: asked.append(text)
                                                              or answer))
    window.findChild(QAction, "actionExportMasks").trigger()
    qtbot.waitUntil(lambda: bool(asked) and not window.jobs.is_busy("export"), timeout=20_000)
    assert "1 file(s) already exist" in asked[0]
    if answer == QMessageBox.StandardButton.Yes:
        qtbot.waitUntil(lambda: "Exported 4" in window.notice.text, timeout=20_000)
        assert len(list(export_to.glob("*.png"))) == 4
        assert (export_to / "case01.png").read_bytes() != b"an older file"
    else:
        qtbot.wait(100)
        assert [p.name for p in export_to.iterdir()] == ["case01.png"]
        assert (export_to / "case01.png").read_bytes() == b"an older file"
