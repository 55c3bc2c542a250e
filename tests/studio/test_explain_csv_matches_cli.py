"""The Explain panel's "Export CSV…" and `ukan explain` write the same scores file, byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
from PySide6.QtCore import Qt

from tests.studio.conftest import synthetic_scan
from tests.studio.test_explain_panel import Host
from ukan_studio.panels import explain as explain_module
from ukan_studio.panels.explain import ExplainPanel
from ukan_studio.workers.base import WorkerRunner


def test_panel_export_and_the_cli_write_identical_scores(qtbot, tiny_model_path, tmp_path, monkeypatch) -> None:
    image, mask = synthetic_scan(5)
    image_path, truth_path = tmp_path / "case05.png", tmp_path / "case05_truth.png"
    cv2.imwrite(str(image_path), image)
    cv2.imwrite(str(truth_path), mask * 255)

    panel = ExplainPanel()
    qtbot.addWidget(panel)
    panel.show()
    monkeypatch.setattr(explain_module, "choose_open_file", lambda *args: str(truth_path))
    qtbot.mouseClick(panel.ground_truth_button, Qt.MouseButton.LeftButton)
    host = Host(panel, WorkerRunner(), tiny_model_path, image_path)
    panel.explain_requested.connect(host.on_explain_requested)
    qtbot.mouseClick(panel.explain_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not host.runner.is_busy("explain"), timeout=60_000)
    qtbot.waitUntil(lambda: panel.explain_button.isEnabled(), timeout=5000)
    assert panel.result is not None, panel.status.text()
    assert panel.result.reference_kind == "ground_truth"
    saved = tmp_path / "panel-scores.csv"
    monkeypatch.setattr(explain_module, "choose_save_file", lambda *args: str(saved))
    qtbot.mouseClick(panel.export_csv_button, Qt.MouseButton.LeftButton)

    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "ukan_core", "explain", str(image_path), "--mask", str(truth_path),
                           "--model", str(tiny_model_path), "--layer", "all", "--top", "1", "--device", "cpu",
                           "--out", str(out)], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    cli = (out / "scores.csv").read_bytes()
    assert cli.count(b"\n") == 1 + sum(len(s.scores) for s in panel.result.scores.values())
    assert saved.read_bytes() == cli
