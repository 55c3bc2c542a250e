"""Segment, Segment all and Retrain run in workers; results land in the session and on disk."""

from __future__ import annotations

from pathlib import Path

import re
import cv2
import numpy as np
import pytest
from PySide6.QtGui import QAction

from tests.studio.conftest import stroke


@pytest.fixture
def model_window(window, tiny_model_path: Path):
    """The window with the tiny model selected and the CPU as device."""
    window.settings.device = "cpu"
    window.models_panel.add_model_file(tiny_model_path)
    assert window.models_panel.current_ref() == str(tiny_model_path)
    return window


def _run(qtbot, window, action_name: str, kind: str, timeout: int = 60_000) -> None:
    with qtbot.waitSignal(window.job_finished, timeout=timeout, check_params_cb=lambda k: k == kind):
        window.findChild(QAction, action_name).trigger()


def test_segment_predicts_the_current_image_in_a_worker(model_window, qtbot, image_folder: Path,
                                                        tiny_model_path: Path) -> None:
    from ukan_core.inference import Segmenter
    from ukan_core.io.images import read_image

    _run(qtbot, model_window, "actionSegment", "segment")
    expected = Segmenter.from_name_or_path(str(tiny_model_path), device="cpu").predict_mask(
        read_image(image_folder / "case00.png"))
    np.testing.assert_array_equal(model_window.current_mask(), expected)
    assert model_window.session.status("case00.png") == "predicted"
    assert not model_window.progress_bar.isVisible()
    assert "error" != model_window.notice.property("kind"), model_window.notice.text
    model_window.findChild(QAction, "actionUndo").trigger()       # a prediction is one undo step
    assert not model_window.current_mask().any()


def test_segment_all_skips_corrected_images(model_window, qtbot, image_folder: Path) -> None:
    model_window.brush_spin.setValue(5)
    stroke(qtbot, model_window.canvas, [(5, 5), (25, 5)])
    corrected = model_window.current_mask()
    _run(qtbot, model_window, "actionSegmentAll", "segment_all")
    np.testing.assert_array_equal(model_window.current_mask(), corrected)
    assert model_window.session.status("case00.png") == "corrected"
    names = ("case01.png", "case02.png", "case03.png")
    predicted = [image_folder / ".ukan-studio" / "masks" / f"{name}@0.png" for name in names]
    for name in names:
        assert model_window.session.status(name) == "predicted"
    qtbot.waitUntil(lambda: all(p.is_file() for p in predicted), timeout=1000)   # written by the background writer
    saved = cv2.imread(str(image_folder / ".ukan-studio" / "masks" / "case00.png@0.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(saved, corrected)


def test_retrain_makes_a_new_selected_version(model_window, qtbot, image_folder: Path) -> None:
    truth = image_folder.parent / "truth"
    for row in range(2):                          # correct two images with their true masks
        mask = model_window.session.current_mask()
        before = mask.copy()
        mask[...] = cv2.imread(str(truth / model_window.session.current), cv2.IMREAD_UNCHANGED)
        from ukan_studio.canvas.mask_edit import diff_edit

        model_window.session.push_edit(diff_edit(before, mask), "Brush stroke", already_applied=True)
        model_window.findChild(QAction, "actionNextImage").trigger()
    base = model_window.models_panel.current_ref()
    model_window.retrain_panel.budget.setValue(0.05)
    _run(qtbot, model_window, "actionRetrain", "retrain", timeout=180_000)
    assert model_window.notice.property("kind") in ("success", "info"), model_window.notice.text
    assert re.search(r"\d\.\d\d before, \d\.\d\d after", model_window.retrain_panel.report.text())   # before/after scores
    curves = model_window.retrain_panel.curve_data()
    assert curves["loss"][0], "the live plot received the training loss"
    shown_x, shown_y = model_window.retrain_panel.loss_curve.getData()
    assert list(shown_y) == curves["loss"][1], "the report redraws the plot with every point received"
    from ukan_core.store import ModelStore

    from ukan_core.lineage import project_lineage

    lineage = project_lineage(model_window.session.folder)   # the new version joins the folder's own lineage
    versions = ModelStore().versions(lineage)
    assert [v.version for v in versions] == ["v0001"]
    choices = {c.ref: c for c in model_window.models_panel._choices}
    assert f"{lineage}/v0001" in choices, "the new version is offered in the selector"
    selected = model_window.models_panel.current_ref()
    assert selected in (base, f"{lineage}/v0001")
    model_window.models_panel.select_ref(f"{lineage}/v0001")      # selectable, and usable at once
    assert ModelStore().selected(lineage) == "v0001"
    _run(qtbot, model_window, "actionSegment", "segment")
    status, model = model_window.session.status_and_model(model_window.session.current)
    assert status == "predicted" and model == f"{lineage} v0001"


def test_retrain_without_corrections_says_why_and_starts_nothing(model_window, qtbot) -> None:
    model_window.findChild(QAction, "actionRetrain").trigger()
    assert not model_window.jobs.is_busy("retrain")
    assert "corrected" in model_window.notice.text


def test_cancelled_retrain_keeps_the_previous_model(model_window, qtbot, image_folder: Path) -> None:
    truth = image_folder.parent / "truth"
    store = model_window.session.store
    for name in model_window.session.names:
        store.save_mask(name, cv2.imread(str(truth / name), cv2.IMREAD_UNCHANGED), "corrected")
    base = model_window.models_panel.current_ref()
    model_window.retrain_panel.budget.setValue(10)

    with qtbot.waitSignal(model_window.jobs.progressed, timeout=60_000,
                          check_params_cb=lambda kind, p: kind == "retrain" and p.done > 0):
        model_window.findChild(QAction, "actionRetrain").trigger()
    assert model_window.findChild(QAction, "actionCancel").isEnabled()
    with qtbot.waitSignal(model_window.job_finished, timeout=60_000, check_params_cb=lambda k: k == "retrain"):
        model_window.findChild(QAction, "actionCancel").trigger()
    from ukan_core.store import ModelStore

    assert "tiny-ukan" not in ModelStore().names()
    assert model_window.models_panel.current_ref() == base
    assert "cancelled" in model_window.notice.text and "previous model" in model_window.notice.text


def test_segment_on_a_corrected_image_is_one_undo_away_from_the_correction(model_window, qtbot,
                                                                           monkeypatch) -> None:
    model_window.brush_spin.setValue(5)
    stroke(qtbot, model_window.canvas, [(5, 5), (25, 5)])
    corrected = model_window.current_mask()
    monkeypatch.setattr(model_window.segment_controller, "confirm_replace", lambda _name: True)   # "Yes"
    _run(qtbot, model_window, "actionSegment", "segment")
    assert model_window.session.status("case00.png") == "predicted"
    model_window.findChild(QAction, "actionUndo").trigger()
    np.testing.assert_array_equal(model_window.current_mask(), corrected)
    assert model_window.session.status("case00.png") == "corrected"
