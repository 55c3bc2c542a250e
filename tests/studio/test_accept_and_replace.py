"""Segment asks before replacing the user's mask; Accept Mask marks a prediction as right; Segment all
never overwrites corrected, imported or accepted masks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QComboBox, QMessageBox

from tests.studio.conftest import stroke
from ukan_studio.actions import shortcut_table
from ukan_studio.panels.image_list import STATUS_COLORS, STATUS_ROLE, STATUS_TEXT


@pytest.fixture
def model_window(window, tiny_model_path: Path):
    window.settings.device = "cpu"
    window.models_panel.add_model_file(tiny_model_path)
    return window


def _when_question(qtbot, answer: QMessageBox.StandardButton, seen: list[str]) -> None:
    """Click `answer` on the next modal QMessageBox (it blocks the caller meanwhile), noting its text."""
    def poll() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, poll)
            return
        seen.append(box.text())
        seen.append("default-no" if box.defaultButton() is box.button(QMessageBox.StandardButton.No) else "other")
        qtbot.mouseClick(box.button(answer), Qt.MouseButton.LeftButton)
    QTimer.singleShot(20, poll)


def _segment(qtbot, window, action: str, kind: str, *, expect_job: bool = True) -> None:
    if expect_job:
        with qtbot.waitSignal(window.job_finished, timeout=60_000, check_params_cb=lambda k: k == kind):
            window.findChild(QAction, action).trigger()
    else:
        window.findChild(QAction, action).trigger()


def test_segment_asks_before_replacing_a_correction_and_no_keeps_it(model_window, qtbot) -> None:
    model_window.brush_spin.setValue(5)
    stroke(qtbot, model_window.canvas, [(5, 5), (25, 5)])
    corrected = model_window.current_mask().copy()
    seen: list[str] = []
    _when_question(qtbot, QMessageBox.StandardButton.No, seen)
    _segment(qtbot, model_window, "actionSegment", "segment", expect_job=False)
    assert seen and "Replace your correction of case00.png with the model's mask?" in seen[0]
    assert seen[1] == "default-no"
    assert not model_window.jobs.is_busy("segment")
    qtbot.wait(50)
    np.testing.assert_array_equal(model_window.current_mask(), corrected)
    assert model_window.session.status("case00.png") == "corrected"


def test_segment_replaces_a_correction_after_yes_and_undo_brings_it_back(model_window, qtbot) -> None:
    model_window.brush_spin.setValue(5)
    stroke(qtbot, model_window.canvas, [(5, 5), (25, 5)])
    corrected = model_window.current_mask().copy()
    seen: list[str] = []
    _when_question(qtbot, QMessageBox.StandardButton.Yes, seen)
    _segment(qtbot, model_window, "actionSegment", "segment")
    assert seen, "Segment asked first"
    assert model_window.session.status("case00.png") == "predicted"
    model_window.findChild(QAction, "actionUndo").trigger()
    np.testing.assert_array_equal(model_window.current_mask(), corrected)
    assert model_window.session.status("case00.png") == "corrected"


def test_segment_on_a_predicted_image_does_not_ask(model_window, qtbot) -> None:
    _segment(qtbot, model_window, "actionSegment", "segment")
    assert model_window.session.status("case00.png") == "predicted"
    _segment(qtbot, model_window, "actionSegment", "segment")   # a modal question would block this wait
    assert model_window.session.status("case00.png") == "predicted"


def test_segment_all_never_overwrites_corrected_imported_or_accepted(model_window, qtbot, image_folder: Path) -> None:
    session = model_window.session
    own = {}
    for name, status in (("case01.png", "corrected"), ("case02.png", "imported"), ("case03.png", "accepted")):
        mask = np.zeros((96, 128), np.uint8)
        mask[10:20, 10 + 10 * len(own):30 + 10 * len(own)] = 1
        session.store.save_mask(name, mask, status)
        own[name] = (mask, status)
    _segment(qtbot, model_window, "actionSegmentAll", "segment_all")
    assert session.status("case00.png") == "predicted"
    session.flush()
    for name, (mask, status) in own.items():
        assert session.status(name) == status
        saved = cv2.imread(str(image_folder / ".ukan-studio" / "masks" / f"{name}@0.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(saved, mask)


def test_accept_mask_by_key_marks_the_prediction_accepted_unchanged_and_undoable(window, qtbot) -> None:
    session, accept = window.session, window.findChild(QAction, "actionAcceptMask")
    assert not accept.isEnabled(), "no prediction yet: nothing to accept"
    prediction = np.zeros((96, 128), np.uint8)
    prediction[30:60, 40:80] = 1
    assert session.set_prediction("case00.png", prediction, "tiny-ukan")
    assert accept.isEnabled()
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_A)
    assert session.status_and_model("case00.png") == ("accepted", "tiny-ukan")
    np.testing.assert_array_equal(window.current_mask(), prediction)
    assert not accept.isEnabled(), "already accepted"
    row = window.image_filter.mapFromSource(window.image_model.index(0))
    assert row.data(STATUS_ROLE) == "accepted" and STATUS_TEXT["accepted"] == "accepted"
    assert STATUS_COLORS["accepted"] not in (STATUS_COLORS["predicted"], STATUS_COLORS["corrected"])
    status_filter = window.findChild(QComboBox, "statusFilter")
    status_filter.setCurrentIndex(status_filter.findData("accepted"))
    assert window.image_filter.rowCount() == 1, "the list can show the accepted images alone"
    status_filter.setCurrentIndex(0)
    session.flush()
    assert session.store.status("case00.png") == "accepted"
    assert [item.name for item in session.corrected_items()] == ["case00.png"], "Retrain uses accepted masks"
    window.findChild(QAction, "actionUndo").trigger()
    assert session.status("case00.png") == "predicted"
    np.testing.assert_array_equal(window.current_mask(), prediction)
    assert accept.isEnabled()


def test_accept_mask_is_in_the_edit_menu_the_toolbar_and_the_shortcut_list(window) -> None:
    accept = window.findChild(QAction, "actionAcceptMask")
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert accept in edit_menu.actions()
    assert accept in window.findChild(type(window.toolbar), "mainToolBar").actions()
    assert accept.shortcut().toString() == "A"
    assert "Accept Mask" in shortcut_table()
    taken = [a.objectName() for a in window.findChildren(QAction) if a.shortcut().toString() == "A"]
    assert taken == ["actionAcceptMask"], "A means one thing"
