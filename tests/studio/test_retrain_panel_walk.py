"""The Retrain panel during a real run: its button is off, progress says one thing once, Cancel says so."""

from __future__ import annotations

from pathlib import Path

import cv2
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel

from ukan_core.progress import Progress


def test_progress_text_says_the_step_once() -> None:
    from ukan_studio.panels.retrain import progress_text

    report = Progress(63, 200, "epoch 63/200 step 63/200 loss 0.1234", {"loss": 0.1234, "val_iou": 0.7})
    assert progress_text(report) == "step 63 of at most 200 · loss 0.1234 · held-out IoU 0.700"
    folded = Progress(5, 200, "fold 1/3: epoch 5/200 step 5/200 loss 0.5000", {"loss": 0.5})
    assert progress_text(folded) == "fold 1/3 · step 5 of at most 200 · loss 0.5000"
    assert progress_text(Progress(0, 1, "starting the trainer for 4 corrected images")) == \
        "starting the trainer for 4 corrected images"


def test_plot_key_is_outside_the_plot_and_the_report_is_a_titled_box(window) -> None:
    panel = window.retrain_panel
    assert panel.plot.getPlotItem().legend is None           # nothing drawn over the curves
    assert not [i for i in panel.plot.getPlotItem().vb.allChildren() if isinstance(i, pg.LegendItem)]
    key = panel.findChild(QLabel, "retrainLegend")
    assert "loss" in key.text() and "held-out IoU" in key.text()
    box = panel.findChild(QGroupBox, "retrainReportBox")
    assert box.title() and panel.report.parent() is box
    assert panel.plot.getPlotItem().getAxis("bottom").labelText != "report"


def test_a_disabled_retrain_button_looks_disabled(window, qtbot) -> None:
    """The window turns the button off while a retrain runs; the theme must show it (it did not)."""
    panel = window.retrain_panel
    window._docks["retrainDock"].raise_()
    panel.start_button.setEnabled(True)
    qtbot.wait(20)
    point = (4, panel.start_button.height() // 2)   # the button's face, beside its text
    enabled = panel.start_button.grab().toImage().pixelColor(*point)
    panel.start_button.setEnabled(False)
    qtbot.wait(20)
    disabled = panel.start_button.grab().toImage().pixelColor(*point)
    assert not panel.start_button.isEnabled()
    assert abs(enabled.lightness() - disabled.lightness()) + abs(enabled.saturation() - disabled.saturation()) > 60


def test_retrain_button_is_off_while_running_and_cancel_says_cancelled(window, qtbot, tiny_model_path: Path,
                                                                      image_folder: Path) -> None:
    window.settings.device = "cpu"
    window.models_panel.add_model_file(tiny_model_path)
    truth = image_folder.parent / "truth"
    for name in window.session.names:
        window.session.store.save_mask(name, cv2.imread(str(truth / name), cv2.IMREAD_UNCHANGED), "corrected")
    panel = window.retrain_panel
    panel.budget.setValue(10)
    window._docks["retrainDock"].raise_()
    assert panel.start_button.isEnabled()
    with qtbot.waitSignal(window.jobs.progressed, timeout=90_000,
                          check_params_cb=lambda kind, p: kind == "retrain" and "loss" in (p.extra or {})):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not panel.start_button.isEnabled()
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)   # does nothing, says nothing
    assert "step " in window.statusBar().currentMessage() and "epoch" not in window.statusBar().currentMessage()
    assert " of at most " in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.job_finished, timeout=60_000, check_params_cb=lambda k: k == "retrain"):
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    assert window.statusBar().currentMessage().startswith("Retraining cancelled")
    assert "done" not in window.statusBar().currentMessage()
    assert panel.start_button.isEnabled()
