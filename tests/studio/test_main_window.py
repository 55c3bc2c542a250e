"""The user's story in the window: open a folder, brush, undo, switch images, export, reopen."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QListView, QProgressBar, QWidget

from tests.studio.conftest import stroke
from ukan_core.annotation import ExportConflictError

ACTION_NAMES = (
    "actionOpenFolder", "actionSegment", "actionSegmentAll", "actionRetrain", "actionCancel", "actionExportMasks",
    "actionUndo", "actionRedo", "actionNextImage", "actionPrevImage", "actionToolBrush", "actionToolEraser",
    "actionToolPolygon", "actionToolFill",
)


def test_window_has_the_contract_objects(window) -> None:
    for name in ACTION_NAMES:
        assert isinstance(window.findChild(QAction, name), QAction), name
    assert isinstance(window.findChild(QListView, "imageList"), QListView)
    assert isinstance(window.findChild(QProgressBar, "progressBar"), QProgressBar)
    assert window.findChild(QWidget, "canvas") is window.canvas


def test_open_folder_shows_the_first_image_with_an_empty_mask(window, image_folder: Path) -> None:
    assert window.session.names == [f"case{i:02d}.png" for i in range(4)]
    assert window.session.current == "case00.png"
    mask = window.current_mask()
    assert mask.shape == (96, 128) and mask.dtype == np.uint8 and not mask.any()
    assert str(image_folder) in window.store_label.toolTip()


def test_brush_stroke_paints_where_the_mouse_passed_and_is_one_undo_step(window, qtbot) -> None:
    window.brush_spin.setValue(5)
    stroke(qtbot, window.canvas, [(20, 40), (40, 40), (60, 40), (80, 40)])
    mask = window.current_mask()
    assert mask[40, 20:81].all(), "the stroke must cover every pixel it passed"
    assert mask[40, 50] == 1 and not mask[10, 10] and not mask[80, 50]
    assert window.session.status("case00.png") == "corrected"

    window.findChild(QAction, "actionUndo").trigger()
    assert not window.current_mask().any(), "one stroke is one undo step"
    assert window.session.status("case00.png") == "unlabelled"
    window.findChild(QAction, "actionRedo").trigger()
    np.testing.assert_array_equal(window.current_mask(), mask)


def test_keyboard_undo_redo_and_tool_keys(window, qtbot) -> None:
    window.brush_spin.setValue(3)
    stroke(qtbot, window.canvas, [(10, 10), (30, 10)])
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_E)
    assert window.canvas.tool == "eraser"
    stroke(qtbot, window.canvas, [(15, 10), (18, 10)])
    assert not window.current_mask()[10, 16] and window.current_mask()[10, 25]
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.current_mask()[10, 16] == 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.current_mask()[10, 16] == 0
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.canvas.brush_size > 3
    for key, tool in ((Qt.Key.Key_P, "polygon"), (Qt.Key.Key_F, "fill"), (Qt.Key.Key_B, "brush")):
        qtbot.keyClick(window.canvas, key)
        assert window.canvas.tool == tool


def test_lasso_and_fill_tools(window, qtbot) -> None:
    window.findChild(QAction, "actionToolLasso").trigger()
    stroke(qtbot, window.canvas, [(20, 20), (60, 20), (60, 60), (20, 60)])
    mask = window.current_mask()
    assert mask[40, 40] == 1 and mask[10, 10] == 0
    window.findChild(QAction, "actionToolFill").trigger()
    window.labels_panel._on_add_clicked()          # class 2 appears and becomes current
    stroke(qtbot, window.canvas, [(40, 40)])
    mask = window.current_mask()
    assert mask[40, 40] == 2 and mask[10, 10] == 0
    window.findChild(QAction, "actionUndo").trigger()
    assert window.current_mask()[40, 40] == 1


def test_switching_images_saves_and_reopening_restores_the_edit(window, qtbot, image_folder: Path) -> None:
    window.brush_spin.setValue(7)
    stroke(qtbot, window.canvas, [(30, 30), (70, 50)])
    painted = window.current_mask()
    window.findChild(QAction, "actionNextImage").trigger()
    assert window.session.current == "case01.png"
    target = image_folder / ".ukan-studio" / "masks" / "case00.png@0.png"
    qtbot.waitUntil(target.exists, timeout=2000)   # written by the session's background writer
    np.testing.assert_array_equal(cv2.imread(str(target), cv2.IMREAD_UNCHANGED), painted)
    window.findChild(QAction, "actionPrevImage").trigger()
    np.testing.assert_array_equal(window.current_mask(), painted)
    window.close()

    from ukan_studio.app import create_main_window

    again = create_main_window(image_folder, warm_up=False)
    qtbot.addWidget(again)
    np.testing.assert_array_equal(again.current_mask(), painted)
    assert again.session.status("case00.png") == "corrected"
    again.close()


def test_autosave_writes_within_a_second(window, qtbot, image_folder: Path) -> None:
    stroke(qtbot, window.canvas, [(50, 50), (60, 50)])
    target = image_folder / ".ukan-studio" / "masks" / "case00.png@0.png"
    qtbot.waitUntil(lambda: target.exists() and not window.session.has_unsaved, timeout=1000)   # mask and index


def test_export_writes_pngs_equal_to_the_masks_and_never_overwrites(window, qtbot, tmp_path: Path) -> None:
    stroke(qtbot, window.canvas, [(20, 20), (50, 30)])
    first = window.current_mask()
    window.findChild(QAction, "actionNextImage").trigger()
    window.labels_panel._on_add_clicked()
    stroke(qtbot, window.canvas, [(60, 60), (90, 70)])
    second = window.current_mask()
    out = tmp_path / "export"
    written = window.export_masks(out)
    assert sorted(p.name for p in written) == ["case00.png", "case01.png"]
    np.testing.assert_array_equal(cv2.imread(str(out / "case00.png"), cv2.IMREAD_UNCHANGED), first * 255)
    np.testing.assert_array_equal(cv2.imread(str(out / "case01.png"), cv2.IMREAD_UNCHANGED), (second > 0) * 255)
    with pytest.raises(ExportConflictError):
        window.export_masks(out)
    labels = window.export_masks(out, overwrite=True, mode="labels")
    assert len(labels) == 2
    np.testing.assert_array_equal(cv2.imread(str(out / "case01.png"), cv2.IMREAD_UNCHANGED), second)
    assert set(np.unique(second)) == {0, 2}


def test_settings_remember_brush_size_and_recent_folder(window, image_folder: Path) -> None:
    window.brush_spin.setValue(33)
    window.close()
    from ukan_studio.settings import load_settings

    settings = load_settings()
    assert settings.brush_size == 33 and settings.recent_folders[0] == str(image_folder)


def test_unreadable_image_is_reported_in_the_window(qtbot, image_folder: Path) -> None:
    (image_folder / "broken.png").write_bytes(b"not a png")
    from ukan_studio.app import create_main_window

    win = create_main_window(image_folder, warm_up=False)
    qtbot.addWidget(win)
    win.show()
    win._select_row(win.session.names.index("broken.png"))
    assert win.session.image is None and win.current_mask() is None
    assert "broken.png" in win.notice.text and "broken.png" in win.statusBar().currentMessage()
    win.close()


def test_starting_again_without_a_folder_resumes_the_last_image(window, qtbot, image_folder: Path) -> None:
    window.findChild(QAction, "actionNextImage").trigger()
    window.findChild(QAction, "actionNextImage").trigger()
    assert window.session.current == "case02.png"
    window.close()
    from ukan_studio.app import create_main_window

    again = create_main_window(warm_up=False)
    qtbot.addWidget(again)
    assert again.session.folder == image_folder and again.session.current == "case02.png"
    again.close()


def test_a_prediction_arriving_mid_stroke_waits_for_the_release(window, qtbot) -> None:
    from PySide6.QtCore import Qt as _Qt

    canvas, viewport = window.canvas, window.canvas.viewport()
    qtbot.mousePress(viewport, _Qt.MouseButton.LeftButton, pos=canvas.image_to_widget(10, 10))
    predicted = np.zeros((96, 128), np.uint8)
    predicted[60:90, 60:120] = 1
    window.session.set_prediction("case00.png", predicted, "tiny v1")
    assert not window.current_mask()[70, 100], "the mask under the stroke is untouched"
    qtbot.mouseMove(viewport, canvas.image_to_widget(30, 10))
    qtbot.mouseRelease(viewport, _Qt.MouseButton.LeftButton, pos=canvas.image_to_widget(30, 10))
    mask = window.current_mask()
    assert mask[10, 20] == 1, "the stroke is kept"
    assert not mask[70, 100], "the image is corrected now, so the late prediction is dropped"
    assert window.session.status("case00.png") == "corrected"


def test_status_filter_lists_only_corrected_images(window, qtbot) -> None:
    stroke(qtbot, window.canvas, [(10, 10), (20, 10)])
    window.findChild(QAction, "actionNextImage").trigger()
    window.findChild(QAction, "actionNextImage").trigger()
    stroke(qtbot, window.canvas, [(10, 10), (20, 10)])
    window.status_filter.setCurrentIndex(window.status_filter.findData("corrected"))
    listed = [window.image_filter.index(r, 0).data() for r in range(window.image_filter.rowCount())]
    assert listed == ["case00.png", "case02.png"] and window.session.current == "case02.png"
    window.findChild(QAction, "actionPrevImage").trigger()
    assert window.session.current == "case00.png", "navigation follows the filtered list"
    window._select_row(1)                       # a hidden image: the filter opens up again
    assert window.session.current == "case01.png" and window.image_filter.status is None
