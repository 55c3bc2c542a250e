"""Explain panel: explain an image on a worker thread, pick layers and channels, move the threshold,
read the live Plausibility IoU, switch to aggregates, export the heatmap and the scores."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QObject, Qt, Slot

from tests.studio.conftest import synthetic_scan
from ukan_core.explain import SCORE_COLUMNS, plausibility_iou
from ukan_studio.panels import explain as explain_module
from ukan_studio.panels.explain import ExplainPanel
from ukan_studio.workers.base import WorkerRunner
from ukan_studio.workers.explain import ExplainWorker


class Host(QObject):
    """Does what the main window does: builds the request from its state and starts the worker."""

    def __init__(self, panel: ExplainPanel, runner: WorkerRunner, model: Path, image: Path,
                 reference: object = None, kind: str | None = None) -> None:
        super().__init__()
        self.panel, self.runner = panel, runner
        self.model, self.image, self.reference, self.kind = model, image, reference, kind

    @Slot()
    def on_explain_requested(self) -> None:
        request = self.panel.make_request(str(self.model), self.image, self.reference, self.kind, device="cpu")
        worker = ExplainWorker(request)
        self.panel.attach(worker)
        self.runner.start("explain", worker)


@pytest.fixture
def scan(tmp_path: Path) -> tuple[Path, np.ndarray]:
    image, mask = synthetic_scan(3)
    path = tmp_path / "case03.png"
    cv2.imwrite(str(path), image)
    return path, mask


@pytest.fixture
def panel(qtbot) -> ExplainPanel:
    widget = ExplainPanel()
    qtbot.addWidget(widget)
    widget.resize(520, 900)
    widget.show()
    return widget


def _explain(qtbot, panel: ExplainPanel, host: Host) -> None:
    panel.explain_requested.connect(host.on_explain_requested)
    qtbot.mouseClick(panel.explain_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not host.runner.is_busy("explain"), timeout=30_000)
    qtbot.waitUntil(lambda: panel.explain_button.isEnabled(), timeout=5000)


def _click_row(qtbot, panel: ExplainPanel, row: int) -> None:
    rect = panel.table.visualItemRect(panel.table.item(row, 1))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_explain_rank_pick_threshold_and_export(qtbot, panel, scan, tiny_model_path, tmp_path, monkeypatch) -> None:
    image_path, truth = scan
    host = Host(panel, WorkerRunner(), tiny_model_path, image_path, truth, "ground_truth")
    _explain(qtbot, panel, host)
    result = panel.result
    assert result is not None, panel.status.text()
    assert result.reference_kind == "ground_truth" and result.reference.shape == truth.shape
    assert panel.layer_combo.count() == 16 and panel.layer == "dblock2.0"

    # pick a KAN layer with the combo box: the table lists its channels, best PIoU first
    panel.layer_combo.setCurrentIndex(panel.layer_combo.findText("block1.0.layer.fc2"))
    layer = panel.layer
    scores = result.scores[layer].scores
    assert panel.table.rowCount() == len(scores) == 24
    pious = [float(panel.table.item(r, 2).text()) for r in range(panel.table.rowCount())]
    assert pious == sorted(pious, reverse=True)
    assert "any threshold" in panel.table.horizontalHeaderItem(3).text()
    assert len(panel.splines.ci.items) == 8, "the spline plots of the KAN layer"

    # click the third-ranked channel: the live PIoU at 0.50 is the table's PIoU
    _click_row(qtbot, panel, 2)
    channel = scores[2].channel
    assert panel.selected_channel() == channel and panel.show_mode == "channel"
    heat = result.heatmap(layer, channel)
    np.testing.assert_array_equal(panel.current_map, heat)
    assert panel.live_piou == pytest.approx(scores[2].plausibility_iou, abs=1e-12)
    assert f"{panel.live_piou:.3f}" in panel.live_label.text()

    # move the threshold slider: the live PIoU follows and equals plausibility_iou on the same data
    seen = set()
    for value in (20, 35, 80):
        panel.threshold_slider.setFocus()
        panel.threshold_slider.setValue(value + 1)
        qtbot.keyClick(panel.threshold_slider, Qt.Key.Key_Left)
        assert panel.threshold_slider.value() == value
        expected = plausibility_iou(heat, truth, value / 100.0)
        assert panel.live_piou == pytest.approx(expected, abs=1e-12)
        assert f"{expected:.3f}" in panel.live_label.text() and f"{value / 100:.2f}" in panel.live_label.text()
        seen.add(round(panel.live_piou, 9))
    assert len(seen) > 1, "the PIoU changes with the threshold"

    # aggregates: top-k mean and max
    panel.show_combo.setCurrentIndex(panel.show_combo.findData("topk"))
    panel.top_k.setValue(3)
    top3 = result.scores[layer].top_channels(3)
    np.testing.assert_allclose(panel.current_map, result.activations.aggregate(layer, "mean", top3), atol=1e-6)
    assert panel.live_piou == pytest.approx(plausibility_iou(panel.current_map, truth, 0.8), abs=1e-12)
    assert "top-3" in panel.live_label.text()
    panel.show_combo.setCurrentIndex(panel.show_combo.findData("max"))
    assert panel.current_map.shape == truth.shape and float(panel.current_map.max()) == pytest.approx(1.0)

    # block outputs show the splines of the block's last KAN layer
    panel.layer_combo.setCurrentIndex(panel.layer_combo.findText("dblock2.0"))
    assert "dblock2.0.layer.fc3" in panel.spline_title.text()

    # export the heatmap picture and the scores
    png, table = tmp_path / "out" / "heat.png", tmp_path / "out" / "scores.csv"
    png.parent.mkdir()
    answers = iter([str(png), str(table)])
    monkeypatch.setattr(explain_module, "choose_save_file", lambda *args: next(answers))
    qtbot.mouseClick(panel.export_png_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.export_csv_button, Qt.MouseButton.LeftButton)
    written = cv2.imread(str(png))[:, :, ::-1]
    np.testing.assert_array_equal(written, panel.rendered_image())
    with table.open(newline="") as stream:
        rows = list(csv.reader(stream))
    assert tuple(rows[0]) == SCORE_COLUMNS
    assert len(rows) - 1 == sum(len(s.scores) for s in result.scores.values())
    first = next(r for r in rows[1:] if r[0] == layer)
    assert int(first[1]) == scores[0].channel
    assert float(first[2]) == pytest.approx(scores[0].plausibility_iou, abs=1e-6)
    assert float(first[3]) == pytest.approx(scores[0].best_iou, abs=1e-6)
    assert first[5] == "ground_truth"


def test_without_a_mask_the_prediction_is_the_reference(qtbot, panel, scan, tiny_model_path) -> None:
    image_path, _ = scan
    host = Host(panel, WorkerRunner(), tiny_model_path, image_path)
    _explain(qtbot, panel, host)
    assert panel.result is not None and panel.result.reference_kind == "predicted"
    assert "prediction" in panel.live_label.text()


def test_a_mask_of_the_wrong_size_fails_in_one_line(qtbot, panel, scan, tiny_model_path, tmp_path, monkeypatch) -> None:
    image_path, _ = scan
    wrong = tmp_path / "truth-small.png"
    cv2.imwrite(str(wrong), np.zeros((10, 12), np.uint8))
    monkeypatch.setattr(explain_module, "choose_open_file", lambda *args: str(wrong))
    qtbot.mouseClick(panel.ground_truth_button, Qt.MouseButton.LeftButton)
    host = Host(panel, WorkerRunner(), tiny_model_path, image_path)
    _explain(qtbot, panel, host)
    assert panel.result is None
    assert "truth-small.png" in panel.status.text() and "\n" not in panel.status.text()
    assert not panel.cancel_button.isEnabled()


def test_cancel_stops_the_worker(qtbot, panel, scan, tiny_model_path) -> None:
    image_path, truth = scan
    host = Host(panel, WorkerRunner(), tiny_model_path, image_path, truth, "corrected")
    panel.explain_requested.connect(host.on_explain_requested)
    qtbot.mouseClick(panel.explain_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not host.runner.is_busy("explain"), timeout=30_000)
    qtbot.waitUntil(lambda: panel.explain_button.isEnabled(), timeout=5000)
    assert panel.result is None and "cancelled" in panel.status.text()


def test_the_panels_never_import_torch() -> None:
    code = ("import sys, ukan_studio.panels.explain, ukan_studio.panels.generate; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
