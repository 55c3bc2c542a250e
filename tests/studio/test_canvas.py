"""The canvas: window/level for 16-bit images, overlay modes, and pixel-exact mouse mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction

from tests.studio.conftest import stroke


@pytest.fixture
def ct_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ct"
    folder.mkdir()
    ramp = np.tile(np.linspace(0, 4000, 160, dtype=np.float32), (128, 1)).astype(np.uint16)
    tifffile.imwrite(folder / "slice.tif", ramp)
    return folder


def test_16_bit_image_is_windowed_and_right_drag_changes_the_window(qtbot, ct_folder: Path) -> None:
    from ukan_studio.app import create_main_window

    win = create_main_window(ct_folder, warm_up=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    canvas = win.canvas
    assert win.session.image.pixels.dtype == np.uint16
    center, width = canvas.window
    assert center == pytest.approx(2000, abs=30) and width == pytest.approx(4000, abs=60)
    start = canvas.image_to_widget(80, 64)
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.RightButton, pos=start)
    qtbot.mouseMove(canvas.viewport(), start + QPoint(-100, 40))
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.RightButton, pos=start + QPoint(-100, 40))
    new_center, new_width = canvas.window
    assert new_width < width and new_center > center
    assert not win.current_mask().any(), "right drag sets the window; it never paints"
    win.findChild(QAction, "actionResetWindow").trigger()
    assert canvas.window == (center, width)
    win.close()


def test_image_to_widget_maps_pixel_centres_exactly(window) -> None:
    canvas = window.canvas
    for x, y in ((0, 0), (127, 95), (64, 10)):
        assert canvas.widget_to_image(canvas.image_to_widget(x, y)) == pytest.approx((x + 0.5, y + 0.5), abs=0.6)


def test_contour_mode_and_hidden_overlay_still_edit(window, qtbot) -> None:
    window.findChild(QAction, "actionContourOnly").trigger()
    window.findChild(QAction, "actionToggleOverlay").trigger()
    assert window.canvas.overlay.contour_only and not window.canvas.overlay.isVisible()
    stroke(qtbot, window.canvas, [(40, 40), (60, 40)])
    assert window.current_mask()[40, 50] == 1
    window.findChild(QAction, "actionToggleOverlay").trigger()
    window.grab()   # paints the contour path without error
    window.opacity_slider.setValue(80)
    assert window.canvas.overlay.opacity() == pytest.approx(0.8)


def test_clear_mask_is_one_undo_step(window, qtbot) -> None:
    stroke(qtbot, window.canvas, [(20, 20), (60, 60)])
    painted = window.current_mask()
    window.findChild(QAction, "actionClearMask").trigger()
    assert not window.current_mask().any()
    window.findChild(QAction, "actionUndo").trigger()
    np.testing.assert_array_equal(window.current_mask(), painted)


def test_dicom_opens_windowed_and_is_annotated_like_any_image(qtbot, tmp_path: Path) -> None:
    examples = pytest.importorskip("pydicom.examples")
    import shutil

    folder = tmp_path / "dicom"
    folder.mkdir()
    shutil.copy(examples.get_path("ct"), folder / "ct_small.dcm")
    from ukan_studio.app import create_main_window

    win = create_main_window(folder, warm_up=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert win.session.names == ["ct_small.dcm"] and win.canvas.window is not None
    stroke(qtbot, win.canvas, [(60, 60), (70, 60)])
    assert win.current_mask().shape == (128, 128) and win.current_mask()[60, 65] == 1
    win.session.flush()
    assert (folder / ".ukan-studio" / "masks" / "ct_small.dcm@0.png").is_file()
    win.close()


def test_mouse_events_sent_to_the_canvas_widget_itself_also_draw(window, qtbot) -> None:
    canvas = window.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas.image_to_widget(40, 70))
    qtbot.mouseMove(canvas, canvas.image_to_widget(60, 70))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas.image_to_widget(60, 70))
    assert window.current_mask()[70, 40:61].all()
    window.findChild(QAction, "actionUndo").trigger()
    assert not window.current_mask().any()
